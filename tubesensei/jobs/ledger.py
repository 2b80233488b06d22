"""The job ledger (processing_jobs): the truth about every job. Huey only carries job ids.

State machine::

    pending ──claim──► running ──► completed
       ▲                 │  ├────► failed      (permanent error, or attempts used up)
       │                 │  ├────► retrying ──(due)──claim──► running …
       └──── release ────┘  └────► cancelled   (cancel requested, stopped at a checkpoint)

Every transition is one guarded UPDATE (compare-and-set on status, and on the worker for
transitions out of ``running``), so a duplicate message, a stale message or a late result
from a thread whose job was already reaped changes nothing. Statements are SQLAlchemy Core
on a synchronous engine: this is the consumer's hot path.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, case, select, text, update

from tubesensei.db.engine import BEGIN_OPTION
from tubesensei.db.models import (
    ACTIVE_JOB_STATUSES,
    FINISHED_JOB_STATUSES,
    RUNNABLE_JOB_STATUSES,
    ProcessingJob,
    ProcessingSession,
    Video,
)
from tubesensei.db.upsert import insert_for_engine

JOBS = ProcessingJob.__table__
VIDEOS = Video.__table__
SESSIONS = ProcessingSession.__table__
RUNNABLE = RUNNABLE_JOB_STATUSES
# The error recorded on a job must stay readable in a table cell and the TUI.
MAX_ERROR_CHARS = 2000


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class JobSpec:
    """What to create: one job of ``job_type`` about ``entity_id``."""

    job_type: str
    entity_id: str
    queue: str
    priority: int = 0
    max_attempts: int = 5
    metadata: dict[str, Any] = field(default_factory=dict)
    session_id: int | None = None


@dataclass(frozen=True)
class Created:
    job_id: int
    created: bool  # False: an active job for the same (type, entity) already existed
    spec: JobSpec
    status: str = "pending"
    task_id: str | None = None  # the Huey task id of its first message (new jobs)


@dataclass(frozen=True)
class ClaimedJob:
    id: int
    job_type: str
    entity_id: str
    queue: str
    priority: int
    attempts: int
    max_attempts: int
    metadata: dict[str, Any]
    session_id: int | None


# The predicate of the partial unique index uq_processing_jobs_active_entity, as literal SQL:
# PostgreSQL matches ON CONFLICT's arbiter index by its predicate, which it cannot do for
# bound parameters once psycopg prepares the statement (after a few runs).
ACTIVE_INDEX_WHERE = text("status IN (" + ", ".join(f"'{s}'" for s in ACTIVE_JOB_STATUSES) + ")")

# The two statements every job runs, built once with bind parameters: building a Core
# statement and its cache key on each call cost more than the SQLite work itself (about
# 250 µs per call, half the no-op job's cost; see benchmarks/queue.py).
_NOW = bindparam("b_now", type_=JOBS.c.updated_at.type)
_CLAIM = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("b_id"), JOBS.c.status.in_(RUNNABLE),
           JOBS.c.cancel_requested.is_(False))
    .values(status="running", attempts=JOBS.c.attempts + 1,
            worker_id=bindparam("b_worker", type_=JOBS.c.worker_id.type),
            started_at=_NOW, heartbeat_at=_NOW, next_retry_at=None, updated_at=_NOW)
    .returning(JOBS.c.id, JOBS.c.job_type, JOBS.c.entity_id, JOBS.c.queue, JOBS.c.priority,
               JOBS.c.attempts, JOBS.c.max_attempts, JOBS.c["metadata"], JOBS.c.session_id)
)
_COMPLETE = (
    update(JOBS)
    .where(JOBS.c.id == bindparam("b_id"), JOBS.c.status == "running",
           JOBS.c.worker_id == bindparam("b_worker", type_=JOBS.c.worker_id.type))
    .values(status="completed", result=bindparam("b_result", type_=JOBS.c.result.type),
            finished_at=_NOW, error=None, error_class=None, updated_at=_NOW)
    .returning(JOBS.c.session_id)
)


# The same two transitions as plain SQL for SQLite, run on the driver's connection inside
# GroupCommit's transaction: SQLAlchemy's work per execution (an execution context, events,
# a result object) cost as much as SQLite's own. Values go through the columns' own bind
# processors, so the rows are written exactly as the Core statements write them
# (tests/unit/test_ledger.py compares the two).
_CLAIM_SQLITE = (
    "UPDATE processing_jobs SET status = 'running', attempts = attempts + 1, worker_id = ?, "
    "started_at = ?, heartbeat_at = ?, next_retry_at = NULL, updated_at = ? "
    "WHERE id = ? AND status IN (" + ", ".join(f"'{s}'" for s in RUNNABLE) + ") "
    "AND cancel_requested = 0 "
    "RETURNING id, job_type, entity_id, queue, priority, attempts, max_attempts, metadata, "
    "session_id"
)
_COMPLETE_SQLITE = (
    "UPDATE processing_jobs SET status = 'completed', result = ?, finished_at = ?, "
    "error = NULL, error_class = NULL, updated_at = ? "
    "WHERE id = ? AND status = 'running' AND worker_id = ? RETURNING session_id"
)


def _driver(conn: Any) -> Any:
    """The DB-API connection under a SQLAlchemy connection (inside its transaction)."""
    return conn.connection.driver_connection


class GroupCommit:
    """Run the hot path's transitions of several threads in one SQLite transaction.

    SQLite has one writer at a time, and most of a transition's cost is its commit (the
    pages of every index on the job's status, about 14, written to the WAL): worker threads
    that claimed or completed jobs each in a transaction of their own would queue for the
    write lock and each pay a commit. Here one thread at a time leads: it writes every
    statement waiting (its own and those that queued meanwhile) in one transaction, then
    each caller gets its own statement's result, after the commit: every transition stays
    its own guarded UPDATE and is durable when the call returns. A failure fails every
    statement of the batch (nothing of it was committed).

    Threads that wait do so each on a lock of its own. When a batch is committed, its leader
    wakes exactly the threads whose statements it wrote and hands the lead to the oldest
    statement still waiting (a Condition's notify_all woke every waiter, and each then
    queued for the Condition's lock, those not yet written only to sleep again). Before it
    takes a batch the leader yields once, so that a thread about to add a statement (one
    that has just run its task) joins this commit instead of paying the next one.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._mutex = threading.Lock()
        self._waiting: list[_Op] = []
        self._exclusive: deque[threading.Lock] = deque()
        self._busy = False  # a thread leads (writes a batch, or runs ``exclusive``)
        self.batches = 0
        self.statements = 0
        self._conn: Any = None  # used by the leader only

    def run(self, fn: Callable[[Any], Any]) -> Any:
        op = _Op(fn)
        with self._mutex:
            self._waiting.append(op)
            leads = not self._busy
            self._busy = True
        if not leads:
            try:
                op.wake.acquire()  # released once: written by another thread, or ours to lead
            except BaseException:  # interrupted (a signal in the main thread)
                self._withdraw(op)
                raise
            if op.done:
                return op.outcome()
        batch: list[_Op] = []
        try:
            time.sleep(0)  # yield the GIL: statements about to be added join this batch
            with self._mutex:
                batch, self._waiting = self._waiting, []
            self._write(batch)
        finally:
            with self._mutex:
                for item in batch:
                    item.done = True
                self.batches += 1
                self.statements += len(batch)
                successor = self._next_leader()
            if successor is not None:  # first: the next batch is the critical path
                successor.release()
            for item in batch:
                if item is not op:
                    item.wake.release()
        return op.outcome()

    def _write(self, batch: list[_Op]) -> None:
        """One transaction for the batch, on the connection the group keeps between batches
        (taking one from the pool and giving it back cost as much as the transaction's own
        BEGIN and COMMIT). After a failure the connection goes back to the pool: the next
        batch starts on a fresh one."""
        try:
            if self._conn is None:
                self._conn = self.engine.connect()
            with self._conn.begin():
                for item in batch:
                    item.result = item.fn(self._conn)
        except BaseException as exc:
            for item in batch:
                item.error = exc
            self._release_connection()

    def _release_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # a broken connection: the pool has dropped it
                pass

    def release(self) -> None:
        """Give the kept connection back to the pool (a consumer that stops); the next batch
        takes one again."""
        with self._mutex:
            if self._busy:  # being written: its leader keeps the connection
                return
            self._release_connection()

    def _next_leader(self) -> threading.Lock | None:
        """The lock to release for whoever leads next (under the mutex); None: nobody waits."""
        if self._exclusive:
            return self._exclusive.popleft()
        if self._waiting:
            first = self._waiting[0]
            first.leads = True
            return first.wake
        self._busy = False
        return None

    def _withdraw(self, op: _Op) -> None:
        """A caller that stopped waiting: its statement is not written (unless a batch has
        it already), and a lead handed to it goes on to the next in line."""
        with self._mutex:
            if op not in self._waiting:
                return  # written, or being written: nothing to take back
            self._waiting.remove(op)
            successor = self._next_leader() if op.leads else None
        if successor is not None:
            successor.release()

    def exclusive(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` (its own transaction) while no batch is being written, and hold the
        batches back until it ends: threads of this process then never meet on SQLite's
        lock, whose busy handler sleeps (1, 2, 5, 10 ms...) before it looks again."""
        turn: threading.Lock | None = None
        with self._mutex:
            if self._busy:
                turn = threading.Lock()
                turn.acquire()
                self._exclusive.append(turn)  # served before the next batch
            self._busy = True
        if turn is not None:
            try:
                turn.acquire()
            except BaseException:  # interrupted: give up the turn, or pass it on
                with self._mutex:
                    handed = turn not in self._exclusive
                    if not handed:
                        self._exclusive.remove(turn)
                    successor = self._next_leader() if handed else None
                if successor is not None:
                    successor.release()
                raise
        try:
            return fn()
        finally:
            with self._mutex:
                successor = self._next_leader()
            if successor is not None:
                successor.release()


class _Op:
    """One caller's statement: its result or error, and the lock its caller waits on (held
    from the start; released once, when the statement is written or the caller is to lead)."""

    __slots__ = ("done", "error", "fn", "leads", "result", "wake")

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.done = False
        self.leads = False  # the lead was handed to this caller
        self.result: Any = None
        self.error: BaseException | None = None
        self.wake = threading.Lock()
        self.wake.acquire()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # Writes that read first take SQLite's write lock up front (BEGIN IMMEDIATE).
        self._writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        # The claim is one statement: on PostgreSQL it runs without BEGIN/COMMIT around it
        # (three round trips become one), and writers do not wait for each other there. On
        # SQLite, claims and completions of all threads share transactions (GroupCommit).
        self._pg = engine.dialect.name == "postgresql"
        self._single = engine.execution_options(isolation_level="AUTOCOMMIT") if self._pg \
            else engine
        self.group = GroupCommit(engine)
        dialect = engine.dialect
        self._time = JOBS.c.updated_at.type.bind_processor(dialect) or (lambda v: v)
        self._json = JOBS.c.result.type.bind_processor(dialect) or (lambda v: v)
        self._insert_stmt = (
            insert_for_engine(engine, JOBS)
            .on_conflict_do_nothing(index_elements=["job_type", "entity_id"],
                                    index_where=ACTIVE_INDEX_WHERE)
        )

    def release(self) -> None:
        """Give back the connection the hot path keeps between its transactions (a consumer
        that stops); the next claim or completion takes one again."""
        self.group.release()

    # -- creation ---------------------------------------------------------------------

    def create_many(
        self, specs: Sequence[JobSpec], *, mark_videos_queued: bool = True
    ) -> list[Created]:
        """Create jobs in one transaction; an active job for the same entity is returned as is.

        In bulk: per chunk of specs, one read of the active jobs already there, one
        multi-row insert of the rest and one read of their ids (a 100,000-video batch is
        200 chunks, not 100,000 round trips). Each new job gets the id of the Huey message
        that will carry it (``Created.task_id``), written with the row. Extract jobs mark
        their videos ``queued`` in the same transaction.
        """
        if not specs:
            return []
        if not self._pg:
            return self.group.exclusive(lambda: self._create_many(specs, mark_videos_queued))
        return self._create_many(specs, mark_videos_queued)

    def _create_many(self, specs: Sequence[JobSpec], mark_videos_queued: bool
                     ) -> list[Created]:
        now = now_utc()
        out: list[Created] = []
        with self._writer.begin() as conn:
            for start in range(0, len(specs), CREATE_CHUNK):
                out.extend(self._create_chunk(conn, specs[start : start + CREATE_CHUNK], now))
            if mark_videos_queued:
                video_ids = [
                    c.spec.entity_id for c in out if c.spec.job_type == "extract_transcript"
                ]
                for chunk in _chunks(video_ids, 500):
                    conn.execute(
                        update(VIDEOS)
                        .where(
                            VIDEOS.c.youtube_video_id.in_(chunk),
                            # not by the status index (every queued video): by id
                            VIDEOS.c.transcript_status.concat("").in_(
                                ("pending", "failed", "queued")),
                        )
                        .values(transcript_status="queued", updated_at=now)
                    )
        return out

    def _create_chunk(self, conn: Any, specs: Sequence[JobSpec], now: datetime
                      ) -> list[Created]:
        entities = list({s.entity_id for s in specs})
        before = _active_by_key(conn, entities)
        rows: list[dict[str, Any]] = []
        task_ids: dict[tuple[str, str], str] = {}
        for spec in specs:
            key = (spec.job_type, spec.entity_id)
            if key in before or key in task_ids:
                continue
            task_ids[key] = str(uuid.uuid4())
            rows.append({
                "job_type": spec.job_type, "entity_id": spec.entity_id, "queue": spec.queue,
                "priority": spec.priority, "status": "pending", "attempts": 0,
                "max_attempts": spec.max_attempts, "metadata": spec.metadata,
                "session_id": spec.session_id, "cancel_requested": False,
                "huey_task_id": task_ids[key], "created_at": now, "updated_at": now,
            })
        after = before
        if rows:
            conn.execute(self._insert_stmt, rows)
            after = _active_by_key(conn, entities)
        out: list[Created] = []
        for spec in specs:
            key = (spec.job_type, spec.entity_id)
            found = after.get(key)
            if found is None:  # finished between the two statements: try again later
                raise RuntimeError(f"could not create job for {spec.entity_id}")
            if key in before:
                out.append(Created(found[0], False, spec, found[1]))
            elif key in task_ids and found[2] == task_ids[key]:
                out.append(Created(found[0], True, spec, task_id=task_ids.pop(key)))
            else:  # a second spec for the same entity in this call, or another writer's row
                out.append(Created(found[0], False, spec, found[1]))
        return out

    def set_task_ids(self, pairs: Iterable[tuple[int, str]]) -> None:
        rows = [{"jid": jid, "tid": tid} for jid, tid in pairs]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == bindparam("jid"))
                .values(huey_task_id=bindparam("tid")),
                rows,
            )

    # -- the running part -------------------------------------------------------------

    def claim(self, job_id: int, worker_id: str) -> ClaimedJob | None:
        """pending/retrying → running (attempts + 1), or None if the job is not runnable."""
        params = {"b_id": job_id, "b_worker": worker_id, "b_now": now_utc()}
        if self._pg:
            with self._single.begin() as conn:
                row = conn.execute(_CLAIM, params).first()
        else:
            now = self._time(params["b_now"])
            args = (worker_id, now, now, now, job_id)
            row = self.group.run(
                lambda conn: _first(_driver(conn).execute(_CLAIM_SQLITE, args)))
        if row is None:
            return None
        metadata = row[7] if isinstance(row[7], dict) else json.loads(row[7] or "{}")
        return ClaimedJob(row[0], row[1], row[2], row[3], row[4], row[5], row[6], metadata, row[8])

    def _finish(self, job_id: int, worker_id: str, conn: Any = None, **values: Any) -> bool:
        """running → a new state, if this worker still holds the job. A job that ends its
        session completes the session in the same transaction."""
        now = now_utc()
        values.setdefault("updated_at", now)
        stmt = (
            update(JOBS)
            .where(JOBS.c.id == job_id, JOBS.c.status == "running", JOBS.c.worker_id == worker_id)
            .values(**values)
            .returning(JOBS.c.session_id)
        )
        if conn is None:
            with self.engine.begin() as c:
                return self._finish_in(c, stmt, values["status"])
        return self._finish_in(conn, stmt, values["status"])

    def _finish_in(self, conn: Any, stmt: Any, status: str,
                   params: dict[str, Any] | None = None) -> bool:
        row = conn.execute(stmt, params).first()
        if row is None:
            return False
        if row[0] is not None and status in FINISHED_JOB_STATUSES:
            complete_session_if_done(conn, row[0])
        return True

    def complete(self, job_id: int, worker_id: str, result: dict[str, Any] | None = None) -> bool:
        params = {"b_id": job_id, "b_worker": worker_id, "b_now": now_utc(), "b_result": result}
        if self._pg:
            with self.engine.begin() as conn:
                return self._finish_in(conn, _COMPLETE, "completed", params)
        now = self._time(params["b_now"])
        args = (self._json(result), now, now, job_id, worker_id)

        def write(conn: Any) -> bool:
            row = _first(_driver(conn).execute(_COMPLETE_SQLITE, args))
            if row is None:
                return False
            if row[0] is not None:
                complete_session_if_done(conn, row[0])
            return True

        return bool(self.group.run(write))

    def fail(self, job_id: int, worker_id: str, error_class: str, error: str,
             video_status: str | None = "failed") -> bool:
        """running → failed; an extract job's video becomes ``failed`` in the same transaction."""
        with self.engine.begin() as conn:
            done = self._finish(
                job_id, worker_id, conn, status="failed", finished_at=now_utc(),
                error_class=error_class, error=error[:MAX_ERROR_CHARS],
            )
            if done and video_status:
                self._set_video_status_for_job(conn, job_id, video_status)
            return done

    def cancel_running(self, job_id: int, worker_id: str) -> bool:
        with self.engine.begin() as conn:
            done = self._finish(job_id, worker_id, conn, status="cancelled",
                                finished_at=now_utc(), error_class="cancelled",
                                error="cancelled while running")
            if done:
                self._set_video_status_for_job(conn, job_id, "pending")
            return done

    def retry_later(self, job_id: int, worker_id: str, delay: float, error_class: str,
                    error: str, *, refund_attempt: bool = False) -> datetime | None:
        """running → retrying, due after ``delay`` seconds. With ``refund_attempt`` the
        attempt does not count (quota pause, blocked): only real failures use up attempts."""
        due = now_utc() + timedelta(seconds=max(0.0, delay))
        values: dict[str, Any] = dict(
            status="retrying", next_retry_at=due, error_class=error_class,
            error=error[:MAX_ERROR_CHARS], heartbeat_at=None,
        )
        if refund_attempt:
            values["attempts"] = _refunded_attempts()
        return due if self._finish(job_id, worker_id, **values) else None

    def _set_video_status_for_job(self, conn: Any, job_id: int, status: str) -> None:
        stmt = select(JOBS.c.job_type, JOBS.c.entity_id).where(JOBS.c.id == job_id)
        row = conn.execute(stmt).first()
        if row is not None and row[0] == "extract_transcript":
            conn.execute(
                update(VIDEOS)
                .where(
                    VIDEOS.c.youtube_video_id == row[1],
                    VIDEOS.c.transcript_status.in_(("queued", "pending")),
                )
                .values(transcript_status=status, updated_at=now_utc())
            )

    def cancel(self, job_ids: Sequence[int]) -> tuple[list[int], list[int]]:
        """Queued jobs end ``cancelled`` now (their messages find nothing to run); running
        ones are asked to stop at their next checkpoint. Returns (cancelled, requested)."""
        now = now_utc()
        ids = list(job_ids)
        if not ids:
            return [], []
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids), JOBS.c.status.in_(RUNNABLE))
                .values(status="cancelled", finished_at=now, updated_at=now,
                        error_class="cancelled", error="cancelled before it ran",
                        next_retry_at=None)
                .returning(JOBS.c.id, JOBS.c.session_id)
            ).all()
            for job_id, _session in rows:
                self._set_video_status_for_job(conn, job_id, "pending")
            for session_id in {r[1] for r in rows if r[1] is not None}:
                complete_session_if_done(conn, session_id)
            requested = conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids), JOBS.c.status == "running")
                .values(cancel_requested=True, updated_at=now)
                .returning(JOBS.c.id)
            ).scalars().all()
        return [r[0] for r in rows], list(requested)

    def retry_failed(self, *, job_id: int | None = None, job_type: str | None = None,
                     session_id: int | None = None, force: bool = False,
                     cancelled: bool = False) -> list[tuple[str, int, int, None]]:
        """failed → pending for jobs that still have attempts (all of them with ``force``,
        which also gives them their attempts back); with ``cancelled`` (or a ``job_id``)
        cancelled → pending too. A cancelled job keeps its attempts but always gets at least
        one more: cancelling was a person's choice, not the job's failure. A job whose
        entity has another active job meanwhile is left alone. Returns the messages to send."""
        now = now_utc()
        other = JOBS.alias("other")
        with_cancelled = cancelled or job_id is not None
        is_cancelled = JOBS.c.status == "cancelled"
        conds = [JOBS.c.status.in_(("failed", "cancelled")) if with_cancelled
                 else JOBS.c.status == "failed"]
        if job_id is not None:
            conds.append(JOBS.c.id == job_id)
        if job_type is not None:
            conds.append(JOBS.c.job_type == job_type)
        if session_id is not None:
            conds.append(JOBS.c.session_id == session_id)
        if not force:
            conds.append(is_cancelled | (JOBS.c.attempts < JOBS.c.max_attempts))
        conds.append(~select(other.c.id).where(
            other.c.job_type == JOBS.c.job_type, other.c.entity_id == JOBS.c.entity_id,
            other.c.status.in_(ACTIVE_JOB_STATUSES)).exists())
        values: dict[str, Any] = dict(status="pending", finished_at=None, updated_at=now,
                                      worker_id=None, next_retry_at=None, cancel_requested=False)
        if force:
            values["attempts"] = 0
        elif with_cancelled:
            values["attempts"] = case(
                (is_cancelled & (JOBS.c.attempts >= JOBS.c.max_attempts),
                 JOBS.c.max_attempts - 1),
                else_=JOBS.c.attempts)
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(JOBS).where(*conds).values(**values)
                .returning(JOBS.c.job_type, JOBS.c.id, JOBS.c.priority, JOBS.c.entity_id,
                           JOBS.c.session_id)
            ).all()
            videos = [r[3] for r in rows if r[0] == "extract_transcript"]
            for chunk in _chunks(videos, 500):
                conn.execute(update(VIDEOS).where(VIDEOS.c.youtube_video_id.in_(chunk))
                             .values(transcript_status="queued", updated_at=now))
            sessions = {r[4] for r in rows if r[4] is not None}
            if sessions:
                conn.execute(update(SESSIONS).where(SESSIONS.c.id.in_(sessions))
                             .values(status="running", completed_at=None))
        return [(r[0], r[1], r[2], None) for r in rows]

    def release_waiting(self, error_classes: Sequence[str]) -> list[tuple[str, int, int, None]]:
        """Make jobs that wait for a pause to lift (quota reset, breaker) due now; returns the
        messages to send (their scheduled messages become harmless duplicates)."""
        now = now_utc()
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(JOBS)
                .where(JOBS.c.status == "retrying", JOBS.c.error_class.in_(list(error_classes)))
                .values(next_retry_at=now, updated_at=now)
                .returning(JOBS.c.job_type, JOBS.c.id, JOBS.c.priority)
            ).all()
        return [(r[0], r[1], r[2], None) for r in rows]

    def heartbeat(self, worker_id: str, job_ids: Sequence[int]) -> int:
        """One UPDATE for all of a consumer's in-flight jobs."""
        if not job_ids:
            return 0
        now = now_utc()
        with self.engine.begin() as conn:
            return conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.status == "running",
                       JOBS.c.worker_id == worker_id)
                .values(heartbeat_at=now)
            ).rowcount

    # -- recovery ---------------------------------------------------------------------

    def put_back(self, job_ids: Sequence[int], reason: str) -> list[int]:
        """running → pending for jobs whose worker is gone (or stopping). The interrupted
        attempt is refunded: a crash is not the job's fault. A job somebody asked to cancel
        ends ``cancelled`` instead. Returns the ids put back (to be re-queued)."""
        if not job_ids:
            return []
        now = now_utc()
        ids = list(job_ids)
        with self.engine.begin() as conn:
            cancelled = conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids), JOBS.c.status == "running",
                       JOBS.c.cancel_requested.is_(True))
                .values(status="cancelled", finished_at=now, updated_at=now, worker_id=None,
                        error_class="cancelled", error="cancelled while running")
                .returning(JOBS.c.id, JOBS.c.session_id)
            ).all()
            for job_id, session_id in cancelled:
                self._set_video_status_for_job(conn, job_id, "pending")
                if session_id is not None:
                    complete_session_if_done(conn, session_id)
            rows = conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(ids), JOBS.c.status == "running")
                .values(
                    status="pending", worker_id=None, heartbeat_at=None, updated_at=now,
                    error_class="interrupted", error=reason,
                    attempts=_refunded_attempts(),
                )
                .returning(JOBS.c.id)
            ).all()
        return [r[0] for r in rows]


# Specs per bulk step of create_many: 13 bound values a row stay far below SQLite's limit.
CREATE_CHUNK = 500

# By entity, always. Without statistics SQLite read the status index instead (every pending
# job: 5 ms a chunk at 15,000 pending jobs), and with the statistics a consumer takes at its
# start on a new database (a table of one row) it scanned the table: either way the cost grew
# with the backlog, quadratic over a big channel's discovery. On SQLite the index is named
# (INDEXED BY); PostgreSQL keeps its own statistics.
_ACTIVE_BY_ENTITY = (
    select(JOBS.c.job_type, JOBS.c.entity_id, JOBS.c.id, JOBS.c.status, JOBS.c.huey_task_id)
    .where(JOBS.c.entity_id.in_(bindparam("b_entities", expanding=True)),
           JOBS.c.status.in_(ACTIVE_JOB_STATUSES))
)
_ACTIVE_BY_ENTITY_SQLITE = (
    "SELECT job_type, entity_id, id, status, huey_task_id FROM processing_jobs "
    "INDEXED BY ix_processing_jobs_entity WHERE entity_id IN ({marks}) AND status IN ("
    + ", ".join(f"'{s}'" for s in ACTIVE_JOB_STATUSES) + ")"
)


def _active_by_key(conn: Any, entities: Sequence[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(job_type, entity_id) -> (id, status, huey_task_id) of the active jobs on entities."""
    if conn.dialect.name == "sqlite":
        sql = _ACTIVE_BY_ENTITY_SQLITE.format(marks=", ".join("?" * len(entities)))
        rows = conn.exec_driver_sql(sql, tuple(entities)).all()
    else:
        rows = conn.execute(_ACTIVE_BY_ENTITY, {"b_entities": list(entities)}).all()
    return {(r[0], r[1]): (r[2], r[3], r[4]) for r in rows}


def _first(cursor: Any) -> Any:
    """The first row of a DB-API cursor, reading to the end (the statement then ends)."""
    rows = cursor.fetchall()
    cursor.close()
    return rows[0] if rows else None


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def complete_session_if_done(conn: Any, session_id: int) -> bool:
    """Mark the session completed when none of its jobs is active any more (same transaction
    as the job that ended it). Progress itself is never stored: it is derived from the jobs."""
    now = now_utc()
    active = (
        select(JOBS.c.id)
        .where(JOBS.c.session_id == session_id, JOBS.c.status.in_(ACTIVE_JOB_STATUSES))
        .exists()
    )
    return conn.execute(
        update(SESSIONS)
        .where(SESSIONS.c.id == session_id, SESSIONS.c.status.in_(("pending", "running")), ~active)
        .values(status="completed", completed_at=now)
    ).rowcount == 1


def _refunded_attempts() -> Any:
    """attempts - 1, never below 0 (portable: no two-argument max on PostgreSQL)."""
    return case((JOBS.c.attempts > 0, JOBS.c.attempts - 1), else_=0)
