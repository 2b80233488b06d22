"""What the TUI reads and does, in one object: the read queries (tubesensei.queries) run on
Textual's own event loop through SQLAlchemy's asyncio engine; actions go through the job
system's one door (synchronous, so they run in a thread: ``asyncio.to_thread``).

This module never imports textual: the benchmark times it as is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from tubesensei.config import Settings
from tubesensei.db.engine import AsyncDatabase
from tubesensei.jobs.ledger import Created
from tubesensei.jobs.registry import QUEUES, TRANSCRIPTS
from tubesensei.jobs.system import JobSystem, channel_entity
from tubesensei.pipeline.channels import set_channel_status
from tubesensei.queries import jobs as job_queries
from tubesensei.queries.corpus import ChannelSummary, CorpusTotals, corpus_totals, list_channels
from tubesensei.queries.progress import Backlog, backlog
from tubesensei.queries.search import SearchHit, search_page
from tubesensei.queries.sessions import SessionReport, list_sessions, session_report
from tubesensei.queries.state import (
    QueueStatus,
    live_counts,
    live_workers,
    queue_statuses,
    quota_today,
    rate_limit_next,
)
from tubesensei.queries.transcripts import StoredTranscript, show_transcript
from tubesensei.youtube.ids import ChannelRef, InvalidReference, parse_channel_ref, parse_video_id
from tubesensei.youtube.quota import next_reset

JOBS_PAGE = 200  # rows the jobs table holds; filters narrow it, the total says how many match
SEARCH_PAGE = 50


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from what the services return (ISO text or datetime)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def entity_query(text: str) -> str | None:
    """What to look for in the jobs' entity ids: a pasted URL becomes the video id or the
    channel it names, and a handle compares lower-case, as the ledger stores it."""
    text = text.strip()
    if not text:
        return None
    if "/" in text:
        try:
            return parse_video_id(text)
        except InvalidReference:
            pass
        try:
            return channel_entity(parse_channel_ref(text))
        except InvalidReference:
            pass
    return text.lower() if text.startswith("@") else text


@dataclass(frozen=True)
class QueueState:
    """One queue: ledger counts, pause and breaker."""

    name: str
    pending: int
    retrying: int
    running: int
    failed: int
    queued_messages: int
    paused: bool
    paused_until: datetime | None
    pause_reason: str | None
    breaker: str
    breaker_until: datetime | None
    breaker_opens: int
    breaker_reason: str | None


@dataclass(frozen=True)
class WorkerInfo:
    worker_id: str
    host: str
    pid: int
    threads: int
    inflight: int
    processed: int
    failed: int
    queues: list[str]
    heartbeat_at: datetime | None


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    queues: list[QueueState]
    jobs_by_status: dict[str, int]
    completed_last_minute: int
    completed_last_hour: int
    workers: list[WorkerInfo]
    transcripts_per_minute: float
    rate_next_slot: datetime | None
    quota_used: int
    quota_per_day: int
    quota_resets_at: datetime
    corpus: CorpusTotals
    completions_since: datetime | None = None
    completions: list[tuple[str, datetime]] = field(default_factory=list)
    """(queue, finished at) of the jobs completed since ``completions_since``."""
    backlog: Backlog | None = None
    """What is left per queue, the recent rate and the ETA (queries/progress.py)."""


@dataclass(frozen=True)
class JobFilter:
    status: str | None = None
    job_type: str | None = None
    queue: str | None = None
    entity: str = ""
    error_class: str | None = None
    session_id: int | None = None

    def describe(self) -> str:
        parts = [f"{k} {v}" for k, v in (("status", self.status), ("type", self.job_type),
                                          ("queue", self.queue), ("error", self.error_class),
                                          ("session", self.session_id))
                 if v]
        if self.entity:
            parts.append(f"entity ~ {self.entity!r}")
        return ", ".join(parts) or "all jobs"


@dataclass(frozen=True)
class JobsPage:
    filter: JobFilter
    rows: list[dict[str, Any]]
    total: int


@dataclass(frozen=True)
class SessionProgress:
    report: SessionReport
    per_minute: float | None
    eta_seconds: float | None

    @property
    def fraction(self) -> float:
        total = self.report.total
        return self.report.finished / total if total else (1.0 if self.done else 0.0)

    @property
    def done(self) -> bool:
        return self.report.status in ("completed", "cancelled")


@dataclass(frozen=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    total: int
    error: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _DashboardReads:
    counts: dict[str, Any]
    holds: dict[str, QueueStatus]
    next_free: float
    completions: list[tuple[str, datetime]]
    workers: list[dict[str, Any]]
    quota_used: int
    corpus: CorpusTotals
    backlog: Backlog


def _dashboard_reads(s: Session, settings: Settings, now: datetime,
                     since: datetime | None) -> _DashboardReads:
    """Every database read of one dashboard refresh, in one read transaction."""
    limits = settings.limits
    return _DashboardReads(
        counts=live_counts(s, QUEUES, now),
        holds=queue_statuses(s, QUEUES),
        next_free=rate_limit_next(s, TRANSCRIPTS) if limits.transcripts_per_minute > 0 else 0.0,
        completions=job_queries.completions_since(s, since) if since is not None else [],
        workers=live_workers(s, limits.stale_after_seconds, now),
        quota_used=quota_today(s, settings.youtube.quota_units_per_day, now).units,
        corpus=corpus_totals(s),
        backlog=backlog(s, QUEUES, now=now, stale_after=limits.stale_after_seconds,
                        transcripts_per_minute=limits.transcripts_per_minute),
    )


class TuiData:
    """The TUI's data access. ``clock`` and ``tz`` are injectable so screenshots are stable.

    Reads are coroutines for Textual's loop; ``aclose()`` releases the asyncio engine (the
    app does it as it quits), ``close()`` the job system."""

    def __init__(self, system: JobSystem, *, clock: Callable[[], datetime] = _utcnow,
                 tz: tzinfo | None = None, owns_system: bool = False) -> None:
        self.system = system
        self.settings: Settings = system.settings
        self.db = AsyncDatabase(self.settings.database_url,
                                self.settings.database.busy_timeout_ms)
        self.clock = clock
        self.tz = tz  # None: the local time zone
        self._owns_system = owns_system

    @classmethod
    def open(cls, settings: Settings, **kwargs: Any) -> TuiData:
        """A facade over the database and queues ``settings`` name (schema already current)."""
        return cls(JobSystem(settings), owns_system=True, **kwargs)

    async def aclose(self) -> None:
        """Release the asyncio engine (on the loop that used it: the app does this)."""
        await self.db.dispose()

    def close(self) -> None:
        if self._owns_system:
            self.system.close()

    # -- dashboard ------------------------------------------------------------------------

    async def dashboard(self, since: datetime | None = None) -> Dashboard:
        """One refresh of the dashboard, without visiting every job (see
        queries.state.live_counts); with ``since``, also the jobs completed from then on (the
        throughput history the app keeps)."""
        now = self.clock()
        reads = await self.db.query(_dashboard_reads, self.settings, now, since)
        sizes = await asyncio.to_thread(self.system.queue_sizes)  # Huey's storage blocks
        limits = self.settings.limits
        return Dashboard(
            at=now,
            queues=[_queue_state(name, reads.counts["queues"].get(name, {}),
                                 sizes.get(name, {}), reads.holds[name]) for name in QUEUES],
            jobs_by_status=reads.counts["jobs_by_status"],
            completed_last_minute=reads.counts["throughput"]["last_minute"],
            completed_last_hour=reads.counts["throughput"]["last_hour"],
            workers=[_worker(w) for w in reads.workers],
            transcripts_per_minute=limits.transcripts_per_minute,
            rate_next_slot=(datetime.fromtimestamp(reads.next_free, UTC)
                            if reads.next_free else None),
            quota_used=reads.quota_used,
            quota_per_day=self.settings.youtube.quota_units_per_day,
            quota_resets_at=next_reset(now),
            corpus=reads.corpus,
            completions_since=since,
            completions=[(q, parse_time(at) or now) for q, at in reads.completions],
            backlog=reads.backlog,
        )

    async def corpus(self) -> CorpusTotals:
        return await self.db.query(corpus_totals)

    # -- jobs -----------------------------------------------------------------------------

    async def jobs(self, flt: JobFilter, limit: int = JOBS_PAGE) -> JobsPage:
        rows, total = await self.db.query(
            job_queries.list_jobs, status=flt.status, job_type=flt.job_type, queue=flt.queue,
            entity=entity_query(flt.entity), error_class=flt.error_class,
            session_id=flt.session_id, limit=limit,
        )
        return JobsPage(flt, rows, total)

    async def job(self, job_id: int) -> dict[str, Any]:
        return await self.db.query(job_queries.get_job, job_id)

    async def cancel(self, job_ids: list[int]) -> tuple[list[int], list[int]]:
        """(cancelled now, asked to stop at their next checkpoint)."""
        return await asyncio.to_thread(self.system.cancel, job_ids)

    async def retry(self, *, job_id: int | None = None, job_type: str | None = None,
                    force: bool = False) -> int:
        """Re-queue failed jobs (one, one type's, or all); how many were re-queued."""
        return await asyncio.to_thread(self.system.retry, job_id=job_id, job_type=job_type,
                                       force=force)

    async def failed_counts(self, job_type: str | None = None) -> tuple[int, int]:
        """(failed jobs, those with attempts left): what "retry all failed" would touch."""
        return await self.db.query(job_queries.failed_counts, job_type)

    async def failures(self) -> list[dict[str, Any]]:
        return await self.db.query(job_queries.failure_groups)

    # -- sessions -------------------------------------------------------------------------

    async def sessions(self) -> list[SessionProgress]:
        """Every session, newest first, with its jobs by status (the list)."""
        reports = await self.db.query(list_sessions, details=False)
        now = self.clock()
        return [_progress(r, now) for r in reports]

    async def session(self, session_id: int) -> SessionProgress:
        """One session's full report (transcripts, unavailable and failures too)."""
        return _progress(await self.db.query(session_report, session_id), self.clock())

    # -- channels -------------------------------------------------------------------------

    async def channels(self) -> list[ChannelSummary]:
        return await self.db.query(list_channels)

    async def enqueue_channel(self, ref: ChannelRef, *, full: bool = False) -> Created:
        """Queue discovery (a new channel, or a rescan of a stored one)."""
        created = await asyncio.to_thread(self.system.enqueue_channels, [ref], full=full)
        return created[0]

    async def set_channel_paused(self, youtube_channel_id: str, paused: bool) -> str:
        channel = await asyncio.to_thread(
            set_channel_status, self.system.db, ChannelRef("id", youtube_channel_id),
            "paused" if paused else "active")
        return channel.status

    # -- transcripts ----------------------------------------------------------------------

    async def search(self, query: str, limit: int = SEARCH_PAGE) -> SearchResults:
        hits, total = await self.db.query(search_page, query, limit=limit)
        return SearchResults(query, hits, total)

    async def transcript(self, video_id: str) -> StoredTranscript:
        return await self.db.query(show_transcript, video_id)


def _progress(report: SessionReport, now: datetime) -> SessionProgress:
    """Rate and ETA from the session's own start (the clock is the facade's)."""
    per_minute = eta = None
    if report.started_at is not None:
        elapsed = ((report.completed_at or now) - report.started_at).total_seconds()
        if elapsed > 0 and report.finished:
            per_minute = report.finished / elapsed * 60
            remaining = report.total - report.finished
            if report.completed_at is None and remaining > 0:
                eta = remaining / per_minute * 60
    return SessionProgress(report, per_minute, eta)


def _queue_state(name: str, counts: dict[str, int], size: dict[str, int],
                 hold: QueueStatus) -> QueueState:
    return QueueState(
        name=name, pending=counts.get("pending", 0), retrying=counts.get("retrying", 0),
        running=counts.get("running", 0), failed=counts.get("failed", 0),
        queued_messages=size.get("queued", 0), paused=hold.paused,
        paused_until=parse_time(hold.paused_until), pause_reason=hold.pause_reason,
        breaker=hold.breaker_state, breaker_until=parse_time(hold.breaker_until),
        breaker_opens=hold.breaker_opens, breaker_reason=hold.breaker_reason,
    )


def _worker(w: dict[str, Any]) -> WorkerInfo:
    return WorkerInfo(
        worker_id=w["worker_id"], host=w["host"], pid=w["pid"], threads=w["threads"],
        inflight=w["inflight"], processed=w["processed"], failed=w["failed"],
        queues=list(w["queues"] or []), heartbeat_at=parse_time(w["heartbeat_at"]),
    )
