"""Reading the ledger: job lists and one job in full for people, and the counts the
consumer and the reaper decide by. (Every write is in jobs/ledger.py.)"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from tubesensei.db.models import ACTIVE_JOB_STATUSES, RUNNABLE_JOB_STATUSES, ProcessingJob
from tubesensei.errors import NotFound

JOBS = ProcessingJob.__table__
RUNNABLE = RUNNABLE_JOB_STATUSES

LIST_COLUMNS = (
    "id", "job_type", "entity_id", "queue", "priority", "status", "attempts", "max_attempts",
    "error_class", "error", "session_id", "worker_id", "created_at", "started_at",
    "finished_at", "next_retry_at",
)


class JobNotFound(NotFound):
    """No job with that id (one-line message)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC).isoformat()
    return value


def _row(mapping: Any) -> dict[str, Any]:
    out = {k: _iso(v) for k, v in dict(mapping).items()}
    for key in ("result", "metadata"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def list_jobs(
    s: Session,
    *,
    status: str | None = None,
    job_type: str | None = None,
    queue: str | None = None,
    session_id: int | None = None,
    limit: int | None = None,
    entity: str | None = None,
    error_class: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first, and how many match in all.

    ``entity`` matches any part of the entity id (a video id, a handle).
    """
    filters = []
    if status:
        filters.append(JOBS.c.status == status)
    if job_type:
        filters.append(JOBS.c.job_type == job_type)
    if queue:
        filters.append(JOBS.c.queue == queue)
    if session_id is not None:
        filters.append(JOBS.c.session_id == session_id)
    if entity:
        # SQLite's LIKE ignores ASCII case already (and lower() on every row costs more than
        # the scan itself); PostgreSQL's does not: ILIKE there, for the same matches.
        column = JOBS.c.entity_id
        if s.get_bind().dialect.name == "postgresql":
            filters.append(column.icontains(entity, autoescape=True))
        else:
            filters.append(column.contains(entity, autoescape=True))
    if error_class:
        filters.append(JOBS.c.error_class == error_class)
    stmt = (
        select(*(JOBS.c[c] for c in LIST_COLUMNS))
        .where(*filters)
        # (status|job_type, created_at) indexes give the newest first without sorting
        # every match; id breaks ties within one timestamp.
        .order_by(JOBS.c.created_at.desc(), JOBS.c.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [_row(r._mapping) for r in s.execute(stmt)]
    total = len(rows)
    if limit is not None and total >= limit:
        total = s.execute(select(func.count()).select_from(JOBS).where(*filters)).scalar()
    return rows, int(total or 0)


def get_job(s: Session, job_id: int) -> dict[str, Any]:
    row = s.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    return _row(row._mapping)


def failure_groups(s: Session) -> list[dict[str, Any]]:
    """Failed jobs grouped by error class and job type, biggest group first: how many, and
    the newest job of each group (its id, entity, message and when it failed)."""
    # Grouped in the order of the (status, queue, job_type, error_class) index, which SQLite
    # then reads alone without a sort; the queues are merged here.
    merged: dict[tuple[str | None, str], tuple[int, int]] = {}
    for _queue, job_type, error_class, count, latest in s.execute(
        select(JOBS.c.queue, JOBS.c.job_type, JOBS.c.error_class, func.count(),
               func.max(JOBS.c.id))
        .where(JOBS.c.status == "failed")
        .group_by(JOBS.c.queue, JOBS.c.job_type, JOBS.c.error_class)
    ):
        before = merged.get((error_class, job_type), (0, 0))
        merged[(error_class, job_type)] = (before[0] + count, max(before[1], latest))
    groups = [(cls, job_type, count, latest)
              for (cls, job_type), (count, latest) in merged.items()]
    newest = {
        r.id: r for r in s.execute(
            select(JOBS.c.id, JOBS.c.entity_id, JOBS.c.error, JOBS.c.finished_at)
            .where(JOBS.c.id.in_([g[3] for g in groups]))
        )
    }
    out = []
    for error_class, job_type, count, latest_id in groups:
        row = newest[latest_id]
        out.append({
            "error_class": error_class, "job_type": job_type, "count": int(count),
            "latest_id": latest_id, "latest_entity": row.entity_id, "latest_error": row.error,
            "latest_at": _iso(row.finished_at),
        })
    out.sort(key=lambda g: (-g["count"], g["error_class"] or "", g["job_type"]))
    return out


def completions_since(s: Session, since: datetime) -> list[tuple[str, datetime]]:
    """(queue, finished_at) of every job completed at or after ``since`` (a throughput
    history; keep the window short: one row per job)."""
    rows = s.execute(
        select(JOBS.c.queue, JOBS.c.finished_at)
        .where(JOBS.c.finished_at >= since, JOBS.c.status == "completed")
    ).all()
    return [(queue, finished) for queue, finished in rows]


def failed_counts(s: Session, job_type: str | None = None) -> tuple[int, int]:
    """(failed jobs, those of them with attempts left): what a retry would re-queue without
    and with ``force``."""
    filters = [JOBS.c.status == "failed"]
    if job_type:
        filters.append(JOBS.c.job_type == job_type)
    left = func.sum(case((JOBS.c.attempts < JOBS.c.max_attempts, 1), else_=0))
    failed, with_attempts = s.execute(select(func.count(), left).where(*filters)).one()
    return int(failed or 0), int(with_attempts or 0)


def job_ids_of_session(s: Session, session_id: int) -> list[int]:
    return list(s.execute(select(JOBS.c.id).where(JOBS.c.session_id == session_id)).scalars())


def statuses_of(s: Session, job_type: str, entities: list[str]) -> dict[str, str]:
    """The latest job's status for each of these entities (of one job type)."""
    rows = s.execute(
        select(JOBS.c.entity_id, JOBS.c.status)
        .where(JOBS.c.job_type == job_type, JOBS.c.entity_id.in_(entities))
        .order_by(JOBS.c.id)
    ).all()
    return dict(rows)


def count_jobs(s: Session, *, retried: bool = False, status: str | None = None) -> int:
    """Jobs in ``status`` (all without), or those that needed more than one attempt."""
    filters = []
    if retried:
        filters.append(JOBS.c.attempts > 1)
    if status is not None:
        filters.append(JOBS.c.status == status)
    return int(s.execute(select(func.count()).select_from(JOBS).where(*filters)).scalar_one())


# -- counts the consumer and the reaper decide by ------------------------------------


def active_counts(s: Session) -> dict[str, int]:
    """Active (pending or retrying) jobs per queue."""
    rows = s.execute(
        select(JOBS.c.queue, func.count())
        .where(JOBS.c.status.in_(RUNNABLE))
        .group_by(JOBS.c.queue)
    ).all()
    return {q: n for q, n in rows}


class WaitingJob(NamedTuple):
    id: int
    job_type: str
    priority: int
    next_retry_at: datetime | None


def waiting_jobs(s: Session, queue: str, older_than: datetime) -> list[WaitingJob]:
    """Pending/retrying jobs of ``queue`` untouched since ``older_than`` (message candidates)."""
    rows = s.execute(
        select(JOBS.c.id, JOBS.c.job_type, JOBS.c.priority, JOBS.c.next_retry_at).where(
            JOBS.c.queue == queue,
            JOBS.c.status.in_(RUNNABLE),
            JOBS.c.updated_at < older_than,
        )
    ).all()
    return [WaitingJob(r[0], r[1], r[2], r[3].replace(tzinfo=UTC) if r[3] else None)
            for r in rows]


def running_jobs(s: Session) -> list[tuple[int, str | None, datetime | None, str, int]]:
    """(id, worker_id, heartbeat_at, job_type, priority) of every running job."""
    rows = s.execute(
        select(JOBS.c.id, JOBS.c.worker_id, JOBS.c.heartbeat_at, JOBS.c.job_type,
               JOBS.c.priority).where(JOBS.c.status == "running")
    ).all()
    return [
        (r[0], r[1], r[2].replace(tzinfo=UTC) if r[2] else None, r[3], r[4]) for r in rows
    ]


def cancel_requested(s: Session, job_id: int) -> bool:
    return bool(s.execute(select(JOBS.c.cancel_requested).where(JOBS.c.id == job_id)).scalar())


def burst_state(s: Session, horizon: datetime, queues: Sequence[str] | None = None,
                ) -> tuple[int, int, datetime | None]:
    """(runnable now, running anywhere, earliest retry due within ``horizon`` or None), in
    ``queues`` (None: all)."""
    now = _now()
    where = [JOBS.c.queue.in_(list(queues))] if queues is not None else []
    runnable = s.execute(
        select(func.count()).where(
            or_(
                JOBS.c.status == "pending",
                and_(JOBS.c.status == "retrying", JOBS.c.next_retry_at <= now),
            ),
            JOBS.c.cancel_requested.is_(False),
            *where,
        )
    ).scalar_one()
    running = s.execute(
        select(func.count()).where(JOBS.c.status == "running", *where)).scalar_one()
    due = s.execute(
        select(func.min(JOBS.c.next_retry_at)).where(
            JOBS.c.status == "retrying", JOBS.c.next_retry_at <= horizon, *where
        )
    ).scalar()
    return runnable, running, (due.replace(tzinfo=UTC) if due else None)


def waiting_summary(s: Session) -> dict[str, dict[str, Any]]:
    """Per queue: how many jobs are pending/retrying/running, and the earliest retry."""
    rows = s.execute(
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


def runnable_outside(s: Session, queues: set[str], among: Sequence[str] | None = None) -> int:
    """Runnable jobs (pending, or retrying and due) in queues other than ``queues`` (and in
    ``among``, when given)."""
    now = _now()
    where = [JOBS.c.queue.in_(list(among))] if among is not None else []
    return s.execute(
        select(func.count()).where(
            JOBS.c.queue.not_in(list(queues)),
            or_(JOBS.c.status == "pending",
                and_(JOBS.c.status == "retrying", JOBS.c.next_retry_at <= now)),
            *where,
        )
    ).scalar_one()
