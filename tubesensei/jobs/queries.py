"""Reading the ledger for people: job lists and one job in full."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from tubesensei.jobs.ledger import JOBS

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
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first, and how many match in all."""
    filters = []
    if status:
        filters.append(JOBS.c.status == status)
    if job_type:
        filters.append(JOBS.c.job_type == job_type)
    if queue:
        filters.append(JOBS.c.queue == queue)
    if session_id is not None:
        filters.append(JOBS.c.session_id == session_id)
    stmt = (
        select(*(JOBS.c[c] for c in LIST_COLUMNS))
        .where(*filters)
        .order_by(JOBS.c.id.desc())
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


def counts_by_status(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.status, func.count()).group_by(JOBS.c.status)
        ).all()
    return {status: n for status, n in rows}
