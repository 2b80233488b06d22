"""``tubesensei db copy --to URL``: move a corpus (a laptop's SQLite file) into another
database (a team's PostgreSQL), in batches, and check that every row arrived.

Copied, in foreign-key order and keyed on their primary keys (so ids and links stay the
same): channels, videos, transcripts, their search passages (the target builds its own
search index from them: FTS5 triggers on SQLite, a generated tsvector on PostgreSQL),
processing sessions, the job ledger and the quota days. Not copied: what describes running
processes (consumers, pauses, breaker, rate-limit slot, periodic slots): the target's own
consumers start those afresh. Jobs that were running (the source's consumers must be
stopped) arrive pending, their attempt refunded; the target's first consumer gives every
waiting job a queue message at start.

A target that already holds data is refused unless ``resume``: a copy that was interrupted
continues after the last row of each table that arrived.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, case, func, insert, select
from sqlalchemy.engine import Engine, make_url

from tubesensei.db.engine import Database, create_sync_engine, to_sync_url
from tubesensei.db.models import (
    Channel,
    ProcessingJob,
    ProcessingSession,
    QuotaUsage,
    Transcript,
    TranscriptChunk,
    Video,
)
from tubesensei.errors import BadInput, Failure

TABLES: tuple[Table, ...] = tuple(m.__table__ for m in (  # type: ignore[misc]
    Channel, Video, Transcript, TranscriptChunk, ProcessingSession, ProcessingJob, QuotaUsage))
BATCH_ROWS = 500

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in all)


@dataclass
class CopyReport:
    target: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows in the target now
    copied: dict[str, int] = field(default_factory=dict)  # table -> rows this run copied

    @property
    def total_copied(self) -> int:
        return sum(self.copied.values())


def masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _key(table: Table) -> Any:
    return next(iter(table.primary_key.columns))


def _count(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _last_key(engine: Engine, table: Table) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(func.max(_key(table)))).scalar()


def _rows_for_target(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if table.name != "processing_jobs":
        return rows
    for row in rows:  # a job the source was running: its consumer is gone
        if row["status"] == "running":
            row.update(status="pending", worker_id=None, heartbeat_at=None,
                       attempts=max(0, row["attempts"] - 1))
    return rows


def copy_database(source: Database, target_url: str, *, resume: bool = False,
                  progress: Progress | None = None, batch: int = BATCH_ROWS) -> CopyReport:
    """Copy every corpus and ledger table of ``source`` into the database at ``target_url``
    (created at the current schema when empty). See the module docstring."""
    from tubesensei.db.schema import upgrade

    target_url = to_sync_url(target_url).render_as_string(hide_password=False)
    if to_sync_url(target_url) == source.url:
        raise BadInput("db copy: the target is the database being copied")
    upgrade(target_url)  # a brand-new target gets the schema; an older one is brought up
    target = create_sync_engine(target_url, pool_size=1)
    try:
        held = {t.name: n for t in TABLES if (n := _count(target, t))}
        if held and not resume:
            what = ", ".join(f"{n:,} {name}" for name, n in held.items())
            raise BadInput(f"db copy: {masked(target_url)} is not empty ({what}); "
                           "--resume continues an interrupted copy")
        report = CopyReport(masked(target_url))
        for table in TABLES:
            report.copied[table.name] = _copy_table(source, target, table, batch, progress)
        _reset_sequences(target)
        for table in TABLES:
            expected, got = _count(source.engine, table), _count(target, table)
            report.rows[table.name] = got
            if got != expected:
                raise Failure(f"db copy: {table.name} has {got:,} rows in the target, "
                              f"{expected:,} in the source")
        return report
    finally:
        target.dispose()


def _copy_table(source: Database, target: Engine, table: Table, batch: int,
                progress: Progress | None) -> int:
    key = _key(table)
    total = _count(source.engine, table)
    last = _last_key(target, table)
    done = _count(target, table)
    copied = 0
    if progress is not None:
        progress(table.name, done, total)
    while True:
        stmt = select(table).order_by(key).limit(batch)
        if last is not None:
            stmt = stmt.where(key > last)
        with source.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        if not rows:
            return copied
        with target.begin() as conn:
            conn.execute(insert(table), _rows_for_target(table, rows))
        last = rows[-1][key.name]
        copied += len(rows)
        if progress is not None:
            progress(table.name, done + copied, total)


def _reset_sequences(target: Engine) -> None:
    """PostgreSQL: the id sequences continue after the copied ids (SQLite needs nothing)."""
    if target.dialect.name != "postgresql":
        return
    with target.begin() as conn:
        for table in TABLES:
            key = _key(table)
            if table.name == "quota_usage":
                continue
            conn.execute(select(func.setval(
                func.pg_get_serial_sequence(table.name, key.name),
                func.coalesce(select(func.max(key)).scalar_subquery(), 1),
                case((select(func.max(key)).scalar_subquery().is_(None), False), else_=True),
            )))
