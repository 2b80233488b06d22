"""Planner statistics follow a corpus that grows from nothing (SQLite)."""

from __future__ import annotations

from pathlib import Path

from tubesensei.db.engine import Database, refresh_stale_statistics, refresh_statistics
from tubesensei.db.models import Channel
from tubesensei.db.schema import ensure_schema


def _recorded(db: Database, table: str) -> int:
    with db.engine.connect() as conn:
        stats = conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ?", (table,)).scalars().all()
    return max((int(s.split()[0]) for s in stats), default=0)


def _add_channels(db: Database, start: int, n: int) -> None:
    with db.write() as s:
        s.add_all(Channel(youtube_channel_id=f"UC{i:022d}", title=f"c{i}")
                  for i in range(start, start + n))


def test_statistics_taken_on_a_new_database_are_refreshed_when_it_grows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'corpus.db'}"
    ensure_schema(url)
    db = Database(url)
    try:
        _add_channels(db, 0, 3)
        assert refresh_statistics(db.engine)  # what a consumer takes at its first start
        assert _recorded(db, "channels") == 3
        assert refresh_stale_statistics(db.engine) == []  # small: nothing worth analysing
        _add_channels(db, 3, 3000)
        assert refresh_stale_statistics(db.engine) == ["channels"]
        assert _recorded(db, "channels") == 3003
        assert refresh_stale_statistics(db.engine) == []  # fresh now
        _add_channels(db, 3003, 1000)  # grown by a third: not stale
        assert refresh_stale_statistics(db.engine) == []
    finally:
        db.dispose()


def test_no_statistics_yet_means_all_are_taken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'corpus.db'}"
    ensure_schema(url)
    db = Database(url)
    try:
        assert "channels" in refresh_stale_statistics(db.engine)
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar()
    finally:
        db.dispose()


def test_a_running_consumer_refreshes_stale_statistics(tmp_path: Path, monkeypatch) -> None:
    from tests.jobs_helpers import run_burst, settings_for
    from tubesensei.jobs import scheduler
    from tubesensei.jobs.system import JobSystem

    monkeypatch.setattr(scheduler, "STATISTICS_INTERVAL_SECONDS", 0.1)
    settings = settings_for("http://127.0.0.1:9", tmp_path / "d")
    system = JobSystem(settings)
    try:
        _add_channels(system.db, 0, 2)
        refresh_statistics(system.db.engine)
        _add_channels(system.db, 2, 2500)
        run_burst(system, workers=1, burst_wait=1.0)
        assert _recorded(system.db, "channels") == 2502
    finally:
        system.close()
