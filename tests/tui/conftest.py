"""Fixtures for the TUI tests.

``seeded`` is a data folder filled once per session through the real job system and the
simulator: one channel discovered and transcribed, a batch session, and two transcript jobs
that failed (the simulator answered 5xx and jobs had one attempt). Each test gets a fresh
copy. The snapshot tests use ``tests/tui/fixed_data.py`` instead: fixed rows and a fixed
clock, so their screenshots never change.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from tests.jobs_helpers import run_burst, settings_for
from tubesensei.config import Settings
from tubesensei.jobs.system import JobSystem
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import parse_channel_ref

DEAD_ENDPOINT = "http://127.0.0.1:9"  # the copies never call YouTube (no consumer runs)


@dataclass(frozen=True)
class Seeded:
    data_dir: Path
    channel_handle: str
    channel_id: str
    transcribed_video: str
    search_word: str
    failed_videos: list[str]


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    base = tmp_path_factory.mktemp("tui-seed")
    data_dir = base / "data"
    with running_simulator(SimConfig(seed=11, channels=2, videos_per_channel=20)) as sim:
        settings = settings_for(sim.base_url, data_dir, TUBESENSEI_LIMITS__MAX_ATTEMPTS="1")
        system = JobSystem(settings)
        try:
            channel = sim.world.channels[0]
            system.enqueue_channels([parse_channel_ref(channel.handle)])
            run_burst(system)
            manual = [v.video_id for v in sim.world.videos_by_case("manual_en",
                                                                   channel.channel_id)]
            system.create_batch("seed batch", manual[:3])
            run_burst(system)
            other = sim.world.channels[1].channel_id
            failing = [v.video_id for v in sim.world.videos_by_case("manual_en", other)][:2]
            sim.set_faults(error_rate=1.0)
            system.enqueue_videos(failing)
            run_burst(system)
            sim.set_faults(error_rate=0.0)
            with system.engine.connect() as conn:
                from sqlalchemy import text

                words = " ".join(conn.execute(text(  # the passages hold the text
                    "SELECT c.text FROM transcript_chunks c "
                    "JOIN transcripts t ON t.id = c.transcript_id "
                    "JOIN videos v ON v.id = t.video_id "
                    "WHERE v.youtube_video_id = :v ORDER BY c.seq"),
                    {"v": manual[0]}).scalars()).split()
        finally:
            system.close()
    word = next(w.strip(".,!?").lower() for w in words if len(w.strip(".,!?")) >= 6)
    return Seeded(data_dir, channel.handle, channel.channel_id, manual[0], word, failing)


@pytest.fixture
def seeded(seeded_template: Seeded, tmp_path: Path) -> Seeded:
    """A fresh copy of the seeded data folder for one test."""
    copy = tmp_path / "tui-data"
    shutil.copytree(seeded_template.data_dir, copy)
    return Seeded(copy, seeded_template.channel_handle, seeded_template.channel_id,
                  seeded_template.transcribed_video, seeded_template.search_word,
                  seeded_template.failed_videos)


@pytest.fixture
def seeded_settings(seeded: Seeded) -> Settings:
    return settings_for(DEAD_ENDPOINT, seeded.data_dir, TUBESENSEI_LIMITS__MAX_ATTEMPTS="1")


@pytest.fixture
def make_app(seeded_settings: Settings) -> Iterator[Callable[..., Any]]:
    """Build the app over the seeded copy (refreshing fast); its facade is closed after."""
    from tubesensei.tui.app import TubeSenseiApp
    from tubesensei.tui.data import TuiData

    opened: list[TuiData] = []

    def make(refresh_interval: float | None = 0.2, **kwargs: Any) -> TubeSenseiApp:
        data = TuiData.open(seeded_settings, tz=UTC, **kwargs)
        opened.append(data)
        return TubeSenseiApp(data, refresh_interval=refresh_interval)

    yield make
    for data in opened:
        data.close()


async def wait_until(pilot: Any, predicate: Callable[[], Any], timeout: float = 10.0,
                     what: str = "condition") -> Any:
    """Let the app run until ``predicate()`` is truthy (workers post their results)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await pilot.pause(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")
