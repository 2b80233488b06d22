"""Setting up: ``init``, ``config show``, ``db upgrade|current|copy``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from tubesensei.commands.common import AppContext, json_option, pass_app
from tubesensei.commands.output import console, plain, print_json, table
from tubesensei.errors import BadInput


@click.command(name="init")
@pass_app
def init_command(app: AppContext) -> None:
    """Create the data folder, a starter config (never overwritten) and the database.

    Safe to run again: it only creates what is missing.

    \b
    Example:
        tubesensei init
    """
    from tubesensei.bootstrap import initialise

    report = initialise(app.config_file, app.overrides)
    click.echo(f"data folder  {report.data_dir}")
    state = "created" if report.config_created else "kept (exists)"
    click.echo(f"config file  {report.config_file}  [{state}]")
    click.echo(f"database     {report.database}  [schema {report.revision}]")


@click.group(name="config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command(name="show")
@json_option
@pass_app
def config_show(app: AppContext, as_json: bool) -> None:
    """Print every setting, its value and where it came from (secrets masked).

    \b
    Example:
        tubesensei config show
        TUBESENSEI_LIMITS__MAX_ATTEMPTS=3 tubesensei config show --json
    """
    from tubesensei.bootstrap import describe_config

    rt = app.runtime()
    rows = describe_config(rt.loaded)
    if as_json:
        print_json(
            {
                "config_file": str(rt.loaded.config_file) if rt.loaded.config_file else None,
                "data_dir": str(rt.settings.resolved_data_dir),
                "settings": rows,
            }
        )
        return
    t = table(f"config file: {rt.loaded.config_file or '(none)'}")
    t.add_column("key")
    t.add_column("value", overflow="fold")
    t.add_column("source")
    for row in rows:
        t.add_row(row["key"], plain(json.dumps(row["value"])), row["source"])
    console().print(t)


@click.group(name="db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command(name="upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_app
def db_upgrade(app: AppContext, revision: str) -> None:
    """Apply the migrations the database is missing.

    \b
    Example:
        tubesensei db upgrade
    """
    from tubesensei.db.schema import schema_state, upgrade

    rt = app.runtime()
    rt.prepare_data_dir()
    url = rt.settings.database_url
    before = schema_state(url).current
    upgrade(url, revision, rt.settings.database.busy_timeout_ms)
    after = schema_state(url).current
    if before == after:
        click.echo(f"database already at {after}")
    else:
        click.echo(f"database upgraded: {before or '(empty)'} -> {after}")


@db_group.command(name="current")
@json_option
@pass_app
def db_current(app: AppContext, as_json: bool) -> None:
    """Show the database's schema revision and the code's head revision.

    \b
    Example:
        tubesensei db current
    """
    state = app.runtime().ensure_schema()
    if as_json:
        print_json({"current": state.current, "head": state.head, "up_to_date": state.up_to_date})
    else:
        click.echo(f"{state.current} (head)" if state.up_to_date else f"{state.current}")


@db_group.command(name="copy")
@click.option("--to", "target", required=True, metavar="URL",
              help="The database to copy into, e.g. postgresql+psycopg://user@host/dbname.")
@click.option("--resume", is_flag=True,
              help="Continue an interrupted copy into a target that already holds some rows.")
@pass_app
def db_copy(app: AppContext, target: str, resume: bool) -> None:
    """Copy this corpus (channels, videos, transcripts with their search index, sessions and
    job history) into another database, e.g. from a laptop's SQLite to a team's PostgreSQL.

    Stop run-consumer first. The target is created at the current schema when empty; a
    target that holds data is refused unless --resume. Every table's rows are counted on
    both sides at the end.

    \b
    Example:
        tubesensei db copy --to postgresql+psycopg://tubesensei@db.internal/tubesensei
    """
    from tubesensei.config import check_database_url
    from tubesensei.db.copy import copy_database

    try:
        check_database_url(target)
    except ValueError as exc:
        raise BadInput(f"--to: {exc}") from None
    source = app.runtime().database()
    with copy_progress() as progress:
        report = copy_database(source, target, resume=resume, progress=progress)
    rows = ", ".join(f"{n:,} {name}" for name, n in report.rows.items())
    click.echo(f"copied {report.total_copied:,} rows to {report.target}; it holds {rows}")


@contextmanager
def copy_progress() -> Iterator[Any]:
    """A progress bar per table on stderr (plain lines when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True)
    if not console.is_terminal:
        last: dict[str, int] = {}

        def report(table: str, done: int, total: int) -> None:
            if done == total and last.get(table) != done:
                click.echo(f"{table}: {done:,} of {total:,}", err=True)
            last[table] = done

        yield report
        return
    bars = Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(),
                    console=console)
    tasks: dict[str, Any] = {}

    def update(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=total)
        bars.update(tasks[table], completed=done, total=total)

    with bars:
        yield update
