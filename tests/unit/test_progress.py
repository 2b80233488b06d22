"""The backlog, its rate and ETA (queries/progress.py), and the words run-consumer and stats
use for them (commands/live.py): derived from the ledger, never invented."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from tubesensei.commands.live import (
    eta_text,
    progress_lines,
    summary_lines,
)
from tubesensei.db.engine import Database
from tubesensei.db.models import Consumer, ProcessingJob, QueueState
from tubesensei.formatting import duration as duration_text
from tubesensei.queries.progress import backlog
from tubesensei.queries.state import QueueStatus

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
QUEUES = ("discovery", "transcripts", "batch")


def add_jobs(db: Database, queue: str, status: str, n: int, *, finished_ago: float | None = None,
             started_ago: float | None = None) -> None:
    job_type = {"discovery": "discover_channel", "transcripts": "extract_transcript",
                "batch": "batch_process"}[queue]
    base = add_jobs.count  # type: ignore[attr-defined]
    add_jobs.count += n  # type: ignore[attr-defined]
    rows = [{
        "job_type": job_type, "entity_id": f"e{base + i}", "queue": queue, "priority": 0,
        "status": status, "attempts": 1, "max_attempts": 3, "metadata": {},
        "cancel_requested": False, "created_at": NOW - timedelta(hours=1),
        "updated_at": NOW - timedelta(hours=1),
        "started_at": NOW - timedelta(seconds=started_ago) if started_ago is not None else None,
        "finished_at": NOW - timedelta(seconds=finished_ago) if finished_ago is not None
        else None,
    } for i in range(n)]
    with db.engine.begin() as conn:
        conn.execute(insert(ProcessingJob.__table__), rows)


add_jobs.count = 0  # type: ignore[attr-defined]


def add_consumer(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(insert(Consumer.__table__).values(
            worker_id="h:1:a", host="h", pid=1, queues=list(QUEUES),
            concurrency=dict.fromkeys(QUEUES, 4), threads=4, inflight=0, processed=0, failed=0,
            started_at=NOW - timedelta(minutes=5), heartbeat_at=NOW - timedelta(seconds=2)))


def read(db: Database, **kwargs):
    kwargs.setdefault("transcripts_per_minute", 0)
    return db.query(backlog, QUEUES, now=NOW, stale_after=60, **kwargs)


def test_no_throughput_and_no_consumer_give_no_eta(db: Database) -> None:
    add_jobs(db, "transcripts", "pending", 100)
    b = read(db, transcripts_per_minute=30)
    t = b.queue("transcripts")
    assert (t.remaining, t.per_minute, t.eta_s, b.eta_s) == (100, None, None, None)
    assert t.floor_s == 200  # 100 jobs at 30/min: at least 200 s, whatever the threads
    assert eta_text(t, NOW) == "– (no consumer running; at least 3m 20s at 30/min)"
    assert b.queue("discovery").eta_s == 0 and eta_text(b.queue("discovery"), NOW) == "done"
    data = b.as_dict()
    assert data["eta_s"] is None and data["queues"]["transcripts"]["eta_s"] is None
    assert data["queues"]["transcripts"]["at_rate_limit_s"] == 200
    # run-consumer asking about itself counts as a consumer before its row is written.
    t = read(db, min_consumers=1).queue("transcripts")
    assert eta_text(t, NOW) == "– (no throughput yet)"
    add_consumer(db)
    t = read(db).queue("transcripts")
    assert t.eta_s is None and eta_text(t, NOW) == "– (no throughput yet)"


def test_eta_from_the_recent_rate_capped_by_the_rate_limit(db: Database) -> None:
    add_consumer(db)
    add_jobs(db, "transcripts", "pending", 90)
    add_jobs(db, "transcripts", "running", 10)
    # 60 finished over the last two minutes (since the first of them started): 30/min.
    add_jobs(db, "transcripts", "completed", 50, finished_ago=30, started_ago=120)
    add_jobs(db, "transcripts", "failed", 10, finished_ago=10, started_ago=20)
    add_jobs(db, "transcripts", "completed", 500, finished_ago=3600, started_ago=3601)  # old
    b = read(db)
    t = b.queue("transcripts")
    assert (t.finished_recently, t.remaining) == (60, 100)
    assert round(t.per_minute, 1) == 30.0 and round(t.eta_s) == 200
    assert b.eta_s == t.eta_s  # the other queues have nothing left
    assert eta_text(t, NOW) == "3m 20s (12:03:20 UTC)"
    # A rate limit of 10/min is a ceiling the recent rate cannot beat.
    capped = read(db, transcripts_per_minute=10).queue("transcripts")
    assert capped.per_minute == 10 and round(capped.eta_s) == 600
    # Since the consumer started (run-consumer's progress): done/total per queue.
    b = read(db, since=NOW - timedelta(minutes=1))
    assert b.queue("transcripts").done == 60 and b.queue("transcripts").total == 160
    (line,) = progress_lines(b, ["transcripts"])
    assert line.startswith("transcripts  60/160 done  30.0/min  ETA 3m 20s")


def test_a_held_queue_waits_for_its_hold_first(db: Database) -> None:
    add_consumer(db)
    add_jobs(db, "transcripts", "retrying", 30)
    add_jobs(db, "transcripts", "completed", 30, finished_ago=10, started_ago=60)
    until = NOW + timedelta(seconds=45)
    with db.engine.begin() as conn:
        conn.execute(insert(QueueState.__table__).values(
            queue="transcripts", paused=False, breaker_state="open", breaker_until=until,
            breaker_opens=2, breaker_reason="HTTP 429", updated_at=NOW - timedelta(seconds=15)))
    t = read(db).queue("transcripts")
    assert t.held() == until
    assert round(t.eta_s) == 45 + 60  # the cool-down, then 30 jobs at 30/min
    assert "after the hold: breaker open, next probe at 12:00:45 UTC" in eta_text(t, NOW)
    with db.engine.begin() as conn:
        conn.execute(QueueState.__table__.update().values(paused=True))
    t = read(db).queue("transcripts")
    assert t.eta_s is None  # paused by hand: nobody knows when it resumes
    assert eta_text(t, NOW) == "held: paused by hand (tubesensei queues resume transcripts)"


def status(queue: str, **kw) -> QueueStatus:
    values = dict(paused=False, paused_until=None, pause_reason=None, breaker_state="closed",
                  breaker_until=None, breaker_opens=0, breaker_reason=None, updated_at=None)
    values.update(kw)
    return QueueStatus(queue, **values)


def test_the_summary_names_the_breaker_and_the_quota_pause() -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    reset = now + timedelta(hours=7)
    holds = {
        "discovery": status("discovery", paused_until=reset, pause_reason="quota_exhausted"),
        "transcripts": status("transcripts", breaker_state="open",
                              breaker_until=now + timedelta(seconds=90), breaker_opens=3,
                              breaker_reason="HTTP 429", updated_at=now - timedelta(seconds=30)),
        "batch": status("batch"),
    }
    remaining = {"discovery": {"retrying": 2, "next_retry_at": reset.isoformat()},
                 "transcripts": {"retrying": 5,
                                 "next_retry_at": (now + timedelta(seconds=90)).isoformat()}}
    lines = summary_lines(12.5, {"completed": 3, "retrying": 7}, remaining, holds, now)
    assert lines[0] == "consumer stopped after 12.5s: completed 3, retrying 7"
    text = "\n".join(lines)
    clock = re.compile(r"\d\d:\d\d:\d\d UTC")
    assert "still waiting in discovery: retrying 2, next retry at " in text
    assert "discovery is paused for the Data API quota until " in text
    assert "(the quota's reset): its 2 waiting job(s) run then" in text
    breaker = next(line for line in lines if "circuit breaker open" in line)
    assert breaker.startswith("transcripts circuit breaker open since ")
    assert "(opened 3× in a row: HTTP 429); next probe at " in breaker
    assert len(clock.findall(breaker)) == 2
    assert not any("batch" in line for line in lines)
    hand = summary_lines(1, {}, {}, {"batch": status("batch", paused=True)}, now)
    assert hand == ["consumer stopped after 1.0s: no jobs",
                    "batch is paused by hand: new jobs run after "
                    "`tubesensei queues resume batch`"]


def test_duration_text() -> None:
    assert [duration_text(s) for s in (0, 59.6, 61, 3599, 3600 * 2 + 600, 86400 * 3)] == [
        "0s", "1m 00s", "1m 01s", "59m 59s", "2h 10m", "3d 0h"]
