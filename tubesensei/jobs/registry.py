"""Every job type, once: its queue, its task, its default priority, its time limits, its label.

Queues, Huey tasks, CLI choices, TUI filters and metrics labels are all derived from here. A
new job type is one entry below plus its task function in tasks.py.

Metrics, logs and the ledger name a type by ``name`` everywhere; ``task`` is only the name
Huey registers the function under (the seed plan's task names).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tubesensei.config import LimitSettings

DISCOVERY = "discovery"
TRANSCRIPTS = "transcripts"
BATCH = "batch"
QUEUES: tuple[str, ...] = (DISCOVERY, TRANSCRIPTS, BATCH)

# Priorities: bigger runs first within a queue.
PRIORITY_NEW_CHANNEL = 10
PRIORITY_USER_VIDEO = 5
PRIORITY_DEFAULT = 0
PRIORITY_RESCAN = -5

# The entity of the one sync_channels job: every stored channel but paused ones.
SYNC_ALL = "all"


@dataclass(frozen=True)
class JobType:
    name: str
    """The ledger's job_type, and the label in metrics and logs."""
    queue: str
    task: str
    """Huey's task name (the function of the same purpose in jobs/tasks.py)."""
    label: str
    """A short word for tables and the TUI."""
    priority: int = PRIORITY_DEFAULT
    """Priority when the caller names none."""
    transcript_limits: bool = False
    """Use the transcript time limits (a fetch) instead of the general ones."""

    def time_limits(self, limits: LimitSettings) -> tuple[float, float]:
        """(soft, hard) seconds."""
        if self.transcript_limits:
            return (limits.transcript_soft_time_limit_seconds,
                    limits.transcript_hard_time_limit_seconds)
        return limits.soft_time_limit_seconds, limits.hard_time_limit_seconds


JOB_TYPES: dict[str, JobType] = {
    t.name: t
    for t in (
        JobType("discover_channel", DISCOVERY, "discover_channel_videos", "discover",
                PRIORITY_NEW_CHANNEL),
        # One job refreshes many channels (one channels.list call per 50): its entity is
        # SYNC_ALL, the stored channels but paused ones, read when it runs.
        JobType("sync_channels", DISCOVERY, "sync_channel_metadata", "sync"),
        JobType("extract_transcript", TRANSCRIPTS, "extract_transcript", "transcript",
                transcript_limits=True),
        JobType("batch_process", BATCH, "batch_process_transcripts", "batch"),
    )
}
JOB_TYPE_NAMES: tuple[str, ...] = tuple(JOB_TYPES)


def job_type(name: str) -> JobType:
    return JOB_TYPES[name]


# Default concurrency caps below --workers. A batch job writes one transaction of extract jobs
# after another: SQLite takes one writer at a time, so a second thread on batch jobs gains
# nothing and takes the other queues' threads and write lock (``workers scale batch N``
# changes it on a running consumer).
QUEUE_CAPS: dict[str, int] = {BATCH: 1}

# Background queues: the largest share of a consumer's time their thread takes while other
# queues have work running. A batch job turns 50 video ids into extract jobs (a write of 50
# ledger rows and 50 messages); 2,000 of them back to back (a 100,000-video batch) held
# SQLite's write lock most of the time and the consumer's other jobs ran at a third of their
# pace. After each batch job the batch queue now rests twice as long as the job took, while
# anything else runs: the other queues keep at least two thirds of the time; with nothing
# else to do, a batch runs flat out. (Transcripts are rate limited far below how fast extract
# jobs are made, so they never wait for a batch to finish expanding.)
QUEUE_SHARES: dict[str, float] = {BATCH: 1 / 3}
