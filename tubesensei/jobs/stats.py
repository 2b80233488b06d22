"""``tubesensei stats``: the state of the queues, the ledger, the quota and the workers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tubesensei.db.models import JOB_STATUSES
from tubesensei.jobs.registry import QUEUES
from tubesensei.queries.progress import Backlog, backlog
from tubesensei.queries.state import (
    completed_within,
    job_counts,
    live_workers,
    queue_statuses,
    quota_today,
)

if TYPE_CHECKING:
    from tubesensei.jobs.system import JobSystem


def collect(system: JobSystem, now: datetime | None = None) -> dict[str, Any]:
    """Everything ``stats`` shows. ``now`` fixes the clock (the TUI's snapshot tests)."""
    return collect_with_backlog(system, now)[0]


def collect_with_backlog(system: JobSystem, now: datetime | None = None
                         ) -> tuple[dict[str, Any], Backlog]:
    """``collect()``, and the backlog it reports as an object (for its words)."""
    now = now or datetime.now(UTC)
    s = system.settings
    with system.db.read() as session:  # one read transaction: the numbers agree
        counts = job_counts(session)
        finished = completed_within(session, now)
        statuses = queue_statuses(session, QUEUES)
        quota = quota_today(session, s.youtube.quota_units_per_day, now)
        workers = live_workers(session, s.limits.stale_after_seconds, now)
        work_left = backlog(session, QUEUES, now=now, stale_after=s.limits.stale_after_seconds,
                            transcripts_per_minute=s.limits.transcripts_per_minute)
    sizes = system.queue_sizes()
    queues: dict[str, Any] = {}
    for name, size in sizes.items():
        ledger: dict[str, int] = {}
        for queue, _type, status, n in counts:
            if queue == name:
                ledger[status] = ledger.get(status, 0) + n
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
    for _queue, job_type, status, n in counts:
        by_status = jobs.setdefault(job_type, {})
        by_status[status] = by_status.get(status, 0) + n
    return {
        "generated_at": now.isoformat(),
        "queues": queues,
        "jobs": jobs,
        "jobs_by_status": {st: sum(v.get(st, 0) for v in jobs.values()) for st in JOB_STATUSES},
        "throughput": {**finished, "per_minute_last_hour": round(finished["last_hour"] / 60, 2)},
        "quota": {"day": quota.day, "units_used": quota.units,
                  "units_per_day": quota.limit, "units_left": quota.remaining,
                  "resets_at": quota.resets_at.isoformat()},
        "rate_limit": {"transcripts_per_minute": s.limits.transcripts_per_minute},
        "workers": workers,
        "backlog": work_left.as_dict(),
    }, work_left
