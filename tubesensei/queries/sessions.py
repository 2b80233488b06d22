"""Processing sessions and their reports: progress is always derived from the jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from tubesensei.db.models import ProcessingJob, ProcessingSession, Video
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
             details: bool = True) -> list[SessionReport]:
    """Without ``details``, only the jobs by status (no failures by class, no transcripts
    or unavailable counts, which read every job's video)."""
    stmt = select(SESSIONS).order_by(SESSIONS.c.id.desc())
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
    outcome: dict[int, dict[str, int]] = {}
    done: dict[int, int] = {}
    for sid, cls, n in [] if not details else s.execute(
        select(JOBS.c.session_id, JOBS.c.error_class, func.count())
        .where(JOBS.c.session_id.in_(ids), JOBS.c.status == "failed")
        .group_by(JOBS.c.session_id, JOBS.c.error_class)
    ):
        failures.setdefault(sid, {})[cls or "unknown"] = n
    # Each job's video is looked up from the session's jobs (the session index), never the
    # other way round: no filter on videos (SQLite would start from every done or unavailable
    # video) and none on the type (it would walk every job of the type): both are grouped on
    # and picked here.
    reason = case((VIDEOS.c.transcript_status == "done", "done"),
                  (VIDEOS.c.transcript_status == "unavailable",
                   func.coalesce(VIDEOS.c.unavailable_reason, "unknown")),
                  else_=None)
    for sid, job_type, why, n in [] if not details else s.execute(
        select(JOBS.c.session_id, JOBS.c.job_type, reason, func.count())
        .join(VIDEOS, VIDEOS.c.youtube_video_id == JOBS.c.entity_id)
        .where(JOBS.c.session_id.in_(ids))
        .group_by(JOBS.c.session_id, JOBS.c.job_type, reason)
    ):
        if job_type != "extract_transcript" or why is None:
            continue
        if why == "done":
            done[sid] = n
        else:
            outcome.setdefault(sid, {})[why or "unknown"] = n
    return [
        SessionReport(
            id=r.id, name=r.name, status=r.status, created_at=r.created_at,
            started_at=r.started_at, completed_at=r.completed_at,
            videos=int((r.configuration or {}).get("videos", 0)), jobs=counts.get(r.id, {}),
            transcripts=done.get(r.id, 0), unavailable=outcome.get(r.id, {}),
            failures=failures.get(r.id, {}),
        )
        for r in sessions
    ]


def list_sessions(s: Session, *, details: bool = True) -> list[SessionReport]:
    return _reports(s, None, details)


def session_report(s: Session, session_id: int) -> SessionReport:
    found = _reports(s, [session_id])
    if not found:
        raise SessionNotFound(f"no session {session_id}")
    return found[0]


def session_job_ids(s: Session, session_id: int) -> list[int]:
    if s.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)).first() is None:
        raise SessionNotFound(f"no session {session_id}")
    return list(s.execute(select(JOBS.c.id).where(JOBS.c.session_id == session_id)).scalars())
