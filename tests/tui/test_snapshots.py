"""Screenshots of every screen (pytest-textual-snapshot), over fixed rows and a fixed clock.

Regenerate after a deliberate change with ``pytest tests/tui/test_snapshots.py
--snapshot-update`` and look at the SVGs in tests/tui/__snapshots__/ before committing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from tests.tui.conftest import wait_until
from tests.tui.fixed_data import NOW, fixed_settings, seed_fixed

WIDE = (120, 36)
SMALL = (80, 24)


@pytest.fixture
def fixed_app(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    from tubesensei.tui.app import TubeSenseiApp
    from tubesensei.tui.data import TuiData

    settings = fixed_settings(tmp_path / "fixed")
    seed_fixed(settings)
    opened: list[TuiData] = []

    def make(theme: str | None = None) -> TubeSenseiApp:
        data = TuiData.open(settings, clock=lambda: NOW, tz=UTC)
        opened.append(data)
        return TubeSenseiApp(data, refresh_interval=None, theme=theme)

    yield make
    for data in opened:
        data.close()


def after(*keys: str, ready: Callable[[Any], Any] | None = None
          ) -> Callable[[Any], Awaitable[None]]:
    """A run_before: wait for the dashboard, press keys, wait for ``ready(app)``."""

    async def run_before(pilot: Any) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.query_one("#status").content)
        for key in keys:
            await pilot.press(key)
            await pilot.pause(0.05)
        if ready is not None:
            await wait_until(pilot, lambda: ready(app))
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause(0.1)

    return run_before


def rows_in(selector: str, n: int = 1) -> Callable[[Any], bool]:
    return lambda app: app.screen.query_one(selector).row_count >= n


def test_dashboard(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after())


def test_dashboard_small_terminal(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=SMALL, run_before=after())


def test_dashboard_light_theme(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app("textual-light"), terminal_size=WIDE, run_before=after())


def test_jobs(snap_compare, fixed_app) -> None:
    def detail_shown(app: Any) -> bool:
        return "Job 16" in str(app.query_one("#job-detail").content)

    assert snap_compare(fixed_app(), terminal_size=WIDE,
                        run_before=after("2", ready=detail_shown))


def test_jobs_failed_filter_small_terminal(snap_compare, fixed_app) -> None:
    def failed_detail(app: Any) -> bool:
        return "error class" in str(app.query_one("#job-detail").content)

    assert snap_compare(fixed_app(), terminal_size=SMALL,
                        run_before=after("2", "s", "s", "s", "s", "s", ready=failed_detail))


def test_retry_all_confirmation(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after(
        "2", "A", ready=lambda app: app.screen.__class__.__name__ == "ConfirmScreen"))


def test_failures(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE,
                        run_before=after("3", ready=rows_in("#failures-table", 2)))


def test_sessions(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after(
        "4", ready=lambda app: len(app.query("SessionCard")) == 2
        and app.query_one("#session-report").content))


def test_channels(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE,
                        run_before=after("5", ready=rows_in("#channels-table", 3)))


def test_add_channel_with_a_bad_reference(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after(
        "5", "a", *"youtube.com/watch", "enter",
        ready=lambda app: str(app.screen.query_one("#channel-ref-error").content)))


def test_transcript_search(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after(
        "6", *"river", "enter", ready=rows_in("#hits-table", 3)))


def test_transcript_viewer(snap_compare, fixed_app) -> None:
    search = after("6", *"bends", "enter", ready=rows_in("#hits-table", 1))

    async def run_before(pilot: Any) -> None:
        await search(pilot)
        await pilot.press("enter")
        await wait_until(pilot, lambda: pilot.app.screen.query(".paragraph.-hit"))
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=run_before)


def test_help(snap_compare, fixed_app) -> None:
    assert snap_compare(fixed_app(), terminal_size=WIDE, run_before=after(
        "2", "question_mark", ready=lambda app: app.screen.__class__.__name__ == "HelpScreen"))
