"""The state of the work: job counts, throughput, the quota, queue pauses and breakers, the
live consumers and the rate limit. What ``stats``, the metrics and the TUI's dashboard show."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import and_, func, null, select, union_all
from sqlalchemy.orm import Session

from tubesensei.db.models import (
    JOB_STATUSES,
    Consumer,
    ProcessingJob,
    QueueState,
    QuotaUsage,
    RateLimit,
)
from tubesensei.youtube.quota import next_reset, quota_day

JOBS = ProcessingJob.__table__
CONSUMERS = Consumer.__table__
# Every status but "completed": few rows (completed is most of a ledger), an index range.
NOT_COMPLETED = tuple(s for s in JOB_STATUSES if s != "completed")
WINDOWS = (("last_minute", timedelta(minutes=1)), ("last_hour", timedelta(hours=1)))


def _now() -> datetime:
    return datetime.now(UTC)


# -- jobs ---------------------------------------------------------------------------------------


def completed_within(s: Session, now: datetime) -> dict[str, int]:
    """Jobs completed in the last minute and the last hour (a range of (status, finished_at))."""
    return {
        window: s.execute(
            select(func.count()).where(JOBS.c.status == "completed",
                                       JOBS.c.finished_at >= now - delta)
        ).scalar_one()
        for window, delta in WINDOWS
    }


# The ledger's bulk: one extract job per video, finished long ago (see job_counts).
BULK_JOBS = ("completed", "transcripts", "extract_transcript")


@cache  # built on first use, then kept: its seven SELECTs took a tenth of the counting's time
def _job_counts_statement() -> Any:
    status, queue, job_type = JOBS.c.status, JOBS.c.queue, JOBS.c.job_type
    bulk_status, bulk_queue, bulk_type = BULK_JOBS
    in_bulk_status = status == bulk_status
    in_bulk_queue = and_(in_bulk_status, queue == bulk_queue)
    around_the_bulk = (
        status < bulk_status, status > bulk_status,
        and_(in_bulk_status, queue < bulk_queue), and_(in_bulk_status, queue > bulk_queue),
        and_(in_bulk_queue, job_type < bulk_type), and_(in_bulk_queue, job_type > bulk_type),
    )
    # count(*) alone in its SELECT: SQLite's page-cell count only serves that shape.
    every_job = select(null(), null(), null(),  # status NULL: the total
                       select(func.count()).select_from(JOBS).scalar_subquery())
    return union_all(every_job, *(
        select(queue, job_type, status, func.count()).where(where)
        .group_by(status, queue, job_type) for where in around_the_bulk))


def job_counts(s: Session) -> list[tuple[str, str, str, int]]:
    """(queue, job type, status, jobs) over the whole ledger, ordered by status, queue, type.

    Nearly every row of a ledger is a completed extract job of the transcripts queue (one
    per video), and counting them would visit each one: that group is the whole ledger's
    count(*), which SQLite takes from the cells of an index's pages without decoding a row,
    less every other group. The others are counted from the (status, queue, job_type, ...)
    index, in the ranges before and after the bulk's (each an equality prefix and one bound:
    SQLite walks neither the bulk nor an OR of them row by row), grouped in the index's order.
    One statement, so on PostgreSQL too (a snapshot per statement) the parts agree.
    """
    bulk_status, bulk_queue, bulk_type = BULK_JOBS
    rows = s.execute(_job_counts_statement()).all()
    total = next(n for _, _, st, n in rows if st is None)
    counts = [(q, t, st, int(n)) for q, t, st, n in rows if st is not None]
    bulk = int(total) - sum(n for *_, n in counts)
    if bulk:
        counts.append((bulk_queue, bulk_type, bulk_status, bulk))
    return sorted(counts, key=lambda row: (row[2], row[0], row[1]))


def live_counts(s: Session, queues: Sequence[str], now: datetime | None = None
                ) -> dict[str, Any]:
    """What a live view polls every second, without visiting every job (the TUI).

    Per queue, the jobs in every status but completed (an index range); all jobs by status,
    completed being every job minus the others (count(*) counts index cells, it decodes no
    row); completions in the last minute and hour. One read transaction, so the numbers agree
    with each other.
    """
    now = now or _now()
    rows = s.execute(
        select(JOBS.c.queue, JOBS.c.status, func.count())
        .where(JOBS.c.status.in_(NOT_COMPLETED))
        .group_by(JOBS.c.status, JOBS.c.queue)
    ).all()
    total = s.execute(select(func.count()).select_from(JOBS)).scalar_one()
    finished = completed_within(s, now)
    by_queue: dict[str, dict[str, int]] = {q: dict.fromkeys(NOT_COMPLETED, 0) for q in queues}
    for queue, status, n in rows:
        by_queue.setdefault(queue, dict.fromkeys(NOT_COMPLETED, 0))[status] = n
    by_status = {st: sum(q[st] for q in by_queue.values()) for st in NOT_COMPLETED}
    by_status["completed"] = total - sum(by_status.values())
    return {"queues": by_queue, "jobs_by_status": by_status, "throughput": finished}


# -- the quota ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuotaToday:
    day: str
    units: int
    calls: int
    limit: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.units)


def quota_today(s: Session, limit: int, now: datetime | None = None) -> QuotaToday:
    """Data API units spent this quota day (the Pacific-time day the quota resets on)."""
    now = now or _now()
    day = quota_day(now)
    row = s.execute(select(QuotaUsage).where(QuotaUsage.day == day)).scalar_one_or_none()
    return QuotaToday(
        day=day.isoformat(),
        units=row.units if row else 0,
        calls=row.calls if row else 0,
        limit=limit,
        resets_at=next_reset(now),
    )


def quota_units_spent(s: Session) -> int:
    """Every unit ever recorded (the demo's total)."""
    return int(s.execute(select(func.coalesce(func.sum(QuotaUsage.units), 0))).scalar_one())


# -- queue pauses and the breaker ---------------------------------------------------------------


@dataclass(frozen=True)
class QueueStatus:
    queue: str
    paused: bool
    paused_until: datetime | None
    pause_reason: str | None
    breaker_state: str
    breaker_until: datetime | None
    breaker_opens: int
    breaker_reason: str | None
    updated_at: datetime | None = None
    """The last change (for an open breaker: when it last opened)."""

    def blocked_until(self, now: datetime) -> datetime | None:
        """When work may resume (None: it may run now; datetime.max: paused by a person)."""
        if self.paused:
            return datetime.max.replace(tzinfo=UTC)
        if self.paused_until is not None and self.paused_until > now:
            return self.paused_until
        if self.breaker_state == "open" and self.breaker_until and self.breaker_until > now:
            return self.breaker_until
        return None

    def describe(self, now: datetime | None = None) -> str:
        now = now or _now()
        if self.paused:
            return "paused by hand"
        if self.paused_until is not None and self.paused_until > now:
            until = self.paused_until.isoformat(timespec="seconds")
            return f"paused until {until} ({self.pause_reason})"
        if self.breaker_state == "open" and self.breaker_until and self.breaker_until > now:
            return f"breaker open until {self.breaker_until.isoformat(timespec='seconds')}"
        if self.breaker_state != "closed":
            return "breaker half-open (probing)"
        return "running"

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for key in ("paused_until", "breaker_until", "updated_at"):
            d[key] = d[key].isoformat() if d[key] else None
        d["state"] = self.describe()
        return d


def _default_status(queue: str) -> QueueStatus:
    return QueueStatus(queue, False, None, None, "closed", None, 0, None)


def queue_statuses(s: Session, queues: Sequence[str]) -> dict[str, QueueStatus]:
    """Pause and breaker of each queue (a queue never paused has no row: all clear)."""
    found = {
        r.queue: QueueStatus(r.queue, bool(r.paused), r.paused_until, r.pause_reason,
                             r.breaker_state, r.breaker_until, r.breaker_opens, r.breaker_reason,
                             r.updated_at)
        for r in s.execute(select(QueueState)).scalars()
    }
    return {q: found.get(q, _default_status(q)) for q in queues}


# -- consumers and the rate limit ---------------------------------------------------------------


def live_workers(s: Session, stale_after: float, now: datetime | None = None
                 ) -> list[dict[str, Any]]:
    """Consumers that heartbeat within ``stale_after`` seconds and have not stopped."""
    since = (now or _now()) - timedelta(seconds=stale_after)
    rows = s.execute(
        select(CONSUMERS)
        .where(CONSUMERS.c.stopped_at.is_(None), CONSUMERS.c.heartbeat_at >= since)
        .order_by(CONSUMERS.c.started_at)
    ).all()
    out = []
    for r in rows:
        d = dict(r._mapping)
        for key in ("started_at", "heartbeat_at", "stopped_at"):
            d[key] = d[key].isoformat() if d[key] else None
        out.append(d)
    return out


def consumer_concurrency(s: Session, worker_id: str) -> dict[str, int]:
    """The per-queue caps a consumer should run (``workers scale`` changes them)."""
    wanted = s.execute(
        select(CONSUMERS.c.concurrency).where(CONSUMERS.c.worker_id == worker_id)
    ).scalar()
    return {str(k): int(v) for k, v in (wanted or {}).items()}


def rate_limit_next(s: Session, name: str) -> float:
    """Epoch seconds of the limit's next free slot (0 when it was never used)."""
    value = s.execute(select(RateLimit.next_at).where(RateLimit.name == name)).scalar()
    return float(value or 0.0)
