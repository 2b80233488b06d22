"""Periodic tasks from cron expressions in config (``[schedule]``).

- rescan: queue an incremental discovery for every active channel (``paused`` ones and
  ``error`` ones, which YouTube no longer returned, are skipped);
- reconcile: queue a full discovery for every active channel;
- sync: queue one job refreshing the metadata of every stored channel but paused ones (one
  channels.list call per 50): those YouTube no longer returns are marked ``error``, ``error``
  ones it returns again are ``active`` again;
- prune: delete finished jobs (and stopped consumers' rows) older than the retention, then
  refresh the query planner's statistics.
(Rescuing orphans runs every 30 s in every consumer: see reaper.py.)

Every consumer checks the schedule once a minute; for each due slot, one compare-and-set on
``periodic_runs.last_slot`` decides which consumer runs it, so two consumers never both do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import delete, or_, update

from tubesensei.config import Settings
from tubesensei.db.engine import refresh_statistics
from tubesensei.db.models import Consumer as ConsumerRow
from tubesensei.db.models import PeriodicRun, ProcessingJob
from tubesensei.db.upsert import insert_for_engine
from tubesensei.jobs.registry import PRIORITY_RESCAN
from tubesensei.jobs.system import JobSystem
from tubesensei.logging import get_logger
from tubesensei.queries.corpus import active_channel_ids, stored_channel_ids

log = get_logger("tubesensei.periodic")
RUNS = PeriodicRun.__table__


def parse_cron(expr: str) -> Callable[[datetime], bool]:
    """A 5-field cron expression (minute hour day month weekday) as a predicate."""
    fields = expr.split()
    if len(fields) != 5:
        raise ValueError(f"cron expression needs 5 fields, got {len(fields)}: {expr!r}")
    minute, hour, day, month, dow = fields
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=dow, strict=True)


def rescan(system: JobSystem, mode: str) -> dict[str, Any]:
    ids = system.db.query(active_channel_ids)
    created = system.rescan_channels(ids, mode, PRIORITY_RESCAN)
    return {"channels": len(ids), "queued": sum(1 for c in created if c.created)}


def sync(system: JobSystem) -> dict[str, Any]:
    ids = system.db.query(stored_channel_ids, paused=False)
    if not ids:
        return {"channels": 0, "queued": 0}
    created = system.sync_channels()
    return {"channels": len(ids), "queued": sum(1 for c in created if c.created)}


def prune(system: JobSystem) -> dict[str, Any]:
    cutoff = datetime.now(UTC) - timedelta(days=system.settings.schedule.retention_days)
    jobs = ProcessingJob.__table__
    consumers = ConsumerRow.__table__
    with system.engine.begin() as conn:
        removed = conn.execute(
            delete(jobs).where(jobs.c.status.in_(("completed", "failed", "cancelled")),
                               jobs.c.finished_at < cutoff)
        ).rowcount
        gone = conn.execute(
            delete(consumers).where(or_(consumers.c.stopped_at < cutoff,
                                        consumers.c.heartbeat_at < cutoff))
        ).rowcount
    refresh_statistics(system.engine)  # the tables changed shape: fresh planner statistics
    return {"jobs_deleted": removed, "consumers_deleted": gone}


def schedule(settings: Settings) -> dict[str, tuple[Callable[[datetime], bool], Callable]]:
    s = settings.schedule
    return {
        "rescan": (parse_cron(s.rescan), lambda system: rescan(system, "incremental")),
        "reconcile": (parse_cron(s.reconcile), lambda system: rescan(system, "full")),
        "prune": (parse_cron(s.prune), prune),
        "sync": (parse_cron(s.sync), sync),
    }


def run_due(system: JobSystem, worker_id: str, now: datetime | None = None) -> dict[str, Any]:
    """Run every periodic task due this minute that no other consumer has claimed."""
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    ran: dict[str, Any] = {}
    for name, (is_due, task) in schedule(system.settings).items():
        if not is_due(now.replace(tzinfo=None)):
            continue
        if not _claim(system, name, now, worker_id):
            continue
        try:
            result = task(system)
        except Exception as exc:  # one failing periodic task must not stop the others
            log.exception("periodic task failed", task=name)
            result = {"error": f"{type(exc).__name__}: {exc}"}
        with system.engine.begin() as conn:
            conn.execute(update(RUNS).where(RUNS.c.name == name).values(last_result=result))
        log.info("periodic task ran", task=name, **{k: v for k, v in result.items()})
        ran[name] = result
    return ran


def _claim(system: JobSystem, name: str, slot: datetime, worker_id: str) -> bool:
    with system.engine.begin() as conn:
        conn.execute(
            insert_for_engine(system.engine, RUNS).values(name=name)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.execute(
            update(RUNS)
            .where(RUNS.c.name == name, or_(RUNS.c.last_slot.is_(None), RUNS.c.last_slot < slot))
            .values(last_slot=slot, last_run_at=datetime.now(UTC), last_worker=worker_id)
        ).rowcount == 1
