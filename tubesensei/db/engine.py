"""The one data layer: an engine factory for SQLite and PostgreSQL URLs, and the Database.

Everything that runs in threads (the pipeline, the job system, every CLI command) uses one
synchronous engine per process, through :class:`Database`. Only an asyncio host (the TUI, on
Textual's event loop) uses :class:`AsyncDatabase`; it runs the very same read queries
(``tubesensei.queries``) through ``AsyncSession.run_sync``.

SQLite runs in WAL mode with foreign keys on, a busy timeout and synchronous=NORMAL. Python's
sqlite3 module opens transactions lazily and upgrades them to writes on the first INSERT, which
is where "database is locked" comes from when two writers race: the busy handler is not used
for a lock upgrade inside a transaction. So we take transaction control ourselves: read
sessions begin DEFERRED, write sessions begin IMMEDIATE (take the write lock up front and wait
for it politely through busy_timeout).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

BEGIN_OPTION = "tubesensei_begin"
P = ParamSpec("P")
T = TypeVar("T")
Query = Callable[Concatenate[Session, P], T]

# One PostgreSQL driver (psycopg 3) serves the sync and the asyncio engine alike.
_SYNC_DRIVERS = {"sqlite+aiosqlite": "sqlite", "postgresql": "postgresql+psycopg",
                 "postgresql+asyncpg": "postgresql+psycopg"}
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "sqlite+pysqlite": "sqlite+aiosqlite",
                  "postgresql": "postgresql+psycopg"}


def to_sync_url(url: str | URL) -> URL:
    u = make_url(url)
    return u.set(drivername=_SYNC_DRIVERS.get(u.drivername, u.drivername))


def to_async_url(url: str | URL) -> URL:
    u = to_sync_url(url)
    return u.set(drivername=_ASYNC_DRIVERS.get(u.drivername, u.drivername))


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def read_only_sqlite_url(url: str | URL) -> URL:
    """The SQLite file opened read-only, for a data folder that cannot be written (a
    read-only mount, a backup): ``mode=ro``, and ``immutable`` when no write-ahead log is
    there (SQLite cannot open a WAL database read-only without creating its -shm file)."""
    u = to_sync_url(url)
    path = Path(u.database or "").expanduser()
    query = {"mode": "ro", "uri": "true"}
    if not Path(f"{path}-wal").exists():
        query["immutable"] = "1"
    return u.set(database=f"file:{path}", query=query)


def is_read_only(url: str | URL) -> bool:
    return make_url(url).query.get("mode") == "ro"


# A reader (the TUI, a command that only reads) maps the file into memory and keeps a bigger
# page cache: counts and lists walk tens of thousands of index entries, and with SQLite's
# default 2 MB cache they read most pages again on every poll (the dashboard's job counts
# over 200k jobs: p50 13.5 -> 10.6 ms; the newest jobs 6.3 -> 3.0 ms). A consumer does not:
# each worker's connection would keep its own cache, and its RSS grew 7% from 10k to 100k
# jobs with them (item 5 of the performance issue wants < 5%).
READER_MMAP_BYTES = 256 * 2**20
READER_CACHE_KIB = 16 * 2**10


_BEGIN = {mode: f"BEGIN {mode}" for mode in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")}


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int, reader: bool = False) -> None:
    read_only = is_read_only(engine.url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            if reader:
                cursor.execute(f"PRAGMA mmap_size = {READER_MMAP_BYTES}")
                cursor.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
            if read_only:
                cursor.execute("PRAGMA query_only = ON")
                return
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    raw_begin = engine.dialect.driver == "pysqlite"  # not aiosqlite's adapted connection

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        statement = _BEGIN[conn.get_execution_options().get(BEGIN_OPTION, "DEFERRED")]
        if not raw_begin:
            conn.exec_driver_sql(statement)
            return
        # Straight on the DBAPI connection: SQLAlchemy's statement machinery (execution
        # context, cursor, result) was a sixth of a no-op job's GIL time in the consumer, for
        # a statement that returns nothing. Errors become SQLAlchemy's as they would through
        # it (the ledger retries OperationalError: database is locked, disk I/O error...).
        try:
            conn.connection.dbapi_connection.execute(statement)
        except sqlite3.Error as exc:
            raise DBAPIError.instance(statement, None, exc, sqlite3.Error,
                                      dialect=conn.dialect) from exc


def create_sync_engine(
    url: str | URL, busy_timeout_ms: int = 30_000, echo: bool = False, pool_size: int = 0,
    reader: bool = False,
) -> Engine:
    """The engine factory. ``pool_size`` 0: no pool (migrations, one-off tools); otherwise a
    pool of that many connections (and as many again in overflow) shared by threads.
    ``reader``: a process that mostly reads (SQLite: memory-mapped, a bigger page cache)."""
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
        _install_sqlite_hooks(engine, busy_timeout_ms, reader)
        return engine
    pool = {"pool_size": pool_size, "max_overflow": pool_size * 2} if pool_size else {
        "poolclass": NullPool}
    try:
        # No pre-ping (a round trip on every checkout, a tenth of a job's time): a connection
        # that died with a server restart fails once, the pool drops every connection of
        # before the restart, and the consumer's ledger writes retry (jobs/runner.Durable).
        engine = create_engine(sync_url, echo=echo, **pool)
    except ImportError:
        raise missing_client(sync_url) from None
    _install_postgres_hooks(engine)
    from tubesensei.db.models import add_postgresql_options

    add_postgresql_options()
    return engine


def _install_postgres_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Commits return once written, not once flushed to disk (PostgreSQL's counterpart
        # of SQLite's synchronous=NORMAL in WAL mode): a crash of the server can lose the
        # last fraction of a second of transactions, never corrupt anything, and the
        # WAL keeps them in order, so a job whose completion is lost loses its transcript
        # with it and simply runs again. An fsync per commit was most of a no-op job's cost.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO OFF")
        dbapi_connection.commit()


def missing_client(url: URL) -> Exception:
    from tubesensei.errors import BadInput

    return BadInput(
        f"{url.render_as_string(hide_password=True)}: PostgreSQL needs the psycopg client, "
        "which is not installed: pip install 'tubesensei[server]' "
        "(or pipx inject tubesensei 'psycopg[binary]')")


class Database:
    """The process's synchronous engine with read and write sessions.

    ``read()`` sessions are rolled back at the end; ``write()`` sessions take the write lock
    at once (SQLite) and commit at the end. ``query(fn, ...)`` runs one read query from
    ``tubesensei.queries`` in a read session.
    """

    def __init__(self, url: str | URL, busy_timeout_ms: int = 30_000, echo: bool = False,
                 pool_size: int = 5, reader: bool = False) -> None:
        self.url = to_sync_url(url)
        self.engine = create_sync_engine(self.url, busy_timeout_ms, echo, pool_size=pool_size,
                                         reader=reader)
        self.writer = self.engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(self.writer, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Any, *, read_only: bool = False,
                      reader: bool = False) -> Database:
        """The process's Database, its pool sized for every worker thread plus housekeeping
        (``read_only``: the SQLite file opened read-only, see read_only_sqlite_url;
        ``reader``: a process that only reads, see create_sync_engine)."""
        db = settings.database
        url = read_only_sqlite_url(settings.database_url) if read_only else settings.database_url
        return cls(url, db.busy_timeout_ms, db.echo,
                   pool_size=max(5, settings.limits.max_concurrent_jobs + 2), reader=reader)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; rolled back at the end."""
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at once and commits at the end."""
        with self._write() as session, session.begin():
            yield session

    def query(self, fn: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read query (a function of a Session) in a read session."""
        with self.read() as session:
            return fn(session, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()


class AsyncDatabase:
    """The same read queries for an asyncio host (the TUI): aiosqlite for SQLite, psycopg's
    async mode for PostgreSQL. Its pool belongs to the event loop that uses it.

    A caller that is cancelled (a TUI worker replaced by a newer one) never interrupts a
    statement: the query finishes in its own task and its connection goes back to the pool
    (cancelling aiosqlite mid-statement forces SQLAlchemy to tear the connection down, which
    can outlive the loop). ``dispose()`` waits for such queries first.
    """

    def __init__(self, url: str | URL, busy_timeout_ms: int = 30_000) -> None:
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        self.url = to_async_url(url)
        kwargs: dict[str, Any] = {}
        if is_sqlite(self.url):
            kwargs["connect_args"] = {"timeout": busy_timeout_ms / 1000}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine = create_async_engine(self.url, **kwargs)
        except ImportError:
            raise missing_client(self.url) from None
        if is_sqlite(self.url):  # the TUI: a reader
            _install_sqlite_hooks(self.engine.sync_engine, busy_timeout_ms, reader=True)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._running: set[asyncio.Task[Any]] = set()

    async def query(self, fn: Query[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read query (a function of a Session) on this loop: the same statements the
        synchronous callers run, through ``AsyncSession.run_sync``."""

        async def run() -> T:
            async with self._sessions() as session:
                return await session.run_sync(fn, *args, **kwargs)

        task = asyncio.ensure_future(run())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def dispose(self) -> None:
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
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


# Tables whose size swings (a new corpus grows from nothing; prune shrinks the ledger).
STATISTICS_TABLES = ("processing_jobs", "videos", "transcripts", "transcript_chunks", "channels")


def refresh_stale_statistics(engine: Engine, *, factor: float = 2.0,
                             floor: int = 1000) -> list[str]:
    """ANALYZE the tables whose size has moved ``factor``-fold from what the planner's
    statistics say (and that hold at least ``floor`` rows): statistics taken when a new
    database had one row per table would otherwise steer SQLite to poor plans until the
    nightly prune. Sizes are read as max(rowid) (an index seek, not a count). Returns the
    tables analysed; a no-op on other databases and when nothing is stale."""
    from sqlalchemy.exc import OperationalError

    if engine.dialect.name != "sqlite":
        return []
    with engine.connect() as conn:
        if not conn.exec_driver_sql(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'").scalar():
            return list(STATISTICS_TABLES) if refresh_statistics(engine) else []
        known: dict[str, int] = {}
        for tbl, stat in conn.exec_driver_sql("SELECT tbl, stat FROM sqlite_stat1").all():
            rows = int(str(stat).split()[0]) if stat else 0
            known[tbl] = max(known.get(tbl, 0), rows)
        stale = []
        for table in STATISTICS_TABLES:
            size = conn.exec_driver_sql(f"SELECT max(rowid) FROM {table}").scalar() or 0
            recorded = known.get(table, 0)
            if max(size, recorded) < floor:
                continue
            if recorded == 0 or size == 0 or max(size / recorded, recorded / size) >= factor:
                stale.append(table)
    if not stale:
        return []
    writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    try:
        with writer.begin() as conn:
            for table in stale:
                conn.exec_driver_sql(f"ANALYZE {table}")
    except OperationalError:  # only an optimisation: the next pass tries again
        return []
    return stale
