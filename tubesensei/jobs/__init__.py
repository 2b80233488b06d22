"""The job system (see docs/architecture.md).

Huey's storage module imports psycopg when it is installed (the ``server`` extra), for a
PostgreSQL queue storage we never use (our queue is SQLite or Redis; PostgreSQL is reached
through SQLAlchemy, which imports psycopg itself when the database URL asks for it). That
import alone is 9 MB of a consumer's memory; huey is imported here with psycopg hidden, so
a SQLite deployment never loads it.
"""

from __future__ import annotations

import sys


def _import_huey_without_psycopg() -> None:
    if "huey.storage" in sys.modules or "psycopg" in sys.modules:
        return  # too late, or psycopg is in use anyway
    sys.modules["psycopg"] = None  # type: ignore[assignment]  # `import psycopg` fails
    try:
        import huey.storage  # noqa: F401
    finally:
        del sys.modules["psycopg"]


_import_huey_without_psycopg()
