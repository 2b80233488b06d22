"""Seed a database with a synthetic corpus, fast: bulk Core inserts (executemany), one
transaction per batch. The text follows a Zipf law over a fixed vocabulary, so there are
words every chunk contains, common words and rare ones, as in real speech.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from tubesensei.db.models import Channel, ProcessingJob, Transcript, TranscriptChunk, Video
from tubesensei.db.packed import timing_of
from tubesensei.jobs.registry import JOB_TYPES

BATCH = 10_000
WORDS_PER_SEGMENT = 10
SEGMENT_SECONDS = 5.0
SEGMENTS_PER_CHUNK = 6  # ~30 s, as pipeline.transcripts chunks real transcripts
STOPWORDS = ("the", "and", "to", "of", "a", "in", "that", "is", "it", "you", "we", "this")
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fi", "gu", "ha")
ANCHOR = datetime(2025, 6, 1, 12, tzinfo=UTC)


def _vocabulary(size: int, rng: random.Random) -> list[str]:
    words = list(STOPWORDS)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


@dataclass
class SeedReport:
    channels: int = 0
    videos: int = 0
    transcripts: int = 0
    chunks: int = 0
    words: int = 0
    jobs: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    vocabulary: list[str] = field(default_factory=list)
    channel_ids: list[str] = field(default_factory=list)
    video_ids: list[str] = field(default_factory=list)
    transcript_video_ids: list[str] = field(default_factory=list)
    transcribed: list[int] = field(default_factory=list)


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, BATCH)):
        yield batch


def _insert(engine: Engine, table: Any, rows: Iterator[dict[str, Any]]) -> int:
    count = 0
    for batch in _batches(rows):
        with engine.begin() as conn:
            conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _video_plan(i: int, transcribed: bool) -> tuple[str, str, str | None]:
    """(kind, transcript_status, unavailable_reason) of the i-th video."""
    kind = "short" if i % 7 == 0 else "video"
    if transcribed:
        return kind, "done", None
    bucket = i % 10
    if bucket < 3:
        return kind, "unavailable", "transcripts_disabled"
    if bucket < 7:
        return kind, "pending", None
    if bucket < 8:
        return kind, "queued", None
    if bucket < 9:
        return kind, "failed", None
    return ("live" if i % 2 else "upcoming"), "waiting", None


def plan(*, channels: int = 50, videos: int = 100_000, transcripts: int = 50_000,
         seed: int = 1) -> SeedReport:
    """The ids and vocabulary a seeded database holds (deterministic: reusable)."""
    report = SeedReport(vocabulary=_vocabulary(6000, random.Random(seed)))
    report.channel_ids = [f"UC{n:022d}" for n in range(channels)]
    report.video_ids = [f"v{n:010d}" for n in range(videos)]
    step = max(1, videos // max(transcripts, 1))  # spread transcripts over all channels
    report.transcribed = list(range(0, videos, step))[:transcripts]
    report.transcript_video_ids = [report.video_ids[n] for n in report.transcribed]
    return report


def seed(engine: Engine, *, channels: int = 50, videos: int = 100_000,
         transcripts: int = 50_000, jobs: int = 200_000, seed: int = 1) -> SeedReport:
    report = plan(channels=channels, videos=videos, transcripts=transcripts, seed=seed)
    rng = random.Random(seed + 1)
    vocab = report.vocabulary
    cum_weights = list(itertools.accumulate(1 / rank for rank in range(1, len(vocab) + 1)))
    now = datetime.now(UTC)

    started = time.perf_counter()
    report.channels = _insert(engine, Channel.__table__, (
        {"id": n + 1, "youtube_channel_id": cid, "handle": f"bench{n}", "title": f"Bench {n}",
         "description": "", "status": "active", "uploads_playlist_id": "UU" + cid[2:],
         "video_count": videos // channels, "created_at": now, "updated_at": now,
         "last_full_scan_at": now, "last_discovered_at": now}
        for n, cid in enumerate(report.channel_ids)))

    transcribed = set(report.transcribed)

    def video_rows() -> Iterator[dict[str, Any]]:
        for n, vid in enumerate(report.video_ids):
            kind, status, reason = _video_plan(n, n in transcribed)
            yield {"id": n + 1, "youtube_video_id": vid, "channel_id": n * channels // max(videos, 1) + 1,
                   "title": f"Video {n}", "description": "", "kind": kind,
                   "published_at": ANCHOR - timedelta(hours=n), "duration_s": 600,
                   "view_count": n, "was_live": False, "transcript_status": status,
                   "unavailable_reason": reason, "discovered_at": now, "created_at": now,
                   "updated_at": now}

    report.videos = _insert(engine, Video.__table__, video_rows())
    report.seconds["videos"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    chunk_rows: list[dict[str, Any]] = []
    chunk_id = itertools.count(1)

    def transcript_rows() -> Iterator[dict[str, Any]]:
        for t_id, n in enumerate(report.transcribed, start=1):
            n_chunks = rng.randint(4, 8)
            words = rng.choices(vocab, cum_weights=cum_weights,
                                k=n_chunks * SEGMENTS_PER_CHUNK * WORDS_PER_SEGMENT)
            segments = [
                [round(k * SEGMENT_SECONDS, 3), SEGMENT_SECONDS,
                 " ".join(words[k * WORDS_PER_SEGMENT:(k + 1) * WORDS_PER_SEGMENT])]
                for k in range(n_chunks * SEGMENTS_PER_CHUNK)
            ]
            for c in range(n_chunks):
                part = segments[c * SEGMENTS_PER_CHUNK:(c + 1) * SEGMENTS_PER_CHUNK]
                chunk_rows.append({"id": next(chunk_id), "transcript_id": t_id, "seq": c,
                                   "start_s": part[0][0], "text": " ".join(s[2] for s in part)})
            report.words += len(words)
            yield {"id": t_id, "video_id": n + 1, "language_code": "en", "language": "English",
                   "is_generated": bool(n % 2), "segments": segments,
                   "cleaned_timing": timing_of(segments),
                   "word_count": len(words), "char_count": 0, "cleaning_version": 1,
                   "fetched_at": now, "created_at": now, "updated_at": now}

    report.transcripts = _insert(engine, Transcript.__table__, transcript_rows())
    report.seconds["transcripts"] = round(time.perf_counter() - started, 2)
    started = time.perf_counter()
    # The FTS5 triggers index every chunk as it is inserted.
    report.chunks = _insert(engine, TranscriptChunk.__table__, iter(chunk_rows))
    report.seconds["chunks_and_fts"] = round(time.perf_counter() - started, 2)

    started = time.perf_counter()
    report.jobs = _insert(engine, ProcessingJob.__table__, _job_rows(jobs, report, now))
    report.seconds["jobs"] = round(time.perf_counter() - started, 2)
    return report


_FINISHED = ("completed",) * 17 + ("failed", "cancelled", "failed")
_ACTIVE = ("pending", "running", "retrying")


def _job_rows(count: int, report: SeedReport, now: datetime) -> Iterator[dict[str, Any]]:
    videos = report.video_ids
    for n in range(count):
        discovery = n % 20 == 0
        job_type = "discover_channel" if discovery else "extract_transcript"
        entity = report.channel_ids[n % len(report.channel_ids)] if discovery \
            else videos[n % len(videos)]
        # One active job per (type, entity) at most, as the partial unique index demands:
        # only an entity's first job (and one in twenty of those) is still active.
        first = n < (len(report.channel_ids) if discovery else len(videos))
        active = first and n % 20 == 1
        status = _ACTIVE[n % 3] if active else _FINISHED[n % len(_FINISHED)]
        created = now - timedelta(seconds=(count - n) * 10)
        yield {
            "id": n + 1, "job_type": job_type, "entity_id": entity,
            "queue": JOB_TYPES[job_type].queue,  # as the registry puts them
            "priority": n % 3, "status": status, "attempts": 1, "max_attempts": 5,
            "error_class": "transient" if status == "failed" else None,
            "error": "boom" if status == "failed" else None, "result": None, "metadata": {},
            "session_id": None, "huey_task_id": None, "worker_id": None,
            "cancel_requested": False, "heartbeat_at": None, "next_retry_at": None,
            "created_at": created, "started_at": created,
            "finished_at": None if active else created + timedelta(seconds=5),
            "updated_at": created,
        }
