"""Alembic environment: metadata from the models, batch mode for SQLite.

Upgrades normally run programmatically (``tubesensei db upgrade``), which hands in an open
connection through ``config.attributes["connection"]``. From the command line
(``alembic -c alembic.ini ...``) the URL comes from TubeSensei's own settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tubesensei.db.models import Base

config = context.config
target_metadata = Base.metadata

# FTS5 shadow tables and the virtual table are created by hand in the migrations.
FTS_PREFIX = "transcript_chunks_fts"


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    return not (type_ == "table" and name is not None and name.startswith(FTS_PREFIX))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_name=include_name,
        compare_type=True,
        # All migrations in one transaction, on SQLite too (alembic assumes SQLite cannot
        # roll back DDL and commits after each one; through db/engine.py's BEGIN it can):
        # a process killed mid-upgrade leaves the schema as it was, never half-way.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from tubesensei.config import load_settings
    from tubesensei.db.engine import create_sync_engine

    url = config.get_main_option("sqlalchemy.url") or load_settings().settings.database_url
    engine = create_sync_engine(url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
