"""A seeded ledger and corpus with every case the sessions' outcomes and the job counts must
get right, and straightforward reference queries (a GROUP BY over every job, a Python loop over
each session job's video) that the fast ones in tubesensei.queries must agree with. Shared by
the SQLite tests (tests/integration/test_list_queries.py) and the PostgreSQL ones."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select

from tubesensei.db.models import (
    ACTIVE_JOB_STATUSES,
    JOB_STATUSES,
    UNAVAILABLE_REASONS,
    Channel,
    ProcessingJob,
    ProcessingSession,
    Video,
)
from tubesensei.queries.sessions import SessionReport, list_sessions, session_report
from tubesensei.queries.state import job_counts

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
SESSIONS = 4
VIDEOS = 240


def seed(engine: Engine, *, bulk: bool = True, seed: int = 7) -> None:
    """Videos in every transcript status and unavailable reason (and NULL reason); sessions
    whose extract jobs are in every job status, some for videos that are not stored, some
    whose video another job finished; other job types in a session; jobs in every
    (queue, type, status) around the bulk group of job_counts (and the bulk only if ``bulk``).
    """
    rng = random.Random(seed)
    statuses = ("pending", "queued", "done", "unavailable", "failed", "waiting")
    reasons = (*UNAVAILABLE_REASONS, None)
    with engine.begin() as conn:
        conn.execute(insert(Channel.__table__), [
            {"id": 1, "youtube_channel_id": "UC" + "0" * 22, "title": "One", "status": "active",
             "created_at": NOW, "updated_at": NOW}])
        conn.execute(insert(Video.__table__), [
            {"id": n + 1, "youtube_video_id": f"v{n:010d}", "channel_id": 1,
             "title": f"Video {n}", "kind": "video", "published_at": NOW - timedelta(hours=n),
             "transcript_status": (status := statuses[rng.randrange(len(statuses))]),
             "unavailable_reason": rng.choice(reasons) if status == "unavailable" else None,
             "discovered_at": NOW, "created_at": NOW, "updated_at": NOW}
            for n in range(VIDEOS)])
        conn.execute(insert(ProcessingSession.__table__), [
            {"id": n, "name": f"batch {n}", "session_type": "batch", "metrics": {},
             "configuration": {"videos": 50}, "status": "completed", "created_at": NOW,
             "started_at": NOW - timedelta(minutes=n), "completed_at": NOW}
            for n in range(1, SESSIONS + 2)])  # the last one has no jobs
        jobs = []
        active: set[tuple[str, str]] = set()  # one active job per (type, entity) at most
        for n in range(1, 1200):
            job_type, queue = rng.choice((
                ("extract_transcript", "transcripts"), ("extract_transcript", "transcripts"),
                ("extract_transcript", "transcripts"), ("extract_transcript", "batch"),
                ("discover_channel", "discovery"), ("sync_channels", "discovery"),
                ("batch_process", "batch"), ("zz_type", "transcripts"), ("aa_type", "zz_queue"),
            ))
            status = rng.choice(JOB_STATUSES)
            if not bulk and (status, queue, job_type) == (
                    "completed", "transcripts", "extract_transcript"):
                status = "failed"
            # a few videos that are not stored (deleted since, or never were)
            entity = f"v{rng.randrange(VIDEOS + 20):010d}"
            if status in ACTIVE_JOB_STATUSES:
                if (job_type, entity) in active:
                    status = "cancelled"
                active.add((job_type, entity))
            jobs.append({
                "id": n, "job_type": job_type, "entity_id": entity, "queue": queue,
                "priority": 0, "status": status, "attempts": 1, "max_attempts": 5,
                "error_class": rng.choice(("transient", "blocked", None))
                if status == "failed" else None,
                "metadata": {}, "cancel_requested": False,
                # one job in three of a session (the rest: none)
                "session_id": rng.randrange(1, SESSIONS + 1) if n % 3 == 0 else None,
                "created_at": NOW - timedelta(seconds=n), "updated_at": NOW,
            })
        conn.execute(insert(ProcessingJob.__table__), jobs)


def reference_job_counts(s: Any) -> list[tuple[str, str, str, int]]:
    """The obvious GROUP BY over every job, in (status, queue, type) order."""
    jobs = ProcessingJob.__table__
    rows = s.execute(
        select(jobs.c.queue, jobs.c.job_type, jobs.c.status, func.count())
        .group_by(jobs.c.status, jobs.c.queue, jobs.c.job_type)).all()
    return sorted(((q, t, st, int(n)) for q, t, st, n in rows),
                  key=lambda r: (r[2], r[0], r[1]))


def reference_outcomes(s: Any) -> dict[int, tuple[int, dict[str, int]]]:
    """Per session: (extract jobs whose video has a transcript now, those whose video has
    none by reason), one job and one video at a time."""
    jobs, videos = ProcessingJob.__table__, Video.__table__
    state = {vid: (status, reason) for vid, status, reason in s.execute(
        select(videos.c.youtube_video_id, videos.c.transcript_status,
               videos.c.unavailable_reason))}
    out: dict[int, tuple[int, dict[str, int]]] = {}
    for sid, entity in s.execute(
            select(jobs.c.session_id, jobs.c.entity_id)
            .where(jobs.c.session_id.is_not(None),
                   jobs.c.job_type == "extract_transcript")):
        done, unavailable = out.get(sid, (0, {}))
        status, reason = state.get(entity, (None, None))
        if status == "done":
            done += 1
        elif status == "unavailable":
            unavailable[reason or "unknown"] = unavailable.get(reason or "unknown", 0) + 1
        out[sid] = (done, unavailable)
    return {sid: (done, dict(sorted(why.items()))) for sid, (done, why) in out.items()}


def check_against_references(db: Any) -> list[SessionReport]:
    """Assert the fast queries agree with the references; the reports, for more checks."""
    assert db.query(job_counts) == db.query(reference_job_counts)
    expected = db.query(reference_outcomes)
    reports = db.query(list_sessions)
    assert [r.id for r in reports] == list(range(SESSIONS + 1, 0, -1))
    for report in reports:
        done, unavailable = expected.get(report.id, (0, {}))
        assert (report.transcripts, report.unavailable) == (done, unavailable), report.id
        # the reasons in alphabetical order, as the JSON shows them
        assert list(report.unavailable) == sorted(report.unavailable)
        one = db.query(session_report, report.id)
        assert one.as_dict() == report.as_dict()
    return reports
