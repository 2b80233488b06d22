"""What the TUI reads and does, in one object: a thin facade over the job system and the corpus.

Every method is synchronous and blocking: the app calls them from its worker threads only,
never from the UI thread. The job system's engine is synchronous; the corpus services are
async, so they run on one private event loop thread that owns the async Database (its
connection pool belongs to that loop).

This module never imports textual: the benchmark times it as is.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from tubesensei.config import Settings
from tubesensei.db.engine import Database
from tubesensei.jobs import queries
from tubesensei.jobs.control import QueueControl, QueueStatus
from tubesensei.jobs.ledger import Created
from tubesensei.jobs.queues import QUEUES, TRANSCRIPTS
from tubesensei.jobs.ratelimit import RateLimiter
from tubesensei.jobs.service import channel_entity, enqueue_channels
from tubesensei.jobs.sessions import SessionReport, list_sessions, session_report
from tubesensei.jobs.stats import live_counts, units_today
from tubesensei.jobs.system import JobSystem
from tubesensei.jobs.workers import WorkerRegistry
from tubesensei.pipeline.channels import ChannelSummary, list_channels, set_channel_status
from tubesensei.pipeline.search import SearchHit, search_page
from tubesensei.pipeline.videos import CorpusTotals, StoredTranscript, corpus_totals
from tubesensei.youtube.ids import ChannelRef, InvalidReference, parse_channel_ref, parse_video_id
from tubesensei.youtube.quota import next_reset

T = TypeVar("T")

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


class _LoopThread:
    """An event loop on its own daemon thread; coroutines are submitted from any thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="tubesensei-tui-db",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        self.loop.close()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TuiData:
    """The TUI's data access. ``clock`` and ``tz`` are injectable so screenshots are stable."""

    def __init__(self, system: JobSystem, db: Database, *,
                 clock: Callable[[], datetime] = _utcnow, tz: tzinfo | None = None) -> None:
        self.system = system
        self.settings: Settings = system.settings
        self._db = db
        self._loop = _LoopThread()
        self.clock = clock
        self.tz = tz  # None: the local time zone

    @classmethod
    def open(cls, settings: Settings, **kwargs: Any) -> TuiData:
        """A facade over the database and queues ``settings`` name (schema already current)."""
        db = Database(settings.database_url, settings.database.busy_timeout_ms)
        return cls(JobSystem(settings), db, **kwargs)

    def close(self) -> None:
        try:
            self._loop.run(self._db.dispose())
        finally:
            self._loop.close()
            self.system.close()

    def _corpus(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._loop.run(coro)

    # -- dashboard ------------------------------------------------------------------------

    def dashboard(self, since: datetime | None = None) -> Dashboard:
        """One refresh of the dashboard, without visiting every job (see
        jobs.stats.live_counts); with ``since``, also the jobs completed from then on (the
        throughput history the app keeps)."""
        now = self.clock()
        engine = self.system.engine
        counts = live_counts(engine, now)
        sizes = self.system.queues.queue_sizes()
        holds = QueueControl(engine).statuses()
        limits = self.settings.limits
        next_free = RateLimiter(engine, TRANSCRIPTS, limits.transcripts_per_minute).next_free()
        completions: list[tuple[str, datetime]] = []
        if since is not None:
            completions = [(q, parse_time(at) or now)
                           for q, at in queries.completions_since(engine, since)]
        workers = WorkerRegistry(engine).live(limits.stale_after_seconds, now)
        return Dashboard(
            at=now,
            queues=[_queue_state(name, counts["queues"].get(name, {}), sizes.get(name, {}),
                                 holds[name]) for name in QUEUES],
            jobs_by_status=counts["jobs_by_status"],
            completed_last_minute=counts["throughput"]["last_minute"],
            completed_last_hour=counts["throughput"]["last_hour"],
            workers=[_worker(w) for w in workers],
            transcripts_per_minute=limits.transcripts_per_minute,
            rate_next_slot=(datetime.fromtimestamp(next_free, UTC) if next_free else None),
            quota_used=units_today(engine, now),
            quota_per_day=self.settings.youtube.quota_units_per_day,
            quota_resets_at=next_reset(now),
            corpus=self.corpus(),
            completions_since=since,
            completions=completions,
        )

    def corpus(self) -> CorpusTotals:
        return self._corpus(corpus_totals(self._db))

    # -- jobs -----------------------------------------------------------------------------

    def jobs(self, flt: JobFilter, limit: int = JOBS_PAGE) -> JobsPage:
        rows, total = queries.list_jobs(
            self.system.engine, status=flt.status, job_type=flt.job_type, queue=flt.queue,
            entity=entity_query(flt.entity), error_class=flt.error_class,
            session_id=flt.session_id, limit=limit,
        )
        return JobsPage(flt, rows, total)

    def job(self, job_id: int) -> dict[str, Any]:
        return queries.get_job(self.system.engine, job_id)

    def cancel(self, job_ids: list[int]) -> tuple[list[int], list[int]]:
        """(cancelled now, asked to stop at their next checkpoint)."""
        return self.system.ledger.cancel(job_ids)

    def retry(self, *, job_id: int | None = None, job_type: str | None = None,
              force: bool = False) -> int:
        """Re-queue failed jobs (one, one type's, or all); how many were re-queued."""
        messages = self.system.ledger.retry_failed(job_id=job_id, job_type=job_type,
                                                   force=force)
        self.system.send(messages)
        return len(messages)

    def failed_counts(self, job_type: str | None = None) -> tuple[int, int]:
        """(failed jobs, those with attempts left): what "retry all failed" would touch."""
        return queries.failed_counts(self.system.engine, job_type)

    def failures(self) -> list[dict[str, Any]]:
        return queries.failure_groups(self.system.engine)

    # -- sessions -------------------------------------------------------------------------

    def sessions(self) -> list[SessionProgress]:
        """Every session, newest first, with its jobs by status (the list)."""
        now = self.clock()
        return [_progress(r, now) for r in list_sessions(self.system.engine, details=False)]

    def session(self, session_id: int) -> SessionProgress:
        """One session's full report (transcripts, unavailable and failures too)."""
        return _progress(session_report(self.system.engine, session_id), self.clock())

    # -- channels -------------------------------------------------------------------------

    def channels(self) -> list[ChannelSummary]:
        return self._corpus(list_channels(self._db))

    def enqueue_channel(self, ref: ChannelRef, *, full: bool = False) -> Created:
        """Queue discovery (a new channel, or a rescan of a stored one)."""
        return enqueue_channels(self.system, [ref], full=full)[0]

    def set_channel_paused(self, youtube_channel_id: str, paused: bool) -> str:
        channel = self._corpus(set_channel_status(
            self._db, ChannelRef("id", youtube_channel_id), "paused" if paused else "active"))
        return channel.status

    # -- transcripts ----------------------------------------------------------------------

    def search(self, query: str, limit: int = SEARCH_PAGE) -> SearchResults:
        hits, total = self._corpus(search_page(self._db, query, limit=limit))
        return SearchResults(query, hits, total)

    def transcript(self, video_id: str) -> StoredTranscript:
        from tubesensei.pipeline.videos import show_transcript

        return self._corpus(show_transcript(self._db, video_id))


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
