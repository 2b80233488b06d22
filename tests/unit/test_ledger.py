"""Every transition of the job ledger's state machine, and every refusal (jobs/ledger.py).

A refusal is what makes delivery at-least-once but execution once: a duplicate message, a
stale worker or a late result changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, ProcessingSession, Video
from tubesensei.jobs.ledger import JOBS, JobSpec, Ledger

VIDEO = "vid00000001"


def spec(entity: str = VIDEO, job_type: str = "extract_transcript", *, max_attempts: int = 3,
         session_id: int | None = None) -> JobSpec:
    queue = "transcripts" if job_type == "extract_transcript" else "discovery"
    return JobSpec(job_type, entity, queue, 0, max_attempts, {"k": "v"}, session_id)


def row(db: Database, job_id: int) -> dict:
    with db.engine.connect() as conn:
        return dict(conn.execute(select(JOBS).where(JOBS.c.id == job_id)).one()._mapping)


def video_status(db: Database, video: str = VIDEO) -> str:
    with db.engine.connect() as conn:
        return conn.execute(select(Video.transcript_status)
                            .where(Video.youtube_video_id == video)).scalar_one()


def session_status(db: Database, session_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(select(ProcessingSession.status)
                            .where(ProcessingSession.id == session_id)).scalar_one()


@pytest.fixture
def ledger(db: Database) -> Ledger:
    with db.engine.begin() as conn:
        conn.execute(insert(Channel.__table__).values(
            id=1, youtube_channel_id="UC" + "a" * 22, title="c", status="active",
            created_at=datetime.now(UTC), updated_at=datetime.now(UTC)))
        conn.execute(insert(Video.__table__).values(
            youtube_video_id=VIDEO, channel_id=1, transcript_status="pending", kind="video",
            was_live=False, created_at=datetime.now(UTC), updated_at=datetime.now(UTC),
            discovered_at=datetime.now(UTC)))
    return Ledger(db.engine)


def new_job(ledger: Ledger, **kwargs) -> int:
    (created,) = ledger.create_many([spec(**kwargs)])
    assert created.created
    return created.job_id


# -- creation -----------------------------------------------------------------------------------


def test_create_marks_the_video_queued_and_deduplicates_active_jobs(ledger: Ledger, db) -> None:
    first = new_job(ledger)
    assert row(db, first)["status"] == "pending" and video_status(db) == "queued"
    (again,) = ledger.create_many([spec()])
    assert (again.created, again.job_id, again.status) == (False, first, "pending")
    other = ledger.create_many([spec(job_type="discover_channel", entity=VIDEO)])[0]
    assert other.created  # another type of job about the same entity is its own job
    assert ledger.create_many([]) == []


def test_a_finished_job_does_not_block_a_new_one(ledger: Ledger, db) -> None:
    first = new_job(ledger)
    ledger.claim(first, "w1")
    assert ledger.complete(first, "w1", {"ok": True})
    second = new_job(ledger)
    assert second != first


# -- claim --------------------------------------------------------------------------------------


def test_claim_moves_pending_to_running_once(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    claimed = ledger.claim(job_id, "w1")
    assert claimed is not None
    assert (claimed.attempts, claimed.metadata, claimed.job_type) == (1, {"k": "v"},
                                                                      "extract_transcript")
    r = row(db, job_id)
    assert (r["status"], r["worker_id"], r["attempts"]) == ("running", "w1", 1)
    assert r["heartbeat_at"] is not None and r["started_at"] is not None
    assert ledger.claim(job_id, "w2") is None  # a duplicate message: not runnable
    assert row(db, job_id)["worker_id"] == "w1"


def test_claim_refuses_unknown_finished_and_cancel_requested_jobs(ledger: Ledger, db) -> None:
    assert ledger.claim(9999, "w") is None
    job_id = new_job(ledger)
    ledger.claim(job_id, "w")
    ledger.complete(job_id, "w")
    assert ledger.claim(job_id, "w") is None
    other = new_job(ledger, entity="vid00000002")
    with db.engine.begin() as conn:
        conn.execute(JOBS.update().where(JOBS.c.id == other).values(cancel_requested=True))
    assert ledger.claim(other, "w") is None


# -- outcomes of a run ---------------------------------------------------------------------------


def test_complete_only_by_the_worker_that_holds_the_job(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w1")
    assert not ledger.complete(job_id, "stale-worker", {"x": 1})  # reaped and re-run meanwhile
    assert row(db, job_id)["status"] == "running"
    assert ledger.complete(job_id, "w1", {"x": 1})
    r = row(db, job_id)
    assert (r["status"], r["result"], r["error"]) == ("completed", {"x": 1}, None)
    assert not ledger.complete(job_id, "w1")  # a second result changes nothing


def test_fail_records_the_error_and_fails_the_video(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w1")
    assert not ledger.fail(job_id, "w2", "transient", "HTTP 503")
    assert ledger.fail(job_id, "w1", "transient", "x" * 5000)
    r = row(db, job_id)
    assert (r["status"], r["error_class"], len(r["error"])) == ("failed", "transient", 2000)
    assert video_status(db) == "failed"


def test_retry_later_schedules_and_refunds_only_when_asked(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w1")
    due = ledger.retry_later(job_id, "w1", 60, "transient", "HTTP 503")
    assert due is not None and abs((due - datetime.now(UTC)).total_seconds() - 60) < 5
    r = row(db, job_id)
    assert (r["status"], r["attempts"], r["heartbeat_at"]) == ("retrying", 1, None)
    ledger.claim(job_id, "w1")  # due or not: the message decides when; the claim accepts it
    assert ledger.retry_later(job_id, "w1", 0, "blocked", "429", refund_attempt=True)
    assert row(db, job_id)["attempts"] == 1  # 2 attempts made, the blocked one refunded
    assert ledger.retry_later(job_id, "someone-else", 0, "transient", "x") is None


def test_cancel_running_is_only_for_the_holder(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w1")
    assert not ledger.cancel_running(job_id, "w2")
    assert ledger.cancel_running(job_id, "w1")
    assert row(db, job_id)["status"] == "cancelled" and video_status(db) == "pending"


# -- cancel, retry, release ---------------------------------------------------------------------


def test_cancel_ends_queued_jobs_and_asks_running_ones_to_stop(ledger: Ledger, db) -> None:
    queued = new_job(ledger)
    running = new_job(ledger, entity="vid00000002")
    done = new_job(ledger, entity="vid00000003")
    ledger.claim(running, "w1")
    ledger.claim(done, "w1")
    ledger.complete(done, "w1")
    cancelled, requested = ledger.cancel([queued, running, done, 9999])
    assert (cancelled, requested) == ([queued], [running])
    assert row(db, queued)["status"] == "cancelled" and video_status(db) == "pending"
    r = row(db, running)
    assert (r["status"], r["cancel_requested"]) == ("running", True)
    assert row(db, done)["status"] == "completed"
    assert ledger.cancel([]) == ([], [])


def test_retry_failed_respects_attempts_unless_forced(ledger: Ledger, db) -> None:
    used = new_job(ledger, max_attempts=1)
    ledger.claim(used, "w")
    ledger.fail(used, "w", "transient", "x")
    left = new_job(ledger, entity="vid00000002", max_attempts=3)
    ledger.claim(left, "w")
    ledger.fail(left, "w", "permanent", "y")
    assert ledger.retry_failed() == [("extract_transcript", left, 0, None)]
    assert row(db, left)["status"] == "pending"
    assert [m[1] for m in ledger.retry_failed(force=True)] == [used]
    r = row(db, used)
    assert (r["status"], r["attempts"], r["finished_at"]) == ("pending", 0, None)
    assert video_status(db) == "queued"


def test_retry_brings_back_cancelled_jobs_by_id_or_when_asked(ledger: Ledger, db) -> None:
    queued = new_job(ledger)
    ran = new_job(ledger, entity="vid00000002", max_attempts=1)
    ledger.claim(ran, "w")  # it used its only attempt, then somebody cancelled it
    ledger.cancel([queued, ran])
    ledger.cancel_running(ran, "w")
    assert row(db, queued)["status"] == row(db, ran)["status"] == "cancelled"
    assert ledger.retry_failed() == []  # a plain retry is for failed jobs only
    assert [m[1] for m in ledger.retry_failed(job_id=queued)] == [queued]
    r = row(db, queued)
    assert (r["status"], r["attempts"], r["finished_at"]) == ("pending", 0, None)
    assert video_status(db) == "queued"
    assert [m[1] for m in ledger.retry_failed(cancelled=True)] == [ran]
    r = row(db, ran)  # it keeps what it used, but always gets one more attempt
    assert (r["status"], r["attempts"], r["cancel_requested"]) == ("pending", 0, False)


def test_retry_leaves_a_job_whose_entity_has_another_active_job(ledger: Ledger, db) -> None:
    failed = new_job(ledger)
    ledger.claim(failed, "w")
    ledger.fail(failed, "w", "transient", "x")
    newer = new_job(ledger)  # the video was queued again meanwhile
    assert ledger.retry_failed(force=True) == []
    assert row(db, failed)["status"] == "failed" and row(db, newer)["status"] == "pending"


def test_release_waiting_makes_held_jobs_due_now(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w")
    ledger.retry_later(job_id, "w", 36_000, "quota_exhausted", "quota", refund_attempt=True)
    other = new_job(ledger, entity="vid00000002")
    ledger.claim(other, "w")
    ledger.retry_later(other, "w", 36_000, "transient", "503")
    assert ledger.release_waiting(["quota_exhausted"]) == [
        ("extract_transcript", job_id, 0, None)]
    assert row(db, job_id)["next_retry_at"] <= datetime.now(UTC)
    assert row(db, other)["next_retry_at"] > datetime.now(UTC) + timedelta(hours=9)


# -- liveness and recovery -----------------------------------------------------------------------


def test_heartbeat_touches_only_the_workers_running_jobs(ledger: Ledger, db) -> None:
    mine = new_job(ledger)
    theirs = new_job(ledger, entity="vid00000002")
    ledger.claim(mine, "w1")
    ledger.claim(theirs, "w2")
    with db.engine.begin() as conn:
        conn.execute(JOBS.update().values(heartbeat_at=datetime.now(UTC) - timedelta(hours=1)))
    assert ledger.heartbeat("w1", [mine, theirs]) == 1
    assert ledger.heartbeat("w1", []) == 0
    assert row(db, mine)["heartbeat_at"] > datetime.now(UTC) - timedelta(minutes=1)
    assert row(db, theirs)["heartbeat_at"] < datetime.now(UTC) - timedelta(minutes=30)


def test_put_back_refunds_the_attempt_and_honours_a_cancel(ledger: Ledger, db) -> None:
    job_id = new_job(ledger)
    ledger.claim(job_id, "w1")
    asked = new_job(ledger, entity="vid00000002")
    ledger.claim(asked, "w1")
    ledger.cancel([asked])
    assert ledger.put_back([job_id, asked, 9999], "worker died") == [job_id]
    r = row(db, job_id)
    assert (r["status"], r["attempts"], r["worker_id"], r["error_class"]) == (
        "pending", 0, None, "interrupted")
    assert row(db, asked)["status"] == "cancelled"
    assert ledger.put_back([], "x") == []
    assert not ledger.complete(job_id, "w1")  # the dead worker's late result is ignored


# -- sessions -----------------------------------------------------------------------------------


def test_the_last_job_of_a_session_completes_it_in_the_same_transaction(ledger: Ledger,
                                                                       db) -> None:
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(insert(ProcessingSession.__table__).values(
            id=7, name="s", session_type="batch", status="running", configuration={},
            metrics={}, created_at=now, started_at=now))
    a = new_job(ledger, session_id=7)
    b = new_job(ledger, entity="vid00000002", session_id=7)
    ledger.claim(a, "w")
    ledger.complete(a, "w")
    assert session_status(db, 7) == "running"
    ledger.claim(b, "w")
    ledger.fail(b, "w", "permanent", "gone")
    assert session_status(db, 7) == "completed"
    ledger.retry_failed(session_id=7, force=True)  # retrying reopens it
    assert session_status(db, 7) == "running"
    ledger.cancel([b])
    assert session_status(db, 7) == "completed"


def test_create_in_bulk_keeps_order_and_deduplicates_within_a_call(ledger: Ledger, db) -> None:
    """Thousands of specs in one call (several bulk chunks): one job per entity, in the
    callers' order, each new row carrying the task id of the message that will carry it."""
    from tubesensei.jobs.ledger import CREATE_CHUNK

    existing = new_job(ledger, entity="e-3")
    entities = [f"e-{i}" for i in range(CREATE_CHUNK * 2 + 7)]
    specs = [spec(entity=e, job_type="discover_channel") for e in entities]
    specs.insert(5, spec(entity="e-1", job_type="discover_channel"))  # twice in one call
    specs.append(spec(entity="e-3"))  # an extract job about e-3 exists already
    created = ledger.create_many(specs)
    assert [c.spec for c in created] == specs
    first, again = created[1], created[5]
    assert first.created and not again.created and again.job_id == first.job_id
    assert not created[-1].created and created[-1].job_id == existing
    new = [c for c in created if c.created]
    assert len(new) == len(entities)
    assert len({c.job_id for c in new}) == len(new)
    assert all(c.task_id and row(db, c.job_id)["huey_task_id"] == c.task_id for c in new[:3])


def test_claims_and_completions_of_many_threads_share_transactions(ledger: Ledger, db) -> None:
    """GroupCommit: every thread gets its own statement's answer; each job runs once."""
    import threading

    ids = [c.job_id for c in ledger.create_many(
        [spec(entity=f"t-{i}", job_type="discover_channel") for i in range(200)])]
    claimed: list[int] = []
    completed: list[bool] = []
    lock = threading.Lock()

    def work(worker: str) -> None:
        for job_id in ids:
            job = ledger.claim(job_id, worker)
            if job is not None:
                ok = ledger.complete(job.id, worker, {"by": worker})
                with lock:
                    claimed.append(job.id)
                    completed.append(ok)

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == ids and all(completed)
    assert {row(db, i)["status"] for i in ids} == {"completed"}
    assert ledger.group.statements == 4 * 200 + 200  # every claim tried, every completion
    assert ledger.group.batches <= ledger.group.statements


def test_a_failed_group_fails_every_statement_in_it(ledger: Ledger) -> None:
    from tubesensei.jobs.ledger import GroupCommit

    group = GroupCommit(ledger.engine)

    def boom(_conn):
        raise RuntimeError("disk I/O error")

    with pytest.raises(RuntimeError, match="disk I/O"):
        group.run(boom)
    assert group.run(lambda conn: 7) == 7  # the next batch is fine


def test_the_group_keeps_one_connection_until_released(ledger: Ledger) -> None:
    """The hot path keeps its connection between transactions (a consumer gives it back as
    it stops); after a failed batch the next one starts on a fresh connection."""
    pool = ledger.engine.pool
    job_id = new_job(ledger, job_type="discover_channel")
    assert pool.checkedout() == 0
    assert ledger.claim(job_id, "w1") is not None
    assert ledger.complete(job_id, "w1", {})
    assert pool.checkedout() == 1  # one for both transitions, kept
    ledger.release()
    assert pool.checkedout() == 0

    def boom(_conn):
        raise RuntimeError("disk I/O error")

    with pytest.raises(RuntimeError):
        ledger.group.run(boom)
    assert pool.checkedout() == 0  # given back, not reused
    assert ledger.group.run(lambda conn: conn.exec_driver_sql("SELECT 7").scalar()) == 7


def test_exclusive_work_never_overlaps_a_batch_and_every_caller_is_answered(ledger) -> None:
    """Threads writing batches and threads running exclusive work, all at once: each gets
    its own answer, and nothing else is written while exclusive work runs."""
    import threading
    import time

    group = ledger.group
    state = {"batch": 0, "exclusive": 0, "overlaps": 0}
    lock = threading.Lock()
    answers: list[tuple[str, int, int]] = []

    def enter(kind: str) -> None:
        with lock:
            state[kind] += 1
            if state["exclusive"] and (state["batch"] or state["exclusive"] > 1):
                state["overlaps"] += 1

    def leave(kind: str) -> None:
        with lock:
            state[kind] -= 1

    def in_batch(n: int):
        def fn(_conn):
            enter("batch")
            leave("batch")
            return n
        return fn

    def exclusive(n: int) -> int:
        enter("exclusive")
        threading.Event().wait(0.0005)
        leave("exclusive")
        return n

    def work(name: str, use_exclusive: bool) -> None:
        for n in range(150):
            got = group.exclusive(lambda n=n: exclusive(n)) if use_exclusive and n % 5 == 0 \
                else group.run(in_batch(n))
            with lock:
                answers.append((name, n, got))

    threads = [threading.Thread(target=work, args=(f"t{i}", i % 2 == 0), daemon=True)
               for i in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    assert len(answers) == 6 * 150 and all(n == got for _name, n, got in answers)
    assert state == {"batch": 0, "exclusive": 0, "overlaps": 0}


def test_a_caller_interrupted_while_waiting_is_not_written_and_blocks_nobody(ledger) -> None:
    """A signal in the main thread while it waits for another thread's batch: its statement
    is withdrawn, and the group goes on serving the others."""
    import signal
    import threading

    group = ledger.group
    started, finish = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow(_conn):
        started.set()
        finish.wait(10)
        return "slow"

    class Interrupted(Exception):
        pass

    def on_alarm(_signum, _frame):
        raise Interrupted

    leader = threading.Thread(target=group.run, args=(slow,), daemon=True)
    leader.start()
    assert started.wait(10)
    previous = signal.signal(signal.SIGALRM, on_alarm)
    main = threading.main_thread().ident
    timer = threading.Timer(0.2, signal.pthread_kill, args=(main, signal.SIGALRM))
    timer.start()
    try:
        with pytest.raises(Interrupted):
            group.run(lambda _conn: ran.append("withdrawn"))
    finally:
        signal.signal(signal.SIGALRM, previous)
        finish.set()
        leader.join(10)
    answers: list[int] = []
    after = threading.Thread(target=lambda: answers.append(group.run(lambda _conn: 5)),
                             daemon=True)  # a deadlock fails the test, not the session
    after.start()
    after.join(10)
    assert answers == [5] and ran == []


@pytest.mark.parametrize("result", [{"t": 1.5, "n": [1, "x"]}, None])
def test_the_sqlite_hot_path_writes_rows_as_the_core_statements_do(ledger: Ledger, db,
                                                                     result) -> None:
    """claim/complete run plain SQL on SQLite (GroupCommit): the rows must be byte for byte
    what the Core statements write (timestamps, JSON, counters), and read back the same."""
    import sqlite3

    from tubesensei.jobs.ledger import _CLAIM, _COMPLETE

    fast, core = (c.job_id for c in ledger.create_many(
        [spec(entity=e, job_type="discover_channel") for e in ("e-fast", "e-core")]))
    now = datetime(2026, 12, 2, 17, 0, 0, 123456, tzinfo=UTC)
    import tubesensei.jobs.ledger as L

    original = L.now_utc
    L.now_utc = lambda: now
    try:
        claimed = ledger.claim(fast, "w1")
        assert ledger.complete(fast, "w1", result)
    finally:
        L.now_utc = original
    with db.engine.begin() as conn:
        core_claimed = conn.execute(_CLAIM, {"b_id": core, "b_worker": "w1", "b_now": now}).first()
        conn.execute(_COMPLETE, {"b_id": core, "b_worker": "w1", "b_now": now,
                                 "b_result": result})
    assert claimed is not None and claimed.metadata == {"k": "v"}
    assert (claimed.attempts, claimed.queue) == (core_claimed[5], core_claimed[3])
    raw = sqlite3.connect(db.engine.url.database)
    try:
        cols = [r[1] for r in raw.execute("PRAGMA table_info(processing_jobs)")
                if r[1] not in ("id", "entity_id", "huey_task_id", "created_at")]
        select_cols = ", ".join(cols)
        a = raw.execute(f"SELECT {select_cols} FROM processing_jobs WHERE id = ?",
                        (fast,)).fetchone()
        b = raw.execute(f"SELECT {select_cols} FROM processing_jobs WHERE id = ?",
                        (core,)).fetchone()
    finally:
        raw.close()
    assert dict(zip(cols, a, strict=True)) == dict(zip(cols, b, strict=True))
    assert row(db, fast)["result"] == row(db, core)["result"] == result
