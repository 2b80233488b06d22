"""Schema versions: upgrade, report, and refuse to run on an outdated database.

Every command checks the schema, so the check stays cheap: the head revision is read from the
migration files' ``revision`` / ``down_revision`` lines and the database's version from its
alembic_version table with one SELECT. Alembic itself (about 190 ms to import) is loaded only
to migrate, or where the files do not say plainly (then alembic reads them).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from tubesensei.db.engine import BEGIN_OPTION, create_sync_engine, is_sqlite, to_sync_url
from tubesensei.errors import Failure

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Keys of PostgreSQL's advisory locks: one migration at a time; one first-time creation
# at a time (held around the check and the migration, so a second key).
MIGRATION_LOCK = 7_140_301_915
CREATION_LOCK = 7_140_301_916


class SchemaError(Failure):
    """The database's schema does not fit this version of TubeSensei (one-line message)."""


def migrations_dir() -> Path:
    """The alembic scripts: packaged inside the wheel, or the repository's top-level folder."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "migrations", here.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise SchemaError("migrations are missing from this installation; reinstall tubesensei")


@cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config())


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    return cfg


# `revision: str = '0008'`, `down_revision: str | None = '0007'` (alembic's template).
_HEADER_LINE = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=\s*(.*?)\s*$", re.M)


@cache
def revision_graph() -> dict[str, tuple[str, ...]] | None:
    """Each revision and the ones it follows, read from the migration files' header lines
    without importing alembic; None when a file does not say it plainly (a computed value,
    a comment on the line...), and alembic is asked instead."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in sorted((migrations_dir() / "versions").glob("*.py")):
        found = {key: value for key, value in
                 _HEADER_LINE.findall(path.read_text(encoding="utf-8"))}
        try:
            revision = ast.literal_eval(found["revision"])
            down = ast.literal_eval(found.get("down_revision", "None"))
        except (KeyError, ValueError, SyntaxError):
            return None
        if isinstance(down, str):
            down = (down,)
        elif down is None:
            down = ()
        if (not isinstance(revision, str) or revision in graph or not isinstance(down, tuple)
                or not all(isinstance(d, str) for d in down)):
            return None
        graph[revision] = down
    return graph or None


def head_revision() -> str:
    graph = revision_graph()
    if graph is not None:
        followed = {d for downs in graph.values() for d in downs}
        heads = [rev for rev in graph if rev not in followed]
        if len(heads) == 1:
            return heads[0]
    head = _script().get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    graph = revision_graph()
    if graph is not None:
        return set(graph)
    return {rev.revision for rev in _script().walk_revisions()}


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    is_empty: bool

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def _ensure_parent(url: URL) -> None:
    if is_sqlite(url) and url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


@contextmanager
def connecting(url: URL) -> Iterator[None]:
    """Turn a database that cannot be reached or opened into one line naming it (exit 1)."""
    from sqlalchemy.exc import DBAPIError

    try:
        yield
    except DBAPIError as exc:
        if not isinstance(exc.orig, Exception) or not _is_connection_error(exc):
            raise
        reason = (str(exc.orig).strip().splitlines() or [""])[0]
        reason = reason.removeprefix("connection failed: ")
        if is_sqlite(url):
            raise Failure(f"cannot open the database {url.database}: {reason}") from None
        raise Failure(f"cannot reach the database at "
                      f"{url.render_as_string(hide_password=True)}: {reason}") from None


def _is_connection_error(exc: Any) -> bool:
    from sqlalchemy.exc import DatabaseError, OperationalError

    return isinstance(exc, OperationalError | DatabaseError) and (
        exc.connection_invalidated or "connect" in str(exc.orig).lower()
        or "database" in str(exc.orig).lower()
    )


def schema_state(url: str | URL, busy_timeout_ms: int = 30_000) -> SchemaState:
    sync_url = to_sync_url(url)
    if is_sqlite(sync_url) and sync_url.database and not Path(
            sync_url.database.removeprefix("file:")).exists():
        return SchemaState(None, head_revision(), True)
    engine = create_sync_engine(sync_url, busy_timeout_ms)
    try:
        with connecting(sync_url), engine.connect() as conn:
            current = _current_revision(conn)
            tables = [] if current is not None else [
                t for t in inspect(conn).get_table_names() if t != "alembic_version"]
    finally:
        engine.dispose()
    return SchemaState(current, head_revision(), current is None and not tables)


def _current_revision(conn: Any) -> str | None:
    """The database's revision (what alembic's MigrationContext reports), with one SELECT."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    if len(rows) <= 1:
        return rows[0] if rows else None
    from alembic.runtime.migration import MigrationContext  # several heads: alembic says

    return MigrationContext.configure(conn).get_current_revision()


def upgrade(url: str | URL, revision: str = "head", busy_timeout_ms: int = 30_000) -> None:
    from alembic import command

    _run(url, busy_timeout_ms, lambda cfg: command.upgrade(cfg, revision))


def downgrade(url: str | URL, revision: str = "base", busy_timeout_ms: int = 30_000) -> None:
    from alembic import command

    _run(url, busy_timeout_ms, lambda cfg: command.downgrade(cfg, revision))


def _run(url: str | URL, busy_timeout_ms: int, action) -> None:  # type: ignore[no-untyped-def]
    sync_url = to_sync_url(url)
    _ensure_parent(make_url(sync_url))
    engine = create_sync_engine(sync_url, busy_timeout_ms)
    # The write lock from the start: two processes creating a brand-new database at once
    # take turns, and the second finds it at head.
    writer = engine.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
    try:
        with connecting(sync_url), writer.connect() as conn:
            if conn.dialect.name == "postgresql":  # one migrating process at a time
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            cfg = _config()
            cfg.attributes["connection"] = conn
            action(cfg)
            conn.commit()
    finally:
        engine.dispose()


@contextmanager
def _creation_lock(url: str | URL) -> Iterator[None]:
    """Serialise first-time creation of a database between processes: a process that looked
    while another was half-way through the migrations would see an "old" schema. SQLite: a
    lock file next to the database; PostgreSQL: an advisory lock (any machine)."""
    sync_url = to_sync_url(url)
    if sync_url.get_backend_name() == "postgresql":
        engine = create_sync_engine(sync_url)
        try:
            with connecting(sync_url), engine.connect() as conn:
                conn.exec_driver_sql(f"SELECT pg_advisory_lock({CREATION_LOCK})")
                try:
                    yield
                finally:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({CREATION_LOCK})")
        finally:
            engine.dispose()
        return
    if (not is_sqlite(sync_url) or sync_url.database in (None, "", ":memory:")
            or sys.platform == "win32"):
        yield
        return
    import fcntl

    lock_path = Path(sync_url.database).expanduser().with_suffix(".schema-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# Tables that hold what a user made; the first migration creates them all.
_USER_TABLES = ("channels", "videos", "processing_jobs", "processing_sessions")


def _holds_no_data(url: str | URL) -> bool:
    sync_url = to_sync_url(url)
    engine = create_sync_engine(sync_url)
    try:
        with connecting(sync_url), engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            if not set(_USER_TABLES) <= present:
                return False
            return not any(conn.exec_driver_sql(f"SELECT 1 FROM {t} LIMIT 1").first()
                           for t in _USER_TABLES)
    finally:
        engine.dispose()


def ensure_schema(url: str | URL, busy_timeout_ms: int = 30_000) -> SchemaState:
    """Create a brand-new database at head; refuse an existing one that is not at head."""
    state = schema_state(url, busy_timeout_ms)
    if state.up_to_date:
        return state
    if state.is_empty or state.current is not None:
        with _creation_lock(url):  # another process may be creating it right now
            state = schema_state(url, busy_timeout_ms)
            if state.up_to_date:
                return state
            known = known_revisions()
            if state.is_empty or (state.current in known and _holds_no_data(url)):
                # Brand-new, or a first creation cut short by an older TubeSensei that
                # committed migration by migration: nothing to lose, finish it.
                upgrade(url, busy_timeout_ms=busy_timeout_ms)
                return SchemaState(state.head, state.head, False)
    known = known_revisions()
    if state.current is None:
        raise SchemaError(
            "the database has tables but no schema version; it was not made by tubesensei"
        )
    if state.current not in known:
        raise SchemaError(
            f"the database schema ({state.current}) is newer than this tubesensei; "
            "upgrade tubesensei"
        )
    raise SchemaError(
        f"the database schema ({state.current}) is older than this tubesensei ({state.head}); "
        "run `tubesensei db upgrade`"
    )
