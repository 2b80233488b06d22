"""``tubesensei demo``: progress bars while the demo works, a summary table at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tubesensei.commands.common import AppContext, pass_app
from tubesensei.errors import Interrupted

# More channels than this share one bar: a terminal is only so tall.
MAX_CHANNEL_BARS = 10
TITLE_CHARS = 22


class ProgressView:
    """Rich progress bars (on stderr) fed with the demo's DemoProgress snapshots."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=32),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[note]}", style="yellow"),
            TimeElapsedColumn(),
            console=console,
            refresh_per_second=8,
        )
        self._tasks: dict[str, Any] = {}
        # Not a terminal (a pipe, a CI log): no live redrawing, the final bars once at the end.
        self._live = console.is_terminal
        self.console = console

    def start(self, channels: int) -> None:
        add = self.progress.add_task
        self._tasks["discovery"] = add("discovery     (channels)", total=channels, note="")
        self._tasks["transcripts"] = add("transcripts   (videos)  ", total=None, note="")
        if self._live:
            self.progress.start()

    def _bar(self, key: str, label: str) -> Any:
        if key not in self._tasks:
            self._tasks[key] = self.progress.add_task(label, total=None, note="")
        return self._tasks[key]

    def update(self, p: Any) -> None:
        update = self.progress.update
        update(self._tasks["discovery"], completed=p.discovered)
        note = f"{p.retries} retried" if p.retries else ""
        if p.failed:
            note = f"{note}, {p.failed} failed".lstrip(", ")
        update(self._tasks["transcripts"], completed=p.finished,
               total=p.wanted if p.all_discovered else None, note=note)
        shown, rest = p.channels[:MAX_CHANNEL_BARS], p.channels[MAX_CHANNEL_BARS:]
        width = max(len(c.ref) for c in p.channels)
        for c in shown:
            task = self._bar(c.ref, "")
            title = (c.title or "")[:TITLE_CHARS].ljust(TITLE_CHARS)
            update(task, description=f"  {c.ref.ljust(width)} {title}", completed=c.finished,
                   total=c.wanted if c.discovered else None,
                   note=f"{c.failed} failed" if c.failed else "")
        if rest:
            task = self._bar("rest", f"  {len(rest)} more channels")
            update(task, completed=sum(c.finished for c in rest),
                   total=sum(c.wanted for c in rest)
                   if all(c.discovered for c in rest) else None, note="")

    def stop(self, *, keep: bool = True) -> None:
        """Stop redrawing; ``keep=False`` (interrupted) leaves one line, not half-full bars."""
        if self._live:
            self.progress.live.transient = not keep
            self.progress.stop()
        elif keep and self._tasks:
            self.console.print(self.progress.get_renderable())


def _number(n: float) -> str:
    return f"{n:,.0f}"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def render_summary(console: Any, report: Any, options: Any) -> None:
    """The summary table (fits 80 columns), where the data is, and how to explore it."""
    from rich.table import Table

    from tubesensei.db.models import UNAVAILABLE_REASONS, VIDEO_KINDS

    table = Table(title="TubeSensei demo: summary", title_justify="left", show_header=False)
    table.add_column("what", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("notes", style="dim", no_wrap=True, overflow="ellipsis")
    table.add_row("channels", _number(report.channels), f"of {options.channels} simulated")
    table.add_row("videos", _number(report.videos), "private/deleted ones are skipped")
    for kind in VIDEO_KINDS:
        note = "waiting until it ends" if kind in ("live", "upcoming") else ""
        table.add_row(f"  {kind}", _number(report.videos_by_kind.get(kind, 0)), note)
    table.add_row("transcripts stored", _number(report.transcripts), "cleaned, full-text indexed")
    table.add_row("unavailable", _number(report.unavailable), "no transcript, by reason:")
    for reason in UNAVAILABLE_REASONS:
        table.add_row(f"  {reason}", _number(report.unavailable_by_reason.get(reason, 0)), "")
    table.add_row("faults injected", _number(report.faults_injected), "5xx answers (simulated)")
    table.add_row("retries", _number(report.retries), "jobs that needed another attempt")
    table.add_row("failures", _number(report.failures), "jobs that used up their attempts")
    table.add_row("wall time", f"{report.wall_s:.1f} s", _plural(report.workers, "worker"))
    table.add_row("videos per minute", _number(report.videos_per_minute),
                  f"{_plural(report.processed, 'video')} processed")
    table.add_row("quota units spent", _number(report.quota_units),
                  "a real key has 10,000 a day")
    table.add_row("data folder", "", "kept (below)" if report.kept
                  else "removed (--keep keeps it to explore)")
    console.print(table)
    if report.kept:
        console.print(f"\nData folder: {report.data_dir}", soft_wrap=True)
        console.print("Explore the corpus:")
        for command in report.explore_commands():
            console.print(f"  {command}", soft_wrap=True)


@click.command(name="demo")
@click.option("--channels", type=click.IntRange(1, 50), default=5, show_default=True,
              help="Simulated channels.")
@click.option("--videos", type=click.IntRange(1, 2000), default=60, show_default=True,
              help="Uploads per channel (a few are private or deleted, as on YouTube).")
@click.option("--workers", type=click.IntRange(1, 16), default=4, show_default=True,
              help="Consumer worker threads.")
@click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True,
              help="The same seed gives the same simulated world.")
@click.option("--keep", is_flag=True, help="Keep the data folder to explore it afterwards.")
@click.option("--tui", is_flag=True,
              help="Watch the run in the live dashboard (tubesensei tui); quit it with q to "
                   "stop the demo and see the summary.")
@click.option("--data-dir", "demo_data_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Use this new or empty folder instead of a temporary one (always kept).")
@pass_app
def demo_command(app: AppContext, channels: int, videos: int, workers: int, seed: int,
                 keep: bool, tui: bool, demo_data_dir: Path | None) -> None:
    """See the whole product work against a built-in fake YouTube: no internet, no API key.

    Starts the simulator in this process (with latency and a few 5xx faults), queues its
    channels, runs the consumer until everything is processed, shows progress, and prints
    a summary. Your own configuration and data are not touched.

    \b
    Example:
        tubesensei demo
        tubesensei demo --channels 2 --videos 200 --workers 8 --keep
        tubesensei demo --tui
    """
    from rich.console import Console

    from tubesensei.demo import DemoOptions, run_demo

    data_dir = demo_data_dir or app.overrides.get("data_dir")
    options = DemoOptions(channels=channels, videos_per_channel=videos, workers=workers,
                          seed=seed, data_dir=data_dir, keep=keep, tui=tui)
    out = Console(highlight=False)
    view = ProgressView(Console(stderr=True))

    def started(folder: Path, n: int) -> None:
        out.print(f"TubeSensei demo: {n} simulated channels x {videos} uploads, "
                  f"{_plural(workers, 'worker')}", soft_wrap=True)
        out.print(f"simulated YouTube: {options.latency_ms:.0f} ms latency, "
                  f"{options.error_rate:.0%} of requests fail with 5xx; no API key, no internet",
                  soft_wrap=True)
        out.print(f"data folder: {folder}", soft_wrap=True)
        if not tui:  # the dashboard takes the whole terminal instead
            view.start(n)

    report = None
    try:
        report = run_demo(options, (lambda _p: None) if tui else view.update, on_start=started)
    finally:
        view.stop(keep=report is not None and not report.interrupted)
    if report.interrupted:
        where = f"data kept in {report.data_dir}" if report.kept else "data folder removed"
        raise Interrupted(f"Interrupted: demo stopped after {report.wall_s:.1f}s ({where}).")
    render_summary(out, report, options)
