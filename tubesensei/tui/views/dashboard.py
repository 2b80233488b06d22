"""Dashboard: queues with their throughput, workers, limits, and the corpus in numbers."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Sparkline, Static

from tubesensei.queries.progress import Backlog, QueueProgress
from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import Dashboard, QueueState
from tubesensei.tui.throughput import ThroughputHistory
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.text_table import Column, text_table, width_of


def queue_state(q: QueueState, now: datetime) -> Content:
    """One short word for the table, with how long until the hold lifts."""
    if q.paused:
        return Content.styled("paused", "$warning")
    if q.paused_until is not None and q.paused_until > now:
        left = fmt.short_duration((q.paused_until - now).total_seconds())
        return Content.styled(f"paused {left}", "$warning")
    if q.breaker == "open" and q.breaker_until is not None and q.breaker_until > now:
        left = fmt.short_duration((q.breaker_until - now).total_seconds())
        return Content.styled(f"breaker {left}", "$error")
    if q.breaker != "closed":
        return Content.styled("probing", "$warning")
    if q.running:
        return Content.styled("working", "$success")
    return Content.styled("idle" if not q.pending else "waiting", "$text-muted")


def hold_line(q: QueueState, now: datetime, tz: object) -> Content:
    """The queue's pause or breaker in full: why, and when it lifts."""
    name = Content.styled(f"{q.name:<12}", "bold")
    if q.paused:
        return Content.assemble(name, ("paused by hand", "$warning"),
                                " (resume: tubesensei queues resume)")
    if q.paused_until is not None and q.paused_until > now:
        return Content.assemble(
            name, (f"paused until {fmt.clock_time(q.paused_until, tz, now)}", "$warning"),
            f" ({fmt.until(q.paused_until, now)}, {q.pause_reason or 'no reason'})")
    if q.breaker == "open" and q.breaker_until is not None and q.breaker_until > now:
        return Content.assemble(
            name, (f"breaker open until {fmt.clock_time(q.breaker_until, tz, now)}", "$error"),
            f" ({fmt.until(q.breaker_until, now)}, opened {q.breaker_opens}×"
            f"{': ' + fmt.shorten(q.breaker_reason, 40) if q.breaker_reason else ''})")
    if q.breaker == "half_open":
        return Content.assemble(name, ("breaker half-open: one probe job running", "$warning"))
    return Content.assemble(name, ("running", "$success"))


QUEUE_COLUMNS: list[Column] = [
    ("queue", 11, "left"), ("state", 11, "left"), ("pending", 7, "right"),
    ("retry", 5, "right"), ("running", 7, "right"), ("failed", 6, "right"),
    ("ETA", 6, "right"), ("/min", 5, "right"),
]


def eta_cell(q: QueueProgress | None, now: datetime) -> Content:
    """How long the queue's backlog will take at its recent rate, counted from when a pause
    or breaker lifts: 'done', '34m', 'held' (until somebody resumes it, or no rate to tell)
    or '–' (no throughput lately)."""
    if q is None:
        return Content("–")
    if not q.remaining:
        return Content.styled("done", "$text-muted")
    eta = q.eta_s
    if eta is None:
        return Content.styled("held", "$warning") if q.held() else Content("–")
    return Content.styled(fmt.short_duration(eta), "$warning" if q.held() else "bold")


def backlog_line(b: Backlog | None, now: datetime, tz: object) -> Content:
    """The whole backlog in one line: jobs left and when they will be done, or why not known."""
    if b is None:
        return Content("")
    minutes = f"{b.window_s / 60:g}"
    if not b.remaining:
        return Content.assemble(("backlog ", "$text-muted"), ("empty", "bold"))
    left = Content.assemble(("backlog ", "$text-muted"), (fmt.number(b.remaining), "bold"),
                            (" jobs · ", "$text-muted"))
    eta = b.eta_s
    if eta is not None:
        done_at = now + timedelta(seconds=eta)
        return Content.assemble(left, ("ETA ", "$text-muted"), (fmt.duration(eta), "bold"),
                                f" ({fmt.clock_time(done_at, tz, now)})",
                                (f" at the last {minutes} min's rate", "$text-muted"))
    held = [q.queue for q in b.queues if q.remaining and q.held() is not None]
    why = ("no consumer running" if not b.consumers else
           f"{', '.join(held)} held" if held else "no throughput yet")
    return Content.assemble(left, ("ETA ", "$text-muted"), "–", (f" ({why})", "$text-muted"))
WORKER_COLUMNS: list[Column] = [
    ("host", 16, "left"), ("pid", 7, "right"), ("threads", 7, "right"),
    ("in flight", 9, "right"), ("processed", 9, "right"), ("failed", 6, "right"),
    ("heartbeat", 10, "right"),
]


class DashboardView(DataView):
    FOCUS = "#dashboard-scroll"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._last: tuple[Dashboard, ThroughputHistory] | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dashboard-scroll"):
            with Vertical(id="queues-box", classes="box") as box:
                box.border_title = "Queues"
                yield Static(id="queues")
                with Horizontal(id="throughput-row"):
                    yield Sparkline([], id="throughput")
                    yield Static(id="rates")
            with Vertical(id="limits-box", classes="box") as box:
                box.border_title = "Limits"
                yield Static(id="limits")
            with Vertical(id="workers-box", classes="box") as box:
                box.border_title = "Workers"
                yield Static(id="workers")
            with Vertical(id="corpus-box", classes="box") as box:
                box.border_title = "Corpus"
                yield Static(id="corpus")

    def reload(self, periodic: bool = False) -> None:
        if not periodic:
            self.tui.load_dashboard()

    def on_resize(self) -> None:
        if self._last is not None:
            self.call_after_refresh(lambda: self.show(*self._last) if self._last else None)

    def show(self, d: Dashboard, history: ThroughputHistory) -> None:
        self._last = (d, history)
        now = d.at
        queues = self.query_one("#queues", Static)
        width = queues.size.width or self.app.size.width - 6
        columns = list(QUEUE_COLUMNS)
        room = width - width_of(columns) - 2
        if room < 12:  # narrow: the sparkline matters more than the rate
            columns = columns[:-1]
            room = width - width_of(columns) - 2
        with_rate = len(columns) == len(QUEUE_COLUMNS)
        buckets = max(6, min(history.buckets, room))
        span = fmt.short_duration(buckets * history.bucket_seconds)
        columns.append((f"last {span}", buckets, "left"))
        rows = []
        for q in d.queues:
            cells: list[Content | str] = [
                Content.styled(q.name, "bold"), queue_state(q, now), fmt.number(q.pending),
                fmt.number(q.retrying), fmt.number(q.running),
                Content.styled(fmt.number(q.failed), "$error" if q.failed else ""),
                eta_cell(d.backlog.queue(q.name) if d.backlog else None, now)]
            if with_rate:
                cells.append(fmt.number(round(history.per_minute(now, q.name))))
            cells.append(Content.styled(fmt.sparkline(history.series(now, q.name), buckets),
                                        "$accent"))
            rows.append(cells)
        queues.update(Content("\n").join([text_table(columns, rows),
                                            backlog_line(d.backlog, now, self.data.tz)]))
        self.query_one("#throughput", Sparkline).data = [float(v) for v in
                                                         history.series(now)]
        minutes = history.window_seconds // 60
        self.query_one("#rates", Static).update(Content.assemble(
            (fmt.number(d.completed_last_minute), "bold"), (" done last minute · ", "$text-muted"),
            (fmt.number(d.completed_last_hour), "bold"), (" last hour", "$text-muted"),
            (f"\nall queues, {minutes} min, {history.bucket_seconds} s a bar", "$text-muted"),
        ))
        self.query_one("#limits", Static).update(self._limits(d, now))
        workers = self.query_one("#workers", Static)
        beat = self.data.settings.limits.heartbeat_seconds
        if d.workers:
            workers.update(text_table(WORKER_COLUMNS, [
                (w.host, str(w.pid), str(w.threads), str(w.inflight), fmt.number(w.processed),
                 Content.styled(fmt.number(w.failed), "$error" if w.failed else ""),
                 Content.styled(fmt.ago(w.heartbeat_at, now),
                                "$warning" if _late(w.heartbeat_at, now, beat) else ""))
                for w in d.workers
            ]))
        else:
            workers.update(Content.assemble(
                ("No consumer is running", "$warning"),
                ": start one with tubesensei run-consumer (or tui --with-consumer)."))
        self.query_one("#corpus", Static).update(self._corpus(d))

    def _limits(self, d: Dashboard, now: datetime) -> Content:
        tz = self.data.tz
        if d.transcripts_per_minute > 0:
            slot = d.rate_next_slot
            wait = (f"next slot {fmt.until(slot, now)}" if slot and slot > now
                    else "a slot is free now")
            rate = Content.assemble(
                (f"{fmt.number(d.transcripts_per_minute)}/min", "bold"),
                f" for transcripts · {wait}")
        else:
            rate = Content("transcripts not rate limited")
        used = d.quota_used / d.quota_per_day if d.quota_per_day else 0.0
        quota = Content.assemble(
            (f"{fmt.number(d.quota_used)}", "$error" if used >= 0.9 else "bold"),
            f" / {fmt.number(d.quota_per_day)} units today ({used:.0%}), resets "
            f"{fmt.until(d.quota_resets_at, now)} at {fmt.clock_time(d.quota_resets_at, tz)}")
        lines = [Content.assemble(Content.styled(f"{'rate limit':<12}", "bold"), rate),
                 Content.assemble(Content.styled(f"{'Data API':<12}", "bold"), quota)]
        held = [q for q in d.queues if _held(q, now)]
        lines += [hold_line(q, now, tz) for q in held]
        if not held:
            lines.append(Content.assemble(Content.styled(f"{'queues':<12}", "bold"),
                                          ("none paused, breaker closed", "$success")))
        return Content("\n").join(lines)

    def _corpus(self, d: Dashboard) -> Content:
        c = d.corpus
        by = c.videos_by_status
        first = Content.assemble(
            *_pairs([("channels", c.channels), ("videos", c.videos),
                     ("transcripts", c.transcripts), ("pending", by.get("pending", 0)
                                                      + by.get("queued", 0)),
                     ("waiting", by.get("waiting", 0)), ("failed", by.get("failed", 0))]))
        unavailable = sum(c.unavailable_by_reason.values())
        reasons = ", ".join(f"{reason.replace('_', ' ')} {fmt.number(n)}"
                            for reason, n in sorted(c.unavailable_by_reason.items(),
                                                    key=lambda kv: (-kv[1], kv[0])))
        second = Content.assemble(("unavailable ", "$text-muted"),
                                  (fmt.number(unavailable), "bold"),
                                  f" ({reasons})" if reasons else "")
        return Content("\n").join([first, second])


def _late(heartbeat: datetime | None, now: datetime, every: float) -> bool:
    """A consumer that missed two heartbeats (killed?) is shown in warning colours until it
    counts as gone (limits.stale_after_seconds)."""
    return heartbeat is None or (now - heartbeat).total_seconds() > 2 * every + 1


def _held(q: QueueState, now: datetime) -> bool:
    return (q.paused or (q.paused_until is not None and q.paused_until > now)
            or q.breaker != "closed")


def _pairs(items: list[tuple[str, int]]) -> list[tuple[str, str] | str]:
    out: list[tuple[str, str] | str] = []
    for i, (label, n) in enumerate(items):
        if i:
            out.append(("  ·  ", "$text-muted"))
        out += [(f"{label} ", "$text-muted"), (fmt.number(n), "bold")]
    return out
