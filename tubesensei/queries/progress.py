"""The backlog and how long it will take: per queue, the jobs still to run, the recent
throughput and an ETA. ``stats``, the TUI's dashboard and ``run-consumer``'s live progress
read it; everything is derived from the ledger (no counters).

The rate is the jobs that finished (completed or failed: both leave the backlog) over the
last ``window`` — or since the first of them started, when that is later, so a consumer that
started two minutes ago is not judged over ten. For transcripts it is never above
``limits.transcripts_per_minute``: the rate limit is a ceiling no backlog can beat. Without
throughput (nothing finished lately) or without a live consumer there is no ETA: the answer
is "unknown" (None), not a guess. ``floor_s`` is what the rate limit alone allows, the
fastest the transcripts backlog can possibly go.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tubesensei.db.models import ProcessingJob
from tubesensei.queries.state import QueueStatus, live_workers, queue_statuses

JOBS = ProcessingJob.__table__
TRANSCRIPTS = "transcripts"
REMAINING = ("pending", "retrying", "running")
FINISHED = ("completed", "failed")
WINDOW = timedelta(minutes=10)
# A rate measured over a few seconds says little: never divide by less than this.
MIN_SPAN_SECONDS = 5.0


@dataclass(frozen=True)
class QueueProgress:
    queue: str
    pending: int
    retrying: int
    running: int
    finished_recently: int
    """Jobs of the queue that finished within the window."""
    span_s: float
    """The seconds ``finished_recently`` is counted over."""
    done: int
    """Jobs finished since the ``since`` asked for (0 without)."""
    limit_per_min: float
    """The rate limit on this queue (0: none)."""
    status: QueueStatus
    consumers: int
    at: datetime

    @property
    def remaining(self) -> int:
        return self.pending + self.retrying + self.running

    @property
    def total(self) -> int:
        return self.done + self.remaining

    @property
    def per_minute(self) -> float | None:
        """Recent jobs finished per minute (capped by the rate limit); None: none lately."""
        if not self.finished_recently:
            return None
        rate = self.finished_recently / self.span_s * 60
        return min(rate, self.limit_per_min) if self.limit_per_min > 0 else rate

    @property
    def eta_s(self) -> float | None:
        """Seconds until the backlog is done at the recent rate, after the pause or breaker
        holding the queue lifts: 0 when there is none; None when unknown (no throughput
        lately, no consumer running, or paused by hand)."""
        if not self.remaining:
            return 0.0
        rate = self.per_minute
        if rate is None or not self.consumers:
            return None
        held = self.held()
        if held is not None and held.year == datetime.max.year:
            return None  # paused by hand: until somebody resumes it
        wait = (held - self.at).total_seconds() if held is not None else 0.0
        return wait + self.remaining / rate * 60

    @property
    def floor_s(self) -> float | None:
        """The least time the backlog can take at the rate limit (None: not limited)."""
        if self.limit_per_min <= 0:
            return None
        return self.remaining / self.limit_per_min * 60

    def held(self) -> datetime | None:
        """Until when the queue is held (paused, breaker open), if it is."""
        return self.status.blocked_until(self.at)

    def as_dict(self) -> dict[str, Any]:
        now = self.at
        eta = self.eta_s
        rate = self.per_minute
        return {
            "remaining": self.remaining, "pending": self.pending, "retrying": self.retrying,
            "running": self.running, "finished_recently": self.finished_recently,
            "per_minute": None if rate is None else round(rate, 2),
            "eta_s": None if eta is None else round(eta),
            "eta_at": None if eta is None else (now + timedelta(seconds=eta)).isoformat(),
            "rate_limit_per_minute": self.limit_per_min or None,
            "at_rate_limit_s": None if self.floor_s is None else round(self.floor_s),
        }


@dataclass(frozen=True)
class Backlog:
    at: datetime
    window_s: float
    queues: list[QueueProgress]
    consumers: int

    @property
    def remaining(self) -> int:
        return sum(q.remaining for q in self.queues)

    @property
    def eta_s(self) -> float | None:
        """The queues run side by side: the backlog is done when the slowest one is."""
        etas = [q.eta_s for q in self.queues]
        if any(e is None for e in etas):
            return None
        return max(etas, default=0.0)  # type: ignore[type-var]

    def queue(self, name: str) -> QueueProgress:
        return next(q for q in self.queues if q.queue == name)

    def as_dict(self) -> dict[str, Any]:
        eta = self.eta_s
        return {
            "window_minutes": round(self.window_s / 60, 2),
            "live_consumers": self.consumers,
            "remaining": self.remaining,
            "eta_s": None if eta is None else round(eta),
            "eta_at": None if eta is None else (self.at + timedelta(seconds=eta)).isoformat(),
            "queues": {q.queue: q.as_dict() for q in self.queues},
        }


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backlog(s: Session, queues: Sequence[str], *, transcripts_per_minute: float,
            stale_after: float, now: datetime | None = None, window: timedelta = WINDOW,
            since: datetime | None = None, min_consumers: int = 0) -> Backlog:
    """Every queue's backlog, recent rate and ETA, in three grouped reads (index ranges on
    (status, finished_at, queue) and status: cheap enough to poll every second).
    ``min_consumers``: a consumer asking about itself counts before its row is written."""
    now = now or datetime.now(UTC)
    start = now - window
    counts: dict[str, dict[str, int]] = {q: {} for q in queues}
    for queue, status, n in s.execute(
        select(JOBS.c.queue, JOBS.c.status, func.count())
        .where(JOBS.c.status.in_(REMAINING)).group_by(JOBS.c.queue, JOBS.c.status)
    ):
        counts.setdefault(queue, {})[status] = int(n)
    recent: dict[str, tuple[int, datetime | None]] = {}
    for queue, n, first in s.execute(
        select(JOBS.c.queue, func.count(), func.min(JOBS.c.started_at))
        .where(JOBS.c.status.in_(FINISHED), JOBS.c.finished_at >= start)
        .group_by(JOBS.c.queue)
    ):
        recent[queue] = (int(n), _aware(first))
    done: dict[str, int] = {}
    if since is not None:
        done = {queue: int(n) for queue, n in s.execute(
            select(JOBS.c.queue, func.count())
            .where(JOBS.c.status.in_(FINISHED), JOBS.c.finished_at >= since)
            .group_by(JOBS.c.queue))}
    statuses = queue_statuses(s, queues)
    consumers = max(min_consumers, len(live_workers(s, stale_after, now)))
    out = []
    for q in queues:
        n, first = recent.get(q, (0, None))
        began = max(start, first) if first is not None else start
        span = max(MIN_SPAN_SECONDS, (now - began).total_seconds())
        c = counts.get(q, {})
        out.append(QueueProgress(
            queue=q, pending=c.get("pending", 0), retrying=c.get("retrying", 0),
            running=c.get("running", 0), finished_recently=n, span_s=span,
            done=done.get(q, 0),
            limit_per_min=transcripts_per_minute if q == TRANSCRIPTS else 0.0,
            status=statuses[q], consumers=consumers, at=now,
        ))
    return Backlog(now, window.total_seconds(), out, consumers)
