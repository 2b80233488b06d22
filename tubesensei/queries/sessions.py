"""Processing sessions and their reports: progress is always derived from the jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from tubesensei.db.models import UNAVAILABLE_REASONS, ProcessingJob, ProcessingSession, Video
from tubesensei.errors import NotFound

JOBS = ProcessingJob.__table__
SESSIONS = ProcessingSession.__table__
VIDEOS = Video.__table__


class SessionNotFound(NotFound):
    """No session with that id (one-line message)."""


@dataclass
class SessionReport:
    id: int
    name: str
    status: str
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    videos: int
    jobs: dict[str, int]
    transcripts: int
    unavailable: dict[str, int]
    failures: dict[str, int]

    @property
    def finished(self) -> int:
        return sum(self.jobs.get(s, 0) for s in ("completed", "failed", "cancelled"))

    @property
    def total(self) -> int:
        return sum(self.jobs.values())

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.completed_at or datetime.now(UTC)
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def throughput_per_min(self) -> float | None:
        d = self.duration_s
        return None if not d else round(self.finished / d * 60, 1)

    @property
    def success_rate(self) -> float | None:
        """Jobs that ended without an error, of those that ended (completed or failed). A job
        whose video has no transcript (unavailable) completes: see ``transcript_rate``."""
        done = self.jobs.get("completed", 0) + self.jobs.get("failed", 0)
        return None if not done else round(self.jobs.get("completed", 0) / done, 4)

    @property
    def jobs_completed(self) -> int:
        return self.jobs.get("completed", 0)

    @property
    def no_transcript(self) -> int:
        """Videos whose job completed but that have no transcript to take (unavailable)."""
        return sum(self.unavailable.values())

    @property
    def transcript_rate(self) -> float | None:
        """Transcripts obtained, of the videos whose job ended (completed or failed)."""
        done = self.jobs.get("completed", 0) + self.jobs.get("failed", 0)
        return None if not done else round(self.transcripts / done, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "status": self.status,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "videos": self.videos, "jobs": self.jobs, "finished": self.finished,
            "total": self.total, "transcripts": self.transcripts,
            "unavailable": self.unavailable, "failures": self.failures,
            "success_rate": self.success_rate, "jobs_completed": self.jobs_completed,
            "transcripts_obtained": self.transcripts, "no_transcript": self.no_transcript,
            "transcript_rate": self.transcript_rate, "duration_s": self.duration_s,
            "throughput_per_min": self.throughput_per_min,
        }


def _reports(s: Session, session_ids: Sequence[int] | None,
             details: bool = True, limit: int | None = None) -> list[SessionReport]:
    """Without ``details``, only the jobs by status (no failures by class, no transcripts
    or unavailable counts, which read every job's video). ``limit``: the newest N."""
    stmt = select(SESSIONS).order_by(SESSIONS.c.id.desc()).limit(limit)
    if session_ids is not None:
        stmt = stmt.where(SESSIONS.c.id.in_(list(session_ids)))
    sessions = s.execute(stmt).all()
    ids = [r.id for r in sessions]
    if not ids:  # an empty IN would still send SQLite through every job of the type
        return []
    counts: dict[int, dict[str, int]] = {}
    # Grouped by type too, in the order of the (session_id, status, job_type) index, and the
    # type picked here: SQLite reads that index alone (a filter on job_type would have it
    # walk every job of the type instead).
    for sid, status, job_type, n in s.execute(
        select(JOBS.c.session_id, JOBS.c.status, JOBS.c.job_type, func.count())
        .where(JOBS.c.session_id.in_(ids))
        .group_by(JOBS.c.session_id, JOBS.c.status, JOBS.c.job_type)
    ):
        if job_type == "extract_transcript":
            counts.setdefault(sid, {})[status] = n
    failures: dict[int, dict[str, int]] = {}
    for sid, cls, n in [] if not details else s.execute(
        select(JOBS.c.session_id, JOBS.c.error_class, func.count())
        .where(JOBS.c.session_id.in_(ids), JOBS.c.status == "failed")
        .group_by(JOBS.c.session_id, JOBS.c.error_class)
    ):
        failures.setdefault(sid, {})[cls or "unknown"] = n
    outcomes = _outcomes(s, ids) if details else {}
    done = {sid: by_outcome.pop("done", 0) for sid, by_outcome in outcomes.items()}
    return [
        SessionReport(
            id=r.id, name=r.name, status=r.status, created_at=r.created_at,
            started_at=r.started_at, completed_at=r.completed_at,
            videos=int((r.configuration or {}).get("videos", 0)), jobs=counts.get(r.id, {}),
            transcripts=done.get(r.id, 0), unavailable=outcomes.get(r.id, {}),
            failures=failures.get(r.id, {}),
        )
        for r in sessions
    ]


def _outcomes(s: Session, ids: list[int]) -> dict[int, dict[str, int]]:
    """Per session, its extract jobs whose video now has a transcript (``done``) and those
    whose video has none, by reason (``unknown`` when none was recorded; reasons in
    alphabetical order): what the video says now, whichever job got it there.

    Each job's video is looked up from the session's jobs, never the other way round: the
    (session_id, status, job_type, entity_id) index gives the jobs and their videos' ids, and
    the (youtube_video_id, transcript_status, unavailable_reason) index each video's state,
    so no row of either table is read. Nothing filters videos (SQLite would start from every
    done or unavailable video) or the type (without planner statistics it would walk every
    job of the type): the rows are grouped in the index's order, which needs no sort, one
    count per outcome, and the type and the statuses are picked and summed here.
    """
    # The reasons a video can have are the CHECK constraint's: one count for each.
    unavailable = VIDEOS.c.transcript_status == "unavailable"
    reason = func.coalesce(VIDEOS.c.unavailable_reason, "unknown")
    outcomes = {"done": VIDEOS.c.transcript_status == "done"} | {
        why: and_(unavailable, reason == why)
        for why in sorted((*UNAVAILABLE_REASONS, "unknown"))}
    rows = s.execute(
        select(JOBS.c.session_id, JOBS.c.job_type,
               *(func.count().filter(when).label(why) for why, when in outcomes.items()))
        .join(VIDEOS, VIDEOS.c.youtube_video_id == JOBS.c.entity_id)
        .where(JOBS.c.session_id.in_(ids))
        .group_by(JOBS.c.session_id, JOBS.c.status, JOBS.c.job_type)
    )
    found: dict[int, dict[str, int]] = {}
    for row in rows:
        if row.job_type != "extract_transcript":
            continue
        totals = found.setdefault(row.session_id, dict.fromkeys(outcomes, 0))
        for why in outcomes:
            totals[why] += row._mapping[why]
    return {sid: {why: n for why, n in totals.items() if n} for sid, totals in found.items()}


def list_sessions(s: Session, *, details: bool = True,
                  limit: int | None = None) -> list[SessionReport]:
    """Sessions, newest first (the newest ``limit`` of them): reading a session's outcomes
    costs one index seek per job of it, so a table shows a screenful, not every batch ever
    made."""
    return _reports(s, None, details, limit)


def count_sessions(s: Session) -> int:
    return int(s.execute(select(func.count()).select_from(SESSIONS)).scalar_one())


def session_report(s: Session, session_id: int) -> SessionReport:
    found = _reports(s, [session_id])
    if not found:
        raise SessionNotFound(f"no session {session_id}")
    return found[0]


def session_job_ids(s: Session, session_id: int) -> list[int]:
    if s.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)).first() is None:
        raise SessionNotFound(f"no session {session_id}")
    return list(s.execute(select(JOBS.c.id).where(JOBS.c.session_id == session_id)).scalars())
