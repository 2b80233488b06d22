"""One processing session in the sessions list: name, progress bar, counts, rate, ETA."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.content import Content
from textual.widgets import ListItem, ProgressBar, Static

from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import SessionProgress

COUNT_ORDER = ("completed", "failed", "cancelled", "running", "retrying", "pending")


def counts_line(s: SessionProgress) -> Content:
    jobs = s.report.jobs
    parts: list[Content | str | tuple[str, str]] = []
    for status in COUNT_ORDER:
        n = jobs.get(status, 0)
        if n or status in ("completed", "failed"):
            if parts:
                parts.append(("  ", ""))
            parts += [(f"{status} ", "$text-muted"),
                      (fmt.number(n), f"bold {fmt.STATUS_STYLE[status]}" if n else "bold")]
    rate = f"{s.per_minute:.1f}/min" if s.per_minute is not None else "–/min"
    eta = ("done" if s.done else
           f"ETA {fmt.duration(s.eta_seconds)}" if s.eta_seconds is not None else "ETA –")
    parts += [("  ·  ", "$text-muted"), rate, ("  ·  ", "$text-muted"), eta]
    return Content.assemble(*parts)


class SessionCard(ListItem):
    def __init__(self, session: SessionProgress) -> None:
        super().__init__(id=f"session-{session.report.id}")
        self.session = session

    def compose(self) -> ComposeResult:
        yield Static(classes="session-title")
        yield ProgressBar(show_eta=False)
        yield Static(classes="session-counts")

    def on_mount(self) -> None:
        self.show(self.session)

    def show(self, session: SessionProgress) -> None:
        self.session = session
        r = session.report
        self.query_one(".session-title", Static).update(Content.assemble(
            (f"#{r.id} ", "$text-muted"), (r.name, "bold"), "  ",
            (r.status, fmt.STATUS_STYLE.get(r.status, "")),
            (f"  {fmt.number(r.finished)}/{fmt.number(r.total)} jobs · "
             f"{fmt.number(r.videos)} videos", "$text-muted")))
        # An empty session is complete; a session still creating its jobs has total 0.
        total = r.total or (1 if session.done else None)
        self.query_one(ProgressBar).update(total=total,
                                           progress=r.finished if r.total else (total or 0))
        self.query_one(".session-counts", Static).update(counts_line(session))
