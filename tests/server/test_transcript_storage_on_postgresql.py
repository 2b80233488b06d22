"""Migration 0009 converts stored transcripts on PostgreSQL as on SQLite (and back)."""

from __future__ import annotations

import pytest

from tests.integration.test_transcript_storage import (
    check_converted,
    check_downgraded,
    seed_at_0008,
)
from tubesensei.db.schema import downgrade, upgrade

pytestmark = pytest.mark.server


def test_upgrade_converts_stored_transcripts_on_postgresql(pg_url: str) -> None:
    seed_at_0008(pg_url)
    upgrade(pg_url)
    check_converted(pg_url)
    downgrade(pg_url, "0008")
    check_downgraded(pg_url)
