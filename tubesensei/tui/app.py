"""``tubesensei tui``: watch and steer the queues, jobs, sessions, channels and the corpus.

The app takes its data access (``TuiData``) in the constructor. Every database call runs
in a thread worker (``@work(exclusive=True, group=...)``) that posts a small
past-tense message back; worker errors all end in ``on_work_failed`` (a notification, and the
app keeps running). A timer refreshes the dashboard and the visible tab about once a second.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.css.query import NoMatches
from textual.widgets import Footer, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from tubesensei.tui.data import JobFilter, TuiData
from tubesensei.tui.messages import (
    DashboardLoaded,
    FailureGroupChosen,
    TranscriptRequested,
    WorkFailed,
)
from tubesensei.tui.throughput import ThroughputHistory
from tubesensei.tui.views.base import DataView
from tubesensei.tui.views.channels import ChannelsView
from tubesensei.tui.views.dashboard import DashboardView
from tubesensei.tui.views.failures import FailuresView
from tubesensei.tui.views.jobs import JobsView
from tubesensei.tui.views.sessions import SessionsView
from tubesensei.tui.views.transcripts import TranscriptsView
from tubesensei.tui.widgets.status_bar import StatusBar

# (tab id, label, view class): the number keys follow this order.
TABS: tuple[tuple[str, str, type[DataView]], ...] = (
    ("dashboard", "Dashboard", DashboardView),
    ("jobs", "Jobs", JobsView),
    ("failures", "Failures", FailuresView),
    ("sessions", "Sessions", SessionsView),
    ("channels", "Channels", ChannelsView),
    ("transcripts", "Transcripts", TranscriptsView),
)
ERROR_REPEAT_SECONDS = 15.0  # the same failure (a locked database…) is shown once per period


class TubeSenseiApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "TubeSensei"

    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(str(n), f"show_tab('{tab}')", label, show=False)
          for n, (tab, label, _) in enumerate(TABS, start=1)),
        Binding("question_mark", "help", "Help"),
        Binding("g", "refresh_now", "Refresh", show=False),
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, data: TuiData, *, refresh_interval: float | None = 1.0,
                 consumer_label: str | None = None, theme: str | None = None) -> None:
        """``refresh_interval`` None: load once and then only on demand (screenshots)."""
        super().__init__()
        self.data = data
        self.refresh_interval = refresh_interval
        self.consumer_label = consumer_label
        self.history = ThroughputHistory()
        self._shown_errors: dict[str, float] = {}
        if theme:
            self.theme = theme

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with TabbedContent(initial="dashboard", id="tabs"):
            for n, (tab, label, view) in enumerate(TABS, start=1):
                with TabPane(f"{n} {label}", id=tab):
                    yield view(id=f"{tab}-view")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        # The main screen, kept: App.query_one would search whatever screen is on top
        # (a dialog, the transcript viewer) while the timer keeps refreshing underneath.
        self.main_screen = self.screen
        self.tick()
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self.tick)

    async def on_unmount(self) -> None:
        await self.data.aclose()  # the asyncio engine belongs to this loop

    def view(self, tab: str) -> DataView:
        return self.main_screen.query_one(f"#{tab}-view", DataView)

    @property
    def active_view(self) -> DataView:
        return self.view(self.tabs.active or "dashboard")

    @property
    def tabs(self) -> TabbedContent:
        return self.main_screen.query_one("#tabs", TabbedContent)

    # -- refreshing -----------------------------------------------------------------------

    def tick(self) -> None:
        """The refresh timer: the dashboard (it feeds the status bar and the throughput
        history, so it runs whatever tab is shown) and the visible tab."""
        try:
            view = self.active_view
        except NoMatches:
            return  # quitting: the main screen is being taken apart
        if not self._busy("dashboard"):
            self.load_dashboard()
        if view.LIVE:
            view.reload(periodic=True)

    def _busy(self, group: str) -> bool:
        return any(w.node is self and w.group == group and not w.is_finished
                   for w in self.workers)

    def load_dashboard(self) -> None:
        """Refresh the dashboard (and the throughput history's recent buckets)."""
        now = self.data.clock()
        recount = timedelta(seconds=self.history.recount_seconds(now))
        self._load_dashboard(self.history.bucket_start(now - recount))

    @work(exclusive=True, group="dashboard", exit_on_error=False)
    async def _load_dashboard(self, since: datetime) -> None:
        dashboard = await self.data.dashboard(since)
        self.post_message(DashboardLoaded(dashboard))

    def on_dashboard_loaded(self, message: DashboardLoaded) -> None:
        d = message.dashboard
        if d.completions_since is not None:
            self.history.replace_from(d.at, d.completions_since, d.completions)
        try:
            dashboard = self.main_screen.query_one(DashboardView)
            status = self.main_screen.query_one(StatusBar)
        except NoMatches:
            return  # quitting
        dashboard.show(d, self.history)
        status.show(d, self.history, self.consumer_label, self.data.tz)

    # -- tabs -----------------------------------------------------------------------------

    def action_show_tab(self, tab: str) -> None:
        self.tabs.active = tab

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        if event.tabbed_content.id != "tabs":
            return
        view = self.active_view
        view.reload()
        view.focus_main()

    def action_refresh_now(self) -> None:
        self.load_dashboard()
        self.active_view.reload()

    def action_help(self) -> None:
        from tubesensei.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.active_view))

    @on(FailureGroupChosen)
    def _show_failure_group(self, message: FailureGroupChosen) -> None:
        self.show_jobs(message.filter)

    def show_jobs(self, flt: JobFilter) -> None:
        """The jobs tab, filtered (a failure group's jobs, a session's jobs)."""
        self.main_screen.query_one(JobsView).set_filter(flt)
        self.action_show_tab("jobs")

    @on(TranscriptRequested)
    def _open_transcript(self, message: TranscriptRequested) -> None:
        from tubesensei.tui.screens.transcript import TranscriptScreen

        self.push_screen(TranscriptScreen(message.video_id, message.at_seconds))

    # -- errors ---------------------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkFailed(event.worker.name, event.worker.error))

    def on_work_failed(self, message: WorkFailed) -> None:
        """The one place worker errors end: shown once per period, never fatal."""
        text = f"{type(message.error).__name__}: {message.error}".strip()
        now = time.monotonic()
        if now - self._shown_errors.get(text, -ERROR_REPEAT_SECONDS) < ERROR_REPEAT_SECONDS:
            return
        self._shown_errors[text] = now
        what = message.what.replace("_", " ")
        self.notify(text[:300], title=f"{what} failed", severity="error", timeout=8)
