"""The worker threads of one consumer: which queue a thread takes its next message from, and
the loop that runs it (Huey's ``Worker``, for several queues with per-queue caps).

Every queue has a concurrency cap (default: the ``--workers`` value; ``batch`` 1, see
registry.QUEUE_CAPS); the pool runs as many
threads as the largest cap (at most ``limits.max_concurrent_jobs``), and each thread takes
the next message from the queues in turn, skipping a queue that is at its cap, paused,
behind an open breaker, or (transcripts) waiting for the rate limit. When a breaker's
cool-down is over, one thread wins the half-open probe. ``workers scale QUEUE N`` changes a
cap live (the housekeeper reads it back with each heartbeat). A background queue (``batch``,
registry.QUEUE_SHARES) rests after each of its jobs while other queues' jobs are running, so
that it takes at most its share of the consumer's time and write lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tubesensei.jobs.diskspace import is_disk_full
from tubesensei.jobs.registry import QUEUE_CAPS, QUEUE_SHARES, TRANSCRIPTS
from tubesensei.jobs.runner import Executor, InFlight
from tubesensei.jobs.system import JobSystem
from tubesensei.logging import RepeatedErrors, get_logger
from tubesensei.queries.state import QueueStatus

log = get_logger("tubesensei.consumer")


class WorkerPool:
    def __init__(self, system: JobSystem, executor: Executor, queues: Sequence[str],
                 threads: int, max_threads: int) -> None:
        self.system = system
        self.executor = executor
        self.queues = list(queues)
        self.max_threads = max_threads
        self.concurrency = {q: min(threads, QUEUE_CAPS.get(q, threads)) for q in self.queues}
        self._idle = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running: dict[str, int] = {q: 0 for q in self.queues}
        self._retire = 0
        self._thread_seq = 0
        self._hung: set[str] = set()  # threads whose job hit the hard time limit
        self._turn = 0
        self._status: dict[str, QueueStatus] = {}
        self._probe_taken = False
        self._wakes = 0  # wake-ups so far: a worker that saw none since its look may sleep
        # A queue found empty is not asked again until something may have changed: a wake-up
        # (work submitted anywhere, retries come due) or a worker's fallback poll. With Redis
        # every look is a round trip, and most of them were at the queues with no work.
        self._looks = 0
        self._empty_since: dict[str, int] = {}
        self._next_free = 0.0  # the rate limit's next slot, refreshed by housekeeping
        self._rest_until: dict[str, float] = {}  # background queues resting (monotonic)
        self._errors = RepeatedErrors(log)
        executor.on_queue_state_change = self.refresh_status
        executor.on_rate_limit_reserved = self._note_reservation

    # -- size -----------------------------------------------------------------------------

    @property
    def threads_wanted(self) -> int:
        return max(1, min(self.max_threads, max(self.concurrency.values(), default=1)))

    def threads_alive(self) -> int:
        return sum(1 for t in self._threads if t.is_alive())

    def resize(self) -> None:
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
        self.executor.metrics.consumer_threads.set(self.threads_wanted)

    def set_concurrency(self, changed: dict[str, int]) -> None:
        """New per-queue caps (``workers scale``): threads follow at once."""
        self.concurrency.update(changed)
        self.resize()
        self.wake()

    def abandon(self, overdue: Sequence[InFlight]) -> None:
        """Threads stuck in jobs past their hard time limit: count them out, replace them."""
        with self._idle:
            for entry in overdue:
                self._hung.add(entry.thread)
                self._running[entry.job.queue] -= 1
        self.resize()

    # -- state the selection reads -------------------------------------------------------

    def refresh_status(self) -> None:
        self._status = self.system.control.statuses()

    def statuses(self) -> dict[str, QueueStatus]:
        return self._status

    def _note_reservation(self, next_at: float) -> None:
        self._next_free = max(self._next_free, next_at)

    def refresh_rate_limit(self) -> None:
        """One read per housekeeping tick instead of one per take (the workers' hot path)."""
        limiter = self.executor.limiter
        if TRANSCRIPTS in self.queues and limiter.enabled:
            before = self._next_free
            self._next_free = limiter.next_free()
            if before > time.time() >= self._next_free - 0.25:
                self.wake()  # the next slot has come: let a worker take it

    def busy(self) -> bool:
        """Whether any thread is running a job."""
        with self._idle:
            return any(self._running.values())

    # -- the loop -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()
        self.wake()

    def wake(self) -> None:
        with self._idle:
            self._wakes += 1
            self._looks += 1
            self._idle.notify_all()

    def join(self, timeout: float) -> None:
        for t in self._threads:
            t.join(timeout=timeout)

    def _may_take(self, queue: str, now: datetime) -> bool:
        """Whether a thread may take a message from ``queue`` now (under self._idle)."""
        if self._running[queue] >= self.concurrency.get(queue, 0):
            return False
        if self.executor.disk is not None and self.executor.disk.full:
            return False  # nothing can be written: wait for space (jobs/diskspace.py)
        if self._empty_since.get(queue) == self._looks:
            return False  # empty at the last look, and nothing has happened since
        if self._rest_until.get(queue, 0.0) > time.monotonic():
            return False  # a background queue giving way to the others (see _rest)
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
                probe = self.system.control.try_probe(queue, stale)
                if not probe:
                    with self._idle:
                        self._running[queue] -= 1
                    continue
            task = None
            with self._idle:
                looks = self._looks
            try:
                task = self.system.queues.hueys[queue].dequeue()
            finally:
                if task is None:
                    with self._idle:
                        self._running[queue] -= 1
                        self._empty_since[queue] = looks
                    if probe:
                        self.system.control.reopen_for_probe(queue)
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
        now = time.monotonic()
        with self._idle:
            rests = [t - now for t in self._rest_until.values() if t > now]
        if rests:
            wait = min(wait, min(rests))
        return max(wait, 0.01)

    def _rest(self, queue: str, took: float) -> None:
        """After a job of a background queue: while other queues have jobs running, the queue
        rests long enough that its thread keeps to its share of the time (under self._idle)."""
        share = QUEUE_SHARES.get(queue)
        if share is None:
            return
        others = any(n for q, n in self._running.items() if q != queue)
        self._rest_until[queue] = (time.monotonic() + took * (1 / share - 1)) if others else 0.0

    def _execute(self, queue: str, task: Any) -> None:
        """Run a message's task. Huey is the transport only: its revocations, expiry, locks,
        retries and signals are not used (the ledger decides all of that), so the task runs
        directly instead of through ``Huey.execute``, which read the revoke keys before and
        after every task (two queries per job that never find anything). A message due
        later goes back to the schedule, as Huey would do."""
        huey = self.system.queues.hueys[queue]
        if not huey.ready_to_run(task):
            huey.add_schedule(task)
            return
        task.execute()

    def _work(self) -> None:
        try:
            while not self._stop.is_set():
                with self._idle:
                    if self._retire > 0:
                        self._retire -= 1
                        return
                    seen = self._wakes
                try:
                    found = self._take()
                except Exception as exc:
                    if is_disk_full(exc) and self.executor.disk is not None:
                        self.executor.disk.noticed(exc)
                    else:
                        self._errors.failed("queue", "reading the queue failed")
                    found = None
                else:
                    self._errors.succeeded("queue", "reading the queue works again")
                if found is None:
                    wait = self._idle_wait()
                    with self._idle:  # a wake-up that came during the look is not lost
                        if (not self._stop.is_set() and self._wakes == seen
                                and not self._idle.wait(wait)):
                            self._looks += 1  # the fallback poll: look everywhere again
                    continue
                queue, task, probe = found
                self.executor.mark_probe(probe)
                started = time.monotonic()
                try:
                    self._execute(queue, task)
                except Exception as exc:
                    if is_disk_full(exc) and self.executor.disk is not None:
                        self.executor.disk.noticed(exc)
                    else:
                        log.exception("unhandled error running a task", task=str(task))
                with self._idle:
                    hung = threading.current_thread().name in self._hung
                    if not hung:
                        self._running[queue] -= 1
                        self._rest(queue, time.monotonic() - started)
                if hung:  # a replacement took this thread's place long ago
                    return
                if probe:
                    self._probe_taken = False
                    self.refresh_status()
        finally:
            self.executor.release_thread_resources()
