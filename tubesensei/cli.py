"""The ``tubesensei`` command: the root group, every command group, and the one place errors
become exit codes. Commands live in tubesensei/commands/ (each parses, calls one library
function, prints); nothing here decides anything."""

from __future__ import annotations

import importlib
import os
import sys
import time
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import click

from tubesensei import __version__
from tubesensei.commands.common import AppContext
from tubesensei.errors import EXIT_BAD_INPUT, EXIT_FAILURE, EXIT_INTERRUPTED, TubeSenseiError


class CommandError(click.ClickException):
    """A TubeSenseiError (or a bug) on its way out: one line on stderr, its exit code."""

    def __init__(self, message: str, exit_code: int, prefix: str = "Error: ") -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.prefix = prefix

    def show(self, file: Any = None) -> None:
        click.echo(f"{self.prefix}{self.format_message()}", err=True)


class TubeSenseiGroup(click.Group):
    """The root group maps errors once, around whichever command runs:

    - a TubeSenseiError: its one-line message, its exit code (2 bad input, 1 otherwise);
    - anything else is a bug: the traceback goes to the log file, stderr gets one line
      naming the log, exit 1 (``TUBESENSEI_DEBUG=1`` lets the traceback through instead).
    """

    def _summary(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command if it is imported already, else a stand-in carrying its summary."""
        commands = self.commands
        if isinstance(commands, LazyCommands) and commands.loaded(name) is None \
                and name in SUMMARIES:
            return click.Command(name, help=SUMMARIES[name])
        return self.get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, from the summaries: `--help` imports no command module."""
        rows = [(name, cmd) for name in self.list_commands(ctx)
                if (cmd := self._summary(ctx, name)) is not None and not cmd.hidden]
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[Any]:
        """Command names complete from the summaries too (no command module imported)."""
        from click.shell_completion import CompletionItem

        items = [CompletionItem(name, help=cmd.get_short_help_str())
                 for name in self.list_commands(ctx) if name.startswith(incomplete)
                 if (cmd := self._summary(ctx, name)) is not None and not cmd.hidden]
        return [*items, *click.Command.shell_complete(self, ctx, incomplete)]

    def invoke(self, ctx: click.Context) -> Any:
        started = time.monotonic()
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        code, error = 0, None
        try:
            return super().invoke(ctx)
        except TubeSenseiError as exc:
            code, error = exc.exit_code, exc.user_message()
            raise CommandError(error, code, exc.prefix) from None
        except BrokenPipeError:
            # `tubesensei videos list --json | head`: the reader has what it wanted.
            from tubesensei.commands.output import silence_stdout

            silence_stdout()
            return None
        except click.ClickException as exc:
            code, error = exc.exit_code, exc.format_message()
            raise
        except click.exceptions.Exit as exc:
            code = exc.exit_code
            raise
        except (click.exceptions.Abort, KeyboardInterrupt):
            code, error = EXIT_INTERRUPTED, "interrupted"
            raise
        except Exception as exc:
            from tubesensei.jobs.diskspace import is_disk_full

            if is_disk_full(exc):  # not a bug: say so, as one line
                code, error = EXIT_FAILURE, "disk full"
                raise CommandError("the disk is full (the data folder or the database "
                                   "server): free some space and run it again; nothing was "
                                   "changed", EXIT_FAILURE) from None
            code, error = EXIT_FAILURE, f"unexpected {type(exc).__name__}"
            if os.environ.get("TUBESENSEI_DEBUG"):
                raise
            raise CommandError(_report_bug(exc), EXIT_FAILURE) from None
        finally:
            _log_command(args, code, error, time.monotonic() - started)


def _log_command(args: list[str], code: int, error: str | None, seconds: float) -> None:
    """One line per command in the log file (when the command opened it): what ran, how it
    ended, how long it took. Secrets on the line are masked by the logging set-up, and the
    value of ``config set`` for a secret key here."""
    from tubesensei.logging import get_logger, log_file

    if log_file() is None:
        return
    args = list(args)
    if args[:2] == ["config", "set"] and len(args) > 3:
        from tubesensei.config_edit import is_secret

        try:
            secret = is_secret(args[2].strip().lower())
        except Exception:  # an unknown key: mask to be safe
            secret = True
        if secret:
            args[3] = "********"
    fields: dict[str, Any] = {"argv": args, "exit_code": code, "seconds": round(seconds, 3)}
    if error:
        fields["error"] = error
    log = get_logger("tubesensei.cli")
    (log.info if code == 0 else log.warning)("command", **fields)


def _report_bug(exc: Exception) -> str:
    """Log the traceback; the line for stderr says where it went."""
    import logging

    from tubesensei.logging import log_file

    where = log_file()
    if where is not None:
        logging.getLogger("tubesensei").error("unexpected error", exc_info=exc)
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    hint = f"traceback in {where}" if where else "run with TUBESENSEI_DEBUG=1 for the traceback"
    return f"unexpected {type(exc).__name__}: {first_line} ({hint})"


@click.group(cls=TubeSenseiGroup,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    app = AppContext(config_file, overrides)
    ctx.obj = app
    ctx.call_on_close(app.close)


# Every command group, imported only when it runs (or for completion): `--version` and
# `--help` import none, `videos list` only commands/corpus.py. name: (module, attribute).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "channels": ("tubesensei.commands.corpus", "channels_group"),
    "completion": ("tubesensei.commands.setup", "completion_command"),
    "config": ("tubesensei.commands.setup", "config_group"),
    "db": ("tubesensei.commands.setup", "db_group"),
    "demo": ("tubesensei.commands.demo", "demo_command"),
    "enqueue": ("tubesensei.commands.jobs", "enqueue_group"),
    "init": ("tubesensei.commands.setup", "init_command"),
    "jobs": ("tubesensei.commands.jobs", "jobs_group"),
    "queues": ("tubesensei.commands.ops", "queues_group"),
    "run-consumer": ("tubesensei.commands.jobs", "run_consumer"),
    "sessions": ("tubesensei.commands.ops", "sessions_group"),
    "sim": ("tubesensei.sim.cli", "sim"),
    "stats": ("tubesensei.commands.ops", "stats_command"),
    "transcripts": ("tubesensei.commands.transcripts", "transcripts_group"),
    "tui": ("tubesensei.commands.tui", "tui_command"),
    "videos": ("tubesensei.commands.corpus", "videos_group"),
    "workers": ("tubesensei.commands.ops", "workers_group"),
}

# What `tubesensei --help` and completion say of each command without importing it: the first
# paragraph of its docstring (tests/unit/test_cli_lazy.py keeps them equal).
SUMMARIES: dict[str, str] = {
    "channels": "Channels in the corpus: add, sync, list, show, pause, resume, remove.",
    "completion": "Print the shell completion script for SHELL (commands, options, queue and "
                  "job-type names complete with Tab).",
    "config": "Inspect and change the configuration.",
    "db": "Database schema migrations.",
    "demo": "See the whole product work against a built-in fake YouTube: no internet, no API "
            "key.",
    "enqueue": "Queue work for run-consumer (offline: nothing is fetched now).",
    "init": "Create the data folder, your config file (never overwritten) and the database.",
    "jobs": "Inspect the job ledger, cancel and retry jobs.",
    "queues": "Show the queues; pause and resume them by hand.",
    "run-consumer": "Run the job queue: worker threads in this process, until Ctrl-C (or "
                    "--burst).",
    "sessions": "Processing sessions (batches) and their reports.",
    "sim": "A deterministic fake YouTube for tests, demos and benchmarks.",
    "stats": "Queue sizes, jobs by status and type, throughput, the backlog with an ETA from "
             "recent throughput, quota, pauses, breaker, workers.",
    "transcripts": "Transcripts: show, search, export, re-clean the stored ones; list a "
                   "video's on YouTube.",
    "tui": "Watch and steer the work: queues, jobs, failures, sessions, channels, transcripts.",
    "videos": "Videos discovered in the corpus.",
    "workers": "List live consumers; scale a queue's threads without a restart.",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """The root group's commands: every name is known at once, a command is imported when it
    is looked up (``cli.commands[name]``, ``get_command``); iterating names imports nothing."""

    def __init__(self, lazy: dict[str, tuple[str, str]]) -> None:
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}

    def loaded(self, name: str) -> click.Command | None:
        return self._loaded.get(name)

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, attribute = self._lazy[name]  # KeyError: no such command
            self._loaded[name] = getattr(importlib.import_module(module), attribute)
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._lazy.pop(name, None)
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        found = name in self
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)
        if not found:
            raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return name in self._loaded or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(self._lazy), **dict.fromkeys(self._loaded)})

    def __len__(self) -> int:
        return len(self._lazy.keys() | self._loaded.keys())


cli.commands = LazyCommands(LAZY_COMMANDS)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI: every error is one line on stderr and an exit code (see TubeSenseiGroup)."""
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
        return EXIT_INTERRUPTED
    finally:
        _flush_stdout()
    # In non-standalone mode click returns ctx.exit()'s code instead of raising Exit.
    return code if isinstance(code, int) else 0


def _flush_stdout() -> None:
    """What is still buffered goes out now, where a reader that went away (`| head`) can be
    told apart from a real error, instead of at exit as a warning."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        from tubesensei.commands.output import silence_stdout

        silence_stdout()
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
