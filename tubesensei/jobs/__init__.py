"""The job system (see docs/architecture.md).

Huey's storage module imports two clients when they are installed (the ``server`` extra)
for storages a SQLite deployment never uses:

* psycopg, for a PostgreSQL queue storage we never use at all (our queue is SQLite or Redis;
  PostgreSQL is reached through SQLAlchemy, which imports psycopg itself when the database
  URL asks for it): 9 MB of a consumer's memory;
* redis, for its Redis storages, which our Redis queue (jobs/redis_queue.py) builds on:
  12 MB of memory and ~75 ms of every command that reads the queues (``stats``, ``jobs
  list``...), on a laptop whose queue is a SQLite file.

So huey is imported here with both hidden, and the Redis queue hands huey's storage module
the redis names it went without (``give_huey_redis``) before it makes a Redis storage.
"""

from __future__ import annotations

import sys


def _import_huey_without_clients() -> None:
    hidden = [name for name in ("psycopg", "redis") if name not in sys.modules]
    if "huey.storage" in sys.modules or not hidden:
        return  # too late, or both are in use anyway
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` fails
    try:
        import huey.storage  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


def give_huey_redis() -> None:
    """Bind in huey's storage module the redis names it would have bound at import, had
    redis not been hidden from it (ImportError if redis is not installed). Idempotent."""
    import huey.storage as storage
    import redis
    import redis.exceptions

    # What huey/storage.py binds from redis at import (None when redis is missing), and the
    # class attribute it sets from one of them.
    storage.ConnectionPool, storage.Redis = redis.ConnectionPool, redis.Redis
    storage.ConnectionError = redis.exceptions.ConnectionError
    storage.TimeoutError = redis.exceptions.TimeoutError
    storage.RedisStorage.redis_client = redis.Redis


_import_huey_without_clients()
