"""Processing sessions: a named batch of videos, its jobs, and a report derived from them.

``create_batch`` writes the session and one ``batch_process`` job per ``max_videos_per_batch``
videos; each batch job creates the session's extract jobs and ends at once (a worker never
waits for other jobs). The session completes in the same transaction as its last job (see
ledger.complete_session_if_done). Progress is always computed from the jobs, never stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, func, insert, select, update

from tubesensei.db.models import ProcessingSession, Video
from tubesensei.jobs.ledger import JOBS, Created, JobSpec
from tubesensei.jobs.queues import JOB_TYPES
from tubesensei.jobs.system import PRIORITY_DEFAULT, JobSystem, extract_spec

SESSIONS = ProcessingSession.__table__
VIDEOS = Video.__table__


class SessionNotFound(LookupError):
    """No session with that id (one-line message)."""


def create_batch(system: JobSystem, name: str, video_ids: Sequence[str],
                 priority: int = PRIORITY_DEFAULT, source: str = "videos") -> tuple[int, int]:
    """Create a session and its batch jobs; returns (session id, number of batches)."""
    ids = list(dict.fromkeys(video_ids))
    size = system.settings.limits.max_videos_per_batch
    now = datetime.now(UTC)
    with system.engine.begin() as conn:
        session_id = conn.execute(
            insert(SESSIONS).values(
                name=name, session_type="batch", status="running", created_at=now,
                started_at=now, metrics={},
                configuration={"videos": len(ids), "batch_size": size, "source": source,
                               "priority": priority},
            ).returning(SESSIONS.c.id)
        ).scalar_one()
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    specs = [
        JobSpec("batch_process", f"session:{session_id}:{n}", JOB_TYPES["batch_process"],
                priority, system.settings.limits.max_attempts,
                {"video_ids": chunk, "priority": priority}, session_id)
        for n, chunk in enumerate(batches)
    ]
    system.submit(specs)
    if not specs:
        with system.engine.begin() as conn:
            conn.execute(update(SESSIONS).where(SESSIONS.c.id == session_id)
                         .values(status="completed", completed_at=now))
    return session_id, len(batches)


def queue_batch(system: JobSystem, session_id: int, video_ids: Sequence[str],
                priority: int) -> dict[str, int]:
    """The batch task: one extract job per video, linked to the session. A video that already
    has an active job gets that job linked to the session instead of a second one."""
    created: list[Created] = system.submit(
        [extract_spec(v, system.settings, priority, session_id) for v in video_ids]
    )
    adopted = [c.job_id for c in created if not c.created]
    if adopted:
        with system.engine.begin() as conn:
            conn.execute(update(JOBS).where(JOBS.c.id.in_(adopted), JOBS.c.session_id.is_(None))
                         .values(session_id=session_id))
    return {"queued": sum(1 for c in created if c.created), "already_queued": len(adopted)}


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
        done = self.jobs.get("completed", 0) + self.jobs.get("failed", 0)
        return None if not done else round(self.jobs.get("completed", 0) / done, 4)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "status": self.status,
            "created_at": self.created_at.isoformat(),
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "videos": self.videos, "jobs": self.jobs, "finished": self.finished,
            "total": self.total, "transcripts": self.transcripts,
            "unavailable": self.unavailable, "failures": self.failures,
            "success_rate": self.success_rate, "duration_s": self.duration_s,
            "throughput_per_min": self.throughput_per_min,
        }


def _reports(engine: Engine, session_ids: Sequence[int] | None,
             details: bool = True) -> list[SessionReport]:
    """Without ``details``, only the jobs by status (no failures by class, no transcripts
    or unavailable counts, which read every job's video)."""
    with engine.connect() as conn:
        stmt = select(SESSIONS).order_by(SESSIONS.c.id.desc())
        if session_ids is not None:
            stmt = stmt.where(SESSIONS.c.id.in_(list(session_ids)))
        sessions = conn.execute(stmt).all()
        ids = [s.id for s in sessions]
        counts: dict[int, dict[str, int]] = {}
        for sid, status, n in conn.execute(
            select(JOBS.c.session_id, JOBS.c.status, func.count())
            .where(JOBS.c.session_id.in_(ids), JOBS.c.job_type == "extract_transcript")
            .group_by(JOBS.c.session_id, JOBS.c.status)
        ):
            counts.setdefault(sid, {})[status] = n
        failures: dict[int, dict[str, int]] = {}
        outcome: dict[int, dict[str, int]] = {}
        done: dict[int, int] = {}
        for sid, cls, n in [] if not details else conn.execute(
            select(JOBS.c.session_id, JOBS.c.error_class, func.count())
            .where(JOBS.c.session_id.in_(ids), JOBS.c.status == "failed")
            .group_by(JOBS.c.session_id, JOBS.c.error_class)
        ):
            failures.setdefault(sid, {})[cls or "unknown"] = n
        reason = case((VIDEOS.c.transcript_status == "done", "done"),
                      else_=VIDEOS.c.unavailable_reason)
        for sid, why, n in [] if not details else conn.execute(
            select(JOBS.c.session_id, reason, func.count())
            .join(VIDEOS, VIDEOS.c.youtube_video_id == JOBS.c.entity_id)
            .where(JOBS.c.session_id.in_(ids), JOBS.c.job_type == "extract_transcript",
                   VIDEOS.c.transcript_status.in_(("done", "unavailable")))
            .group_by(JOBS.c.session_id, reason)
        ):
            if why == "done":
                done[sid] = n
            else:
                outcome.setdefault(sid, {})[why or "unknown"] = n
    return [
        SessionReport(
            id=s.id, name=s.name, status=s.status, created_at=s.created_at,
            started_at=s.started_at, completed_at=s.completed_at,
            videos=int((s.configuration or {}).get("videos", 0)), jobs=counts.get(s.id, {}),
            transcripts=done.get(s.id, 0), unavailable=outcome.get(s.id, {}),
            failures=failures.get(s.id, {}),
        )
        for s in sessions
    ]


def list_sessions(engine: Engine, *, details: bool = True) -> list[SessionReport]:
    return _reports(engine, None, details)


def session_report(engine: Engine, session_id: int) -> SessionReport:
    found = _reports(engine, [session_id])
    if not found:
        raise SessionNotFound(f"no session {session_id}")
    return found[0]


def session_job_ids(engine: Engine, session_id: int) -> list[int]:
    with engine.connect() as conn:
        if conn.execute(select(SESSIONS.c.id).where(SESSIONS.c.id == session_id)).first() is None:
            raise SessionNotFound(f"no session {session_id}")
        return list(conn.execute(select(JOBS.c.id).where(JOBS.c.session_id == session_id))
                    .scalars())
