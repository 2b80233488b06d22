"""store_transcript on PostgreSQL: a transcript of thousands of passages (several multi-row
INSERTs) is stored whole and searchable, as on SQLite."""

from __future__ import annotations

import pytest

from tests.integration.test_transcript_storage import check_many_passages

pytestmark = pytest.mark.server


def test_a_transcript_of_thousands_of_passages_is_stored_whole_on_postgresql(
        pg_url: str) -> None:
    check_many_passages(pg_url)
