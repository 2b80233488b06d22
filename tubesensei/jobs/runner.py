"""Running one job: claim it, run its task with a context, record the outcome.

Delivery is at-least-once, execution is once: the guarded claim lets exactly one message run a
job; a duplicate or stale message finds the row not runnable and does nothing. The outcome of
a run is written with a guard on the worker too, so a thread whose job was reaped (or timed
out) meanwhile cannot overwrite what happened since.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError

from tubesensei.jobs.diskspace import DiskSpace, is_disk_full
from tubesensei.jobs.ledger import ClaimedJob
from tubesensei.jobs.ledger import now_utc as ledger_now
from tubesensei.jobs.metrics import JobMetrics
from tubesensei.jobs.policy import Decision, JobCancelled, JobInterrupted, SoftTimeLimit, decide
from tubesensei.jobs.ratelimit import RateLimiter
from tubesensei.jobs.registry import DISCOVERY, JOB_TYPES, TRANSCRIPTS
from tubesensei.jobs.system import JobSystem
from tubesensei.logging import LineBudget, get_logger
from tubesensei.pipeline.context import Pipeline
from tubesensei.queries.jobs import cancel_requested

log = get_logger("tubesensei.jobs")
_stdlib_log = logging.getLogger("tubesensei.jobs")


@dataclass
class InFlight:
    job: ClaimedJob
    thread: str
    started: float = field(default_factory=time.monotonic)
    probe: bool = False


class JobContext:
    """What a task gets: its job, a checkpoint, the thread's pipeline and the job system."""

    def __init__(self, executor: Executor, job: ClaimedJob) -> None:
        self.executor = executor
        self.job = job

    @property
    def settings(self) -> Any:
        return self.executor.system.settings

    @property
    def system(self) -> JobSystem:
        return self.executor.system

    @property
    def pipeline(self) -> Pipeline:
        return self.executor.thread_pipeline()

    def checkpoint(self) -> None:
        """Stop here if the consumer is shutting down or the job was cancelled."""
        self.executor.checkpoint(self.job.id)

    def rate_limit(self) -> None:
        """Wait for a slot of the shared transcript rate limit (checking in while waiting)."""
        self.executor.wait_for_rate_limit(self.job.id)


TaskFn = Callable[[JobContext], dict[str, Any] | None]


# How long an outcome waits for the database to come back before the write is given up (the
# reaper then recovers the job from its stale heartbeat).
DURABLE_SECONDS = 120.0


class Durable:
    """Calls through to ``target`` and, when the database cannot be reached (a restart, a
    network blip), tries again with back-off until it answers: a job's claim and its outcome
    must not be lost to an outage of a few seconds."""

    def __init__(self, target: Any, what: str) -> None:
        self._target = target
        self._what = what

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._target, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + DURABLE_SECONDS
            delay = 0.2
            while True:
                try:
                    return method(*args, **kwargs)
                except (OperationalError, InterfaceError) as exc:
                    if is_disk_full(exc) or time.monotonic() + delay > deadline:
                        raise  # a full disk is waited out by the consumer, not here
                    log.warning("database unreachable: trying again", call=f"{self._what}.{name}",
                                error=str(exc.orig).strip().splitlines()[0][:200],
                                retry_in_s=round(delay, 1))
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)

        return call


class Executor:
    """Runs jobs for one consumer process (any number of worker threads)."""

    def __init__(self, system: JobSystem, worker_id: str, tasks: dict[str, TaskFn],
                 metrics: JobMetrics | None = None) -> None:
        self.system = system
        self.worker_id = worker_id
        self.tasks = tasks
        self.limits = system.settings.limits
        self.stopping = threading.Event()
        self.ledger = Durable(system.ledger, "ledger")
        self.control = Durable(system.control, "control")
        self.limiter = RateLimiter(system.db, TRANSCRIPTS, self.limits.transcripts_per_minute)
        self.metrics = metrics or JobMetrics()
        # Set by the consumer: where a full disk is noticed (jobs/diskspace.py).
        self.disk: DiskSpace | None = None
        self.inflight: dict[int, InFlight] = {}
        self.abandoned: set[int] = set()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._rng = random.Random()
        self.outcomes: dict[str, int] = {}
        # "job started"/"job completed" at INFO while they are readable (~10 a second);
        # past that they go to DEBUG and a summary line counts them (see LineBudget).
        self.lines = LineBudget(log, "jobs not logged one by one (DEBUG logs each)")
        # The consumer refreshes its view of pauses/breakers at once when a job changes them.
        self.on_queue_state_change: Callable[[], None] = lambda: None
        self.on_rate_limit_reserved: Callable[[float], None] = lambda _next: None

    # -- per-thread resources (YouTube clients are not thread-safe) ----------------------

    def thread_pipeline(self) -> Pipeline:
        """This thread's pipeline: its own YouTube clients over the process's database."""
        pipeline = getattr(self._local, "pipeline", None)
        if pipeline is None:
            pipeline = Pipeline(self.system.settings, self.system.db)
            self._local.pipeline = pipeline
        return pipeline

    def release_thread_resources(self) -> None:
        """Called by each worker thread as it exits."""
        pipeline = getattr(self._local, "pipeline", None)
        if pipeline is not None:
            pipeline.close()
        self._local.pipeline = None

    # -- running ------------------------------------------------------------------------

    def time_limits(self, job_type: str) -> tuple[float, float]:
        """(soft, hard) seconds for a job type."""
        return JOB_TYPES[job_type].time_limits(self.limits)

    def checkpoint(self, job_id: int) -> None:
        if job_id in self.abandoned:
            raise JobInterrupted("hard time limit exceeded")
        if self.stopping.is_set():
            raise JobInterrupted("consumer shutting down")
        with self._lock:
            entry = self.inflight.get(job_id)
        if entry is not None:
            soft, _hard = self.time_limits(entry.job.job_type)
            if time.monotonic() - entry.started > soft:
                raise SoftTimeLimit(f"soft time limit of {soft:g}s reached")
        if self.system.db.query(cancel_requested, job_id):
            raise JobCancelled()

    def wait_for_rate_limit(self, job_id: int) -> None:
        waited = self.limiter.wait(lambda: self.checkpoint(job_id))
        self.on_rate_limit_reserved(self.limiter.last_reserved_next)
        if waited > 0:
            self.metrics.rate_limit_waits.inc()
            self.metrics.rate_limit_wait.inc(waited)

    def mark_probe(self, is_probe: bool) -> None:
        """Set by the consumer: the next job this thread runs is the breaker's probe."""
        self._local.probe = is_probe

    def abandon_overdue(self) -> list[InFlight]:
        """Fail jobs past their hard time limit; their threads' late results are ignored."""
        now = time.monotonic()
        with self._lock:
            overdue = [e for e in self.inflight.values()
                       if now - e.started > self.time_limits(e.job.job_type)[1]]
        failed = []
        for entry in overdue:
            hard = self.time_limits(entry.job.job_type)[1]
            if self.ledger.fail(entry.job.id, self.worker_id, "timeout",
                                       f"hard time limit of {hard:g}s exceeded"):
                failed.append(entry)
                log.warning("job failed: hard time limit", job_id=entry.job.id,
                            job_type=entry.job.job_type, entity=entry.job.entity_id)
            with self._lock:
                self.abandoned.add(entry.job.id)
                self.inflight.pop(entry.job.id, None)
            self._count("failed")
            self.metrics.observe(entry.job.job_type, "timeout", now - entry.started)
        return failed

    def inflight_ids(self) -> list[int]:
        with self._lock:
            return list(self.inflight)

    def inflight_jobs(self) -> dict[int, ClaimedJob]:
        """A snapshot of the jobs running in this process, by id."""
        with self._lock:
            return {job_id: entry.job for job_id, entry in self.inflight.items()}

    def run(self, job_type: str, job_id: int) -> None:
        try:
            job = self.ledger.claim(job_id, self.worker_id)
        except Exception as exc:
            if not is_disk_full(exc) or self.disk is None:
                raise
            self.disk.noticed(exc)  # the job stays pending; the reaper gives it a message
            return
        if job is None:
            if _stdlib_log.isEnabledFor(logging.DEBUG):
                log.debug("job not runnable, message dropped", job_id=job_id, job_type=job_type)
            return
        probe = bool(getattr(self._local, "probe", False))
        self._local.probe = False
        with self._lock:
            self.inflight[job.id] = InFlight(job, threading.current_thread().name, probe=probe)
        started = time.monotonic()
        level = self._line_level("started")
        if level:
            log.log(level, "job started", job_id=job.id, job_type=job.job_type,
                    entity=job.entity_id, attempt=job.attempts)
        try:
            result = self.tasks[job.job_type](JobContext(self, job))
        except BaseException as exc:  # every outcome goes through the policy
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            if job.id in self.abandoned:  # failed by the hard time limit meanwhile
                return
            decision = decide(exc, job.attempts, job.max_attempts, self.limits, self._rng)
            if decision.error_class == "disk_full":
                self._disk_full(exc, job, time.monotonic() - started)
                return
            try:
                self.apply(job, decision, time.monotonic() - started)
            except Exception as write_error:
                if not is_disk_full(write_error):
                    raise
                self._disk_full(write_error, job, time.monotonic() - started)
                return
            self._after_probe(job, probe, decision.action)
        else:
            if job.id in self.abandoned:
                return
            try:
                ok = self.ledger.complete(job.id, self.worker_id, result or {})
            except Exception as write_error:
                if not is_disk_full(write_error):
                    raise
                self._disk_full(write_error, job, time.monotonic() - started)
                return
            self._count("completed" if ok else "superseded")
            duration = time.monotonic() - started
            self.metrics.observe(job.job_type, "completed", duration)
            level = self._line_level("completed")
            if level:
                log.log(level, "job completed", job_id=job.id, job_type=job.job_type,
                        entity=job.entity_id, attempt=job.attempts,
                        duration_s=round(duration, 3), recorded=ok)
            self._after_probe(job, probe, "completed")
        finally:
            with self._lock:
                self.inflight.pop(job.id, None)
                self.abandoned.discard(job.id)

    @staticmethod
    def _level_on(level: int) -> int:
        return level if _stdlib_log.isEnabledFor(level) else 0

    def _line_level(self, kind: str) -> int:
        """The level of a per-job line (0: not logged): INFO within the line budget, else
        DEBUG (counted for the summary)."""
        if not _stdlib_log.isEnabledFor(logging.INFO):
            return 0
        if self.lines.allow(kind):
            return logging.INFO
        return self._level_on(logging.DEBUG)

    def _disk_full(self, exc: BaseException, job: ClaimedJob, duration: float) -> None:
        """The job's work or its outcome could not be written: the job stays ``running`` in
        the ledger until there is space, then goes back to the queue (its attempt refunded).
        Without a consumer watching the disk, the reaper puts it back as a stale job."""
        self._count("put_back")
        self.metrics.observe(job.job_type, "put_back", duration)
        log.debug("job held: the disk is full", job_id=job.id, job_type=job.job_type)
        if self.disk is not None:
            self.disk.noticed(exc, job)

    def _after_probe(self, job: ClaimedJob, probe: bool, action: str) -> None:
        """The breaker's probe answered: YouTube served us (close), or the probe never got
        an answer (let the next thread probe)."""
        if not probe:
            return
        if action == "put_back":
            self.control.reopen_for_probe(job.queue)
        elif action != "open_breaker":
            self.control.probe_succeeded(job.queue)
            log.info("breaker closed: the probe got through", queue=job.queue)

    def _count(self, outcome: str) -> None:
        with self._lock:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def apply(self, job: ClaimedJob, d: Decision, duration: float) -> None:
        ledger, wid = self.ledger, self.worker_id
        fields = dict(job_id=job.id, job_type=job.job_type, entity=job.entity_id,
                      attempt=job.attempts, duration_s=round(duration, 3),
                      error_class=d.error_class, error=d.message)
        task = job.job_type
        outcome = {"retry": "retrying", "pause_queue": "paused", "open_breaker": "blocked",
                   "fail": "failed", "cancel": "cancelled"}.get(d.action, d.action)
        self.metrics.observe(task, outcome, duration)
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
            delay = d.delay
            if d.action == "pause_queue" and d.until is not None:
                # The Data API quota is what ran out: discovery (all Data API work) waits for
                # the reset. An extract job that needed a videos.list call waits too, but the
                # transcripts queue goes on (fetching transcripts costs no quota).
                self.control.pause_until(DISCOVERY, d.until, d.error_class)
                log.warning("queue paused", queue=DISCOVERY, until=d.until.isoformat(),
                            reason=d.error_class)
            elif d.action == "open_breaker":
                until = self.control.open_breaker(
                    job.queue, self.limits.blocked_cooldown_seconds,
                    self.limits.blocked_cooldown_max_seconds, d.message,
                )
                delay = max(0.0, (until - ledger_now()).total_seconds())
                log.warning("breaker open", queue=job.queue, until=until.isoformat())
            if d.action in ("pause_queue", "open_breaker"):
                self.on_queue_state_change()
            else:
                self.metrics.retries.labels(task, d.error_class).inc()
            due = ledger.retry_later(job.id, wid, delay, d.error_class, d.message,
                                     refund_attempt=d.refund_attempt)
            if due is not None:
                self.system.send([(job.job_type, job.id, job.priority, due)])
            self._count("retrying")
            log.warning("job will retry", retry_at=due.isoformat() if due else None, **fields)
