"""The reaper's decisions: which running jobs go back, which waiting jobs get a message."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from tubesensei.config import load_settings
from tubesensei.db.engine import Database
from tubesensei.jobs.ledger import JOBS
from tubesensei.jobs.reaper import ORPHAN_GRACE_SECONDS, _process_gone, reap
from tubesensei.jobs.system import JobSystem

HOST = socket.gethostname()


@pytest.mark.parametrize(
    ("worker_id", "gone"),
    [
        (None, True),  # a running job nobody holds
        ("", True),
        pytest.param(f"{HOST}:{os.getpid()}:abc123", False,  # this very process
                     id="this-process"),  # (an id without the pid: xdist workers agree)
        (f"{HOST}:999999999:abc123", True),  # a process of this host that no longer exists
        (f"{HOST}:notapid:abc123", True),
        ("otherhost:1:abc123", False),  # another machine: only its heartbeat can tell
        ("garbage", False),
    ],
)
def test_process_gone_is_judged_on_this_host_only(worker_id: str | None, gone: bool) -> None:
    assert _process_gone(worker_id, HOST) is gone


@pytest.fixture
def system(db: Database, tmp_path: Path) -> Iterator[JobSystem]:
    settings = load_settings(environ={"TUBESENSEI_DATA_DIR": str(tmp_path / "data"),
                                      "TUBESENSEI_LIMITS__STALE_AFTER_SECONDS": "60"}).settings
    system = JobSystem(settings, db)
    yield system
    system.close()


def _age(db: Database, job_id: int, *, heartbeat: float | None = None,
         updated: float | None = None) -> None:
    values = {}
    if heartbeat is not None:
        values["heartbeat_at"] = datetime.now(UTC) - timedelta(seconds=heartbeat)
    if updated is not None:
        values["updated_at"] = datetime.now(UTC) - timedelta(seconds=updated)
    with db.engine.begin() as conn:
        conn.execute(update(JOBS).where(JOBS.c.id == job_id).values(**values))


def _status(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(JOBS.select().where(JOBS.c.id == job_id)).one().status


def test_running_jobs_of_dead_or_silent_workers_go_back_with_a_message(system, db) -> None:
    ids = [c.job_id for c in system.enqueue_videos([f"vid0000000{n}" for n in range(5)])]
    system.queues.hueys["transcripts"].storage.flush_queue()  # the workers took the messages
    dead, stale, alive_elsewhere, mine, own_inflight = ids
    system.ledger.claim(dead, f"{HOST}:999999999:dead00")
    system.ledger.claim(stale, "otherhost:1:hung00")
    _age(db, stale, heartbeat=120)
    system.ledger.claim(alive_elsewhere, "otherhost:2:busy00")
    _age(db, alive_elsewhere, heartbeat=10)
    system.ledger.claim(mine, f"{HOST}:{os.getpid()}:live00")
    system.ledger.claim(own_inflight, "this-consumer")
    _age(db, own_inflight, heartbeat=3600)
    report = reap(system, own={own_inflight}, check_orphans=False)
    assert (report.dead_process, report.stale_heartbeat) == ([dead], [stale])
    assert report.total == 2 and report.requeued == []
    assert [_status(db, j) for j in ids] == ["pending", "pending", "running", "running",
                                             "running"]
    assert system.queues.messages("transcripts") == {dead, stale}


def test_waiting_jobs_without_a_message_get_one_after_the_grace(system, db) -> None:
    fresh, lost, has_message = (c.job_id for c in system.enqueue_videos(
        ["vid00000001", "vid00000002", "vid00000003"]))
    storage = system.queues.hueys["transcripts"].storage
    storage.flush_queue()  # every message lost (a crash between ledger and queue) ...
    system.send([("extract_transcript", has_message, 0, None)])  # ... but one's
    _age(db, lost, updated=ORPHAN_GRACE_SECONDS + 5)
    _age(db, has_message, updated=ORPHAN_GRACE_SECONDS + 5)
    report = reap(system)
    assert report.requeued == [lost]  # the fresh one may still be on its way
    assert system.queues.messages("transcripts") == {lost, has_message}
    assert reap(system).requeued == []  # counts match now: nothing more to do
    assert fresh not in system.queues.messages("transcripts")


def test_a_forced_scan_finds_orphans_even_when_the_counts_match(system, db) -> None:
    a, b = (c.job_id for c in system.enqueue_videos(["vid00000001", "vid00000002"]))
    system.queues.hueys["transcripts"].storage.flush_queue()
    system.send([("extract_transcript", a, 0, None), ("extract_transcript", a, 0, None)])
    _age(db, b, updated=ORPHAN_GRACE_SECONDS + 5)  # two messages for a, none for b
    assert reap(system).requeued == []  # 2 waiting, 2 messages: the cheap check is satisfied
    assert reap(system, force_orphan_scan=True).requeued == [b]


def test_a_forced_scan_reads_the_messages_only_when_a_job_may_have_lost_one(
        system, db, monkeypatch) -> None:
    """A consumer started on a backlog just submitted does not unpickle every message of it
    (none of its jobs has waited the grace); an old enough job still gets its message."""
    young, old = (c.job_id for c in system.enqueue_videos(["vid00000001", "vid00000002"]))
    system.queues.hueys["transcripts"].storage.flush_queue()  # both messages lost
    real = system.queues.messages
    looks: list[str] = []
    monkeypatch.setattr(system.queues, "messages",
                        lambda queue: looks.append(queue) or real(queue))
    assert reap(system, force_orphan_scan=True).requeued == [] and looks == []
    _age(db, old, updated=ORPHAN_GRACE_SECONDS + 5)
    assert reap(system, force_orphan_scan=True).requeued == [old]
    assert looks == ["transcripts"]  # only the queue with such a job
    assert young not in system.queues.messages("transcripts")


def test_a_shortfall_that_goes_away_is_not_a_lost_message(system, db, monkeypatch) -> None:
    """A message a worker has just taken (not yet claimed) makes the queue one short for a
    moment: the reaper counts again before it reads every message, and reads them only when
    the shortfall stays."""
    from tubesensei.jobs import reaper

    lost, taken = (c.job_id for c in system.enqueue_videos(["vid00000001", "vid00000002"]))
    storage = system.queues.hueys["transcripts"].storage
    storage.flush_queue()
    system.send([("extract_transcript", taken, 0, None)])
    for job_id in (lost, taken):
        _age(db, job_id, updated=ORPHAN_GRACE_SECONDS + 5)
    real = system.queues.messages
    looks: list[str] = []
    monkeypatch.setattr(system.queues, "messages",
                        lambda queue: looks.append(queue) or real(queue))
    counts = iter([{"transcripts": 2}, {"transcripts": 1}])  # the taken job was claimed
    monkeypatch.setattr(reaper.Q, "active_counts", lambda s: next(counts, {"transcripts": 1}))
    assert reap(system).requeued == [] and looks == []  # transient: no scan
    monkeypatch.undo()
    assert reap(system).requeued == [lost]  # still short on every look: the lost one found
