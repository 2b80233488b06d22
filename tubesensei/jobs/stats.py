"""``tubesensei stats``: the state of the queues, the ledger, the quota and the workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from tubesensei.db.models import QuotaUsage
from tubesensei.jobs.control import QueueControl
from tubesensei.jobs.ledger import JOBS
from tubesensei.jobs.queues import QUEUES
from tubesensei.jobs.system import JobSystem
from tubesensei.jobs.workers import WorkerRegistry
from tubesensei.youtube.quota import next_reset, quota_day


def units_today(engine: Engine, now: datetime | None = None) -> int:
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        return int(conn.execute(
            select(QuotaUsage.units).where(QuotaUsage.day == quota_day(now))
        ).scalar() or 0)


def collect(system: JobSystem, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``stats`` shows. ``now`` fixes the clock (the TUI's snapshot tests)."""
    now = now or datetime.now(UTC)
    engine = system.engine
    with engine.connect() as conn:
        by_status_queue = conn.execute(
            select(JOBS.c.queue, JOBS.c.status, func.count()).group_by(JOBS.c.queue, JOBS.c.status)
        ).all()
        by_type_status = conn.execute(
            select(JOBS.c.job_type, JOBS.c.status, func.count())
            .group_by(JOBS.c.job_type, JOBS.c.status)
        ).all()
        finished = {
            window: conn.execute(
                select(func.count()).where(JOBS.c.status == "completed",
                                           JOBS.c.finished_at >= now - delta)
            ).scalar_one()
            for window, delta in (("last_minute", timedelta(minutes=1)),
                                  ("last_hour", timedelta(hours=1)))
        }
    sizes = system.queues.queue_sizes()
    statuses = QueueControl(engine).statuses()
    queues: dict[str, Any] = {}
    for name, size in sizes.items():
        ledger = {status: n for q, status, n in by_status_queue if q == name}
        queues[name] = {
            "queued_messages": size["queued"],
            "scheduled_messages": size["scheduled"],
            "pending": ledger.get("pending", 0),
            "retrying": ledger.get("retrying", 0),
            "running": ledger.get("running", 0),
            "failed": ledger.get("failed", 0),
            "state": statuses[name].as_dict(),
        }
    jobs: dict[str, dict[str, int]] = {}
    for job_type, status, n in by_type_status:
        jobs.setdefault(job_type, {})[status] = n
    s = system.settings
    used = units_today(engine, now)
    return {
        "generated_at": now.isoformat(),
        "queues": queues,
        "jobs": jobs,
        "jobs_by_status": {st: sum(v.get(st, 0) for v in jobs.values())
                           for st in ("pending", "running", "retrying", "completed", "failed",
                                      "cancelled")},
        "throughput": {**finished, "per_minute_last_hour": round(finished["last_hour"] / 60, 2)},
        "quota": {"day": quota_day(now).isoformat(), "units_used": used,
                  "units_per_day": s.youtube.quota_units_per_day,
                  "units_left": max(0, s.youtube.quota_units_per_day - used),
                  "resets_at": next_reset(now).isoformat()},
        "rate_limit": {"transcripts_per_minute": s.limits.transcripts_per_minute},
        "workers": WorkerRegistry(engine).live(s.limits.stale_after_seconds, now),
    }


# Every status but "completed": few rows (completed is most of a ledger), an index range.
NOT_COMPLETED = ("pending", "running", "retrying", "failed", "cancelled")


def live_counts(engine: Engine, now: datetime | None = None) -> dict[str, Any]:
    """What a live view polls every second, without visiting every job (the TUI).

    Per queue, the jobs in every status but completed (an index range); all jobs by status,
    completed being every job minus the others (count(*) counts index cells, it decodes no
    row); completions in the last minute and hour (a range of (status, finished_at)). One
    read transaction, so the numbers agree with each other.
    """
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(JOBS.c.queue, JOBS.c.status, func.count())
            .where(JOBS.c.status.in_(NOT_COMPLETED))
            .group_by(JOBS.c.queue, JOBS.c.status)
        ).all()
        total = conn.execute(select(func.count()).select_from(JOBS)).scalar_one()
        finished = {
            window: conn.execute(
                select(func.count()).where(JOBS.c.status == "completed",
                                           JOBS.c.finished_at >= now - delta)
            ).scalar_one()
            for window, delta in (("last_minute", timedelta(minutes=1)),
                                  ("last_hour", timedelta(hours=1)))
        }
    queues: dict[str, dict[str, int]] = {q: dict.fromkeys(NOT_COMPLETED, 0) for q in QUEUES}
    for queue, status, n in rows:
        queues.setdefault(queue, dict.fromkeys(NOT_COMPLETED, 0))[status] = n
    by_status = {st: sum(q[st] for q in queues.values()) for st in NOT_COMPLETED}
    by_status["completed"] = total - sum(by_status.values())
    return {"queues": queues, "jobs_by_status": by_status, "throughput": finished}
