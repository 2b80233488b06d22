"""Huey storage for SQLite built only on Huey's public storage contract.

Subclassing huey's ``SqliteStorage`` to add bulk inserts or a pragma meant relying on its
private helpers (``_create_connection``, ``db()``), which a huey release may change without
notice. ``SqliteQueueStorage`` subclasses the documented ``huey.storage.BaseStorage`` and has
its own ``sqlite3`` connection, so only a change to huey's public API can break it.

The schema is exactly that of huey's ``SqliteStorage`` (tables ``task``, ``schedule``, ``kv``,
``counter`` and their indexes; the ``queue`` column holds the Huey name): existing queue files
keep working and huey's storage can read ours. ``synchronous=NORMAL`` skips the fsync per
commit in WAL mode (~150 µs per enqueue/dequeue, seen as latency spikes); a power cut can lose
the last commits but not corrupt the file. The job ledger is the source of truth: the reaper
re-queues a lost message, and a resurrected one finds its job no longer runnable.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from huey.api import Huey
from huey.constants import EmptyData
from huey.storage import BaseStorage

from tubesensei.logging import get_logger

log = get_logger("tubesensei.queue")

_DDL = (
    "CREATE TABLE IF NOT EXISTS kv (queue text not null, key text not null, "
    "value blob not null, primary key(queue, key))",
    "CREATE TABLE IF NOT EXISTS schedule (id integer not null primary key, "
    "queue text not null, data blob not null, timestamp real not null)",
    "CREATE INDEX IF NOT EXISTS schedule_queue_timestamp ON schedule (queue, timestamp)",
    "CREATE TABLE IF NOT EXISTS task (id integer not null primary key, queue text not null, "
    "data blob not null, priority real not null default 0.0)",
    "CREATE INDEX IF NOT EXISTS task_queue_priority_id ON task (queue, priority desc, id)",
    "CREATE TABLE IF NOT EXISTS counter (queue text not null, key text not null, "
    "value integer not null default 0, primary key(queue, key))",
)
_CHUNK = 500  # keys per "IN (...)" query, well under SQLite's bound-parameter limit
_DEQUEUE = ("DELETE FROM task WHERE id = (SELECT id FROM task WHERE queue = ? "
            "ORDER BY priority DESC, id LIMIT 1) RETURNING data")


class SqliteQueueStorage(BaseStorage):
    """Huey storage on one SQLite file; one connection per instance, shared under a lock."""

    priority = True

    def __init__(self, name: str = "huey", filename: str = "queue.db", timeout: float = 30.0,
                 read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.filename = str(filename)
        self.timeout = float(timeout)
        # A read-only data folder (stats, workers): sizes are read, nothing is created.
        self.read_only = read_only
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._ident: tuple[int, int] | None = None  # (device, inode) of the file connected to
        self._next_check = 0.0
        self._had_message = False  # whether the last dequeue found a message
        if not read_only:
            with self._transaction() as cur:
                for sql in _DDL:
                    cur.execute(sql)
        self.close()  # like huey: no connection is open until first use (e.g. after a fork)

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            return self._connect_read_only()
        conn = sqlite3.connect(self.filename, self.timeout, isolation_level=None,
                               check_same_thread=False)
        self._ident = self._file_ident()
        conn.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
        conn.execute("PRAGMA synchronous=NORMAL")
        # Switching a brand-new file to WAL needs a lock the busy handler does not wait for,
        # so retry briefly while another process is doing the same (as huey does).
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                if self._ident_changed_since_start:
                    for sql in _DDL:  # a file deleted under us: the new one needs tables
                        conn.execute(sql)
                return conn
            except sqlite3.OperationalError as exc:
                if "database is locked" not in str(exc) or time.monotonic() >= deadline:
                    conn.close()
                    raise
                time.sleep(0.01)

    def _connect_read_only(self) -> sqlite3.Connection:
        """The queue file as it is; a missing or never-used one reads as an empty queue."""
        if os.path.exists(self.filename):
            immutable = "" if os.path.exists(f"{self.filename}-wal") else "&immutable=1"
            conn = sqlite3.connect(f"file:{self.filename}?mode=ro{immutable}", self.timeout,
                                   isolation_level=None, check_same_thread=False, uri=True)
            found = conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('task', 'schedule')"
            ).fetchone()[0]
            if found == 2:
                conn.execute("PRAGMA query_only=ON")
                return conn
            conn.close()
        empty = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        for sql in _DDL:
            empty.execute(sql)
        return empty

    _ident_changed_since_start = False

    def _file_ident(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.filename)
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def _replaced(self) -> bool:
        """Whether the queue file was deleted or replaced under the open connection (which
        would go on reading a file nobody else sees); checked at most once a second."""
        now = time.monotonic()
        if self.read_only or now < self._next_check:
            return False
        self._next_check = now + 1.0
        return self._file_ident() != self._ident

    @contextmanager
    def _cursor(self) -> Iterator[sqlite3.Cursor]:
        """A cursor in autocommit mode: each statement is its own transaction."""
        with self._lock:
            if self._conn is not None and self._replaced():
                log.warning("the queue file was deleted or replaced: opening it again (the "
                            "reaper gives the waiting jobs their messages back)",
                            file=self.filename)
                self._conn.close()
                self._conn = None
                self._ident_changed_since_start = True
            if self._conn is None:
                self._conn = self._connect()
            cur = self._conn.cursor()
            try:
                yield cur
            finally:
                cur.close()

    @contextmanager
    def _transaction(self, begin: str = "BEGIN IMMEDIATE") -> Iterator[sqlite3.Cursor]:
        with self._cursor() as cur:
            cur.execute(begin)
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException:
                if cur.connection.in_transaction:
                    cur.execute("ROLLBACK")
                raise

    def _all(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        with self._cursor() as cur:
            return cur.execute(sql, params).fetchall()

    def _run(self, sql: str, params: tuple[Any, ...]) -> int:
        """Run one write statement in autocommit mode; returns the number of rows changed."""
        with self._cursor() as cur:
            return cur.execute(sql, params).rowcount

    def close(self) -> bool:
        with self._lock:
            if self._conn is None:
                return False
            self._conn.close()
            self._conn = None
            return True

    def enqueue(self, data: bytes, priority: float | None = None) -> None:
        self.enqueue_many([(data, priority)])

    def enqueue_many(self, items: Sequence[tuple[bytes, float | None]]) -> None:
        """Queue many messages in one transaction."""
        if not items:
            return
        rows = [(self.name, sqlite3.Binary(data), priority or 0) for data, priority in items]
        with self._transaction("BEGIN") as cur:
            cur.executemany("INSERT INTO task (queue, data, priority) VALUES (?, ?, ?)", rows)

    def dequeue(self) -> bytes | None:
        # A cheap check first, so idle pollers never take the write lock; skipped while the
        # last take found a message (draining a backlog, the check found one every time and
        # cost a second turn of the connection's lock per message).
        if not self._had_message and not self._all(
                "SELECT 1 FROM task WHERE queue = ? LIMIT 1", (self.name,)):
            return None
        # Take the first message in one statement (its own write transaction): no
        # BEGIN/SELECT/DELETE/COMMIT round of four.
        with self._cursor() as cur:
            rows = cur.execute(_DEQUEUE, (self.name,)).fetchall()  # all: the statement ends
            self._had_message = bool(rows)
            return rows[0][0] if rows else None

    def queue_size(self) -> int:
        return self._all("SELECT count(*) FROM task WHERE queue = ?", (self.name,))[0][0]

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        sql = "SELECT data FROM task WHERE queue = ? ORDER BY priority DESC, id LIMIT ?"
        return [data for (data,) in self._all(sql, (self.name, -1 if limit is None else limit))]

    def flush_queue(self) -> None:
        self._run("DELETE FROM task WHERE queue = ?", (self.name,))

    def add_to_schedule(self, data: bytes, ts: datetime) -> None:
        self.add_many_to_schedule([(data, ts)])

    def add_many_to_schedule(self, items: Sequence[tuple[bytes, datetime]]) -> None:
        """Schedule many messages in one transaction."""
        if not items:
            return
        rows = [(self.name, sqlite3.Binary(data), ts.timestamp()) for data, ts in items]
        with self._transaction("BEGIN") as cur:
            cur.executemany("INSERT INTO schedule (queue, data, timestamp) VALUES (?, ?, ?)", rows)

    def read_schedule(self, ts: datetime) -> list[bytes]:
        where, params = "WHERE queue = ? AND timestamp <= ?", (self.name, ts.timestamp())
        if not self._all(f"SELECT 1 FROM schedule {where} LIMIT 1", params):
            return []
        with self._transaction() as cur:
            rows = cur.execute(f"SELECT data FROM schedule {where} ORDER BY timestamp, id", params)
            due = [data for (data,) in rows.fetchall()]
            # Same predicate inside the same write transaction: deletes exactly those rows.
            cur.execute(f"DELETE FROM schedule {where}", params)
            return due

    def schedule_size(self) -> int:
        return self._all("SELECT count(*) FROM schedule WHERE queue = ?", (self.name,))[0][0]

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        sql = "SELECT data FROM schedule WHERE queue = ? ORDER BY timestamp, id LIMIT ?"
        return [data for (data,) in self._all(sql, (self.name, -1 if limit is None else limit))]

    def flush_schedule(self) -> None:
        self._run("DELETE FROM schedule WHERE queue = ?", (self.name,))

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        sql = "INSERT OR REPLACE INTO kv (queue, key, value) VALUES (?, ?, ?)"
        self._run(sql, (self.name, key, sqlite3.Binary(value)))

    def peek_data(self, key: str) -> bytes | type[EmptyData]:
        rows = self._all("SELECT value FROM kv WHERE queue = ? AND key = ?", (self.name, key))
        return rows[0][0] if rows else EmptyData

    def peek_many(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted, found = list(keys), {}
        for i in range(0, len(wanted), _CHUNK):
            chunk = wanted[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT key, value FROM kv WHERE queue = ? AND key IN ({marks})"
            found.update(self._all(sql, (self.name, *chunk)))
        return found

    def pop_data(self, key: str) -> bytes | type[EmptyData]:
        # Huey pops every executed task's revoke key; we never revoke, so the key is almost
        # never there: look first without the write lock.
        if not self.has_data_for_key(key):
            return EmptyData
        with self._transaction() as cur:
            sql = "SELECT value FROM kv WHERE queue = ? AND key = ?"
            row = cur.execute(sql, (self.name, key)).fetchone()
            if row is None:
                return EmptyData
            cur.execute("DELETE FROM kv WHERE queue = ? AND key = ?", (self.name, key))
            return row[0]

    def has_data_for_key(self, key: str) -> bool:
        return bool(self._all("SELECT 1 FROM kv WHERE queue = ? AND key = ?", (self.name, key)))

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is not None:
            raise NotImplementedError("ttl is not supported by this storage.")
        sql = "INSERT INTO kv (queue, key, value) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        return self._run(sql, (self.name, key, sqlite3.Binary(value))) == 1

    def incr(self, key: str, amount: int = 1) -> int:
        with self._transaction() as cur:
            cur.execute("INSERT INTO counter (queue, key, value) VALUES (?, ?, ?) ON CONFLICT "
                        "DO UPDATE SET value = value + excluded.value", (self.name, key, amount))
            sql = "SELECT value FROM counter WHERE queue = ? AND key = ?"
            return cur.execute(sql, (self.name, key)).fetchone()[0]

    def delete_counter(self, key: str) -> None:
        self._run("DELETE FROM counter WHERE queue = ? AND key = ?", (self.name, key))

    def result_store_size(self) -> int:
        return self._all("SELECT count(*) FROM kv WHERE queue = ?", (self.name,))[0][0]

    def result_items(self) -> dict[str, bytes]:
        return dict(self._all("SELECT key, value FROM kv WHERE queue = ?", (self.name,)))

    def flush_results(self) -> None:
        self._run("DELETE FROM kv WHERE queue = ?", (self.name,))

    def flush_counters(self) -> None:
        self._run("DELETE FROM counter WHERE queue = ?", (self.name,))


class QueueHuey(Huey):
    """``Huey`` on :class:`SqliteQueueStorage` (``QueueHuey(name, filename=..., timeout=...)``)."""

    storage_class = SqliteQueueStorage
