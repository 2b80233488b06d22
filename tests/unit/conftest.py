"""The unit tier's one shared resource: an empty database at the current schema, migrated
once per session and copied for each test that needs one (a file copy, not a migration)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tubesensei.db.engine import Database
from tubesensei.db.schema import upgrade


@pytest.fixture(scope="session")
def empty_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "empty.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(empty_db_file: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "unit.db"
    shutil.copy(empty_db_file, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()
