"""Huey queues: one Huey instance per queue, all in one SQLite file in the data folder, or
on Redis when consumers run on several machines (jobs/redis_queue.py).

Huey is the transport only: a message carries nothing but a job id (the ledger holds the
arguments), results are not stored (the ledger holds those too), and Huey's own retries are
not used (the ledger's policy decides). Queues and tasks come from the job-type registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey.api import Huey

from tubesensei.config import Settings, masked_url
from tubesensei.errors import BadInput, Failure
from tubesensei.jobs.registry import JOB_TYPES, QUEUES
from tubesensei.jobs.storage import QueueHuey

# A message: (job type, job id, priority, when it is due or None for now).
Message = tuple[str, int, int, datetime | None]


def make_huey(queue: str, settings: Settings, read_only: bool = False) -> Huey:
    common: dict[str, Any] = {"results": False, "utc": True}
    if settings.queue.backend == "sqlite":
        path = settings.queue_path
        if read_only:  # a read-only data folder: read the queue file as it is
            return QueueHuey(queue, filename=str(path), timeout=30, read_only=True, **common)
        path.parent.mkdir(parents=True, exist_ok=True)
        return QueueHuey(queue, filename=str(path), timeout=30, **common)
    try:
        import redis  # noqa: F401 - huey imports it optionally: ask for it ourselves

        from tubesensei.jobs.redis_queue import RedisQueueHuey
    except ImportError:
        raise BadInput(f"{redis_url(settings)}: the Redis queue needs the redis client, which is "
                       "not installed: pip install 'tubesensei[server]' "
                       "(or pipx inject tubesensei redis)") from None
    # One name per queue and deployment (Redis keys are huey.redis.<name>, ...); a worker
    # looks at each queue in turn, so it never blocks on an empty one.
    return RedisQueueHuey(f"{settings.queue.prefix}_{queue}",
                          url=settings.queue.url.get_secret_value() if settings.queue.url else None,
                          blocking=False, **common)


def transport_errors(settings: Settings) -> tuple[type[BaseException], ...]:
    """What the queue server raises when it cannot be reached (the ledger stays the truth:
    the reaper gives a message to every waiting job that lacks one)."""
    if settings.queue.backend == "redis":
        import redis

        return (redis.RedisError,)
    return ()


def redis_url(settings: Settings) -> str:
    return masked_url(settings.queue.url.get_secret_value()) if settings.queue.url else ""


@dataclass
class QueueApp:
    """The Huey instances and the task registered on each for every job type."""

    hueys: dict[str, Huey]
    tasks: dict[str, Any]  # job type -> TaskWrapper

    def huey_for(self, job_type: str) -> Huey:
        return self.hueys[JOB_TYPES[job_type].queue]

    def enqueue_many(self, jobs: Sequence[Message],
                     task_ids: Sequence[str | None] | None = None) -> list[str]:
        """Queue messages for (job_type, job_id, priority, eta) in one transaction per queue,
        with the given Huey task ids (None: Huey makes one).

        Returns the Huey task ids, in order.
        """
        by_queue: dict[str, list[tuple[bytes, int]]] = {}
        scheduled: dict[str, list[tuple[bytes, datetime]]] = {}
        ids: list[str] = []
        now = datetime.now(UTC)
        given = task_ids if task_ids is not None else [None] * len(jobs)
        for (job_type, job_id, priority, eta), task_id in zip(jobs, given, strict=True):
            queue = JOB_TYPES[job_type].queue
            huey = self.hueys[queue]
            task = self.tasks[job_type].s(job_id, priority=priority, id=task_id)
            ids.append(task.id)
            if eta is not None and eta > now:
                # Huey (utc=True) works in naive UTC and reads its schedule with naive UTC
                # times: the stored time must be naive UTC too, or a host whose clock is not
                # on UTC would run the retry early or late by its offset.
                task.eta = eta.astimezone(UTC).replace(tzinfo=None)
                scheduled.setdefault(queue, []).append((huey.serialize_task(task), task.eta))
            else:
                by_queue.setdefault(queue, []).append((huey.serialize_task(task), priority))
        for name, items in by_queue.items():
            _enqueue_many(self.hueys[name], items)
        for name, items in scheduled.items():
            _schedule_many(self.hueys[name], items)
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

    def check_reachable(self, settings: Settings) -> None:
        """Failure (one line, exit 1) when the queue server does not answer."""
        if settings.queue.backend != "redis":
            return
        import redis

        try:
            next(iter(self.hueys.values())).storage.conn.ping()
        except redis.RedisError as exc:
            raise Failure(f"cannot reach Redis at {redis_url(settings)}: {exc}") from None

    def close(self) -> None:
        for huey in self.hueys.values():
            huey.storage.close()


def _enqueue_many(huey: Huey, items: list[tuple[bytes, int]]) -> None:
    bulk = getattr(huey.storage, "enqueue_many", None)
    if bulk is not None:
        bulk(items)
        return
    for data, priority in items:  # pragma: no cover - both our storages have a bulk write
        huey.storage.enqueue(data, priority)


def _schedule_many(huey: Huey, items: list[tuple[bytes, datetime]]) -> None:
    bulk = getattr(huey.storage, "add_many_to_schedule", None)
    if bulk is not None:
        bulk(items)
        return
    for data, eta in items:  # Redis: one by one (scheduled retries are few)
        huey.storage.add_to_schedule(data, eta)


def build_queue_app(settings: Settings, handlers: dict[str, Callable[[int], Any]],
                    read_only: bool = False) -> QueueApp:
    """Create the Huey instances and register one task per job type (named like the seed's)."""
    hueys = {q: make_huey(q, settings, read_only) for q in QUEUES}
    tasks = {
        name: hueys[jt.queue].task(name=jt.task)(handlers[name])
        for name, jt in JOB_TYPES.items()
    }
    return QueueApp(hueys, tasks)
