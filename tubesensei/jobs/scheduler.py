"""The housekeeping thread of one consumer (Huey's ``Scheduler``, and more).

Every tick (a quarter second) it moves due retries into their queues and refreshes the rate
limit's next slot; every second the queues' pauses and breakers; every heartbeat interval it
heartbeats the in-flight jobs and the consumer's registry row (one UPDATE each) and picks up
``workers scale``; it fails jobs past their hard time limit; it runs the reaper every 30 s and
the periodic tasks once a minute; every five minutes it refreshes the query planner's
statistics of tables whose size has moved twofold; in burst mode it decides when the work is done.

Each step is guarded on its own: one that fails is logged (once, then once a minute with a
count while it keeps failing, e.g. while the database is down) and the others (and the burst
check) still run, so a broken step can never keep a consumer from finishing or stopping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tubesensei.db.engine import refresh_stale_statistics
from tubesensei.jobs import periodic
from tubesensei.jobs.diskspace import is_disk_full
from tubesensei.jobs.reaper import reap
from tubesensei.logging import RepeatedErrors, get_logger
from tubesensei.queries import jobs as Q

if TYPE_CHECKING:
    from tubesensei.jobs.consumer import Consumer

log = get_logger("tubesensei.consumer")

REAPER_INTERVAL_SECONDS = 30.0
HOUSEKEEPING_INTERVAL_SECONDS = 0.25
STATE_REFRESH_SECONDS = 1.0
# How often the planner statistics are checked for tables that have grown or shrunk.
STATISTICS_INTERVAL_SECONDS = 300.0


def next_minute(now: datetime | None = None) -> datetime:
    now = now or datetime.now(UTC)
    return now.replace(second=0, microsecond=0) + timedelta(minutes=1)


class Housekeeper:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.system = consumer.system
        self.pool = consumer.pool
        self.executor = consumer.executor
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = time.monotonic()
        self._next_beat = self._next_state = now
        self._next_reap = now + REAPER_INTERVAL_SECONDS
        self._next_minute = next_minute()
        self._statistics_due = now + STATISTICS_INTERVAL_SECONDS
        self._errors = RepeatedErrors(log)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="tubesensei-house", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        steps: list[tuple[str, Callable[[], None]]] = [
            ("disk space", self._disk_space),
            ("moving due messages", self.move_due_messages),
            ("reading the rate limit", self.pool.refresh_rate_limit),
            ("reading queue states", self._states),
            ("heartbeat", self._heartbeat),
            ("hard time limits", self._time_limits),
            ("reaper", self._reaper),
            ("periodic tasks", self._periodic),
            ("planner statistics", self._statistics),
            ("log summary", self.executor.lines.summary),
        ]
        if self.consumer.burst:
            steps.append(("burst check", self._burst_check))
        disk = self.consumer.disk
        while not self._stop.wait(HOUSEKEEPING_INTERVAL_SECONDS):
            for what, step in steps:
                if disk.full and what != "disk space":
                    continue  # every write would fail: only the probe runs until there is space
                try:
                    step()
                except Exception as exc:
                    if is_disk_full(exc):
                        disk.noticed(exc)
                        continue
                    self._errors.failed(what, "housekeeping step failed", step=what)
                else:
                    self._errors.succeeded(what, "housekeeping step working again")

    def _disk_space(self) -> None:
        """While the disk is full: stop (--burst), or report once a minute and probe for
        space; when it is back, put back the jobs held meanwhile and wake the workers."""
        disk = self.consumer.disk
        if not disk.full:
            return
        if self.consumer.burst:
            self.consumer.fail(f"the disk is full ({disk.reason})")
            return
        disk.report_if_due()
        if not (disk.due_for_probe() and disk.has_space()):
            return
        held = disk.take_stranded()
        try:
            back = self.system.ledger.put_back(list(held), "the disk was full")
        except Exception:
            disk.stranded.update(held)  # not yet: the next probe tries again
            raise
        self.system.send([(held[i].job_type, i, held[i].priority, None) for i in back])
        disk.recovered(len(back))
        self.pool.wake()

    def _statistics(self) -> None:
        """Every STATISTICS_INTERVAL_SECONDS: fresh planner statistics for tables whose size
        has moved twofold (a corpus growing from nothing would otherwise keep the plans
        chosen for one-row tables until the nightly prune)."""
        now = time.monotonic()
        if now < self._statistics_due:
            return
        self._statistics_due = now + STATISTICS_INTERVAL_SECONDS
        analysed = refresh_stale_statistics(self.system.engine)
        if analysed:
            log.info("planner statistics refreshed", tables=analysed)

    def _burst_check(self) -> None:
        if self.burst_finished():
            log.info("burst finished: nothing runnable or due soon")
            self.consumer.stop()

    # -- the steps ------------------------------------------------------------------------

    def move_due_messages(self) -> None:
        moved = 0
        for queue in self.pool.queues:
            huey = self.system.queues.hueys[queue]
            for task in huey.read_schedule():
                huey.enqueue(task)
                moved += 1
        if moved:
            self.pool.wake()

    def _states(self) -> None:
        now = time.monotonic()
        if now >= self._next_state:
            self.pool.refresh_status()
            self._next_state = now + STATE_REFRESH_SECONDS

    def _heartbeat(self) -> None:
        now = time.monotonic()
        if now < self._next_beat:
            return
        self._next_beat = now + self.system.settings.limits.heartbeat_seconds
        self.heartbeat()

    def heartbeat(self) -> None:
        """In-flight jobs and the registry row; apply a ``workers scale`` read back from it."""
        c = self.consumer
        # The caps first: the row then shows the threads that serve the caps it shows.
        wanted = self.system.workers.wanted(c.worker_id)
        concurrency = self.pool.concurrency
        changed = {q: max(0, int(n)) for q, n in wanted.items()
                   if q in concurrency and concurrency[q] != int(n)}
        if changed:
            log.info("concurrency changed", **changed)
            self.pool.set_concurrency(changed)
        inflight = self.executor.inflight_ids()
        self.system.ledger.heartbeat(c.worker_id, inflight)
        outcomes = self.executor.outcomes
        self.system.workers.heartbeat(
            c.worker_id, threads=self.pool.threads_wanted, inflight=len(inflight),
            processed=sum(outcomes.values()), failed=outcomes.get("failed", 0),
        )
        self.executor.metrics.consumer_inflight.set(len(inflight))

    def _time_limits(self) -> None:
        overdue = self.executor.abandon_overdue()
        if overdue:
            self.pool.abandon(overdue)

    def _reaper(self) -> None:
        now = time.monotonic()
        if now >= self._next_reap:
            self._next_reap = now + REAPER_INTERVAL_SECONDS
            reap(self.system, own=set(self.executor.inflight_ids()))

    def _periodic(self) -> None:
        if self.consumer.periodic_tasks and datetime.now(UTC) >= self._next_minute:
            slot, self._next_minute = self._next_minute, next_minute()
            periodic.run_due(self.system, self.consumer.worker_id, slot)

    # -- burst ----------------------------------------------------------------------------

    def burst_finished(self) -> bool:
        """Nothing running here, no message this consumer may take, nothing runnable, running
        or due within ``burst_wait`` in the queues it serves (jobs held by a pause wait past
        the burst)."""
        if self.pool.busy():
            return False
        now = datetime.now(UTC)
        statuses = self.pool.statuses()
        sizes = self.system.queue_sizes()
        for q in self.pool.queues:
            status = statuses.get(q)
            held = status is not None and status.blocked_until(now) is not None
            if sizes[q]["queued"] and not held:
                return False
        horizon = now + timedelta(seconds=self.consumer.burst_wait)
        # Only the queues this consumer serves: `--queue discovery --burst` ends when the
        # discovery work is done, whatever waits in queues it does not take from.
        served = list(self.pool.queues)
        runnable, running, due = self.system.db.query(Q.burst_state, horizon, served)
        if running or due is not None:
            return False
        if runnable:
            # Runnable jobs in a queue that is held (paused, breaker) wait past the burst;
            # anything else lacks a message: give it one and keep going.
            held_queues = {q for q, st in statuses.items() if st.blocked_until(now)}
            if not held_queues:
                reap(self.system, own=set(self.executor.inflight_ids()))
                return False
            return self.system.db.query(Q.runnable_outside, held_queues, served) == 0
        return True  # nothing runnable, running or due soon
