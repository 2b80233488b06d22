"""``run-consumer``: worker threads over the Huey queues, plus the housekeeping thread.

Why not Huey's own Consumer: it serves one Huey instance (we have a queue per instance), its
idle workers poll with a back-off that reaches 10 s, and its thread count is fixed. This
consumer uses Huey's primitives (``dequeue``, ``execute``, ``read_schedule``) and adds:

- **Shared threads.** ``--workers N`` threads serve all the consumer's queues; each thread
  takes the next message from the queues in turn (no queue can starve another). At most
  ``limits.max_concurrent_jobs`` jobs run at once whatever N is.
- **Wake-ups.** Submitting work pokes idle consumers (jobs/wakeup.py), so a job enqueued from
  another process starts within milliseconds; polling every ``queue.poll_interval_seconds``
  is only the fallback.
- **Housekeeping.** One thread moves due scheduled messages (retries) into their queues,
  heartbeats in-flight jobs (one UPDATE), and runs the reaper at start and every 30 s.
- **Shutdown.** SIGINT/SIGTERM: stop taking work, let running jobs reach a checkpoint within
  the grace period, put back what did not finish, exit 0. A second signal exits at once (the
  reaper recovers the rest).
- **Burst.** Work until no job is runnable and none is due within ``burst_wait`` seconds.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tubesensei.jobs import ledger as L
from tubesensei.jobs.queues import QUEUES
from tubesensei.jobs.reaper import reap
from tubesensei.jobs.runner import Executor
from tubesensei.jobs.system import JobSystem, make_worker_id
from tubesensei.jobs.tasks import TASKS
from tubesensei.jobs.wakeup import WakeListener
from tubesensei.logging import get_logger

log = get_logger("tubesensei.consumer")

REAPER_INTERVAL_SECONDS = 30.0
SCHEDULE_INTERVAL_SECONDS = 0.5


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
        grace_seconds: float = 30.0,
    ) -> None:
        limits = system.settings.limits
        self.system = system
        self.workers = max(1, min(workers or limits.worker_concurrency, limits.max_concurrent_jobs))
        self.queues = [q for q in QUEUES if q in queues]
        self.burst = burst
        self.burst_wait = burst_wait
        self.grace_seconds = grace_seconds
        self.worker_id = make_worker_id()
        self.executor = Executor(system, self.worker_id, TASKS)
        self._stop = threading.Event()  # stop taking work
        self._idle = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._turn = 0
        self._listener: WakeListener | None = None
        self._started = 0.0
        self.reaped_at_start = 0
        self._signals = 0

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        self._started = time.monotonic()
        self.system.install_executor(self.executor.run)
        # Recover at once what a dead process left behind, and give orphans a message.
        self.reaped_at_start = reap(self.system, force_orphan_scan=True).total
        if self.system.settings.queue.backend == "sqlite":
            self._listener = WakeListener(self.system.settings.resolved_data_dir, self.wake)
            self._listener.start()
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"tubesensei-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        housekeeping = threading.Thread(target=self._housekeeping, name="tubesensei-house",
                                        daemon=True)
        housekeeping.start()
        self._threads.append(housekeeping)
        log.info("consumer started", worker_id=self.worker_id, workers=self.workers,
                 queues=self.queues, burst=self.burst, pid=os.getpid())

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
            while not self._stop.wait(0.2):
                pass
            return self.shutdown()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting at once; the reaper will recover running jobs")
            os._exit(130)
        log.info("signal received: finishing running jobs", signal=signum)
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        with self._idle:
            self._idle.notify_all()

    def shutdown(self) -> ConsumerSummary:
        self._stop.set()
        self.wake()
        deadline = time.monotonic() + self.grace_seconds
        # Give running jobs the grace period to finish; then ask them to stop at a checkpoint.
        while self.executor.inflight_ids() and time.monotonic() < deadline - 1:
            time.sleep(0.05)
        self.executor.stopping.set()
        while self.executor.inflight_ids() and time.monotonic() < deadline:
            time.sleep(0.05)
        leftover = self.executor.inflight_ids()
        if leftover:
            back = self.system.ledger.put_back(leftover, "consumer stopped before the job ended")
            jobs = {j.job.id: j.job for j in self.executor.inflight.values()}
            self.system.send([(jobs[i].job_type, i, jobs[i].priority, None)
                              for i in back if i in jobs])
            log.warning("jobs put back at shutdown", jobs=back)
        for t in self._threads:
            t.join(timeout=1.0)
        if self._listener is not None:
            self._listener.stop()
        self.system.install_executor(None)
        summary = ConsumerSummary(dict(self.executor.outcomes), time.monotonic() - self._started,
                                  self.reaped_at_start, self.remaining())
        log.info("consumer stopped", outcomes=summary.outcomes,
                 elapsed_s=round(summary.elapsed_s, 2))
        return summary

    # -- workers ------------------------------------------------------------------------

    def _next_task(self) -> Any:
        n = len(self.queues)
        for i in range(n):
            queue = self.queues[(self._turn + i) % n]
            task = self.system.queues.hueys[queue].dequeue()
            if task is not None:
                self._turn = (self._turn + i + 1) % n
                return queue, task
        return None

    def _work(self) -> None:
        poll = self.system.settings.queue.poll_interval_seconds
        try:
            while not self._stop.is_set():
                try:
                    found = self._next_task()
                except Exception:
                    log.exception("reading the queue failed")
                    found = None
                    self._stop.wait(poll)
                if found is None:
                    with self._idle:
                        if not self._stop.is_set():
                            self._idle.wait(poll)
                    continue
                queue, task = found
                with self._idle:
                    self._busy += 1
                try:
                    self.system.queues.hueys[queue].execute(task)
                except Exception:
                    log.exception("unhandled error running a task", task=str(task))
                finally:
                    with self._idle:
                        self._busy -= 1
        finally:
            self.executor.release_thread_resources()

    # -- housekeeping -------------------------------------------------------------------

    def _housekeeping(self) -> None:
        limits = self.system.settings.limits
        next_beat = next_reap = time.monotonic()
        next_reap += REAPER_INTERVAL_SECONDS
        while not self._stop.wait(SCHEDULE_INTERVAL_SECONDS):
            try:
                self._move_due_messages()
                now = time.monotonic()
                if now >= next_beat:
                    self.system.ledger.heartbeat(self.worker_id, self.executor.inflight_ids())
                    next_beat = now + limits.heartbeat_seconds
                if now >= next_reap:
                    reap(self.system, own=set(self.executor.inflight_ids()))
                    next_reap = now + REAPER_INTERVAL_SECONDS
                if self.burst and self._burst_finished():
                    log.info("burst finished: nothing runnable or due soon")
                    self.stop()
            except Exception:
                log.exception("housekeeping failed")

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
            if self._busy:
                return False
        sizes = self.system.queues.queue_sizes()
        if any(sizes[q]["queued"] for q in self.queues):
            return False
        horizon = datetime.now(UTC) + timedelta(seconds=self.burst_wait)
        runnable, running, due = L.burst_state(self.system.engine, horizon)
        if runnable or running or due is not None:
            if runnable:  # runnable jobs without a message: give them one
                reap(self.system, own=set(self.executor.inflight_ids()))
            return False
        return True

    def remaining(self) -> dict[str, Any]:
        """What is still waiting when we stop: per queue, counts and the next retry time."""
        return L.waiting_summary(self.system.engine)
