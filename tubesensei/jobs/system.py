"""The job system's one door: the CLI, the TUI, the demo and the periodic tasks go through
:class:`JobSystem` for everything they ask of it.

Every operation is the ledger write, the queue message and the wake-up, in that order, done
here: no caller touches the ledger or Huey itself. ``submit`` is how work enters the system:
ledger rows first (one transaction), then the Huey messages (one transaction per queue), then
a poke to wake idle consumers. A crash between the two leaves rows without messages; the
reaper re-queues those.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tubesensei.config import Settings
from tubesensei.db.engine import Database, is_read_only
from tubesensei.errors import Failure
from tubesensei.jobs.control import RELEASES, QueueControl
from tubesensei.jobs.ledger import Created, JobSpec, Ledger
from tubesensei.jobs.queues import Message, QueueApp, build_queue_app, transport_errors
from tubesensei.jobs.registry import (
    JOB_TYPES,
    PRIORITY_DEFAULT,
    PRIORITY_NEW_CHANNEL,
    PRIORITY_USER_VIDEO,
    SYNC_ALL,
)
from tubesensei.jobs.wakeup import poke
from tubesensei.jobs.workers import WorkerRegistry
from tubesensei.logging import get_logger
from tubesensei.queries.jobs import get_job
from tubesensei.queries.sessions import session_job_ids
from tubesensei.youtube.ids import ChannelRef

log = get_logger(__name__)


def make_worker_id() -> str:
    """host:pid:random — the reaper reads host and pid to recover a dead process's jobs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def channel_entity(ref: ChannelRef) -> str:
    """The ledger's entity for a channel reference: handles and names compare case-blind."""
    if ref.kind in ("handle", "custom", "username"):
        return ChannelRef(ref.kind, ref.value.lower()).display()
    return ref.display()


class JobSystem:
    """Ledger, queues, pauses and consumers of one database, behind one set of verbs."""

    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self._owns_db = db is None
        self.db = db or Database.from_settings(settings)
        self.ledger = Ledger(self.db.engine)
        self.control = QueueControl(self.db)
        self.workers = WorkerRegistry(self.db)
        self._run: Callable[[str, int], Any] | None = None
        self.queues: QueueApp = build_queue_app(
            settings, {name: self._handler(name) for name in JOB_TYPES},
            read_only=is_read_only(self.db.url),
        )
        self._transport_errors = transport_errors(settings)
        self._waker: Any = None
        # What transcript and discovery jobs read: the settings at start, or as the config
        # file says now when Runtime.jobs() installs jobs/live_settings.py's watcher.
        self.transcript_settings: Callable[[], Any] = lambda: settings.transcripts

    @property
    def engine(self) -> Any:
        return self.db.engine

    # -- what people and periodic tasks ask for ---------------------------------------

    def spec(self, job_type: str, entity_id: str, *, priority: int | None = None,
             metadata: dict[str, Any] | None = None, session_id: int | None = None) -> JobSpec:
        """A job to create, with the registry's queue and default priority."""
        jt = JOB_TYPES[job_type]
        return JobSpec(job_type, entity_id, jt.queue,
                       jt.priority if priority is None else priority,
                       self.settings.limits.max_attempts, metadata or {}, session_id)

    def enqueue_channels(self, refs: Sequence[ChannelRef], *, priority: int | None = None,
                         full: bool = False) -> list[Created]:
        """Queue discovery of channels (offline: the job resolves each reference). A
        reference to a stored channel is queued under its UC id: one job per channel."""
        from tubesensei.jobs.discovery_claims import canonical_entity

        mode = "full" if full else "auto"
        prio = PRIORITY_NEW_CHANNEL if priority is None else priority
        return self.submit([
            self.spec("discover_channel", canonical_entity(self.db, r) or channel_entity(r),
                      priority=prio, metadata={"mode": mode}) for r in refs])

    def rescan_channels(self, channel_ids: Sequence[str], mode: str, priority: int
                        ) -> list[Created]:
        """Queue discovery of stored channels (UC ids) in ``mode`` (incremental/full)."""
        return self.submit([self.spec("discover_channel", cid, priority=priority,
                                      metadata={"mode": mode}) for cid in channel_ids])

    def sync_channels(self, *, priority: int | None = None) -> list[Created]:
        """Queue one refresh of the stored channels' metadata (all but paused ones, read when
        it runs; one channels.list call per 50). One job at a time: asking while one waits or
        runs returns that one."""
        return self.submit([self.spec("sync_channels", SYNC_ALL, priority=priority)])

    def enqueue_videos(self, video_ids: Sequence[str], *, priority: int | None = None,
                       session_id: int | None = None) -> list[Created]:
        """Queue transcript jobs (a video already queued keeps its job)."""
        prio = PRIORITY_USER_VIDEO if priority is None else priority
        return self.submit([self.spec("extract_transcript", v, priority=prio,
                                      session_id=session_id) for v in video_ids])

    def create_batch(self, name: str, video_ids: Sequence[str], *,
                     priority: int = PRIORITY_DEFAULT, source: str = "videos") -> tuple[int, int]:
        """A processing session over these videos; returns (session id, batches)."""
        from tubesensei.jobs.sessions import create_batch

        return create_batch(self, name, video_ids, priority, source)

    def cancel(self, job_ids: Sequence[int] = (), *, session_id: int | None = None
               ) -> tuple[list[int], list[int]]:
        """Cancel jobs (and a session's): queued ones at once, running ones at their next
        checkpoint. An unknown job or session raises NotFound before anything changes.
        Returns (cancelled, asked to stop)."""
        ids = list(job_ids)
        for job_id in ids:
            self.db.query(get_job, job_id)
        if session_id is not None:
            ids += self.db.query(session_job_ids, session_id)
        return self.ledger.cancel(ids)

    def retry(self, *, job_id: int | None = None, job_type: str | None = None,
              session_id: int | None = None, force: bool = False,
              cancelled: bool = False) -> int:
        """Re-queue failed jobs that still have attempts (all, with fresh attempts, with
        ``force``), and cancelled ones: a job named by id, or all that match with
        ``cancelled`` (this undoes ``cancel``). How many were re-queued. An unknown job
        raises NotFound, one that is neither failed nor cancelled Failure."""
        if job_id is not None:
            status = self.db.query(get_job, job_id)["status"]
            if status not in ("failed", "cancelled"):
                raise Failure(f"job {job_id} is {status}: only failed or cancelled jobs are "
                              "retried")
        messages = self.ledger.retry_failed(job_id=job_id, job_type=job_type,
                                            session_id=session_id, force=force,
                                            cancelled=cancelled)
        self.send(messages)
        return len(messages)

    def pause_queue(self, queue: str) -> None:
        """Stop every consumer from taking ``queue``'s work (running jobs finish)."""
        self.control.pause(queue)

    def resume_queue(self, queue: str) -> int:
        """Lift every pause of ``queue`` (and close its breaker); the jobs that waited for it
        are due at once. Returns how many were released."""
        self.control.resume(queue)
        released = self.release(queue)
        self.wake()
        return released

    def release(self, queue: str) -> int:
        """Make the jobs that wait for ``queue``'s pause to lift due now."""
        messages = self.ledger.release_waiting(RELEASES[queue])
        self.send(messages)
        return len(messages)

    def scale(self, queue: str, count: int, worker_id: str | None = None) -> int:
        """Run ``count`` of ``queue``'s jobs at once on every live consumer serving it (or
        one); takes effect within a heartbeat. Returns how many consumers changed."""
        return self.workers.scale(queue, count, self.settings.limits.stale_after_seconds,
                                  worker_id)

    def live_workers(self) -> list[dict[str, Any]]:
        return self.workers.live(self.settings.limits.stale_after_seconds)

    def stats(self, now: datetime | None = None) -> dict[str, Any]:
        """Everything ``stats`` shows (see jobs/stats.py)."""
        from tubesensei.jobs.stats import collect

        return collect(self, now)

    def stats_and_backlog(self) -> tuple[dict[str, Any], Any]:
        """``stats()`` and its backlog as a :class:`~tubesensei.queries.progress.Backlog`."""
        from tubesensei.jobs.stats import collect_with_backlog

        return collect_with_backlog(self)

    def queue_sizes(self) -> dict[str, dict[str, int]]:
        return self.queues.queue_sizes()

    # -- plumbing: submitting, waking, running ------------------------------------------

    def submit(self, specs: Sequence[JobSpec]) -> list[Created]:
        """Create jobs (deduplicated against active ones) and queue a message for each new one."""
        created = self.ledger.create_many(specs)
        new = [c for c in created if c.created]
        # The rows already carry their messages' task ids: no third write to record them.
        self.send([(c.spec.job_type, c.job_id, c.spec.priority, None) for c in new],
                  task_ids=[c.task_id for c in new])
        return created

    def send(self, messages: Sequence[Message],
             task_ids: Sequence[str | None] | None = None) -> None:
        """Queue Huey messages for existing ledger rows and wake the consumers. With the queue
        server out of reach the rows stay without messages: the reaper gives them one.
        ``task_ids``: the ids the rows already record (none given: the new ids are
        recorded after the wake-up)."""
        if not messages:
            return
        try:
            sent = self.queues.enqueue_many(messages, task_ids)
        except self._transport_errors as exc:
            log.warning("queue unreachable: the reaper will queue these jobs when it is back",
                        jobs=len(messages), error=f"{type(exc).__name__}: {exc}")
            return
        self.wake()  # first: recording Huey's task ids is bookkeeping, not in the job's way
        if task_ids is None or any(t is None for t in task_ids):
            self.ledger.set_task_ids(zip([m[1] for m in messages], sent, strict=True))

    def wake(self) -> None:
        """Wake idle consumers: on this machine through the data folder (SQLite queue), on
        every machine through Redis. An optimisation only: consumers poll as well."""
        if self.settings.queue.backend == "sqlite":
            poke(self.settings.resolved_data_dir)
            return
        try:
            self.waker().poke()
        except self._transport_errors:
            pass

    def waker(self) -> Any:
        """The Redis wake-up channel of this deployment (Redis backend only)."""
        if self._waker is None:
            from tubesensei.jobs.redis_queue import RedisWaker

            q = self.settings.queue
            self._waker = RedisWaker(q.url.get_secret_value() if q.url else "", q.prefix)
        return self._waker

    # Huey calls these with the job id; a consumer installs the function that runs jobs.
    def _handler(self, job_type: str) -> Callable[[int], Any]:
        def handler(job_id: int) -> Any:
            if self._run is None:
                raise RuntimeError("no executor installed: this process does not run jobs")
            return self._run(job_type, int(job_id))

        handler.__name__ = JOB_TYPES[job_type].task
        return handler

    def install_executor(self, run: Callable[[str, int], Any] | None) -> None:
        self._run = run

    def close(self) -> None:
        """Close the queues (and the database, when this system opened it)."""
        self.ledger.release()  # the connection its hot path keeps between transactions
        self.queues.close()
        if self._waker is not None:
            self._waker.stop()
            self._waker = None
        if self._owns_db:
            self.db.dispose()
            self._owns_db = False

