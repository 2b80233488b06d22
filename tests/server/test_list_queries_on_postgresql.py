"""The lists and counts' query shapes on PostgreSQL: the same answers as the references
(tests/integration/test_list_queries.py does it on SQLite), on the schema the migrations
build, down and up again across 0013."""

from __future__ import annotations

from tests.list_queries_helpers import check_against_references, seed
from tubesensei.db.engine import Database
from tubesensei.db.schema import downgrade, upgrade


def test_sessions_and_job_counts_agree_with_the_references_on_postgresql(pg_url: str) -> None:
    upgrade(pg_url)
    downgrade(pg_url, "0012")
    upgrade(pg_url)
    db = Database(pg_url)
    try:
        seed(db.engine)
        check_against_references(db)
    finally:
        db.dispose()
