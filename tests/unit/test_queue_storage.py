"""SqliteQueueStorage: Huey's public storage contract on SQLite, compatible with huey's own."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from huey.constants import EmptyData
from huey.storage import SqliteStorage

from tubesensei.jobs.storage import QueueHuey, SqliteQueueStorage

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, 12, 0, 0)  # naive, as Huey passes them (utc=True: naive UTC)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "queue.db")


@pytest.fixture
def storage(db: str) -> SqliteQueueStorage:
    return SqliteQueueStorage("q", filename=db)


def drain(storage) -> list[bytes]:
    out = []
    while (data := storage.dequeue()) is not None:
        out.append(data)
    return out


def traced_statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every SQL statement run by connections opened from now on."""
    statements: list[str] = []
    real_connect = sqlite3.connect

    def connect(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    monkeypatch.setattr(sqlite3, "connect", connect)
    return statements


# -- queue -------------------------------------------------------------------------------


def test_dequeue_is_priority_then_fifo(storage: SqliteQueueStorage) -> None:
    for data, priority in [(b"a", None), (b"b", 5), (b"c", 0), (b"d", 5), (b"e", -1), (b"f", 1)]:
        storage.enqueue(data, priority)
    assert storage.queue_size() == 6
    assert storage.enqueued_items() == [b"b", b"d", b"f", b"a", b"c", b"e"]
    assert storage.enqueued_items(limit=2) == [b"b", b"d"]
    assert storage.queue_size() == 6  # enqueued_items does not consume
    assert storage.dequeue() == b"b"
    assert storage.dequeue() == b"d"
    assert storage.queue_size() == 4
    assert drain(storage) == [b"f", b"a", b"c", b"e"]
    assert storage.dequeue() is None
    assert storage.queue_size() == 0


def test_flush_queue(storage: SqliteQueueStorage) -> None:
    storage.enqueue_many([(b"%d" % i, None) for i in range(5)])
    storage.flush_queue()
    assert storage.queue_size() == 0
    assert storage.enqueued_items() == []
    assert storage.dequeue() is None


def test_data_is_stored_as_blob(storage: SqliteQueueStorage, db: str) -> None:
    storage.enqueue(b"\x00\xffpayload", 0)
    storage.add_to_schedule(b"\x01", T0)
    storage.put_data("k", b"\x02")
    with sqlite3.connect(db) as conn:
        for table, col in [("task", "data"), ("schedule", "data"), ("kv", "value")]:
            assert conn.execute(f"select typeof({col}) from {table}").fetchone() == ("blob",)
    assert storage.dequeue() == b"\x00\xffpayload"


def test_dequeue_looks_before_it_writes_unless_the_last_take_found_a_message(
        db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """An idle poller only reads (never the write lock); draining a backlog, each take is
    one statement (the look found a message every time)."""
    storage = SqliteQueueStorage("q", filename=db)
    storage.enqueue_many([(b"a", 0), (b"b", 0), (b"c", 0)])
    storage.close()
    statements = traced_statements(monkeypatch)

    def takes() -> tuple[int, int]:
        looks = sum(s.startswith("SELECT 1 FROM task") for s in statements)
        writes = sum(s.startswith("DELETE FROM task") for s in statements)
        statements.clear()
        return looks, writes

    assert storage.dequeue() == b"a" and takes() == (1, 1)  # nothing known yet: look first
    assert storage.dequeue() == b"b" and takes() == (0, 1)
    assert storage.dequeue() == b"c" and takes() == (0, 1)
    assert storage.dequeue() is None and takes() == (0, 1)  # the one write that finds none
    for _ in range(3):
        assert storage.dequeue() is None and takes() == (1, 0)  # idle: reads only
    storage.enqueue(b"d", 0)
    statements.clear()
    assert storage.dequeue() == b"d" and takes() == (1, 1)


def test_enqueue_many_is_one_transaction(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SqliteQueueStorage("q", filename=db)
    statements = traced_statements(monkeypatch)
    items = [(b"m%03d" % i, i % 3) for i in range(100)]
    storage.enqueue_many(items)
    assert [s for s in statements if s in {"BEGIN", "BEGIN IMMEDIATE", "COMMIT"}] == [
        "BEGIN", "COMMIT"
    ]
    assert sum(s.startswith("INSERT INTO task") for s in statements) == 100
    expected = sorted(items, key=lambda item: -item[1])  # stable: FIFO within a priority
    assert storage.queue_size() == 100
    assert drain(storage) == [data for data, _ in expected]


def test_enqueue_many_empty_is_a_noop(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SqliteQueueStorage("q", filename=db)
    statements = traced_statements(monkeypatch)
    storage.enqueue_many([])
    storage.add_many_to_schedule([])
    assert statements == []
    assert storage.queue_size() == 0
    assert storage.schedule_size() == 0


def test_enqueue_many_is_all_or_nothing(storage: SqliteQueueStorage) -> None:
    storage.enqueue(b"before", 0)
    bad = [(b"ok1", 0), (b"ok2", 0), (b"bad", object()), (b"ok3", 0)]
    with pytest.raises(sqlite3.Error):
        storage.enqueue_many(bad)  # type: ignore[list-item]
    assert storage.enqueued_items() == [b"before"]
    storage.enqueue_many([(b"after", 0)])  # the connection is usable again
    assert drain(storage) == [b"before", b"after"]


# -- schedule ----------------------------------------------------------------------------


def test_schedule(storage: SqliteQueueStorage, db: str) -> None:
    s = timedelta(seconds=1)
    storage.add_to_schedule(b"late", T0 + 10 * s)
    storage.add_to_schedule(b"t2", T0 + 2 * s)
    storage.add_many_to_schedule([(b"t1", T0 + s), (b"t2-second", T0 + 2 * s), (b"t3", T0 + 3 * s)])
    with sqlite3.connect(db) as conn:
        stored = conn.execute("select timestamp from schedule where data = ?", (b"t1",)).fetchone()
    assert stored == ((T0 + s).timestamp(),)
    assert storage.schedule_size() == 5
    assert storage.scheduled_items() == [b"t1", b"t2", b"t2-second", b"t3", b"late"]
    assert storage.scheduled_items(limit=2) == [b"t1", b"t2"]

    assert storage.read_schedule(T0) == []
    assert storage.read_schedule(T0 + 2 * s) == [b"t1", b"t2", b"t2-second"]  # at or before ts
    assert storage.schedule_size() == 2
    assert storage.read_schedule(T0 + 2 * s) == []  # removed once read
    assert storage.read_schedule(T0 + 60 * s) == [b"t3", b"late"]
    assert storage.schedule_size() == 0
    assert storage.queue_size() == 0  # the schedule is not the queue


def test_schedule_aware_datetimes_and_flush(storage: SqliteQueueStorage) -> None:
    now = datetime.now(UTC)
    storage.add_many_to_schedule([(b"past", now - timedelta(minutes=1)),
                                  (b"future", now + timedelta(hours=1))])
    assert storage.read_schedule(now) == [b"past"]
    assert storage.scheduled_items() == [b"future"]
    storage.flush_schedule()
    assert storage.schedule_size() == 0
    assert storage.read_schedule(now + timedelta(days=1)) == []


# -- key/value and counters --------------------------------------------------------------


def test_kv(storage: SqliteQueueStorage) -> None:
    assert storage.peek_data("k") is EmptyData
    assert storage.pop_data("k") is EmptyData
    assert storage.has_data_for_key("k") is False
    storage.put_data("k", b"v1")
    storage.put_data("k", b"v2", is_result=True)  # overwrites
    assert storage.peek_data("k") == b"v2"
    assert storage.has_data_for_key("k") is True

    assert storage.put_if_empty("lock", b"1") is True
    assert storage.put_if_empty("lock", b"2") is False
    assert storage.peek_data("lock") == b"1"
    with pytest.raises(NotImplementedError):
        storage.put_if_empty("other", b"x", ttl=10)
    assert storage.has_data_for_key("other") is False

    assert storage.peek_many(["k", "lock", "missing"]) == {"k": b"v2", "lock": b"1"}
    assert storage.peek_many([]) == {}
    assert storage.result_store_size() == 2
    assert storage.result_items() == {"k": b"v2", "lock": b"1"}

    assert storage.pop_data("k") == b"v2"
    assert storage.pop_data("k") is EmptyData
    assert storage.delete_data("lock") is True  # BaseStorage's default, via pop_data
    assert storage.result_store_size() == 0

    storage.put_data("a", b"1")
    storage.flush_results()
    assert storage.result_items() == {}
    assert storage.peek_data("a") is EmptyData


def test_peek_many_with_many_keys(storage: SqliteQueueStorage) -> None:
    for i in range(0, 1500, 2):
        storage.put_data(f"k{i}", b"%d" % i)
    found = storage.peek_many([f"k{i}" for i in range(1500)])
    assert found == {f"k{i}": b"%d" % i for i in range(0, 1500, 2)}


def test_counters(storage: SqliteQueueStorage) -> None:
    assert storage.incr("c") == 1
    assert storage.incr("c", 5) == 6
    assert storage.incr("d", 2) == 2
    storage.delete_counter("c")
    assert storage.incr("c") == 1
    storage.flush_counters()
    assert storage.incr("c") == 1
    assert storage.incr("d") == 1


def test_flush_all(storage: SqliteQueueStorage) -> None:
    storage.enqueue(b"m")
    storage.add_to_schedule(b"s", T0)
    storage.put_data("k", b"v")
    storage.incr("c")
    storage.flush_all()
    assert (storage.queue_size(), storage.schedule_size(), storage.result_store_size()) == (0, 0, 0)
    assert storage.incr("c") == 1


# -- instances, connection, compatibility ------------------------------------------------


def test_names_are_isolated_on_one_file(db: str) -> None:
    a = SqliteQueueStorage("a", filename=db)
    b = SqliteQueueStorage("b", filename=db)
    a.enqueue(b"for-a")
    b.enqueue(b"for-b")
    a.add_to_schedule(b"sched-a", T0)
    a.put_data("k", b"a-value")
    a.incr("c", 10)
    assert b.queue_size() == 1
    assert b.enqueued_items() == [b"for-b"]
    assert b.read_schedule(T0 + timedelta(days=1)) == []
    assert b.peek_data("k") is EmptyData
    assert b.incr("c") == 1
    assert drain(b) == [b"for-b"]
    assert drain(a) == [b"for-a"]
    b.flush_all()
    assert a.read_schedule(T0) == [b"sched-a"]
    assert a.peek_data("k") == b"a-value"


def test_close_and_lazy_reopen(storage: SqliteQueueStorage, db: str) -> None:
    assert storage.close() is False  # nothing open after construction
    storage.enqueue(b"1")
    assert storage.close() is True
    assert storage.close() is False
    storage.enqueue(b"2")  # reopens
    assert drain(storage) == [b"1", b"2"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)


def test_connection_settings(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = SqliteQueueStorage("q", filename=db, timeout=12.5, cache_mb=8, unknown=1)
    statements = traced_statements(monkeypatch)
    storage.queue_size()
    pragmas = [s for s in statements if s.upper().startswith("PRAGMA")]
    assert "PRAGMA synchronous=NORMAL" in pragmas
    assert "PRAGMA journal_mode=WAL" in pragmas
    assert "PRAGMA busy_timeout=12500" in pragmas


def test_switch_to_wal_retries_while_locked(tmp_path: Path) -> None:
    """Switching a file to WAL while another connection writes fails at once with "database is
    locked" (SQLite does not call the busy handler there): the storage must retry."""
    path = str(tmp_path / "new.db")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("create table other (x)")  # a rollback-journal file, like a brand-new one
    holder.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.2, holder.execute, ("COMMIT",))
    timer.start()
    try:
        storage = SqliteQueueStorage("q", filename=path, timeout=5)
    finally:
        timer.join()
        holder.close()
    storage.enqueue(b"x")
    with sqlite3.connect(path) as conn:
        assert conn.execute("pragma journal_mode").fetchone() == ("wal",)
    assert storage.dequeue() == b"x"


def _schema(path: str) -> dict[str, object]:
    with sqlite3.connect(path) as conn:
        out: dict[str, object] = {}
        for (table,) in conn.execute("select name from sqlite_master where type='table'"):
            out[table] = conn.execute(f"pragma table_info({table})").fetchall()
            for _, index, *flags in conn.execute(f"pragma index_list({table})").fetchall():
                out[index] = (flags, conn.execute(f"pragma index_xinfo({index})").fetchall())
        return out


def test_schema_matches_huey_sqlite_storage(tmp_path: Path) -> None:
    ours, theirs = str(tmp_path / "ours.db"), str(tmp_path / "theirs.db")
    SqliteQueueStorage("q", filename=ours)
    SqliteStorage("q", filename=theirs).close()
    assert _schema(ours) == _schema(theirs)
    assert {"task", "schedule", "kv", "counter", "task_queue_priority_id",
            "schedule_queue_timestamp"} <= set(_schema(ours))
    SqliteQueueStorage("q", filename=theirs).enqueue(b"x")  # IF NOT EXISTS on a huey file
    assert _schema(ours) == _schema(theirs)


def test_compatible_with_huey_sqlite_storage_both_ways(db: str) -> None:
    ours = SqliteQueueStorage("q", filename=db)  # creates the file
    theirs = SqliteStorage("q", filename=db)
    ours.enqueue(b"low", 0)
    ours.enqueue_many([(b"high", 9)])
    ours.add_to_schedule(b"sched", T0)
    ours.put_data("k", b"v")
    assert theirs.dequeue() == b"high"
    assert theirs.dequeue() == b"low"
    assert theirs.read_schedule(T0) == [b"sched"]
    assert theirs.pop_data("k") == b"v"

    theirs.enqueue(b"from-huey", 3)
    theirs.enqueue(b"from-huey-first", 4)
    theirs.add_to_schedule(b"huey-sched", T0)
    theirs.put_data("h", b"hv")
    assert theirs.incr("n", 2) == 2
    assert ours.dequeue() == b"from-huey-first"
    assert ours.dequeue() == b"from-huey"
    assert ours.read_schedule(T0) == [b"huey-sched"]
    assert ours.peek_data("h") == b"hv"
    assert ours.incr("n") == 3
    theirs.close()
    ours.close()


def test_existing_huey_file_keeps_working(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    old = SqliteStorage("discovery", filename=path)
    old.enqueue(b"queued-before-upgrade", 0)
    old.close()
    new = SqliteQueueStorage("discovery", filename=path)
    assert new.dequeue() == b"queued-before-upgrade"


# -- concurrency -------------------------------------------------------------------------

WORKER = """
import sys
from tubesensei.jobs.storage import SqliteQueueStorage
work = SqliteQueueStorage("work", filename=sys.argv[1], timeout=30)
print("ready", flush=True)
sys.stdin.readline()
SqliteQueueStorage("fresh", filename=sys.argv[2], timeout=30).enqueue(b"hello")
got = []
while (data := work.dequeue()) is not None:
    got.append(data.decode())
print(",".join(got), flush=True)
"""


def test_threads_and_processes_get_each_message_exactly_once(tmp_path: Path) -> None:
    path, fresh = str(tmp_path / "shared.db"), str(tmp_path / "fresh.db")
    expected = [f"m{i}" for i in range(500)]
    producer = SqliteQueueStorage("work", filename=path)
    producer.enqueue_many([(m.encode(), None) for m in expected])

    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, path, fresh], env=env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for _ in range(3)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"

        shared = SqliteQueueStorage("work", filename=path)  # one connection, many threads
        results: list[list[str]] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(6)

        def consume(storage: SqliteQueueStorage) -> None:
            got: list[str] = []
            try:
                barrier.wait()
                while (data := storage.dequeue()) is not None:
                    got.append(data.decode())
            except BaseException as exc:
                errors.append(exc)
            results.append(got)

        storages = [shared] * 3 + [SqliteQueueStorage("work", filename=path) for _ in range(3)]
        threads = [threading.Thread(target=consume, args=(s,)) for s in storages]
        for thread in threads:
            thread.start()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for thread in threads:
            thread.join(timeout=10)
        outputs = [proc.communicate(timeout=30) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()

    assert errors == []
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
        results.append([m for m in out.strip().split(",") if m])
    delivered = [m for got in results for m in got]
    assert len(delivered) == len(expected)
    assert sorted(delivered) == sorted(expected)
    assert producer.queue_size() == 0
    # Three processes created and wrote to a brand-new file at the same moment.
    assert SqliteQueueStorage("fresh", filename=fresh).enqueued_items() == [b"hello"] * 3


# -- Huey --------------------------------------------------------------------------------


def test_huey_round_trip(tmp_path: Path) -> None:
    huey = QueueHuey("q", filename=str(tmp_path / "q.db"), results=False, utc=True, timeout=10)
    assert isinstance(huey.storage, SqliteQueueStorage)
    assert huey.storage.name == "q"
    assert huey.storage.timeout == 10.0
    calls: list[int] = []

    @huey.task()
    def add(a: int, b: int) -> int:
        calls.append(a + b)
        return a + b

    assert add(1, 2) is None  # results=False: queued, nothing returned
    assert huey.pending_count() == 1
    task = huey.dequeue()
    assert task is not None
    huey.execute(task)
    assert calls == [3]
    assert huey.dequeue() is None

    huey.enqueue(add.s(1, 1))
    huey.enqueue(add.s(10, 10, priority=5))
    huey.enqueue(add.s(100, 100, priority=1))
    assert [t.priority for t in huey.pending()] == [5, 1, None]
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
    assert calls == [3, 20, 200, 2]


def test_huey_schedule_round_trip(tmp_path: Path) -> None:
    huey = QueueHuey("q", filename=str(tmp_path / "q.db"), results=False, utc=True)
    calls: list[str] = []

    @huey.task()
    def job(x: str) -> None:
        calls.append(x)

    job.schedule(("later",), delay=3600)
    huey.execute(huey.dequeue())  # not due: Huey moves it to the schedule
    assert calls == []
    assert huey.scheduled_count() == 1
    now = datetime.now(UTC).replace(tzinfo=None)
    assert huey.read_schedule(now) == []
    (task,) = huey.read_schedule(now + timedelta(hours=2))
    huey.execute(task, now + timedelta(hours=2))
    assert calls == ["later"]
    assert huey.scheduled_count() == 0


def test_read_only_storage_reads_sizes_and_writes_nothing(storage: SqliteQueueStorage,
                                                          db: str, tmp_path: Path) -> None:
    storage.enqueue(b"a", 0)
    storage.enqueue(b"b", 5)
    storage.add_to_schedule(b"later", datetime.now(UTC) + timedelta(hours=1))
    storage.close()
    reader = SqliteQueueStorage("q", db, read_only=True)
    assert (reader.queue_size(), reader.schedule_size()) == (2, 1)
    with pytest.raises(sqlite3.OperationalError):  # query_only / mode=ro
        reader.enqueue(b"c", 0)
    reader.close()
    missing = tmp_path / "never-used.db"
    empty = SqliteQueueStorage("q", str(missing), read_only=True)
    assert (empty.queue_size(), empty.schedule_size()) == (0, 0)
    assert not missing.exists()  # nothing created
    sqlite3.connect(tmp_path / "blank.db").execute("VACUUM").connection.close()
    blank = SqliteQueueStorage("q", str(tmp_path / "blank.db"), read_only=True)
    assert blank.queue_size() == 0
