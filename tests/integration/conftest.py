"""Fixtures of the integration tier."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.pipeline_env import make_pipeline


@pytest.fixture
def pipelines(tmp_path: Path):
    """Make Pipelines on temp SQLite files (``make(sim, name, **dotted settings)``), closed
    at the end of the test."""
    made = []

    def make(sim, name: str = "corpus", **settings):
        p = make_pipeline(sim, tmp_path / f"{name}.db", **settings)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()
        p.db.dispose()
