"""What every command module shares: the app context, error types, common options."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from tubesensei.config import ConfigError
from tubesensei.db.schema import SchemaError

T = TypeVar("T")

EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2


class BadInput(click.ClickException):
    """Bad input from the user: one line on stderr, exit 2."""

    exit_code = EXIT_BAD_INPUT


class Failure(click.ClickException):
    """The command could not do its work (YouTube said no, a job failed): exit 1."""

    exit_code = EXIT_FAILURE


class Interrupted(click.ClickException):
    """Stopped by Ctrl-C / SIGTERM after cleaning up: the message as one line, exit 130."""

    exit_code = 130

    def show(self, file: Any = None) -> None:
        click.echo(self.format_message(), err=True)


class AppContext:
    """What the root group knows: where the config is and the overrides given on the line."""

    def __init__(self, config_file: Path | None, overrides: dict[str, Any]) -> None:
        self.config_file = config_file
        self.overrides = overrides
        self._runtime: Any = None

    def runtime(self, *, log_to_stderr: bool = False) -> Any:
        """Load settings once (ConfigError → exit 2) and set up logging."""
        if self._runtime is None:
            from tubesensei.app import Runtime

            self._runtime = Runtime.load(self.config_file, self.overrides)
            self._runtime.setup_logging(to_stderr=log_to_stderr)
        return self._runtime


pass_app = click.make_pass_decorator(AppContext)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(
        func
    )


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def translate_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the project's error types into one-line click errors with the right exit code.

    Bad input (config, references, queries) exits 2; everything YouTube or the data says no
    to exits 1. Nothing here decides anything: it only maps the one error taxonomy.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from tubesensei.youtube.errors import YouTubeError
        from tubesensei.youtube.ids import InvalidReference

        try:
            return func(*args, **kwargs)
        except (ConfigError, InvalidReference) as exc:
            raise BadInput(str(exc)) from None
        except (SchemaError, LookupError) as exc:
            raise Failure(str(exc).strip("'\"")) from None
        except YouTubeError as exc:
            raise Failure(f"YouTube: {exc.message}") from None

    return wrapper


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run one service coroutine for a command."""
    return asyncio.run(coro)


def database_call(app: AppContext, fn: Callable[..., Coroutine[Any, Any, T]], *args: Any,
                  **kwargs: Any) -> T:
    """Open the database (creating a brand-new one), run ``fn(db, ...)``, close it."""

    async def go() -> T:
        db = app.runtime().database()
        try:
            return await fn(db, *args, **kwargs)
        finally:
            await db.dispose()

    return run_async(go())




def console() -> Any:
    """A rich console for tables: the terminal's width, or 160 columns when piped."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=160)
