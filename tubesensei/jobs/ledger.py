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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from tubesensei.db.models import ACTIVE_JOB_STATUSES, ProcessingJob, Video

JOBS = ProcessingJob.__table__
VIDEOS = Video.__table__
RUNNABLE = ("pending", "retrying")
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


class Ledger:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._dialect = engine.dialect.name

    # -- creation ---------------------------------------------------------------------

    def _insert(self) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(JOBS)

    def create_many(
        self, specs: Sequence[JobSpec], *, mark_videos_queued: bool = True
    ) -> list[Created]:
        """Create jobs in one transaction; an active job for the same entity is returned as is.

        Extract jobs mark their videos ``queued`` in the same transaction.
        """
        if not specs:
            return []
        now = now_utc()
        where = JOBS.c.status.in_(ACTIVE_JOB_STATUSES)
        out: list[Created] = []
        with self.engine.begin() as conn:
            for spec in specs:
                stmt = (
                    self._insert()
                    .values(
                        job_type=spec.job_type,
                        entity_id=spec.entity_id,
                        queue=spec.queue,
                        priority=spec.priority,
                        status="pending",
                        attempts=0,
                        max_attempts=spec.max_attempts,
                        metadata=spec.metadata,
                        session_id=spec.session_id,
                        cancel_requested=False,
                        created_at=now,
                        updated_at=now,
                    )
                    .on_conflict_do_nothing(
                        index_elements=["job_type", "entity_id"], index_where=where
                    )
                    .returning(JOBS.c.id)
                )
                new_id = conn.execute(stmt).scalar()
                if new_id is not None:
                    out.append(Created(new_id, True, spec))
                    continue
                existing = conn.execute(
                    select(JOBS.c.id, JOBS.c.status).where(
                        JOBS.c.job_type == spec.job_type, JOBS.c.entity_id == spec.entity_id, where
                    )
                ).first()
                if existing is None:  # finished between the two statements: try again later
                    raise RuntimeError(f"could not create job for {spec.entity_id}")
                out.append(Created(existing[0], False, spec, existing[1]))
            if mark_videos_queued:
                video_ids = [
                    c.spec.entity_id for c in out if c.spec.job_type == "extract_transcript"
                ]
                for chunk in _chunks(video_ids, 500):
                    conn.execute(
                        update(VIDEOS)
                        .where(
                            VIDEOS.c.youtube_video_id.in_(chunk),
                            VIDEOS.c.transcript_status.in_(("pending", "failed", "queued")),
                        )
                        .values(transcript_status="queued", updated_at=now)
                    )
        return out

    def set_task_ids(self, pairs: Iterable[tuple[int, str]]) -> None:
        rows = [{"jid": jid, "tid": tid} for jid, tid in pairs]
        if not rows:
            return
        with self.engine.begin() as conn:
            conn.execute(
                update(JOBS).where(JOBS.c.id == _bind("jid")).values(huey_task_id=_bind("tid")),
                rows,
            )

    # -- the running part -------------------------------------------------------------

    def claim(self, job_id: int, worker_id: str) -> ClaimedJob | None:
        """pending/retrying → running (attempts + 1), or None if the job is not runnable."""
        now = now_utc()
        stmt = (
            update(JOBS)
            .where(
                JOBS.c.id == job_id,
                JOBS.c.status.in_(RUNNABLE),
                JOBS.c.cancel_requested.is_(False),
            )
            .values(
                status="running",
                attempts=JOBS.c.attempts + 1,
                worker_id=worker_id,
                started_at=now,
                heartbeat_at=now,
                next_retry_at=None,
                updated_at=now,
            )
            .returning(
                JOBS.c.id, JOBS.c.job_type, JOBS.c.entity_id, JOBS.c.queue, JOBS.c.priority,
                JOBS.c.attempts, JOBS.c.max_attempts, JOBS.c["metadata"], JOBS.c.session_id,
            )
        )
        with self.engine.begin() as conn:
            row = conn.execute(stmt).first()
        if row is None:
            return None
        metadata = row[7] if isinstance(row[7], dict) else json.loads(row[7] or "{}")
        return ClaimedJob(row[0], row[1], row[2], row[3], row[4], row[5], row[6], metadata, row[8])

    def _finish(self, job_id: int, worker_id: str, conn: Any = None, **values: Any) -> bool:
        now = now_utc()
        values.setdefault("updated_at", now)
        stmt = (
            update(JOBS)
            .where(JOBS.c.id == job_id, JOBS.c.status == "running", JOBS.c.worker_id == worker_id)
            .values(**values)
        )
        if conn is not None:
            return conn.execute(stmt).rowcount == 1
        with self.engine.begin() as c:
            return c.execute(stmt).rowcount == 1

    def complete(self, job_id: int, worker_id: str, result: dict[str, Any] | None = None) -> bool:
        return self._finish(
            job_id, worker_id, status="completed", result=result, finished_at=now_utc(),
            error=None, error_class=None,
        )

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
            values["attempts"] = func.max(JOBS.c.attempts - 1, 0)
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

    def cancel_requested(self, job_id: int) -> bool:
        with self.engine.connect() as conn:
            return bool(
                conn.execute(select(JOBS.c.cancel_requested).where(JOBS.c.id == job_id)).scalar()
            )

    # -- recovery ---------------------------------------------------------------------

    def running_jobs(self) -> list[tuple[int, str | None, datetime | None, str, int]]:
        """(id, worker_id, heartbeat_at, job_type, priority) of every running job."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(JOBS.c.id, JOBS.c.worker_id, JOBS.c.heartbeat_at, JOBS.c.job_type,
                       JOBS.c.priority).where(JOBS.c.status == "running")
            ).all()
        return [
            (r[0], r[1], r[2].replace(tzinfo=UTC) if r[2] else None, r[3], r[4]) for r in rows
        ]

    def put_back(self, job_ids: Sequence[int], reason: str) -> list[int]:
        """running → pending for jobs whose worker is gone. The interrupted attempt is refunded:
        a crash is not the job's fault (a job that crashes its worker every time is failed by
        the reaper after max_attempts puts-back; see ``puts_back`` in metadata)."""
        if not job_ids:
            return []
        now = now_utc()
        with self.engine.begin() as conn:
            rows = conn.execute(
                update(JOBS)
                .where(JOBS.c.id.in_(list(job_ids)), JOBS.c.status == "running")
                .values(
                    status="pending", worker_id=None, heartbeat_at=None, updated_at=now,
                    error_class="interrupted", error=reason,
                    attempts=func.max(JOBS.c.attempts - 1, 0),
                )
                .returning(JOBS.c.id)
            ).all()
        return [r[0] for r in rows]


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def active_counts(engine: Engine) -> dict[str, int]:
    """Active (pending or retrying) jobs per queue."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.queue, func.count())
            .where(JOBS.c.status.in_(RUNNABLE))
            .group_by(JOBS.c.queue)
        ).all()
    return {q: n for q, n in rows}


def waiting_jobs(engine: Engine, queue: str, older_than: datetime) -> list[ClaimedJob]:
    """Pending/retrying jobs of ``queue`` untouched since ``older_than`` (message candidates)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                JOBS.c.id, JOBS.c.job_type, JOBS.c.entity_id, JOBS.c.queue, JOBS.c.priority,
                JOBS.c.attempts, JOBS.c.max_attempts, JOBS.c.next_retry_at, JOBS.c.session_id,
            ).where(
                JOBS.c.queue == queue,
                JOBS.c.status.in_(RUNNABLE),
                JOBS.c.updated_at < older_than,
            )
        ).all()
    return [
        ClaimedJob(r[0], r[1], r[2], r[3], r[4], r[5], r[6],
                   {"next_retry_at": r[7].replace(tzinfo=UTC) if r[7] else None}, r[8])
        for r in rows
    ]


def burst_state(engine: Engine, horizon: datetime) -> tuple[int, int, datetime | None]:
    """(runnable now, running anywhere, earliest retry due within ``horizon`` or None)."""
    now = now_utc()
    with engine.connect() as conn:
        runnable = conn.execute(
            select(func.count()).where(
                or_(
                    JOBS.c.status == "pending",
                    and_(JOBS.c.status == "retrying", JOBS.c.next_retry_at <= now),
                ),
                JOBS.c.cancel_requested.is_(False),
            )
        ).scalar_one()
        running = conn.execute(
            select(func.count()).where(JOBS.c.status == "running")
        ).scalar_one()
        due = conn.execute(
            select(func.min(JOBS.c.next_retry_at)).where(
                JOBS.c.status == "retrying", JOBS.c.next_retry_at <= horizon
            )
        ).scalar()
    return runnable, running, (due.replace(tzinfo=UTC) if due else None)


def waiting_summary(engine: Engine) -> dict[str, dict[str, Any]]:
    """Per queue: how many jobs are pending/retrying/running, and the earliest retry."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.queue, JOBS.c.status, func.count(), func.min(JOBS.c.next_retry_at))
            .where(JOBS.c.status.in_(ACTIVE_JOB_STATUSES))
            .group_by(JOBS.c.queue, JOBS.c.status)
        ).all()
    out: dict[str, dict[str, Any]] = {}
    for queue, status, count, due in rows:
        entry = out.setdefault(queue, {})
        entry[status] = count
        if due is not None:
            entry["next_retry_at"] = due.replace(tzinfo=UTC).isoformat()
    return out
