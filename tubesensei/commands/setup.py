"""Setting up: ``init``, ``config show|set|unset``, ``completion``, ``db upgrade|current|copy``."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from tubesensei.commands.common import AppContext, json_option, pass_app
from tubesensei.commands.output import console, interactive, plain, print_json, table
from tubesensei.errors import BadInput


@click.command(name="init")
@pass_app
def init_command(app: AppContext) -> None:
    """Create the data folder, your config file (never overwritten) and the database.

    The config file is the user config (or the file --config or $TUBESENSEI_CONFIG
    names), created readable only by you; `tubesensei config set` edits it. Safe to run
    again: it only creates what is missing.

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
    if report.also_read is not None:
        what = (f"sets {report.also_read_keys} key(s), which win over the config file here"
                if report.also_read_keys else "sets nothing")
        click.echo(f"also read    {report.also_read}  [in this folder; {what}]")
    click.echo("next         tubesensei config set youtube.api_key -   (paste your key)")


@click.group(name="config")
def config_group() -> None:
    """Inspect and change the configuration."""


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

    rt = app.runtime(log_optional=True)
    rows = describe_config(rt.loaded)
    files = [str(path) for path in rt.loaded.config_files]
    if as_json:
        print_json(
            {
                "config_file": str(rt.loaded.config_file) if rt.loaded.config_file else None,
                "config_files": files,
                "data_dir": str(rt.settings.resolved_data_dir),
                "settings": rows,
            }
        )
        return
    title = "config file" + ("s (the last wins)" if len(files) > 1 else "")
    t = table(f"{title}: {', '.join(files) or '(none: defaults)'}")
    t.add_column("key", no_wrap=True)
    t.add_column("value", overflow="fold")
    t.add_column("source", overflow="fold")
    for row in rows:
        t.add_row(row["key"], plain(json.dumps(row["value"])), row["source"])
    console().print(t)


def complete_key(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    from tubesensei.config import field_docs

    return [key for key in field_docs() if key.startswith(incomplete.lower())]


@config_group.command(name="set")
@click.argument("key", shell_complete=complete_key)
@click.argument("value")
@pass_app
def config_set(app: AppContext, key: str, value: str) -> None:
    """Set KEY to VALUE in your config file, keeping its comments (created if missing).

    The value is checked first; lists take JSON or commas (en,de). VALUE `-` reads it
    from a hidden prompt (or stdin when piped): keys and passwords stay out of your shell
    history. A file holding a secret is made readable only by you (mode 600).

    \b
    Example:
        tubesensei config set youtube.api_key -
        tubesensei config set transcripts.languages en,de
        tubesensei config set limits.transcripts_per_minute 20
    """
    from tubesensei.config_edit import check_key, is_secret, parse_value, set_value

    key = check_key(key)
    if value == "-":
        value = read_value(key, hidden=is_secret(key))
    parsed = parse_value(key, value)
    target = config_target(app)
    edit = set_value(target, key, parsed)
    mode = f", mode {edit.mode:o}" if edit.secret else ""
    click.echo(f"{key} = {edit.shown}  in {edit.path}{mode}"
               + ("" if edit.changed else "  (unchanged)"))
    warn_overridden(app, key)
    warn_invalid(app)


@config_group.command(name="unset")
@click.argument("key", shell_complete=complete_key)
@pass_app
def config_unset(app: AppContext, key: str) -> None:
    """Remove KEY from your config file: its default applies again.

    \b
    Example:
        tubesensei config unset limits.transcripts_per_minute
    """
    from tubesensei.config_edit import check_key, unset_value

    key = check_key(key)
    edit = unset_value(config_target(app), key)
    if edit.changed:
        click.echo(f"{key} removed from {edit.path}")
    else:
        click.echo(f"{key} is not set in {edit.path}")
    warn_overridden(app, key)


@config_group.command(name="check")
@pass_app
def config_check(app: AppContext) -> None:
    """Check the whole configuration (files, environment, command line) and list every
    problem at once; exit 2 if there is any.

    \b
    Example:
        tubesensei config check
    """
    from tubesensei.config import check_configuration

    loaded, problems = check_configuration(app.config_file, app.overrides)
    if problems or loaded is None:
        for problem in problems:
            click.echo(f"  {problem}")
        raise BadInput(f"{len(problems)} problem(s) in the configuration (listed above)")
    files = ", ".join(str(p) for p in loaded.config_files) or "no config file (defaults)"
    click.echo(f"configuration OK: {files}")
    if loaded.settings.youtube.api_key is None:
        click.echo("note: youtube.api_key is not set: discovery needs it "
                   "(tubesensei config set youtube.api_key -)")


def config_target(app: AppContext) -> Path:
    """The file config set/unset edit: --config, $TUBESENSEI_CONFIG, else the user config
    (never a ./tubesensei.toml found in the current folder: in a clone it is tracked)."""
    from tubesensei.config import default_config_file, explicit_config_file

    return explicit_config_file(app.config_file, os.environ) or default_config_file()


def read_value(key: str, *, hidden: bool) -> str:
    """VALUE ``-``: from a prompt on a terminal (hidden for a secret), else one line of stdin."""
    if interactive():
        text = click.prompt(key, hide_input=hidden, err=True, default="", show_default=False)
    else:
        text = sys.stdin.readline()
    text = text.strip()
    if not text:
        raise BadInput(f"{key}: no value given (VALUE '-' reads it from stdin or a prompt)")
    return text


def warn_invalid(app: AppContext) -> None:
    """The value is fine on its own; say so when the whole configuration is not (yet): a
    rule across keys, e.g. queue.backend redis before queue.url is set."""
    from tubesensei.config import ConfigError, load_settings

    try:
        load_settings(app.config_file, app.overrides)
    except ConfigError as exc:
        click.echo(f"note: the configuration is not usable yet: {exc}", err=True)


def warn_overridden(app: AppContext, key: str) -> None:
    from tubesensei.config import explicit_config_file, local_config_file
    from tubesensei.config_edit import overridden_by

    local = None if explicit_config_file(app.config_file, os.environ) else local_config_file()
    for what in overridden_by(key, os.environ, local):
        click.echo(f"note: {what} sets {key} too and wins over this file", err=True)


@click.command(name="completion")
@click.argument("shell", metavar="SHELL", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for SHELL (commands, options, queue and job-type
    names complete with Tab).

    \b
    Example:
        eval "$(tubesensei completion bash)"       # in ~/.bashrc
        eval "$(tubesensei completion zsh)"        # in ~/.zshrc
        tubesensei completion fish > ~/.config/fish/completions/tubesensei.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root().command
    completer = get_completion_class(shell)
    assert completer is not None  # the choice above lists only shells click knows
    click.echo(completer(root, {}, "tubesensei", "_TUBESENSEI_COMPLETE").source())


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
    from tubesensei.db.schema import schema_state

    state = schema_state(app.reader().url)  # a read-only data folder answers too
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
