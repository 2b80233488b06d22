"""Queue pauses and the circuit breaker's timing (jobs/control.py, queries/state.QueueStatus)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from tubesensei.db.engine import Database
from tubesensei.db.models import QueueState
from tubesensei.jobs.control import QueueControl
from tubesensei.queries.state import QueueStatus

STATE = QueueState.__table__
BASE, CAP = 300.0, 7200.0


@pytest.fixture
def control(db: Database) -> QueueControl:
    return QueueControl(db)


def _seconds_until(when: datetime) -> float:
    return (when - datetime.now(UTC)).total_seconds()


def _cool_down_over(db: Database, queue: str = "transcripts") -> None:
    with db.engine.begin() as conn:
        conn.execute(update(STATE).where(STATE.c.queue == queue)
                     .values(breaker_until=datetime.now(UTC) - timedelta(seconds=1)))


def test_every_queue_starts_clear(control: QueueControl) -> None:
    statuses = control.statuses()
    assert set(statuses) == {"discovery", "transcripts", "batch"}
    now = datetime.now(UTC)
    assert all(s.blocked_until(now) is None and s.describe() == "running"
               for s in statuses.values())


def test_the_cool_down_doubles_with_each_consecutive_open_up_to_the_cap(control, db) -> None:
    waits = []
    for _ in range(7):
        until = control.open_breaker("transcripts", BASE, CAP, "HTTP 429")
        waits.append(round(_seconds_until(until) / BASE))
        _cool_down_over(db)
        assert control.try_probe("transcripts", 60)  # the probe is blocked again: re-open
    assert waits == [1, 2, 4, 8, 16, 24, 24]  # 300 s doubling, capped at 7200 s
    assert control.statuses()["transcripts"].breaker_opens == 7


def test_a_breaker_already_open_is_not_extended_by_other_threads(control) -> None:
    first = control.open_breaker("transcripts", BASE, CAP, "429")
    assert control.open_breaker("transcripts", BASE, CAP, "429 again") == first
    assert control.statuses()["transcripts"].breaker_opens == 1


def test_exactly_one_probe_after_the_cool_down(control, db) -> None:
    control.open_breaker("transcripts", BASE, CAP, "429")
    assert not control.try_probe("transcripts", 60)  # still cooling down
    status = control.statuses()["transcripts"]
    assert status.blocked_until(datetime.now(UTC)) is not None
    assert status.describe().startswith("breaker open until")
    _cool_down_over(db)
    assert control.try_probe("transcripts", 60)
    assert not control.try_probe("transcripts", 60)  # someone is probing
    assert control.statuses()["transcripts"].describe() == "breaker half-open (probing)"


def test_a_silent_probe_is_taken_over_once_stale(control, db) -> None:
    control.open_breaker("transcripts", BASE, CAP, "429")
    _cool_down_over(db)
    assert control.try_probe("transcripts", 60)
    with db.engine.begin() as conn:  # the probing consumer went silent 2 minutes ago
        conn.execute(update(STATE).values(updated_at=datetime.now(UTC) - timedelta(minutes=2)))
    assert control.try_probe("transcripts", 60)


def test_probe_outcomes(control, db) -> None:
    control.open_breaker("transcripts", BASE, CAP, "429")
    _cool_down_over(db)
    control.try_probe("transcripts", 60)
    control.reopen_for_probe("transcripts")  # the probe ended without an answer
    assert control.try_probe("transcripts", 60)  # the next thread may probe at once
    control.probe_succeeded("transcripts")
    status = control.statuses()["transcripts"]
    assert (status.breaker_state, status.breaker_opens, status.breaker_until) == (
        "closed", 0, None)
    # After a success the next block starts from the base cool-down again.
    until = control.open_breaker("transcripts", BASE, CAP, "429")
    assert BASE - 5 < _seconds_until(until) <= BASE


def test_pauses_by_hand_and_until_a_time(control) -> None:
    control.pause("batch")
    assert control.statuses()["batch"].blocked_until(datetime.now(UTC)) == datetime.max.replace(
        tzinfo=UTC)
    assert control.statuses()["batch"].describe() == "paused by hand"
    resets = datetime.now(UTC) + timedelta(hours=5)
    control.pause_until("discovery", resets, "quota_exhausted")
    discovery = control.statuses()["discovery"]
    assert discovery.blocked_until(datetime.now(UTC)) == resets
    assert "quota_exhausted" in discovery.describe()
    assert discovery.blocked_until(resets + timedelta(seconds=1)) is None  # lifts by itself
    control.resume("discovery")
    control.resume("batch")
    assert all(s.describe() == "running" for s in control.statuses().values())


def test_status_as_dict_is_json_ready() -> None:
    until = datetime(2030, 1, 1, tzinfo=UTC)
    status = QueueStatus("transcripts", False, None, None, "open", until, 2, "429")
    d = status.as_dict()
    assert d["breaker_until"] == until.isoformat() and d["paused_until"] is None
    assert d["state"].startswith("breaker open until 2030-01-01")
