"""CLI output, in one place: tables, JSON, cells, "showing N of M". Data goes to stdout;
progress and errors to stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import click

from tubesensei.formatting import hms

__all__ = ["console", "hms", "interactive", "number", "plain", "print_json", "print_table",
           "showing", "silence_stdout", "table", "when"]


def console() -> Any:
    """Rich output on stdout; piped (no terminal, no $COLUMNS) it is 160 wide, not 80, so
    ids and titles are not cut to pieces in files and pagers."""
    from rich.console import Console

    out = Console(soft_wrap=False, highlight=False)
    if not out.is_terminal and not os.environ.get("COLUMNS"):
        out.width = 160
    out.on_broken_pipe = silence_stdout  # type: ignore[method-assign]  # `| head`: exit 0
    return out


def table(title: str | None = None) -> Any:
    from rich.table import Table

    return Table(title=title, title_justify="left")


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]],
                title: str | None = None) -> None:
    """A plain table: every cell as text (never read as markup), None as empty."""
    t = table(title)
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*(plain("" if v is None else v) for v in row))
    console().print(t)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def plain(value: Any) -> Any:
    """A table cell that rich must not read as markup (titles may contain "[...]")."""
    from rich.text import Text

    return Text("" if value is None else str(value))


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def number(value: int | None) -> str:
    return f"{value:,}" if value is not None else "-"


def showing(shown: int, total: int, noun: str) -> None:
    if shown < total:
        click.echo(f"showing {shown} of {total:,} {noun} (use --limit N or --json for more)")


def silence_stdout() -> None:
    """Point stdout at devnull (the reader went away: `... | head`), so the interpreter's
    final flush does not complain."""
    import io

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


def interactive() -> bool:
    """Whether a person can answer a confirmation prompt."""
    return sys.stdin.isatty()
