"""Tests against real PostgreSQL and Redis servers (the scale-out path).

The servers come from ``TUBESENSEI_TEST_DATABASE_URL`` (a PostgreSQL URL whose user may create
databases, e.g. ``postgresql+psycopg://postgres@127.0.0.1/postgres``) and
``TUBESENSEI_TEST_REDIS_URL`` (e.g. ``redis://127.0.0.1:6379/0``). Each test gets a database
of its own (created, then dropped) and a queue prefix of its own in Redis (its keys deleted
after). Without the variables, or with a server unreachable, the tests are skipped and the
session ends with one line saying how many and why; with ``TUBESENSEI_TEST_REQUIRE_SERVERS=1``
(CI) an unreachable server fails them instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

import pytest

from tests.conftest import TEST_SERVERS

DB_ENV = "TUBESENSEI_TEST_DATABASE_URL"
REDIS_ENV = "TUBESENSEI_TEST_REDIS_URL"
REQUIRE_ENV = "TUBESENSEI_TEST_REQUIRE_SERVERS"


def _require() -> bool:
    return TEST_SERVERS.get(REQUIRE_ENV, "") not in ("", "0")


@cache
def _postgres_problem() -> str | None:
    url = TEST_SERVERS.get(DB_ENV)
    if not url:
        return f"{DB_ENV} not set"
    try:
        import psycopg  # noqa: F401
        from sqlalchemy import create_engine, text

        from tubesensei.db.engine import to_sync_url

        engine = create_engine(to_sync_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # the reason goes into the skip line
        return f"PostgreSQL at {_masked(url)} unreachable ({type(exc).__name__})"
    return None


@cache
def _redis_problem() -> str | None:
    url = TEST_SERVERS.get(REDIS_ENV)
    if not url:
        return f"{REDIS_ENV} not set"
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis at {url} unreachable ({type(exc).__name__})"
    return None


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _need(problem: str | None) -> None:
    if problem is None:
        return
    if _require():
        pytest.fail(f"server tests are required here: {problem}", pytrace=False)
    pytest.skip(f"server test: {problem}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test (dropped afterwards)."""
    _need(_postgres_problem())
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from tubesensei.db.engine import to_sync_url

    admin_url = to_sync_url(TEST_SERVERS[DB_ENV])
    name = f"tubesensei_test_{uuid.uuid4().hex[:12]}"
    # No pool: a test may restart the server between creating and dropping the database.
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass(frozen=True)
class RedisQueue:
    url: str
    prefix: str


@pytest.fixture
def redis_queue() -> Iterator[RedisQueue]:
    """A Redis URL and a queue prefix no other test uses (its keys deleted afterwards)."""
    _need(_redis_problem())
    import redis

    url = TEST_SERVERS[REDIS_ENV]
    prefix = f"t{uuid.uuid4().hex[:10]}"
    yield RedisQueue(url, prefix)
    conn = redis.Redis.from_url(url)
    keys = [k for k in conn.scan_iter(match=f"*{prefix}*", count=1000)]
    if keys:
        conn.delete(*keys)
    conn.close()


@pytest.fixture
def server_env(pg_url: str, redis_queue: RedisQueue) -> dict[str, str]:
    """The environment variables that point TubeSensei at this test's servers."""
    return {
        "TUBESENSEI_DATABASE__URL": pg_url,
        "TUBESENSEI_QUEUE__BACKEND": "redis",
        "TUBESENSEI_QUEUE__URL": redis_queue.url,
        "TUBESENSEI_QUEUE__PREFIX": redis_queue.prefix,
    }
