"""How long the work will take, in words: the backlog's ETA (``stats``), ``run-consumer``'s
live progress above its log lines, and its closing summary (what still waits, and until when).

Text only, from the reads in queries/progress.py and the consumer's summary; the live
display is rich's ``Live`` on stderr, shown only when stderr is a terminal.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from tubesensei.formatting import duration
from tubesensei.queries.progress import Backlog, QueueProgress
from tubesensei.queries.state import QueueStatus

REFRESH_SECONDS = 1.0


def clock(at: datetime, now: datetime | None = None) -> str:
    """A moment as UTC wall time: '14:05:09 UTC', with the date when it is not today."""
    at = at.astimezone(UTC)
    if at.date() != (now or datetime.now(UTC)).astimezone(UTC).date():
        return at.strftime("%Y-%m-%d %H:%M:%S UTC")
    return at.strftime("%H:%M:%S UTC")


def rate_text(q: QueueProgress) -> str:
    rate = q.per_minute
    return "–" if rate is None else f"{rate:.1f}/min"


def hold_text(status: QueueStatus, now: datetime) -> str | None:
    """Why and until when a queue is held (None: it is not)."""
    if status.paused:
        return f"paused by hand (tubesensei queues resume {status.queue})"
    if status.paused_until is not None and status.paused_until > now:
        why = ("the Data API quota is used up" if status.pause_reason == "quota_exhausted"
               else status.pause_reason or "paused")
        return f"paused until {clock(status.paused_until, now)} ({why})"
    if status.breaker_state == "open" and status.breaker_until and status.breaker_until > now:
        return f"breaker open, next probe at {clock(status.breaker_until, now)}"
    if status.breaker_state == "half_open":
        return "breaker half-open (one probe job running)"
    return None


def eta_text(q: QueueProgress, now: datetime) -> str:
    """'done', '34m 10s (14:05:09 UTC)', or why there is no ETA."""
    if not q.remaining:
        return "done"
    held = hold_text(q.status, now)
    eta = q.eta_s
    if eta is not None:
        after = f", after the hold: {held}" if held else ""
        return f"{duration(eta)} ({clock(now + timedelta(seconds=eta), now)}{after})"
    if held is not None:
        return f"held: {held}"
    why = "no consumer running" if not q.consumers else "no throughput yet"
    floor = q.floor_s
    if floor is not None:
        why += f"; at least {duration(floor)} at {q.limit_per_min:g}/min"
    return f"– ({why})"


def backlog_rows(b: Backlog) -> list[list[str]]:
    """The rows of ``stats``' backlog table: queue, remaining, rate, ETA."""
    return [[q.queue, f"{q.remaining:,}", rate_text(q), eta_text(q, b.at)] for q in b.queues]


def progress_lines(b: Backlog, queues: Sequence[str] | None = None) -> list[str]:
    """The live progress of ``run-consumer``, one line per queue it serves:
    'transcripts  120/1,000 done  28.5/min  ETA 31m 02s (14:05:09 UTC)'."""
    shown = [q for q in b.queues if queues is None or q.queue in queues]
    width = max((len(q.queue) for q in shown), default=0)
    return [f"{q.queue:<{width}}  {q.done:,}/{q.total:,} done  {rate_text(q)}  "
            f"ETA {eta_text(q, b.at)}" for q in shown]


def _renderable(b: Backlog, queues: Sequence[str]) -> Any:
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    # Only the queues with something to show: done or left since the start, or held.
    shown = [q.queue for q in b.queues if q.queue in queues and (q.total or q.held())]
    if not shown:
        return Text("no jobs yet: waiting for work", style="dim")
    grid = Table.grid(padding=(0, 1))
    for _ in range(3):
        grid.add_column()
    for q, line in zip([q for q in b.queues if q.queue in shown], progress_lines(b, shown),
                       strict=True):
        name, _, rest = line.partition("  ")
        grid.add_row(Text(name, style="bold"),
                     ProgressBar(total=max(q.total, 1), completed=q.done if q.total else 1,
                                 width=24),
                     Text(rest.strip(), style="dim" if not q.remaining else ""))
    return grid


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    """Our log handlers that write to a stream (run-consumer's stderr)."""
    return [h for h in logging.getLogger().handlers
            if getattr(h, "_tubesensei", False) and isinstance(h, logging.StreamHandler)
            and not isinstance(h, logging.FileHandler)]


@contextmanager
def live_progress(read: Callable[[], Backlog], queues: Sequence[str], *,
                  enabled: bool | None = None) -> Iterator[None]:
    """Show ``read()``'s progress at the bottom of the terminal, refreshed about once a
    second, with the log lines printing above it. Does nothing when stderr is not a terminal
    (``enabled`` decides instead when given): logs stay plain lines."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield
        return
    from rich.console import Console
    from rich.file_proxy import FileProxy
    from rich.live import Live

    console = Console(stderr=True)
    live = Live(console=console, auto_refresh=False, transient=True, redirect_stdout=False,
                redirect_stderr=False)
    handlers = _stream_handlers()
    stop = threading.Event()

    def refresh() -> None:
        while True:
            try:
                live.update(_renderable(read(), queues), refresh=True)
            except Exception:  # a database hiccup must not end the display, nor the consumer
                pass
            if stop.wait(REFRESH_SECONDS):
                return

    live.start()
    previous = [h.setStream(FileProxy(console, h.stream)) for h in handlers]
    thread = threading.Thread(target=refresh, name="tubesensei-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
        live.stop()


def summary_lines(elapsed_s: float, outcomes: dict[str, int],
                  remaining: dict[str, dict[str, Any]], holds: dict[str, QueueStatus],
                  now: datetime) -> list[str]:
    """What ``run-consumer`` prints as it ends: the counts; per queue what still waits and
    when it will run (the next retry); an open breaker (since when, next probe) or a pause
    (until when: a quota pause lifts at the quota's reset, and the jobs it holds run then)."""
    done = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "no jobs"
    lines = [f"consumer stopped after {elapsed_s:.1f}s: {done}"]
    for queue in sorted(set(remaining) | {q for q, st in holds.items() if _is_held(st, now)}):
        state = remaining.get(queue, {})
        parts = [f"{k} {v}" for k, v in state.items() if k != "next_retry_at"]
        if parts:
            due = state.get("next_retry_at")
            when = f", next retry at {clock(datetime.fromisoformat(due), now)}" if due else ""
            lines.append(f"still waiting in {queue}: {', '.join(parts)}{when}")
        status = holds.get(queue)
        if status is not None:
            lines += _hold_lines(status, sum(v for k, v in state.items()
                                             if k != "next_retry_at"), now)
    return lines


def _is_held(status: QueueStatus, now: datetime) -> bool:
    return status.paused or status.breaker_state != "closed" or (
        status.paused_until is not None and status.paused_until > now)


def _hold_lines(st: QueueStatus, waiting: int, now: datetime) -> list[str]:
    jobs = f"its {waiting} waiting job(s)" if waiting else "new jobs"
    if st.paused:
        return [f"{st.queue} is paused by hand: {jobs} run after "
                f"`tubesensei queues resume {st.queue}`"]
    if st.paused_until is not None and st.paused_until > now:
        if st.pause_reason == "quota_exhausted":
            return [f"{st.queue} is paused for the Data API quota until "
                    f"{clock(st.paused_until, now)} (the quota's reset): {jobs} run then"]
        return [f"{st.queue} is paused until {clock(st.paused_until, now)} "
                f"({st.pause_reason or 'no reason given'}): {jobs} run then"]
    if st.breaker_state == "open" and st.breaker_until is not None:
        since = f" since {clock(st.updated_at, now)}" if st.updated_at is not None else ""
        reason = f": {st.breaker_reason}" if st.breaker_reason else ""
        probe = (f"next probe at {clock(st.breaker_until, now)}" if st.breaker_until > now
                 else "a probe is due now")
        return [f"{st.queue} circuit breaker open{since} (opened {st.breaker_opens}× in a row"
                f"{reason}); {probe}, {jobs} run once it gets through"]
    if st.breaker_state == "half_open":
        return [f"{st.queue} circuit breaker half-open: a probe job decides whether {jobs} run"]
    return []
