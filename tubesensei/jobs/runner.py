"""Running one job: claim it, run its task with a context, record the outcome.

Delivery is at-least-once, execution is once: the guarded claim lets exactly one message run a
job; a duplicate or stale message finds the row not runnable and does nothing. The outcome of
a run is written with a guard on the worker too, so a thread whose job was reaped (or timed
out) meanwhile cannot overwrite what happened since.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tubesensei.db.engine import Database
from tubesensei.jobs.ledger import ClaimedJob, Created, JobSpec
from tubesensei.jobs.policy import Decision, JobCancelled, JobInterrupted, decide
from tubesensei.jobs.system import JobSystem
from tubesensei.logging import get_logger
from tubesensei.pipeline.context import Pipeline

log = get_logger("tubesensei.jobs")
T = TypeVar("T")


@dataclass
class InFlight:
    job: ClaimedJob
    thread: str
    started: float = field(default_factory=time.monotonic)


class JobContext:
    """What a task gets: its job, a checkpoint, the thread's pipeline, and ``submit``."""

    def __init__(self, executor: Executor, job: ClaimedJob) -> None:
        self.executor = executor
        self.job = job

    @property
    def settings(self) -> Any:
        return self.executor.system.settings

    @property
    def pipeline(self) -> Pipeline:
        return self.executor.thread_pipeline()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.executor.thread_loop().run_until_complete(coro)

    def checkpoint(self) -> None:
        """Stop here if the consumer is shutting down or the job was cancelled."""
        self.executor.checkpoint(self.job.id)

    def submit(self, specs: Sequence[JobSpec]) -> list[Created]:
        return self.executor.system.submit(specs)


TaskFn = Callable[[JobContext], dict[str, Any] | None]


class Executor:
    """Runs jobs for one consumer process (any number of worker threads)."""

    def __init__(self, system: JobSystem, worker_id: str, tasks: dict[str, TaskFn]) -> None:
        self.system = system
        self.worker_id = worker_id
        self.tasks = tasks
        self.limits = system.settings.limits
        self.stopping = threading.Event()
        self.inflight: dict[int, InFlight] = {}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._rng = random.Random()
        self.outcomes: dict[str, int] = {}

    # -- per-thread resources (an event loop and a pipeline bound to it) ----------------

    def thread_loop(self) -> asyncio.AbstractEventLoop:
        loop = getattr(self._local, "loop", None)
        if loop is None:
            loop = asyncio.new_event_loop()
            self._local.loop = loop
        return loop

    def thread_pipeline(self) -> Pipeline:
        pipeline = getattr(self._local, "pipeline", None)
        if pipeline is None:
            s = self.system.settings
            self.thread_loop()
            pipeline = Pipeline(s, Database(s.database_url, s.database.busy_timeout_ms))
            self._local.pipeline = pipeline
        return pipeline

    def release_thread_resources(self) -> None:
        """Called by each worker thread as it exits."""
        loop = getattr(self._local, "loop", None)
        pipeline = getattr(self._local, "pipeline", None)
        if loop is not None:
            if pipeline is not None:
                loop.run_until_complete(pipeline.close())
            loop.close()
        self._local.loop = self._local.pipeline = None

    # -- running ------------------------------------------------------------------------

    def checkpoint(self, job_id: int) -> None:
        if self.stopping.is_set():
            raise JobInterrupted("consumer shutting down")
        if self.system.ledger.cancel_requested(job_id):
            raise JobCancelled()

    def inflight_ids(self) -> list[int]:
        with self._lock:
            return list(self.inflight)

    def run(self, job_type: str, job_id: int) -> None:
        job = self.system.ledger.claim(job_id, self.worker_id)
        if job is None:
            log.debug("job not runnable, message dropped", job_id=job_id, job_type=job_type)
            return
        with self._lock:
            self.inflight[job.id] = InFlight(job, threading.current_thread().name)
        started = time.monotonic()
        log.info("job started", job_id=job.id, job_type=job.job_type, entity=job.entity_id,
                 attempt=job.attempts)
        try:
            result = self.tasks[job.job_type](JobContext(self, job))
        except BaseException as exc:  # every outcome goes through the policy
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            decision = decide(exc, job.attempts, job.max_attempts, self.limits, self._rng)
            self.apply(job, decision, time.monotonic() - started)
        else:
            ok = self.system.ledger.complete(job.id, self.worker_id, result or {})
            self._count("completed" if ok else "superseded")
            log.info("job completed", job_id=job.id, job_type=job.job_type,
                     entity=job.entity_id, attempt=job.attempts,
                     duration_s=round(time.monotonic() - started, 3), recorded=ok)
        finally:
            with self._lock:
                self.inflight.pop(job.id, None)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def apply(self, job: ClaimedJob, d: Decision, duration: float) -> None:
        ledger, wid = self.system.ledger, self.worker_id
        fields = dict(job_id=job.id, job_type=job.job_type, entity=job.entity_id,
                      attempt=job.attempts, duration_s=round(duration, 3),
                      error_class=d.error_class, error=d.message)
        if d.action == "fail":
            ledger.fail(job.id, wid, d.error_class, d.message)
            self._count("failed")
            log.warning("job failed", **fields)
        elif d.action == "cancel":
            ledger.cancel_running(job.id, wid)
            self._count("cancelled")
            log.info("job cancelled", **fields)
        elif d.action == "put_back":
            if ledger.put_back([job.id], d.message):
                self.system.send([(job.job_type, job.id, job.priority, None)])
            self._count("put_back")
            log.info("job put back", **fields)
        else:  # retry, pause_queue, open_breaker: the job waits and comes back by itself
            delay = d.delay if d.action != "open_breaker" else self.limits.blocked_cooldown_seconds
            due = ledger.retry_later(job.id, wid, delay, d.error_class, d.message,
                                     refund_attempt=d.refund_attempt)
            if due is not None:
                self.system.send([(job.job_type, job.id, job.priority, due)])
            self._count("retrying")
            log.warning("job will retry", retry_at=due.isoformat() if due else None, **fields)
