from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from tubesensei.db.engine import (
    READER_CACHE_KIB,
    READER_MMAP_BYTES,
    AsyncDatabase,
    Database,
    create_sync_engine,
)
from tubesensei.db.models import Base, Channel, ProcessingJob, Transcript, TranscriptChunk, Video
from tubesensei.db.schema import (
    SchemaError,
    downgrade,
    ensure_schema,
    head_revision,
    schema_state,
    upgrade,
)


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db' / 'test.db'}"
    ensure_schema(url)
    return url


def test_upgrade_matches_models_and_downgrades_to_base(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    engine = create_sync_engine(url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={"include_name": lambda n, t, p: not (t == "table" and n.startswith("transcript_chunks_fts"))},
        )
        diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], diff
        assert "transcript_chunks_fts" in inspect(conn).get_table_names()
    downgrade(url, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) == {"alembic_version"}
    upgrade(url)
    assert schema_state(url).up_to_date
    engine.dispose()


def test_a_postgresql_engine_gives_the_partial_index_its_where() -> None:
    """The models leave out postgresql_where (it would load the PostgreSQL dialect in every
    SQLite command); making a PostgreSQL engine adds it, before any DDL or comparison."""
    from sqlalchemy.schema import CreateIndex

    index = next(i for i in ProcessingJob.__table__.indexes
                 if i.name == "uq_processing_jobs_active_entity")
    from sqlalchemy.dialects import postgresql

    with contextlib.suppress(KeyError):  # added by an earlier test's engine
        del index.dialect_options["postgresql"]["where"]
    assert "WHERE" not in str(CreateIndex(index).compile(dialect=postgresql.dialect()))
    engine = create_sync_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # no connect
    ddl = str(CreateIndex(index).compile(dialect=engine.dialect))
    assert ddl.endswith("WHERE status IN ('pending', 'running', 'retrying')"), ddl
    assert index.dialect_options["sqlite"]["where"] is not None
    engine.dispose()


def test_pragmas_are_set(db_url: str) -> None:
    engine = create_sync_engine(db_url, busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        # a consumer keeps SQLite's default page cache and reads the file (no mmap)
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -2000
    engine.dispose()


def test_writers_begin_immediate_readers_deferred_and_a_lock_error_is_sqlalchemys(
        db_url: str) -> None:
    """BEGIN goes straight to the sqlite3 connection (db/engine.py _on_begin); a writer that
    cannot get the lock still gets SQLAlchemy's OperationalError, which the ledger retries."""
    from sqlalchemy.exc import OperationalError

    db = Database(db_url, busy_timeout_ms=50)
    holder = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None,
                             timeout=0.05)
    try:
        with db.read() as s:  # DEFERRED: no lock taken by BEGIN itself
            assert s.execute(text("SELECT count(*) FROM channels")).scalar() == 0
            holder.execute("BEGIN IMMEDIATE")  # a reader does not stand in a writer's way
            holder.execute("ROLLBACK")
        with db.write() as s:  # IMMEDIATE: the write lock is taken at BEGIN
            s.execute(text("SELECT 1"))
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                holder.execute("BEGIN IMMEDIATE")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="database is locked"), db.write() as s:
            s.execute(text("SELECT 1"))
        holder.execute("ROLLBACK")
        with db.write() as s:  # the pool's connection still works
            assert s.execute(text("SELECT 1")).scalar() == 1
    finally:
        holder.close()
        db.dispose()


def test_readers_map_the_file_and_keep_a_bigger_cache(db_url: str) -> None:
    engine = create_sync_engine(db_url, reader=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == READER_MMAP_BYTES
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -READER_CACHE_KIB
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()

    async def tui() -> tuple[int, int]:  # the TUI reads through the asyncio engine
        adb = AsyncDatabase(db_url)
        try:
            async with adb.engine.connect() as conn:
                return ((await conn.exec_driver_sql("PRAGMA mmap_size")).scalar(),
                        (await conn.exec_driver_sql("PRAGMA cache_size")).scalar())
        finally:
            await adb.dispose()

    assert asyncio.run(tui()) == (READER_MMAP_BYTES, -READER_CACHE_KIB)


def test_reading_commands_open_a_reader_and_the_others_do_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tubesensei.app import Runtime
    from tubesensei.config import load_settings

    config = tmp_path / "empty.toml"
    config.write_text("", encoding="utf-8")

    def mmap_size(read_only: bool) -> int:
        runtime = Runtime(load_settings(config, environ={
            "TUBESENSEI_DATA_DIR": str(tmp_path / "data")}))
        try:
            with runtime.database(read_only=read_only).engine.connect() as conn:
                return conn.exec_driver_sql("PRAGMA mmap_size").scalar()
        finally:
            runtime.close()

    assert mmap_size(read_only=False) == 0  # creates the database: a writer
    assert mmap_size(read_only=True) == READER_MMAP_BYTES
    # a data folder that cannot be written (tests/reliability/test_read_only.py mounts one)
    monkeypatch.setattr(Runtime, "_writable", lambda self: False)
    assert mmap_size(read_only=True) == READER_MMAP_BYTES


def test_outdated_schema_names_the_upgrade_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url)
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffffffff'")
    with pytest.raises(SchemaError, match="newer than this tubesensei"):
        ensure_schema(url)
    # An older revision of a database that holds data: pretend the code has a newer head.
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head_revision()}'")
        conn.exec_driver_sql("INSERT INTO channels (youtube_channel_id, title, description, status, "
                             "created_at, updated_at) VALUES ('UCx', 't', '', 'active', "
                             "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    import tubesensei.db.schema as schema

    real = schema.head_revision
    try:
        schema.head_revision = lambda: "9999"  # type: ignore[assignment]
        with pytest.raises(SchemaError, match="run `tubesensei db upgrade`"):
            ensure_schema(url)
    finally:
        schema.head_revision = real  # type: ignore[assignment]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE alembic_version")
    with pytest.raises(SchemaError, match="not made by tubesensei"):
        ensure_schema(url)
    engine.dispose()


def _killed_after(revision: str, call: str, url: str) -> int:
    """Run db.schema's ``call`` on ``url`` in a subprocess that kills itself with -9 right
    after ``revision``'s migration ran (before anything is committed); its return code."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys\n"
        "from alembic.runtime import migration\n"
        "orig = migration.HeadMaintainer.update_to_step\n"
        "def killed(self, step):\n"
        "    orig(self, step)\n"
        f"    if step.revision.revision == {revision!r}:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "migration.HeadMaintainer.update_to_step = killed\n"
        f"from tubesensei.db.schema import {call}\n"
        f"{call}(sys.argv[1])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, url], capture_output=True, timeout=120)
    return done.returncode


def test_a_first_creation_cut_short_is_finished_by_the_next_command(tmp_path: Path) -> None:
    """kill -9 between migrations: the upgrade is one transaction (on SQLite too), so the
    file is left empty and the next command creates it; and a database an older TubeSensei
    left half-created (committed migration by migration, no data yet) is finished too."""
    url = f"sqlite:///{tmp_path / 'cut.db'}"
    assert _killed_after("0003", "ensure_schema", url) == -9
    engine = create_sync_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM sqlite_master").scalar() == 0
    assert ensure_schema(url).up_to_date
    # Half-created by an older version: at 0001, no rows.
    half = f"sqlite:///{tmp_path / 'half.db'}"
    upgrade(half, "0001")
    assert ensure_schema(half).up_to_date
    engine.dispose()


def test_an_upgrade_killed_midway_leaves_the_old_schema_and_the_data(tmp_path: Path) -> None:
    """kill -9 while `db upgrade` migrates a database that holds data: it stays at its old
    revision with every row (one transaction), and the next upgrade completes."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    engine = create_sync_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO channels (youtube_channel_id, title, description, "
                             "status, created_at, updated_at) VALUES ('UCkept', 't', '', "
                             "'active', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    assert _killed_after("0006", "upgrade", url) == -9
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0005"
        assert conn.exec_driver_sql("SELECT youtube_channel_id FROM channels").scalar() == (
            "UCkept")
    with pytest.raises(SchemaError, match="run `tubesensei db upgrade`"):
        ensure_schema(url)  # it holds data: upgrading stays a deliberate step
    upgrade(url)
    assert ensure_schema(url).up_to_date
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM channels").scalar() == 1
    engine.dispose()


def _seed_channel(db: Database, cid: str = "UC" + "a" * 22) -> int:
    with db.write() as s:
        ch = Channel(youtube_channel_id=cid, title="t")
        s.add(ch)
        s.flush()
        return ch.id


def test_constraints(db_url: str) -> None:
    db = Database(db_url)
    chan = _seed_channel(db)
    with pytest.raises(IntegrityError):
        _seed_channel(db)  # unique youtube_channel_id
    with pytest.raises(IntegrityError), db.write() as s:  # CHECK on status words
        s.add(Channel(youtube_channel_id="UC" + "b" * 22, status="sleeping"))
    with pytest.raises(IntegrityError), db.write() as s:  # foreign keys enforced
        s.add(Video(youtube_video_id="abcdefghijk", channel_id=9999))
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(Video(youtube_video_id="abcdefghijk", channel_id=chan,
                    transcript_status="done", unavailable_reason="bored"))
    db.dispose()


def test_one_active_job_per_entity(db_url: str) -> None:
    db = Database(db_url)

    def job(status: str = "pending") -> ProcessingJob:
        return ProcessingJob(job_type="extract_transcript", entity_id="abcdefghijk",
                             queue="transcripts", status=status)

    with db.write() as s:
        s.add(job())
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(job("running"))
    with db.write() as s:  # finished jobs don't count
        s.add_all([job("completed"), job("failed"), job("cancelled")])
        other = job()
        other.job_type = "discover_channel"
        s.add(other)
    with db.write() as s:
        s.execute(text("UPDATE processing_jobs SET status='completed' WHERE status='pending'"))
        s.add(job())
    with db.read() as s:
        count = len((s.execute(select(ProcessingJob))).scalars().all())
    assert count == 6
    db.dispose()


def test_cascades_keep_the_fts_index_in_sync(db_url: str) -> None:
    db = Database(db_url)
    chan = _seed_channel(db)
    with db.write() as s:
        video = Video(youtube_video_id="abcdefghijk", channel_id=chan)
        s.add(video)
        s.flush()
        tr = Transcript(video_id=video.id, language_code="en", segments=[], cleaned_segments=[],
                        fetched_at=datetime.now(UTC))
        s.add(tr)
        s.flush()
        s.add(TranscriptChunk(transcript_id=tr.id, seq=0, start_s=1.5, text="hello quantum world"))

    def hits(word: str) -> int:
        with db.read() as s:
            q = text("SELECT count(*) FROM transcript_chunks_fts WHERE transcript_chunks_fts MATCH :w")
            return (s.execute(q, {"w": word})).scalar_one()

    assert hits("quantum") == 1
    with db.write() as s:
        s.execute(text("UPDATE transcript_chunks SET text='hello classical world'"))
    assert hits("quantum") == 0 and hits("classical") == 1
    with db.write() as s:
        s.execute(text("DELETE FROM channels"))
    with db.read() as s:
        for table in ("videos", "transcripts", "transcript_chunks"):
            assert (s.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one() == 0
    assert hits("classical") == 0
    db.dispose()


def test_created_at_roundtrips_as_aware_utc(db_url: str) -> None:
    db = Database(db_url)
    _seed_channel(db)
    with db.read() as s:
        created = s.execute(select(Channel)).scalar_one().created_at
    db.dispose()
    assert created.tzinfo is not None and created.utcoffset().total_seconds() == 0


def test_the_asyncio_engine_runs_the_same_read_queries(db_url: str) -> None:
    """The TUI's path: a read query (a function of a Session) on an event loop, through
    aiosqlite, gives what the synchronous engine gives."""
    from tubesensei.db.engine import AsyncDatabase
    from tubesensei.queries.corpus import corpus_totals, list_channels

    db = Database(db_url)
    _seed_channel(db)
    sync_result = (db.query(list_channels), db.query(corpus_totals))
    db.dispose()

    async def go() -> tuple:
        adb = AsyncDatabase(db_url)
        try:
            return (await adb.query(list_channels), await adb.query(corpus_totals))
        finally:
            await adb.dispose()

    channels, totals = asyncio.run(go())
    assert (channels, totals) == sync_result
    assert [c.youtube_channel_id for c in channels] == ["UC" + "a" * 22]


WRITER = """
import sys
from tubesensei.db.engine import Database
from sqlalchemy import text
def write_rows(url, tag, n, db=None):
    own = db is None
    db = db or Database(url, busy_timeout_ms=30000)
    for i in range(n):
        with db.write() as s:
            v = (s.execute(text("SELECT count(*) FROM quota_usage"))).scalar_one()
            s.execute(text("INSERT INTO quota_usage(day, units, calls, updated_at) "
                           "VALUES (date('2000-01-01', :d || ' days'), :u, 0, CURRENT_TIMESTAMP)"),
                      {"d": v, "u": tag})
    if own:
        db.dispose()
if __name__ == "__main__":
    write_rows(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
"""
_writer_scope: dict = {"__name__": "writer"}
exec(WRITER, _writer_scope)


def test_eight_concurrent_writers_never_see_database_is_locked(db_url: str) -> None:
    """Read-then-write transactions from 6 threads and 2 processes: no lock errors, no lost rows.

    Each transaction reads a count and inserts a row keyed by it, so an interleaving that
    a deferred transaction would allow (two readers, then two writers) would collide on
    the primary key; BEGIN IMMEDIATE serialises them instead.
    """
    per_writer = 40
    errors: list[BaseException] = []

    shared = Database(db_url, busy_timeout_ms=30000, pool_size=6)  # one engine, as in a process

    def thread_writer(tag: int) -> None:
        try:
            _writer_scope["write_rows"](db_url, tag, per_writer, shared)
        except BaseException as exc:
            errors.append(exc)

    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, db_url, str(100 + i), str(per_writer)],
                         stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    threads = [threading.Thread(target=thread_writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert not errors, errors
    shared.dispose()
    engine = create_sync_engine(db_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM quota_usage").scalar() == 8 * per_writer
    engine.dispose()


def test_refresh_statistics_runs_analyze_once_when_missing(db_url: str) -> None:
    from tubesensei.db.engine import refresh_statistics

    engine = create_sync_engine(db_url)
    assert refresh_statistics(engine, only_if_missing=True) is True
    with engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name='sqlite_stat1'").scalar() == 1
    assert refresh_statistics(engine, only_if_missing=True) is False
    assert refresh_statistics(engine) is True
    engine.dispose()
