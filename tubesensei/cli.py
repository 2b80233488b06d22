"""The ``tubesensei`` command. Each command parses, calls one service, prints; no logic here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from tubesensei import __version__
from tubesensei.commands.common import (
    EXIT_BAD_INPUT,
    EXIT_FAILURE,
    AppContext,
    json_option,
    pass_app,
    print_json,
    translate_errors,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="tubesensei")
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config file (default: $TUBESENSEI_CONFIG, ./tubesensei.toml, the user config folder).",
)
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder for the database, queue and logs (overrides TUBESENSEI_DATA_DIR).",
)
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, data_dir: Path | None) -> None:
    """TubeSensei: collect every video and transcript of YouTube channels into a local,
    searchable corpus.

    \b
    Example:
        tubesensei init
        tubesensei config show
    """
    overrides = {"data_dir": data_dir} if data_dir is not None else {}
    ctx.obj = AppContext(config_file, overrides)


# -- init ---------------------------------------------------------------------------------


@cli.command(name="init")
@pass_app
@translate_errors
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


# -- config -------------------------------------------------------------------------------


@cli.group(name="config")
def config_group() -> None:
    """Inspect the effective configuration."""


@config_group.command(name="show")
@json_option
@pass_app
@translate_errors
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
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"config file: {rt.loaded.config_file or '(none)'}", title_justify="left")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("source")
    for row in rows:
        table.add_row(row["key"], json.dumps(row["value"]), row["source"])
    Console(soft_wrap=False).print(table)


# -- db -----------------------------------------------------------------------------------


@cli.group(name="db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command(name="upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@pass_app
@translate_errors
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
@translate_errors
def db_current(app: AppContext, as_json: bool) -> None:
    """Show the database's schema revision and the code's head revision.

    \b
    Example:
        tubesensei db current
    """
    rt = app.runtime()
    state = rt.ensure_schema()
    if as_json:
        print_json({"current": state.current, "head": state.head, "up_to_date": state.up_to_date})
    else:
        click.echo(f"{state.current} (head)" if state.up_to_date else f"{state.current}")


def _register_command_modules() -> None:
    from tubesensei.sim.cli import sim as sim_group

    cli.add_command(sim_group, name="sim")

    from tubesensei.commands import jobs

    jobs.register(cli)

    from tubesensei.commands import corpus

    corpus.register(cli)
    from tubesensei.commands import demo

    demo.register(cli)
    from tubesensei.commands import tui

    tui.register(cli)


_register_command_modules()


# -- entry point --------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every error is one line on stderr (a traceback only with TUBESENSEI_DEBUG)."""
    try:
        code = cli.main(args=argv, prog_name="tubesensei", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        return 0
    except click.UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        click.echo(f"Error: {exc.format_message()}{hint}", err=True)
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILURE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback in the log
        if os.environ.get("TUBESENSEI_DEBUG"):
            raise
        import logging

        logging.getLogger("tubesensei").exception("unexpected error")
        first_line = (str(exc).strip().splitlines() or [""])[0][:200]
        click.echo(f"Error: unexpected {type(exc).__name__}: {first_line} (details in the log)",
                   err=True)
        return EXIT_FAILURE
    # In non-standalone mode click returns ctx.exit()'s code instead of raising Exit.
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
