"""INSERT ... ON CONFLICT for the dialects we run on (SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session


def insert_for(session: Session, table: Any) -> Any:
    """The dialect's ``insert`` (with ``on_conflict_do_update/nothing``) for ``table``."""
    return insert_for_engine(session.get_bind(), table)


def insert_for_engine(engine: Any, table: Any) -> Any:
    """The same, for Core statements on a synchronous engine or connection."""
    if engine.dialect.name == "postgresql":
        # Imported here: SQLAlchemy's PostgreSQL dialect costs a SQLite command ~25 ms.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table)
    return sqlite.insert(table)
