"""What every tab shares: access to the data facade, refresh on demand, worker errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.containers import Vertical
from textual.worker import Worker, WorkerState

from tubesensei.tui.messages import WorkFailed

NARROW_BELOW = 110  # columns

if TYPE_CHECKING:
    from tubesensei.tui.app import TubeSenseiApp
    from tubesensei.tui.data import TuiData


class DataView(Vertical):
    """A tab. ``reload()`` starts its loading worker; the app calls it when the tab is shown
    and on every refresh tick while it is shown (``periodic`` then)."""

    #: Refresh on the app's tick while shown (a search result does not need it).
    LIVE: ClassVar[bool] = True
    #: Where the view's keyboard focus goes when its tab is shown.
    FOCUS: ClassVar[str] = "DataTable"

    @property
    def tui(self) -> TubeSenseiApp:
        return self.app  # type: ignore[return-value]

    @property
    def data(self) -> TuiData:
        return self.tui.data

    def reload(self, periodic: bool = False) -> None:
        """Start loading (a periodic reload is skipped while the last one still runs)."""

    def on_mount(self) -> None:
        self.fit()

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """Narrow terminals (the -narrow class): side panes go under their tables."""
        self.set_class(self.app.size.width < NARROW_BELOW, "-narrow")

    def busy(self, group: str) -> bool:
        return any(w.node is self and w.group == group and not w.is_finished for w in self.workers)

    def focus_main(self) -> None:
        found = self.query(self.FOCUS)
        if found:
            found.first().focus()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkFailed(event.worker.name, event.worker.error))
