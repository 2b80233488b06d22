"""Engines and sessions.

SQLite runs in WAL mode with foreign keys on, a busy timeout and synchronous=NORMAL. Python's
sqlite3 module opens transactions lazily and upgrades them to writes on the first INSERT, which
is where "database is locked" comes from when two writers race: the busy handler is not used
for a lock upgrade inside a transaction. So we take transaction control ourselves: read
sessions begin DEFERRED, write sessions begin IMMEDIATE (take the write lock up front and wait
for it politely through busy_timeout).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

BEGIN_OPTION = "tubesensei_begin"

_SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "sqlite+pysqlite": "sqlite+aiosqlite",
                  "postgresql": "postgresql+asyncpg", "postgresql+psycopg": "postgresql+asyncpg"}


def to_sync_url(url: str | URL) -> URL:
    u = make_url(url)
    return u.set(drivername=_SYNC_DRIVERS.get(u.drivername, u.drivername))


def to_async_url(url: str | URL) -> URL:
    u = make_url(url)
    return u.set(drivername=_ASYNC_DRIVERS.get(u.drivername, u.drivername))


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_sync_engine(
    url: str | URL, busy_timeout_ms: int = 30_000, echo: bool = False, pool_size: int = 0
) -> Engine:
    """A synchronous engine with the same SQLite behaviour: alembic and one-off tools use it
    unpooled; the job ledger (the consumer's hot path) with a pool of ``pool_size``."""
    sync_url = to_sync_url(url)
    if is_sqlite(sync_url):
        pool: dict[str, Any] = (
            {"pool_size": pool_size, "max_overflow": pool_size * 2}
            if pool_size
            else {"poolclass": NullPool}
        )
        engine = create_engine(
            sync_url, echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            **pool,
        )
        _install_sqlite_hooks(engine, busy_timeout_ms)
        return engine
    return create_engine(sync_url, echo=echo, pool_pre_ping=True)


class Database:
    """An async engine with a read and a write session factory.

    An engine's pool belongs to the event loop that uses it: give each thread with its own
    event loop its own Database (the job system does).
    """

    def __init__(self, url: str | URL, busy_timeout_ms: int = 30_000, echo: bool = False) -> None:
        self.url = to_async_url(url)
        kwargs: dict[str, Any] = {"echo": echo}
        if is_sqlite(self.url):
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if is_sqlite(self.url):
            _install_sqlite_hooks(self.engine.sync_engine, busy_timeout_ms)
        writer = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._read = async_sessionmaker(self.engine, expire_on_commit=False)
        self._write = async_sessionmaker(writer, expire_on_commit=False)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for queries; rolled back at the end."""
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction takes the write lock at once and commits at the end."""
        async with self._write() as session, session.begin():
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


def refresh_statistics(engine: Engine, *, only_if_missing: bool = False) -> bool:
    """Give SQLite's query planner table statistics (ANALYZE). Without them it picks poor
    indexes for some of the session and dashboard queries (77 ms instead of 1 ms measured).
    Returns whether ANALYZE ran. A no-op on other databases (they keep their own)."""
    from sqlalchemy.exc import OperationalError

    if engine.dialect.name != "sqlite":
        return False
    # ANALYZE reads, then writes: take the write lock first (a deferred transaction would
    # fail at once with "database is locked" when it tries to upgrade under contention).
    writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    try:
        with writer.begin() as conn:
            if only_if_missing:
                have = conn.exec_driver_sql(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
                ).scalar()
                if have:
                    return False
            conn.exec_driver_sql("ANALYZE")
    except OperationalError:  # only an optimisation: never a reason to stop
        import logging

        logging.getLogger(__name__).warning("ANALYZE skipped: the database is busy")
        return False
    return True
