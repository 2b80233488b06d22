"""``run-consumer``: the consumer's lifecycle — start, signals, shutdown (Huey's ``Consumer``).

Why not Huey's own Consumer: it serves one Huey instance (we have a queue per instance), its
idle workers poll with a back-off that reaches 10 s, and its thread count is fixed. This one
is built from Huey's primitives (``dequeue``, ``execute``, ``read_schedule``) along Huey's own
lines:

- the **worker pool** (jobs/worker.py): threads, per-queue caps, which queue to take from;
- the **housekeeper** (jobs/scheduler.py): due retries, heartbeats, time limits, the reaper,
  periodic tasks, burst detection;
- this **consumer**: start (registry row, statistics, recovery at once of what a dead process
  left behind, the wake-up listener, metrics), signals and a graceful shutdown.

Wake-ups: submitting work pokes idle consumers (jobs/wakeup.py), so a job enqueued from
another process starts within milliseconds; polling every ``queue.poll_interval_seconds`` is
only the fallback. Shutdown (SIGINT/SIGTERM): stop taking work, let running jobs reach a
checkpoint within the grace period, put back what did not finish, exit 0. A second signal
exits at once (the reaper recovers the rest). Burst: work until no job is runnable and none
is due within ``burst_wait`` seconds.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tubesensei.db.engine import refresh_statistics
from tubesensei.jobs.diskspace import DiskSpace, is_disk_full
from tubesensei.jobs.metrics import JobMetrics, serve_metrics
from tubesensei.jobs.reaper import reap
from tubesensei.jobs.registry import QUEUES
from tubesensei.jobs.runner import Executor
from tubesensei.jobs.scheduler import Housekeeper
from tubesensei.jobs.system import JobSystem, make_worker_id
from tubesensei.jobs.tasks import TASKS
from tubesensei.jobs.wakeup import WakeListener
from tubesensei.jobs.worker import WorkerPool
from tubesensei.logging import get_logger
from tubesensei.queries.jobs import waiting_summary
from tubesensei.queries.state import QueueStatus

log = get_logger("tubesensei.consumer")


MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas (as MALLOC_ARENA_MAX does) before the worker threads start.

    glibc gives threads that allocate at the same time arenas of their own, up to eight per
    core, and memory freed in one arena is not reused by another: with 8 workers a
    consumer's RSS grew by a few MB per thread of fragments (SQLite's page caches, result
    rows). Python's own objects live in pymalloc's pools either way; the threads mostly wait
    for the database or the GIL, so fewer arenas cost nothing measurable. Skipped when
    MALLOC_ARENA_MAX is set, and off glibc (no mallopt)."""
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, arenas))


class MetricsUnavailable(Exception):
    """The metrics endpoint could not be served on ``port`` (taken, or not ours to use)."""

    def __init__(self, port: int | None, error: OSError) -> None:
        self.port, self.reason = port, error.strerror or str(error)
        super().__init__(f"cannot serve metrics on port {port}: {self.reason}")


@dataclass
class ConsumerSummary:
    outcomes: dict[str, int]
    elapsed_s: float
    reaped_at_start: int
    remaining: dict[str, Any] = field(default_factory=dict)
    """Per queue: jobs still pending/retrying/running, and the earliest retry."""
    holds: dict[str, QueueStatus] = field(default_factory=dict)
    """Per queue: its pause and breaker as the consumer stopped."""
    failure: str | None = None
    """Why it stopped when nobody asked it to (a full disk in --burst mode)."""


class Consumer:
    def __init__(
        self,
        system: JobSystem,
        *,
        workers: int | None = None,
        queues: Sequence[str] = QUEUES,
        burst: bool = False,
        burst_wait: float = 60.0,
        grace_seconds: float | None = None,
        metrics_port: int | None = None,
        metrics_port_required: bool = False,
        periodic_tasks: bool = True,
    ) -> None:
        limits = system.settings.limits
        self.system = system
        max_threads = limits.max_concurrent_jobs
        threads = max(1, min(workers or limits.worker_concurrency, max_threads))
        self.queues = [q for q in QUEUES if q in queues]
        self.burst = burst
        self.burst_wait = burst_wait
        self.grace_seconds = (
            limits.shutdown_grace_seconds if grace_seconds is None else grace_seconds
        )
        self.metrics_port = metrics_port
        self.metrics_port_required = metrics_port_required
        self.periodic_tasks = periodic_tasks
        self.worker_id = make_worker_id()
        self.metrics = JobMetrics()
        self.executor = Executor(system, self.worker_id, TASKS, self.metrics)
        self.pool = WorkerPool(system, self.executor, self.queues, threads, max_threads)
        self.housekeeper = Housekeeper(self)
        on_sqlite = system.db.dialect == "sqlite"
        self.disk = DiskSpace(system.settings.resolved_data_dir if on_sqlite else None,
                              self.housekeeper.heartbeat)
        self.executor.disk = self.disk
        self.failure: str | None = None  # why the consumer stopped, when it was not asked to
        self.metrics_server: Any = None
        self.reaped_at_start = 0
        self._stop = threading.Event()
        self._listener: Any = None  # wake-ups: WakeListener (SQLite) or RedisWaker
        self._started = 0.0
        self._signals = 0
        self._signalled = False

    @property
    def concurrency(self) -> dict[str, int]:
        return self.pool.concurrency

    @property
    def threads_wanted(self) -> int:
        return self.pool.threads_wanted

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._started = time.monotonic()
        limit_malloc_arenas()
        if self.metrics_port is not None:  # first: a port problem must leave nothing behind
            self.metrics_server = self._serve_metrics()
        system = self.system
        system.install_executor(self.executor.run)
        system.workers.register(self.worker_id, socket.gethostname(), os.getpid(), self.queues,
                                dict(self.pool.concurrency), self.pool.threads_wanted)
        refresh_statistics(system.engine, only_if_missing=True)
        # Recover at once what a dead process left behind, and give orphans a message.
        self.reaped_at_start = reap(system, force_orphan_scan=True).total
        self.pool.refresh_status()
        self.pool.refresh_rate_limit()
        queue = system.settings.queue
        if queue.backend == "sqlite":
            self._listener = WakeListener(system.settings.resolved_data_dir, self.pool.wake)
            self._listener.start()
        else:  # wake-ups from any machine
            from tubesensei.jobs.redis_queue import RedisWaker

            url = queue.url.get_secret_value() if queue.url else ""
            self._listener = RedisWaker(url, queue.prefix).listen(self.pool.wake)
        self.pool.resize()
        self.housekeeper.start()
        log.info("consumer started", worker_id=self.worker_id, workers=self.pool.threads_wanted,
                 queues=self.queues, burst=self.burst, pid=os.getpid(),
                 metrics_port=self.metrics_server.server_port if self.metrics_server else None)

    def _serve_metrics(self) -> Any:
        """Serve metrics on the configured port; if another consumer on this machine has it
        (and the port was not asked for explicitly), take a free one and say which."""
        host = self.system.settings.metrics.host
        try:
            return serve_metrics(self.system, self.metrics, host, self.metrics_port or 0)
        except OSError as exc:
            if self.metrics_port_required or not self.metrics_port:
                raise MetricsUnavailable(self.metrics_port, exc) from None
        try:
            server = serve_metrics(self.system, self.metrics, host, 0)
        except OSError as exc:
            raise MetricsUnavailable(0, exc) from None
        log.warning("metrics port in use: serving on another", wanted=self.metrics_port,
                    port=server.server_port)
        return server

    def run(self, install_signals: bool = True) -> ConsumerSummary:
        """Start, wait until stopped (signal, or burst finished), shut down gracefully.

        Signal handlers can only be installed from the main thread (embedders such as the
        TUI run the consumer elsewhere and call ``stop()`` themselves)."""
        previous: dict[int, Any] = {}
        dumps = False
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._on_signal)
            dumps = self._dump_stacks_on_sigusr1()
        try:
            self.start()
            # Sleep, not Event.wait: a signal handler runs on this thread, and one that set
            # an Event the thread is waiting on would deadlock on the Event's own lock.
            while not self._stop.is_set() and not self._signalled:
                time.sleep(0.1)
            return self.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if dumps:
                faulthandler.unregister(signal.SIGUSR1)

    @staticmethod
    def _dump_stacks_on_sigusr1() -> bool:
        """``kill -USR1 PID``: every thread's stack on stderr, for a consumer that seems
        stuck (what each worker waits on); it goes on working. Not on Windows, nor when
        stderr is no file (a consumer run in-process with its output captured)."""
        if not hasattr(signal, "SIGUSR1"):
            return False
        try:
            faulthandler.register(signal.SIGUSR1, all_threads=True)
        except (OSError, ValueError):  # stderr has no file descriptor
            return False
        return True

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once; the reaper will recover running jobs")
            os._exit(130)
        self._signalled = True  # no locks in a signal handler: run() notices within 0.1 s

    def fail(self, reason: str) -> None:
        """Stop because work cannot go on (``--burst`` on a full disk): exit 1."""
        if self.failure is None:
            self.failure = reason
            log.error("consumer stopping", reason=reason)
        self.stop()

    def stop(self) -> None:
        """Stop taking work; ``run()`` then shuts down gracefully."""
        self._stop.set()
        self.pool.stop()

    def wake(self) -> None:
        self.pool.wake()

    def shutdown(self) -> ConsumerSummary:
        if self._signalled:
            log.info("signal received: finishing running jobs")
        self._stop.set()
        self.pool.stop()
        executor = self.executor
        deadline = time.monotonic() + self.grace_seconds
        # Give running jobs the grace period to finish; then ask them to stop at a checkpoint.
        while executor.inflight_ids() and time.monotonic() < deadline - 1:
            time.sleep(0.05)
        executor.stopping.set()
        while executor.inflight_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        leftover = {**self.disk.take_stranded(), **executor.inflight_jobs()}
        if leftover:
            try:
                back = self.system.ledger.put_back(list(leftover),
                                                   "consumer stopped before it ended")
            except Exception as exc:
                if not is_disk_full(exc):
                    raise
                log.warning("jobs left running in the ledger: the disk is full; the reaper "
                            "puts them back once there is space", jobs=sorted(leftover))
            else:
                self.system.send([(leftover[i].job_type, i, leftover[i].priority, None)
                                  for i in back])
                log.warning("jobs put back at shutdown", jobs=back)
        self.pool.join(timeout=1.0)
        self.housekeeper.stop(timeout=1.0)
        if self._listener is not None:
            self._listener.stop()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
        try:
            self.system.workers.stopped(self.worker_id)
        except Exception as exc:
            if not is_disk_full(exc):
                raise  # (a full disk: the row goes stale and live lists drop it)
        self.system.install_executor(None)
        self.system.ledger.release()
        executor.lines.summary(force=True)
        summary = ConsumerSummary(dict(executor.outcomes), time.monotonic() - self._started,
                                  self.reaped_at_start, self.system.db.query(waiting_summary),
                                  self.system.control.statuses(), self.failure)
        log.info("consumer stopped", outcomes=summary.outcomes,
                 elapsed_s=round(summary.elapsed_s, 2))
        return summary
