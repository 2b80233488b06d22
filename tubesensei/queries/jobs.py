"""Reading the ledger: job lists and one job in full for people, and the counts the
consumer and the reaper decide by. (Every write is in ledger.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, func, or_, select

from tubesensei.db.models import ACTIVE_JOB_STATUSES
from tubesensei.jobs.ledger import JOBS, RUNNABLE, ClaimedJob, now_utc

LIST_COLUMNS = (
    "id", "job_type", "entity_id", "queue", "priority", "status", "attempts", "max_attempts",
    "error_class", "error", "session_id", "worker_id", "created_at", "started_at",
    "finished_at", "next_retry_at",
)


class JobNotFound(LookupError):
    """No job with that id (one-line message)."""


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
    engine: Engine,
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
        # LIKE, not lower() LIKE lower(): SQLite's LIKE ignores ASCII case already and
        # lower() on every row costs more than the scan itself.
        filters.append(JOBS.c.entity_id.contains(entity, autoescape=True))
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
    with engine.connect() as conn:
        rows = [_row(r._mapping) for r in conn.execute(stmt)]
        total = len(rows)
        if limit is not None and total >= limit:
            total = conn.execute(select(func.count()).select_from(JOBS).where(*filters)).scalar()
    return rows, int(total or 0)


def get_job(engine: Engine, job_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(select(JOBS).where(JOBS.c.id == job_id)).first()
    if row is None:
        raise JobNotFound(f"no job {job_id}")
    return _row(row._mapping)


def failure_groups(engine: Engine) -> list[dict[str, Any]]:
    """Failed jobs grouped by error class and job type, biggest group first: how many, and
    the newest job of each group (its id, entity, message and when it failed)."""
    with engine.connect() as conn:
        groups = conn.execute(
            select(JOBS.c.error_class, JOBS.c.job_type, func.count(), func.max(JOBS.c.id))
            .where(JOBS.c.status == "failed")
            .group_by(JOBS.c.error_class, JOBS.c.job_type)
        ).all()
        newest = {
            r.id: r for r in conn.execute(
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


def completions_since(engine: Engine, since: datetime) -> list[tuple[str, datetime]]:
    """(queue, finished_at) of every job completed at or after ``since`` (a throughput
    history; keep the window short: one row per job)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.queue, JOBS.c.finished_at)
            .where(JOBS.c.finished_at >= since, JOBS.c.status == "completed")
        ).all()
    return [(queue, finished) for queue, finished in rows]


def failed_counts(engine: Engine, job_type: str | None = None) -> tuple[int, int]:
    """(failed jobs, those of them with attempts left): what a retry would re-queue without
    and with ``force``."""
    filters = [JOBS.c.status == "failed"]
    if job_type:
        filters.append(JOBS.c.job_type == job_type)
    left = func.sum(case((JOBS.c.attempts < JOBS.c.max_attempts, 1), else_=0))
    with engine.connect() as conn:
        failed, with_attempts = conn.execute(select(func.count(), left).where(*filters)).one()
    return int(failed or 0), int(with_attempts or 0)


# -- counts the consumer and the reaper decide by ------------------------------------


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

def runnable_outside(engine: Engine, queues: set[str]) -> int:
    """Runnable jobs (pending, or retrying and due) in queues other than ``queues``."""
    now = now_utc()
    with engine.connect() as conn:
        return conn.execute(
            select(func.count()).where(
                JOBS.c.queue.not_in(list(queues)),
                or_(JOBS.c.status == "pending",
                    and_(JOBS.c.status == "retrying", JOBS.c.next_retry_at <= now)),
            )
        ).scalar_one()
