"""A small, fixed corpus and ledger for the TUI's screenshots: every row, id and timestamp is
the same on every run (times are relative to NOW, which the facade's clock returns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from tubesensei.config import Settings, load_settings
from tubesensei.db.engine import create_sync_engine
from tubesensei.db.models import (
    Channel,
    Consumer,
    ProcessingJob,
    ProcessingSession,
    QueueState,
    QuotaUsage,
    RateLimit,
    Transcript,
    TranscriptChunk,
    Video,
)
from tubesensei.db.packed import paragraph_breaks, timing_of
from tubesensei.db.schema import ensure_schema
from tubesensei.youtube.quota import next_reset, quota_day

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
WORKER = "laptop:4242:a1b2c3"

CHANNELS = [
    # id, youtube id, handle, title, status, last error
    (1, "UCalpha000000000000000001", "alphascience", "Alpha Science", "active", None),
    (2, "UCbeta0000000000000000002", "betatalks", "Beta Talks", "paused", None),
    (3, "UCgamma000000000000000003", "gammalabs", "Gamma Labs", "error",
     "channel not found: @gammalabs"),
]

# (video id, channel, title, status, unavailable reason)
VIDEOS: list[tuple[str, int, str, str, str | None]] = [
    ("alpha000001", 1, "How rivers shape valleys", "done", None),
    ("alpha000002", 1, "The physics of rainbows", "done", None),
    ("alpha000003", 1, "Why the sky is blue", "done", None),
    ("alpha000004", 1, "Clouds, explained", "unavailable", "transcripts_disabled"),
    ("alpha000005", 1, "Members-only stream", "unavailable", "age_restricted"),
    ("alpha000006", 1, "Tides and the moon", "queued", None),
    ("alpha000007", 1, "Glaciers at work", "queued", None),
    ("alpha000008", 1, "Volcano live", "waiting", None),
    ("alpha000009", 1, "Deserts at night", "failed", None),
    ("beta0000001", 2, "A talk about maps", "done", None),
    ("beta0000002", 2, "A talk about clocks", "unavailable", "transcripts_disabled"),
    ("beta0000003", 2, "A talk about bridges", "pending", None),
    ("beta0000004", 2, "A talk about trains", "failed", None),
]

TRANSCRIPTS = {
    "alpha000001": [
        "Rivers carve valleys over thousands of years.",
        "The water carries sand and stones downstream.",
        "Every flood moves the river bed a little.",
        "Where the river slows down, the sand settles.",
    ],
    "alpha000002": [
        "A rainbow appears when sunlight meets rain.",
        "Each drop of water bends the light.",
        "Red light bends less than violet light.",
        "So the colours spread out into a bow.",
    ],
    "alpha000003": [
        "The sky is blue because air scatters blue light.",
        "Sunlight is a mix of every colour.",
        "At sunset the light travels through more air.",
    ],
    "beta0000001": [
        "Maps are arguments about the world.",
        "Every map leaves something out.",
        "The river on a map is never the river itself.",
    ],
}


def fixed_settings(data_dir: Path) -> Settings:
    settings = load_settings(environ={
        "TUBESENSEI_DATA_DIR": str(data_dir),
        "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "30",
        "TUBESENSEI_LIMITS__MAX_ATTEMPTS": "3",
    }).settings
    ensure_schema(settings.database_url)
    return settings


def _ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def _jobs() -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []

    def job(job_type: str, entity: str, queue: str, status: str, *, created: float,
            started: float | None = None, finished: float | None = None, attempts: int = 1,
            error_class: str | None = None, error: str | None = None,
            session: int | None = None, worker: str | None = None,
            next_retry: float | None = None, metadata: dict[str, Any] | None = None,
            result: dict[str, Any] | None = None) -> None:
        jobs.append({
            "id": len(jobs) + 1, "job_type": job_type, "entity_id": entity, "queue": queue,
            "priority": 10 if job_type == "discover_channel" else 0, "status": status,
            "attempts": 0 if status == "pending" else attempts, "max_attempts": 3,
            "error_class": error_class,
            "error": error, "result": result, "metadata": metadata or {},
            "session_id": session, "huey_task_id": None, "worker_id": worker,
            "cancel_requested": False,
            "heartbeat_at": _ago(2) if status == "running" else None,
            "next_retry_at": NOW + timedelta(seconds=next_retry) if next_retry else None,
            "created_at": _ago(created), "started_at": _ago(started) if started else None,
            "finished_at": _ago(finished) if finished is not None else None,
            "updated_at": _ago(finished if finished is not None else created),
        })

    job("discover_channel", "@alphascience", "discovery", "completed", created=3600,
        started=3590, finished=3500, worker=WORKER, metadata={"mode": "auto"},
        result={"channel": "UCalpha000000000000000001", "new_videos": 9, "pages": 1})
    job("discover_channel", "@betatalks", "discovery", "completed", created=3400, started=3390,
        finished=3300, worker=WORKER, metadata={"mode": "auto"},
        result={"channel": "UCbeta0000000000000000002", "new_videos": 4, "pages": 1})
    job("discover_channel", "@gammalabs", "discovery", "failed", created=3000, started=2990,
        finished=2980, attempts=1, error_class="permanent", worker=WORKER,
        error="channel not found: @gammalabs", metadata={"mode": "auto"})
    # Completed transcript jobs spread over the last four minutes: the throughput history.
    for n, (video, finished) in enumerate([("alpha000001", 230), ("alpha000002", 170),
                                           ("alpha000003", 110), ("beta0000001", 55),
                                           ("alpha000004", 45), ("beta0000002", 25),
                                           ("alpha000005", 12)]):
        job("extract_transcript", video, "transcripts", "completed", created=300,
            started=finished + 3, finished=finished, worker=WORKER,
            session=1 if n < 4 else None,
            result={"status": "done" if n < 4 else "unavailable"})
    job("batch_process", "session:1:0", "batch", "completed", created=320, started=318,
        finished=317, worker=WORKER, session=1,
        metadata={"video_ids": ["alpha000001", "alpha000002", "alpha000003", "beta0000001"]},
        result={"queued": 4, "already_queued": 0})
    job("extract_transcript", "alpha000009", "transcripts", "failed", created=200, started=150,
        finished=150, attempts=3, error_class="transient", worker=WORKER,
        error="HTTP 503 from the watch page (Service Unavailable)")
    job("extract_transcript", "beta0000004", "transcripts", "failed", created=200, started=140,
        finished=140, attempts=1, error_class="transient", worker=WORKER, session=2,
        error="timed out reading the transcript after 30 s")
    job("extract_transcript", "alpha000006", "transcripts", "running", created=90, started=8,
        worker=WORKER, session=2)
    job("extract_transcript", "alpha000007", "transcripts", "retrying", created=90,
        started=40, finished=None, attempts=1, error_class="blocked",
        error="YouTube is blocking requests from this IP (HTTP 429)", next_retry=45,
        session=2)
    job("extract_transcript", "beta0000003", "transcripts", "pending", created=60, session=2)
    job("extract_transcript", "alpha000008", "transcripts", "cancelled", created=100,
        finished=95, attempts=0, error_class="cancelled", error="cancelled before it ran")
    job("batch_process", "session:2:0", "batch", "completed", created=95, started=94,
        finished=93, worker=WORKER, session=2,
        metadata={"video_ids": ["alpha000006", "alpha000007", "beta0000003", "beta0000004"]},
        result={"queued": 3, "already_queued": 0})
    return jobs


def seed_fixed(settings: Settings) -> None:
    engine = create_sync_engine(settings.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Channel.__table__), [
                {"id": i, "youtube_channel_id": yt, "handle": handle, "title": title,
                 "description": "", "status": status, "last_error": error,
                 "uploads_playlist_id": "UU" + yt[2:], "video_count": 9 if i == 1 else 4,
                 "created_at": _ago(3600), "updated_at": _ago(3600),
                 "last_discovered_at": _ago(3500 if i == 1 else 3300) if i < 3 else None,
                 "last_full_scan_at": None}
                for i, yt, handle, title, status, error in CHANNELS])
            conn.execute(insert(Video.__table__), [
                {"id": n, "youtube_video_id": vid, "channel_id": ch, "title": title,
                 "description": "", "published_at": NOW - timedelta(days=n),
                 "duration_s": 600 + n, "kind": "live" if status == "waiting" else "video",
                 "was_live": False, "transcript_status": status, "unavailable_reason": reason,
                 "discovered_at": _ago(3500), "created_at": _ago(3500),
                 "updated_at": _ago(3500)}
                for n, (vid, ch, title, status, reason) in enumerate(VIDEOS, start=1)])
            ids = {vid: n for n, (vid, *_rest) in enumerate(VIDEOS, start=1)}
            chunk_id = 1
            for t_id, (vid, lines) in enumerate(TRANSCRIPTS.items(), start=1):
                segments = [[i * 20.0, 20.0, line] for i, line in enumerate(lines)]
                text = "\n\n".join(" ".join(s[2] for s in segments[i:i + 2])
                                   for i in range(0, len(segments), 2))
                conn.execute(insert(Transcript.__table__).values(
                    id=t_id, video_id=ids[vid], language_code="en", language="English",
                    is_generated=False, segments=segments, cleaned_timing=timing_of(segments),
                    paragraph_breaks=paragraph_breaks(text, timing_of(segments)),
                    word_count=len(text.split()), char_count=len(text), cleaning_version=1,
                    fetched_at=_ago(200), created_at=_ago(200), updated_at=_ago(200)))
                for seq in range(0, len(segments), 2):
                    part = segments[seq:seq + 2]
                    conn.execute(insert(TranscriptChunk.__table__).values(
                        id=chunk_id, transcript_id=t_id, seq=seq // 2, start_s=part[0][0],
                        text=" ".join(s[2] for s in part)))
                    chunk_id += 1
            conn.execute(insert(ProcessingSession.__table__), [
                {"id": 1, "name": "morning batch", "session_type": "batch",
                 "configuration": {"videos": 4}, "status": "completed", "metrics": {},
                 "created_at": _ago(320), "started_at": _ago(320), "completed_at": _ago(55)},
                {"id": 2, "name": "reading list", "session_type": "batch",
                 "configuration": {"videos": 4}, "status": "running", "metrics": {},
                 "created_at": _ago(95), "started_at": _ago(95), "completed_at": None},
            ])
            conn.execute(insert(ProcessingJob.__table__), _jobs())
            conn.execute(insert(Consumer.__table__).values(
                worker_id=WORKER, host="laptop", pid=4242, queues=["discovery", "transcripts",
                                                                   "batch"],
                concurrency={"discovery": 4, "transcripts": 4, "batch": 4}, threads=4,
                inflight=1, processed=14, failed=3, started_at=_ago(3600),
                heartbeat_at=_ago(2), stopped_at=None))
            conn.execute(insert(QueueState.__table__), [
                {"queue": "discovery", "paused": False, "paused_until": next_reset(NOW),
                 "pause_reason": "quota_exhausted", "breaker_state": "closed",
                 "breaker_until": None, "breaker_opens": 0, "breaker_reason": None,
                 "updated_at": _ago(60)},
                {"queue": "transcripts", "paused": False, "paused_until": None,
                 "pause_reason": None, "breaker_state": "open",
                 "breaker_until": NOW + timedelta(seconds=45), "breaker_opens": 2,
                 "breaker_reason": "HTTP 429 from the watch page", "updated_at": _ago(40)},
            ])
            conn.execute(insert(QuotaUsage.__table__).values(
                day=quota_day(NOW), units=9_650, calls=9_650, updated_at=_ago(60)))
            conn.execute(insert(RateLimit.__table__).values(
                name="transcripts", next_at=(NOW + timedelta(seconds=12)).timestamp(), waits=3))
    finally:
        engine.dispose()
