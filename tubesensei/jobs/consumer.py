"""``run-consumer``: worker threads over the Huey queues, plus the housekeeping thread.

Why not Huey's own Consumer: it serves one Huey instance (we have a queue per instance), its
idle workers poll with a back-off that reaches 10 s, and its thread count is fixed. This
consumer uses Huey's primitives (``dequeue``, ``execute``, ``read_schedule``) and adds:

- **Shared threads, per-queue caps.** Every queue has a concurrency cap (default: the
  ``--workers`` value); the consumer runs as many threads as the largest cap (at most
  ``limits.max_concurrent_jobs``), and each thread takes the next message from the queues in
  turn, skipping a queue that is at its cap, paused, behind an open breaker, or (transcripts)
  waiting for the rate limit. ``workers scale QUEUE N`` changes a cap live.
- **Wake-ups.** Submitting work pokes idle consumers (jobs/wakeup.py), so a job enqueued from
  another process starts within milliseconds; polling every ``queue.poll_interval_seconds``
  is only the fallback.
- **Housekeeping.** One thread moves due retries into their queues, heartbeats in-flight jobs
  and the consumer's registry row (one UPDATE each), enforces hard time limits, runs the
  reaper at start and every 30 s and the periodic tasks once a minute.
- **Shutdown.** SIGINT/SIGTERM: stop taking work, let running jobs reach a checkpoint within
  the grace period, put back what did not finish, exit 0. A second signal exits at once (the
  reaper recovers the rest).
- **Burst.** Work until no job is runnable and none is due within ``burst_wait`` seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tubesensei.db.engine import refresh_statistics
from tubesensei.jobs import periodic
from tubesensei.jobs import queries as Q
from tubesensei.jobs.control import QueueControl, QueueStatus
from tubesensei.jobs.metrics import JobMetrics, serve_metrics
from tubesensei.jobs.queues import QUEUES, TRANSCRIPTS
from tubesensei.jobs.reaper import reap
from tubesensei.jobs.runner import Executor
from tubesensei.jobs.system import JobSystem, make_worker_id
from tubesensei.jobs.tasks import TASKS
from tubesensei.jobs.wakeup import WakeListener
from tubesensei.jobs.workers import WorkerRegistry
from tubesensei.logging import get_logger

log = get_logger("tubesensei.consumer")

REAPER_INTERVAL_SECONDS = 30.0
HOUSEKEEPING_INTERVAL_SECONDS = 0.25
STATE_REFRESH_SECONDS = 1.0


@dataclass
class ConsumerSummary:
    outcomes: dict[str, int]
    elapsed_s: float
    reaped_at_start: int
    remaining: dict[str, Any] = field(default_factory=dict)


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
        self.max_threads = limits.max_concurrent_jobs
        n = max(1, min(workers or limits.worker_concurrency, self.max_threads))
        self.queues = [q for q in QUEUES if q in queues]
        self.concurrency = {q: n for q in self.queues}
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
        self.executor.on_queue_state_change = self._refresh_status
        self.executor.on_rate_limit_reserved = self._note_reservation
        self.control = QueueControl(system.engine)
        self.registry = WorkerRegistry(system.engine)
        self.metrics_server: Any = None
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._housekeeper: threading.Thread | None = None
        self._running: dict[str, int] = {q: 0 for q in self.queues}
        self._retire = 0
        self._thread_seq = 0
        self._hung: set[str] = set()  # threads whose job hit the hard time limit
        self._turn = 0
        self._status: dict[str, QueueStatus] = {}
        self._probe_taken = False
        self._listener: WakeListener | None = None
        self._started = 0.0
        self.reaped_at_start = 0
        self._signals = 0
        self._wakes = 0  # wake-ups so far: a worker that saw none since its look may sleep
        self._next_free = 0.0  # the rate limit's next slot, refreshed by housekeeping
        self._signalled = False

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def threads_wanted(self) -> int:
        return max(1, min(self.max_threads, max(self.concurrency.values(), default=1)))

    def start(self) -> None:
        self._started = time.monotonic()
        if self.metrics_port is not None:  # first: a port problem must leave nothing behind
            self.metrics_server = self._serve_metrics()
        self.system.install_executor(self.executor.run)
        self.registry.register(self.worker_id, socket.gethostname(), os.getpid(), self.queues,
                               dict(self.concurrency), self.threads_wanted)
        refresh_statistics(self.system.engine, only_if_missing=True)
        # Recover at once what a dead process left behind, and give orphans a message.
        self.reaped_at_start = reap(self.system, force_orphan_scan=True).total
        self._refresh_status()
        self._refresh_rate_limit()
        if self.system.settings.queue.backend == "sqlite":
            self._listener = WakeListener(self.system.settings.resolved_data_dir, self.wake)
            self._listener.start()
        self._resize()
        self._housekeeper = threading.Thread(target=self._housekeeping,
                                             name="tubesensei-house", daemon=True)
        self._housekeeper.start()
        log.info("consumer started", worker_id=self.worker_id, workers=self.threads_wanted,
                 queues=self.queues, burst=self.burst, pid=os.getpid(),
                 metrics_port=self.metrics_server.server_port if self.metrics_server else None)

    def _serve_metrics(self) -> Any:
        """Serve metrics on the configured port; if another consumer on this machine has it
        (and the port was not asked for explicitly), take a free one and say which."""
        host = self.system.settings.metrics.host
        try:
            return serve_metrics(self.system, self.metrics, host, self.metrics_port or 0)
        except OSError:
            if self.metrics_port_required or not self.metrics_port:
                raise
        server = serve_metrics(self.system, self.metrics, host, 0)
        log.warning("metrics port in use: serving on another", wanted=self.metrics_port,
                    port=server.server_port)
        return server

    def run(self, install_signals: bool = True) -> ConsumerSummary:
        """Start, wait until stopped (signal, or burst finished), shut down gracefully.

        Signal handlers can only be installed from the main thread (embedders such as the
        TUI run the consumer elsewhere and call ``stop()`` themselves)."""
        previous: dict[int, Any] = {}
        if install_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, self._on_signal)
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

    def _on_signal(self, _signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once; the reaper will recover running jobs")
            os._exit(130)
        self._signalled = True  # no locks in a signal handler: run() notices within 0.1 s

    def stop(self) -> None:
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        with self._idle:
            self._wakes += 1
            self._idle.notify_all()

    def shutdown(self) -> ConsumerSummary:
        if self._signalled:
            log.info("signal received: finishing running jobs")
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + self.grace_seconds
        # Give running jobs the grace period to finish; then ask them to stop at a checkpoint.
        while self.executor.inflight_ids() and time.monotonic() < deadline - 1:
            time.sleep(0.05)
        self.executor.stopping.set()
        while self.executor.inflight_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        with self.executor._lock:
            leftover = {i: e.job for i, e in self.executor.inflight.items()}
        if leftover:
            back = self.system.ledger.put_back(list(leftover), "consumer stopped before it ended")
            self.system.send([(leftover[i].job_type, i, leftover[i].priority, None) for i in back])
            log.warning("jobs put back at shutdown", jobs=back)
        for t in [*self._threads, self._housekeeper]:
            if t is not None:
                t.join(timeout=1.0)
        if self._listener is not None:
            self._listener.stop()
        if self.metrics_server is not None:
            self.metrics_server.shutdown()
            self.metrics_server.server_close()
        self.registry.stopped(self.worker_id)
        self.system.install_executor(None)
        summary = ConsumerSummary(dict(self.executor.outcomes), time.monotonic() - self._started,
                                  self.reaped_at_start, Q.waiting_summary(self.system.engine))
        log.info("consumer stopped", outcomes=summary.outcomes,
                 elapsed_s=round(summary.elapsed_s, 2))
        return summary

    # -- threads ------------------------------------------------------------------------

    def _resize(self) -> None:
        """Start or retire threads to match the largest per-queue cap."""
        with self._idle:
            self._threads = [t for t in self._threads if t.is_alive()]
            alive = sum(1 for t in self._threads if t.name not in self._hung) - self._retire
            wanted = self.threads_wanted
            if wanted > alive:
                for _ in range(wanted - alive):
                    self._thread_seq += 1
                    t = threading.Thread(target=self._work, daemon=True,
                                         name=f"tubesensei-worker-{self._thread_seq}")
                    self._threads.append(t)
                    t.start()
            elif wanted < alive:
                self._retire += alive - wanted
                self._idle.notify_all()
        self.metrics.consumer_threads.set(self.threads_wanted)

    def _may_take(self, queue: str, now: datetime) -> bool:
        """Whether a thread may take a message from ``queue`` now (under self._idle)."""
        if self._running[queue] >= self.concurrency.get(queue, 0):
            return False
        status = self._status.get(queue)
        if status is not None:
            if status.blocked_until(now) is not None:
                return False  # paused, or the breaker's cool-down is not over
            if status.breaker_state != "closed":
                return not self._probe_taken  # this thread will try to win the probe
        if queue == TRANSCRIPTS and self.executor.limiter.enabled:
            return self._next_free <= time.time() + 0.25
        return True

    def _take(self) -> tuple[str, Any, bool] | None:
        now = datetime.now(UTC)
        n = len(self.queues)
        for i in range(n):
            queue = self.queues[(self._turn + i) % n]
            with self._idle:
                if not self._may_take(queue, now):
                    continue
                self._running[queue] += 1
            probe = False
            status = self._status.get(queue)
            if status is not None and status.breaker_state != "closed":
                stale = self.system.settings.limits.stale_after_seconds
                probe = self.control.try_probe(queue, stale)
                if not probe:
                    with self._idle:
                        self._running[queue] -= 1
                    continue
            task = None
            try:
                task = self.system.queues.hueys[queue].dequeue()
            finally:
                if task is None:
                    with self._idle:
                        self._running[queue] -= 1
                    if probe:
                        self.control.reopen_for_probe(queue)
            if task is not None:
                if probe:
                    self._probe_taken = True
                    log.info("breaker half-open: probing with one job", queue=queue)
                self._turn = (self._turn + i + 1) % n
                return queue, task, probe
        return None

    def _idle_wait(self) -> float:
        wait = self.system.settings.queue.poll_interval_seconds
        if TRANSCRIPTS in self.queues and self.executor.limiter.enabled:
            slot = self._next_free - time.time()
            if slot > 0:
                wait = min(wait, slot)
        return max(wait, 0.01)

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                with self._idle:
                    if self._retire > 0:
                        self._retire -= 1
                        return
                with self._idle:
                    seen = self._wakes
                try:
                    found = self._take()
                except Exception:
                    log.exception("reading the queue failed")
                    found = None
                if found is None:
                    wait = self._idle_wait()
                    with self._idle:  # a wake-up that came during the look is not lost
                        if not self._stop.is_set() and self._wakes == seen:
                            self._idle.wait(wait)
                    continue
                queue, task, probe = found
                self.executor.mark_probe(probe)
                try:
                    self.system.queues.hueys[queue].execute(task)
                except Exception:
                    log.exception("unhandled error running a task", task=str(task))
                with self._idle:
                    hung = threading.current_thread().name in self._hung
                    if not hung:
                        self._running[queue] -= 1
                if hung:  # a replacement took this thread's place long ago
                    return
                if probe:
                    self._probe_taken = False
                    self._refresh_status()
        finally:
            self.executor.release_thread_resources()

    # -- housekeeping -------------------------------------------------------------------

    def _refresh_status(self) -> None:
        self._status = self.control.statuses()

    def _housekeeping(self) -> None:
        limits = self.system.settings.limits
        now = time.monotonic()
        next_beat, next_state = now, now
        next_reap = now + REAPER_INTERVAL_SECONDS
        next_minute = _next_minute()
        while not self._stop.wait(HOUSEKEEPING_INTERVAL_SECONDS):
            try:
                self._move_due_messages()
                self._refresh_rate_limit()
                now = time.monotonic()
                if now >= next_state:
                    self._refresh_status()
                    next_state = now + STATE_REFRESH_SECONDS
                if now >= next_beat:
                    self._heartbeat()
                    next_beat = now + limits.heartbeat_seconds
                overdue = self.executor.abandon_overdue()
                if overdue:
                    with self._idle:
                        for entry in overdue:
                            self._hung.add(entry.thread)
                            self._running[entry.job.queue] -= 1
                    self._resize()
                if now >= next_reap:
                    reap(self.system, own=set(self.executor.inflight_ids()))
                    next_reap = now + REAPER_INTERVAL_SECONDS
                if self.periodic_tasks and datetime.now(UTC) >= next_minute:
                    periodic.run_due(self.system, self.worker_id, next_minute)
                    next_minute = _next_minute()
                if self.burst and self._burst_finished():
                    log.info("burst finished: nothing runnable or due soon")
                    self.stop()
            except Exception:
                log.exception("housekeeping failed")

    def _note_reservation(self, next_at: float) -> None:
        self._next_free = max(self._next_free, next_at)

    def _refresh_rate_limit(self) -> None:
        """One read per housekeeping tick instead of one per take (the workers' hot path)."""
        if TRANSCRIPTS in self.queues and self.executor.limiter.enabled:
            before = self._next_free
            self._next_free = self.executor.limiter.next_free()
            if before > time.time() >= self._next_free - 0.25:
                self.wake()  # the next slot has come: let a worker take it

    def _heartbeat(self) -> None:
        inflight = self.executor.inflight_ids()
        self.system.ledger.heartbeat(self.worker_id, inflight)
        outcomes = self.executor.outcomes
        wanted = self.registry.heartbeat(
            self.worker_id, threads=self.threads_wanted, inflight=len(inflight),
            processed=sum(outcomes.values()), failed=outcomes.get("failed", 0),
        )
        self.metrics.consumer_inflight.set(len(inflight))
        changed = {q: max(0, int(n)) for q, n in wanted.items()
                   if q in self.concurrency and self.concurrency[q] != int(n)}
        if changed:
            self.concurrency.update(changed)
            log.info("concurrency changed", **changed)
            self._resize()
            self.wake()

    def _move_due_messages(self) -> None:
        moved = 0
        for queue in self.queues:
            huey = self.system.queues.hueys[queue]
            for task in huey.read_schedule():
                huey.enqueue(task)
                moved += 1
        if moved:
            self.wake()

    def _burst_finished(self) -> bool:
        with self._idle:
            if any(self._running.values()):
                return False
        now = datetime.now(UTC)
        sizes = self.system.queues.queue_sizes()
        for q in self.queues:
            status = self._status.get(q)
            held = status is not None and status.blocked_until(now) is not None
            if sizes[q]["queued"] and not held:
                return False
        horizon = now + timedelta(seconds=self.burst_wait)
        runnable, running, due = Q.burst_state(self.system.engine, horizon)
        if running or due is not None:
            return False
        if runnable:
            # Runnable jobs in a queue that is held (paused, breaker) wait past the burst;
            # anything else lacks a message: give it one and keep going.
            held_queues = {q for q, st in self._status.items() if st.blocked_until(now)}
            if not held_queues:
                reap(self.system, own=set(self.executor.inflight_ids()))
                return False
            return Q.runnable_outside(self.system.engine, held_queues) == 0
        return True  # nothing runnable, running or due soon


def _next_minute() -> datetime:
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)
