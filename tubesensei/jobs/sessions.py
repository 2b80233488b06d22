"""Processing sessions: a named batch of videos and its jobs.

``create_batch`` writes the session and one ``batch_process`` job per ``max_videos_per_batch``
videos; each batch job creates the session's extract jobs and ends at once (a worker never
waits for other jobs). The session completes in the same transaction as its last job (see
ledger.complete_session_if_done). Progress is always computed from the jobs, never stored
(queries/sessions.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import insert, update

from tubesensei.db.models import ProcessingSession
from tubesensei.jobs.ledger import JOBS

if TYPE_CHECKING:
    from tubesensei.jobs.system import JobSystem

SESSIONS = ProcessingSession.__table__


def create_batch(system: JobSystem, name: str, video_ids: Sequence[str], priority: int,
                 source: str = "videos") -> tuple[int, int]:
    """Create a session and its batch jobs; returns (session id, number of batches)."""
    ids = list(dict.fromkeys(video_ids))
    size = system.settings.limits.max_videos_per_batch
    now = datetime.now(UTC)
    with system.db.engine.begin() as conn:
        session_id = conn.execute(
            insert(SESSIONS).values(
                name=name, session_type="batch", status="running", created_at=now,
                started_at=now, metrics={},
                configuration={"videos": len(ids), "batch_size": size, "source": source,
                               "priority": priority},
            ).returning(SESSIONS.c.id)
        ).scalar_one()
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    system.submit([
        system.spec("batch_process", f"session:{session_id}:{n}", priority=priority,
                    metadata={"video_ids": chunk, "priority": priority}, session_id=session_id)
        for n, chunk in enumerate(batches)
    ])
    if not batches:
        with system.db.engine.begin() as conn:
            conn.execute(update(SESSIONS).where(SESSIONS.c.id == session_id)
                         .values(status="completed", completed_at=now))
    return session_id, len(batches)


def queue_batch(system: JobSystem, session_id: int, video_ids: Sequence[str],
                priority: int) -> dict[str, int]:
    """The batch task: one extract job per video, linked to the session. A video that already
    has an active job gets that job linked to the session instead of a second one."""
    created = system.enqueue_videos(video_ids, priority=priority, session_id=session_id)
    adopted = [c.job_id for c in created if not c.created]
    if adopted:
        with system.db.engine.begin() as conn:
            conn.execute(update(JOBS).where(JOBS.c.id.in_(adopted), JOBS.c.session_id.is_(None))
                         .values(session_id=session_id))
    return {"queued": sum(1 for c in created if c.created), "already_queued": len(adopted)}
