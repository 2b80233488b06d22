"""The lists and counts the CLI and TUI show, against straightforward references on a seeded
database: the fast query shapes (tubesensei.queries) must give the very same answers."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update

from tests.list_queries_helpers import check_against_references, seed
from tubesensei.db.engine import Database, refresh_statistics
from tubesensei.db.models import ProcessingJob, Video
from tubesensei.db.schema import ensure_schema
from tubesensei.queries.state import job_counts


def _database(tmp_path: Path, **kwargs: bool) -> Database:
    url = f"sqlite:///{tmp_path / 'lists.db'}"
    ensure_schema(url)
    db = Database(url)
    seed(db.engine, **kwargs)
    return db


def test_sessions_and_job_counts_agree_with_the_references(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        reports = check_against_references(db)
        # the seed reaches every outcome: transcripts, a NULL reason, and every stored reason
        assert sum(r.transcripts for r in reports) > 0
        reasons = {why for r in reports for why in r.unavailable}
        assert "unknown" in reasons and len(reasons) >= 4
        # with planner statistics (what a consumer takes at its start) the plans change: the
        # answers must not
        refresh_statistics(db.engine)
        check_against_references(db)
    finally:
        db.dispose()


def test_outcomes_follow_the_video_whichever_job_finished_it(tmp_path: Path) -> None:
    db = _database(tmp_path)
    try:
        with db.engine.begin() as conn:  # another job (not the session's) got them
            conn.execute(update(Video.__table__).values(transcript_status="done",
                                                        unavailable_reason=None))
        reports = check_against_references(db)
        assert all(not r.unavailable for r in reports)
        assert all(r.transcripts > 0 for r in reports[1:])
    finally:
        db.dispose()


def test_job_counts_without_the_bulk_group(tmp_path: Path) -> None:
    """No completed extract job in the transcripts queue: the derived count is not shown."""
    db = _database(tmp_path, bulk=False)
    try:
        counts = db.query(job_counts)
        assert ("transcripts", "extract_transcript", "completed") not in {
            (q, t, st) for q, t, st, _ in counts}
        check_against_references(db)
        with db.engine.begin() as conn:  # an empty ledger
            conn.execute(ProcessingJob.__table__.delete())
        assert db.query(job_counts) == []
    finally:
        db.dispose()
