"""What every command module shares: the app context and the options several commands take.

Errors are not handled here: commands raise the project's errors (tubesensei.errors) and the
root group maps them once (cli.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from tubesensei.app import Runtime
    from tubesensei.db.engine import Database


class AppContext:
    """What the root group knows: where the config is and the overrides given on the line.
    The runtime (settings, logging, database, job system) is opened on first use and closed
    when the command ends."""

    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self.config_file = config_file
        self.overrides = overrides
        self._runtime: Runtime | None = None

    def runtime(self, *, log_to_stderr: bool = False, log_optional: bool = False) -> Runtime:
        """Load settings once (ConfigError → exit 2) and set up logging (``log_optional``:
        a command that writes nothing runs on even where no log file can be written)."""
        if self._runtime is None:
            from tubesensei.app import Runtime

            self._runtime = Runtime.load(self.config_file, self.overrides)
            self._runtime.setup_logging(to_stderr=log_to_stderr, optional=log_optional)
        return self._runtime

    def reader(self) -> Database:
        """The database for a command that only reads: it works on a read-only data folder
        too (the file opened read-only, the log file optional)."""
        return self.runtime(log_optional=True).database(read_only=True)

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


pass_app = click.make_pass_decorator(AppContext)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def limit_option(table_rows: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--limit N``: at most N rows (a table shows ``table_rows`` by default, JSON all)."""
    return click.option("--limit", type=click.IntRange(min=1), default=None,
                        help=f"At most N rows (table default {table_rows}; --json: all).")


def shown_rows(limit: int | None, as_json: bool, table_rows: int) -> int | None:
    """How many rows to read: what --limit says, all for JSON, a screenful for a table."""
    return limit if (limit is not None or as_json) else table_rows


def channel_ref(text: str | None) -> Any:
    """Parse a channel reference (InvalidReference: exit 2)."""
    from tubesensei.youtube.ids import parse_channel_ref

    return parse_channel_ref(text) if text is not None else None


def __getattr__(name: str) -> Any:
    """``QUEUE_CHOICE`` and ``JOB_TYPE_CHOICE``, made when a command module first asks:
    importing the job registry imports tubesensei.jobs, and with it Huey (~120 ms), which
    ``--version``, ``--help`` and the commands that only read do not need."""
    if name in ("QUEUE_CHOICE", "JOB_TYPE_CHOICE"):
        from tubesensei.jobs.registry import JOB_TYPE_NAMES, QUEUES

        value = click.Choice(QUEUES if name == "QUEUE_CHOICE" else JOB_TYPE_NAMES)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PRIORITY = click.IntRange(-100, 100)


# Commands whose arguments may begin with "-" (video ids such as -hAbCdEfGhI, "-word" search
# exclusions): click passes unknown "-xyz" words through as arguments, and only --help asks
# for help ("-h" would take "-hAbCdEfGhI" for itself); "-h" alone still shows the help.
DASH_ARGS: dict[str, Any] = {"ignore_unknown_options": True, "help_option_names": ["--help"]}


def lone_help(args: tuple[str, ...] | str) -> bool:
    """Print the command's help when its only argument is ``-h`` (see DASH_ARGS)."""
    if args not in ("-h", ("-h",)):
        return False
    click.echo(click.get_current_context().get_help())
    return True
