"""The queues on Redis (scale-out): Huey's priority storage, bulk enqueues, and wake-ups that
cross machines.

- ``RedisQueueHuey`` is Huey's ``PriorityRedisHuey`` (a sorted set per queue, Redis >= 5),
  non-blocking: a worker thread looks at each of its queues in turn and must not sit in a
  blocking pop on an empty one; our wake-ups make that cheap.
- ``enqueue_many`` writes a whole batch in one round trip (a pipeline), each member encoded
  exactly as Huey's own ``enqueue`` does (an 8-byte time prefix, then the message; the score
  is minus the priority), so Huey's ``dequeue`` reads them back.
- ``RedisWaker``: submitting work publishes on ``<prefix>:wake``; every consumer, on any
  machine, subscribes and wakes its idle workers at once.
"""

from __future__ import annotations

import contextlib
import struct
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from huey import PriorityRedisHuey
from huey.storage import PriorityRedisStorage

from tubesensei.jobs import give_huey_redis
from tubesensei.logging import get_logger

log = get_logger("tubesensei.queue")

give_huey_redis()  # huey was imported without redis (tubesensei/jobs/__init__.py)


class RedisQueueStorage(PriorityRedisStorage):
    def enqueue_many(self, items: Sequence[tuple[bytes, float | None]]) -> None:
        """One round trip for a batch; FIFO within a priority, as one-by-one enqueues."""
        if not items:
            return
        base = int(time.time() * 1e6)
        pipe = self.conn.pipeline(transaction=False)
        for n, (data, priority) in enumerate(items):
            score = 0 if priority is None else -priority
            pipe.zadd(self.queue_key, {struct.pack(">Q", base + n) + data: score})
        pipe.execute()


class RedisQueueHuey(PriorityRedisHuey):
    storage_class = RedisQueueStorage


def wake_channel(prefix: str) -> str:
    return f"{prefix}:wake"


class RedisWaker:
    """Publishes wake-ups (any process that submits work) and listens for them (consumers)."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self._redis = redis
        self.url = url
        self.channel = wake_channel(prefix)
        self._conn = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poke(self) -> int:
        """Wake every consumer on every machine; how many were listening."""
        return int(self._conn.publish(self.channel, b"!"))

    def listen(self, on_wake: Callable[[], None]) -> RedisWaker:
        """Call ``on_wake`` for each wake-up, from a thread of its own, until ``stop()``;
        a lost connection is re-made (the fallback poll covers the gap)."""
        self._thread = threading.Thread(target=self._run, args=(on_wake,),
                                         name="tubesensei-wake", daemon=True)
        self._thread.start()
        return self

    def _run(self, on_wake: Callable[[], None]) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            pubsub: Any = None
            try:
                pubsub = self._conn.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                backoff = 0.5
                while not self._stop.is_set():
                    if pubsub.get_message(timeout=0.5) is not None:
                        on_wake()
            except self._redis.RedisError as exc:
                log.warning("wake-up channel lost; polling until it is back",
                            error=f"{type(exc).__name__}: {exc}")
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            finally:
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._conn.close()
