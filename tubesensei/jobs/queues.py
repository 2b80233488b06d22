"""Huey queues: one Huey instance per queue, all in one SQLite file in the data folder.

Huey is the transport only: a message carries nothing but a job id (the ledger holds the
arguments), results are not stored (the ledger holds those too), and Huey's own retries are
not used (the ledger's policy decides). The same instances work on Huey's Redis or
PostgreSQL storage for scale-out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from huey.storage import SqliteStorage

from tubesensei.config import Settings

DISCOVERY = "discovery"
TRANSCRIPTS = "transcripts"
BATCH = "batch"
QUEUES: tuple[str, ...] = (DISCOVERY, TRANSCRIPTS, BATCH)

# job type -> (queue, Huey task name)
JOB_TYPES: dict[str, str] = {
    "discover_channel": DISCOVERY,
    "sync_channel": DISCOVERY,
    "extract_transcript": TRANSCRIPTS,
    "batch_process": BATCH,
}
TASK_NAMES: dict[str, str] = {
    "discover_channel": "discover_channel_videos",
    "sync_channel": "sync_channel_metadata",
    "extract_transcript": "extract_transcript",
    "batch_process": "batch_process_transcripts",
}


class BulkSqliteStorage(SqliteStorage):
    """SqliteStorage that can write many messages in one transaction."""

    def _create_connection(self) -> Any:
        # synchronous=NORMAL, like the ledger's database: no fsync per commit (an fsync on
        # every enqueue and dequeue cost ~150 µs each, and disk stalls showed up as enqueue→start
        # latency spikes). Safe because the ledger is the truth: a message lost to a power cut
        # is re-queued by the reaper, a resurrected one finds its job not runnable.
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn

    def enqueue_many(self, items: Sequence[tuple[bytes, int]]) -> None:
        if not items:
            return
        with self.db(commit=True) as cursor:
            cursor.executemany(
                "insert into task (queue, data, priority) values (?, ?, ?)",
                [(self.name, self.to_blob(data), priority or 0) for data, priority in items],
            )

    def add_many_to_schedule(self, items: Sequence[tuple[bytes, datetime]]) -> None:
        if not items:
            return
        with self.db(commit=True) as cursor:
            cursor.executemany(
                "insert into schedule (queue, data, timestamp) values (?, ?, ?)",
                [(self.name, self.to_blob(data), eta.timestamp()) for data, eta in items],
            )


class BulkSqliteHuey(SqliteHuey):
    storage_class = BulkSqliteStorage


def make_huey(queue: str, settings: Settings) -> Huey:
    backend = settings.queue.backend
    common: dict[str, Any] = {"results": False, "utc": True}
    if backend == "sqlite":
        path = settings.queue_path
        path.parent.mkdir(parents=True, exist_ok=True)
        return BulkSqliteHuey(queue, filename=str(path), timeout=30, **common)
    url = settings.queue.url.get_secret_value() if settings.queue.url else None
    if backend == "redis":
        return RedisHuey(queue, url=url, **common)
    from huey.contrib.sql_huey import SqlHuey  # pragma: no cover - needs a server

    return SqlHuey(queue, database=url, **common)  # pragma: no cover


@dataclass
class QueueApp:
    """The Huey instances and the task registered on each for every job type."""

    hueys: dict[str, Huey]
    tasks: dict[str, Any]  # job type -> TaskWrapper

    def huey_for(self, job_type: str) -> Huey:
        return self.hueys[JOB_TYPES[job_type]]

    def enqueue_many(self, jobs: Sequence[tuple[str, int, int, datetime | None]]) -> list[str]:
        """Queue messages for (job_type, job_id, priority, eta) in one transaction per queue.

        Returns the Huey task ids, in order.
        """
        by_queue: dict[str, list[tuple[bytes, int]]] = {}
        scheduled: dict[str, list[tuple[bytes, datetime]]] = {}
        ids: list[str] = []
        now = datetime.now(UTC)
        for job_type, job_id, priority, eta in jobs:
            huey = self.huey_for(job_type)
            task = self.tasks[job_type].s(job_id, priority=priority)
            ids.append(task.id)
            data = huey.serialize_task(task)
            if eta is not None and eta > now:
                task.eta = eta.astimezone(UTC).replace(tzinfo=None)
                data = huey.serialize_task(task)
                scheduled.setdefault(huey.name, []).append((data, eta))
            else:
                by_queue.setdefault(huey.name, []).append((data, priority))
        for name, items in by_queue.items():
            _bulk(self.hueys[name], items)
        for name, items in scheduled.items():
            storage = self.hueys[name].storage
            if isinstance(storage, BulkSqliteStorage):
                storage.add_many_to_schedule(items)
            else:  # pragma: no cover - other backends: one by one
                for data, eta in items:
                    storage.add_to_schedule(data, eta)
        return ids

    def queue_sizes(self) -> dict[str, dict[str, int]]:
        return {
            name: {"queued": h.pending_count(), "scheduled": h.scheduled_count()}
            for name, h in self.hueys.items()
        }

    def messages(self, queue: str) -> set[int]:
        """Job ids of every message waiting in ``queue`` (queued or scheduled)."""
        huey = self.hueys[queue]
        found: set[int] = set()
        for task in [*huey.pending(), *huey.scheduled()]:
            if task.args:
                found.add(int(task.args[0]))
        return found


def _bulk(huey: Huey, items: list[tuple[bytes, int]]) -> None:
    storage = huey.storage
    if isinstance(storage, BulkSqliteStorage):
        storage.enqueue_many(items)
    else:  # pragma: no cover - other backends: one by one
        for data, priority in items:
            storage.enqueue(data, priority)


def build_queue_app(settings: Settings, handlers: dict[str, Callable[[int], Any]]) -> QueueApp:
    """Create the Huey instances and register one task per job type (named like the seed's)."""
    hueys = {q: make_huey(q, settings) for q in QUEUES}
    tasks: dict[str, Any] = {}
    for job_type, queue in JOB_TYPES.items():
        tasks[job_type] = hueys[queue].task(name=TASK_NAMES[job_type])(handlers[job_type])
    return QueueApp(hueys, tasks)
