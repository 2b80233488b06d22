"""Recovery: nothing is lost when a process dies, whenever it dies.

Huey deletes a message when a worker takes it, so a killed consumer would lose the job it was
running. The ledger closes the hole:

1. ``running`` jobs of a process that no longer exists on this host go back at once;
2. ``running`` jobs whose heartbeat is older than ``limits.stale_after_seconds`` go back
   (their process hung, or lives on another machine that went away);
3. ``pending``/``retrying`` jobs with no message in their queue (a crash between the ledger
   commit and the enqueue, or a message taken by a worker killed before its claim) get one.
   Duplicated messages are harmless: the claim lets one of them run the job.

A put-back job keeps its attempt count (the interrupted attempt is refunded).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from datetime import timedelta

from tubesensei.jobs import ledger as L
from tubesensei.jobs.system import JobSystem
from tubesensei.logging import get_logger
from tubesensei.queries import jobs as Q

log = get_logger("tubesensei.reaper")
# A message is taken and claimed within milliseconds; a pending job this old with no message
# has lost it.
ORPHAN_GRACE_SECONDS = 5.0


@dataclass
class ReapReport:
    dead_process: list[int] = field(default_factory=list)
    stale_heartbeat: list[int] = field(default_factory=list)
    requeued: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.dead_process) + len(self.stale_heartbeat) + len(self.requeued)


def _process_gone(worker_id: str | None, host: str) -> bool:
    if not worker_id:
        return True
    parts = worker_id.split(":")
    if len(parts) < 2 or parts[0] != host:
        return False
    try:
        os.kill(int(parts[1]), 0)
    except (ValueError, ProcessLookupError):
        return True
    except PermissionError:
        return False
    return False


def reap(system: JobSystem, *, own: set[int] | frozenset[int] = frozenset(),
         check_orphans: bool = True, force_orphan_scan: bool = False) -> ReapReport:
    """Put back what dead or hung workers held; re-queue jobs that lost their message."""
    report = ReapReport()
    ledger = system.ledger
    now = L.now_utc()
    host = socket.gethostname()
    stale_before = now - timedelta(seconds=system.settings.limits.stale_after_seconds)

    running = system.db.query(Q.running_jobs)
    to_send: list[tuple[str, int, int, None]] = []
    for job_id, worker_id, heartbeat, job_type, priority in running:
        if job_id in own:
            continue
        if _process_gone(worker_id, host):
            report.dead_process.append(job_id)
        elif heartbeat is None or heartbeat < stale_before:
            report.stale_heartbeat.append(job_id)
        else:
            continue
        to_send.append((job_type, job_id, priority, None))
    back = set(ledger.put_back(
        report.dead_process + report.stale_heartbeat, "worker died; put back by the reaper"
    ))
    system.send([m for m in to_send if m[1] in back])

    if check_orphans:
        report.requeued = _requeue_orphans(system, force_orphan_scan)
    if report.total:
        log.warning("reaper recovered jobs", dead_process=len(report.dead_process),
                    stale_heartbeat=len(report.stale_heartbeat), requeued=len(report.requeued))
    return report


RECHECKS, RECHECK_SECONDS = 2, 0.05


def _short_queues(system: JobSystem) -> set[str]:
    """Queues whose ledger has more waiting jobs than the queue has messages (the queue
    counted first: a message taken since is claimed by the time the ledger is counted)."""
    sizes = system.queues.queue_sizes()
    counts = system.db.query(Q.active_counts)
    return {q for q, waiting in counts.items()
            if q in sizes and waiting > sizes[q]["queued"] + sizes[q]["scheduled"]}


def _requeue_orphans(system: JobSystem, force: bool) -> list[int]:
    """Give a message to every waiting job that has none.

    Comparing counts first keeps this cheap with a large backlog: the messages are read only
    when the ledger has more waiting jobs than the queue has messages (or when forced, at
    consumer start). The queue is counted before the ledger, and a shortfall must still be
    there when counted again a moment later: a message a worker has just taken and not yet
    claimed, or a job committed whose message is being sent, is not a lost message. (Counted
    the other way round, a busy consumer's shortfall was there at nearly every look: each
    reap read and unpickled every message of a 100,000-job backlog, every 30 s.)
    """
    suspects = _short_queues(system)
    for _ in range(0 if force else RECHECKS):
        if not suspects:
            return []
        time.sleep(RECHECK_SECONDS)
        suspects &= _short_queues(system)
    older_than = L.now_utc() - timedelta(seconds=ORPHAN_GRACE_SECONDS)
    requeued: list[int] = []
    for queue in system.queues.hueys:
        if queue not in suspects and not force:
            continue
        # The ledger first: the queue's messages are read (each unpickled) only when a job
        # has waited long enough to have lost its message. A consumer started on a backlog
        # just submitted no longer reads every message of it before its first job.
        waiting = system.db.query(Q.waiting_jobs, queue, older_than)
        if not waiting:
            continue
        present = system.queues.messages(queue)
        candidates = [j for j in waiting if j.id not in present]
        if not candidates:
            continue
        system.send([(j.job_type, j.id, j.priority, j.next_retry_at) for j in candidates])
        requeued.extend(j.id for j in candidates)
    return requeued
