"""Sessions: each batch with its progress, rate and ETA; the selected one's report."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import ListView, Static

from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import JobFilter, SessionProgress
from tubesensei.tui.messages import SessionReportLoaded, SessionsLoaded
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.session_card import SessionCard


def render_report(s: SessionProgress, now: datetime, tz: tzinfo | None) -> Content:
    r = s.report
    rows: list[tuple[str, str]] = [
        ("status", r.status),
        ("videos", fmt.number(r.videos)),
        ("jobs finished", f"{fmt.number(r.finished)} of {fmt.number(r.total)} "
                          f"({s.fraction:.0%})"),
        ("jobs completed", f"{fmt.number(r.jobs_completed)} of {fmt.number(r.total)}"),
        ("transcripts", f"{fmt.number(r.transcripts)} of {fmt.number(r.total)} videos"),
        ("no transcript", fmt.number(r.no_transcript)),
        ("success rate", f"{r.success_rate:.0%} of finished jobs"
                         if r.success_rate is not None else "–"),
        ("created", fmt.clock_time(r.created_at, tz, now)),
        ("started", fmt.clock_time(r.started_at, tz, now)),
        ("completed", fmt.clock_time(r.completed_at, tz, now)),
        ("duration", fmt.duration(((r.completed_at or now) - r.started_at).total_seconds())
         if r.started_at else "–"),
        ("throughput", f"{s.per_minute:.1f} jobs/min" if s.per_minute is not None else "–"),
        ("ETA", "done" if s.done else fmt.duration(s.eta_seconds)),
    ]
    lines = [Content.assemble((f"Session {r.id}", "bold"), f"  {r.name}"), Content("")]
    lines += [Content.assemble((f"{label:<15}", "$text-muted"), value) for label, value in rows]
    for title, counts in (("jobs by status", r.jobs), ("unavailable", r.unavailable),
                          ("failures", r.failures)):
        if counts:
            lines += [Content(""), Content.styled(title, "bold")]
            lines += [Content.assemble((f"  {k.replace('_', ' '):<26}", "$text-muted"),
                                       fmt.number(v))
                      for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    lines += [Content(""), Content.styled("enter: the session's jobs", "$text-muted")]
    return Content("\n").join(lines)


class SessionsView(DataView):
    BINDINGS = [Binding("enter", "open_jobs", "Session's jobs", show=False),
                Binding("j", "open_jobs", "Session's jobs")]
    FOCUS = "#sessions-list"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sessions: dict[int, SessionProgress] = {}
        self.report: SessionProgress | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="sessions-summary")
        with Horizontal(id="sessions-body"):
            yield ListView(id="sessions-list")
            with VerticalScroll(id="session-report-pane"):
                yield Static(id="session-report")

    def reload(self, periodic: bool = False) -> None:
        if not (periodic and self.busy("sessions")):
            self.load_sessions()

    @work(exclusive=True, group="sessions", exit_on_error=False)
    async def load_sessions(self) -> None:
        sessions = await self.data.sessions()
        self.post_message(SessionsLoaded(sessions))

    @work(exclusive=True, group="session-report", exit_on_error=False)
    async def load_report(self, session_id: int) -> None:
        session = await self.data.session(session_id)
        self.post_message(SessionReportLoaded(session))

    def on_sessions_loaded(self, message: SessionsLoaded) -> None:
        listing = self.query_one("#sessions-list", ListView)
        fresh = {s.report.id: s for s in message.sessions}
        for card in list(listing.query(SessionCard)):
            if card.session.report.id not in fresh:
                card.remove()
        for index, s in enumerate(message.sessions):  # newest first
            cards = listing.query(f"#session-{s.report.id}")
            if cards:
                cards.first(SessionCard).show(s)
            else:
                listing.insert(index, [SessionCard(s)])
        self.sessions = fresh
        if listing.index is None and message.sessions:
            listing.index = 0
        running = sum(1 for s in message.sessions if not s.done)
        n = len(message.sessions)
        summary = (Content.assemble((f"{n} session{'s' if n != 1 else ''}", "bold"),
                                    f" · {running} running · newest first")
                   if message.sessions else
                   Content.styled("No sessions yet: tubesensei enqueue batch … --name NAME",
                                  "$text-muted"))
        self.query_one("#sessions-summary", Static).update(summary)
        self._show_report(periodic=True)

    def _selected(self) -> SessionProgress | None:
        item = self.query_one("#sessions-list", ListView).highlighted_child
        if isinstance(item, SessionCard):
            return self.sessions.get(item.session.report.id, item.session)
        return None

    @on(ListView.Highlighted, "#sessions-list")
    def _highlighted(self) -> None:
        self._show_report()

    def _show_report(self, periodic: bool = False) -> None:
        s = self._selected()
        if s is None:
            self.report = None
            self.query_one("#session-report", Static).update("")
        elif not (periodic and self.busy("session-report")):
            self.load_report(s.report.id)

    def on_session_report_loaded(self, message: SessionReportLoaded) -> None:
        selected = self._selected()
        if selected is None or selected.report.id != message.session.report.id:
            return
        self.report = message.session
        self.query_one("#session-report", Static).update(
            render_report(message.session, self.data.clock(), self.data.tz))

    @on(ListView.Selected, "#sessions-list")
    def action_open_jobs(self) -> None:
        s = self._selected()
        if s is not None:
            self.tui.show_jobs(JobFilter(session_id=s.report.id))
