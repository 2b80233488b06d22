"""Transcripts: fetch, clean, store with the search index, in one transaction per video.

A permanent miss (captions disabled, no transcript in the wanted languages, video unavailable,
age restricted, unplayable, PO token required) is an answer, not an error: the video becomes
``unavailable`` with the reason. Transient and blocked errors are raised to the caller; this
layer never retries.

Either way the tracks YouTube listed for the video are recorded on it
(``videos.available_languages``), so ``videos show`` can say what there is in which language.
A stored transcript records the rule of the choice that picked it (``transcripts.chosen_by``).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from tubesensei.config import Settings
from tubesensei.db.engine import Database
from tubesensei.db.models import UNAVAILABLE_REASONS, Transcript, TranscriptChunk, Video
from tubesensei.db.packed import pack_json, paragraph_breaks, timing_of
from tubesensei.pipeline.cleaning import (
    CLEANING_VERSION,
    CleanedTranscript,
    Segment,
    clean_segments,
)
from tubesensei.pipeline.context import Pipeline, transcript_client
from tubesensei.queries.corpus import VideoNotInCorpus, get_video, video_status
from tubesensei.youtube.errors import Permanent
from tubesensei.youtube.transcripts import FetchedTranscript, Track, describe_tracks

# A search hit links to the chunk's first second: ~30 s of speech keeps that link close.
CHUNK_SECONDS = 30.0
CHUNK_MAX_CHARS = 1200


@dataclass(frozen=True)
class TranscriptOutcome:
    video_id: str
    status: str  # "done" or "unavailable"
    reason: str | None = None
    language_code: str | None = None
    is_generated: bool | None = None
    words: int = 0
    available: str | None = None  # the tracks YouTube listed: "de (manual), fr (generated)"
    chosen_by: str | None = None  # the rule that picked the stored track (CHOICE_RULES)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "available" or v is not None}


def _record_tracks(video: Video, tracks: tuple[Track, ...] | None, now: datetime) -> None:
    """What YouTube listed at this fetch; unknown (None) when it could not be listed."""
    video.available_languages = None if tracks is None else [t.as_dict() for t in tracks]
    video.languages_checked_at = None if tracks is None else now


def chunk_segments(segments: Sequence[Segment]) -> list[tuple[float, str]]:
    """Group cleaned segments into (start, text) stretches of about CHUNK_SECONDS.

    A segment starting CHUNK_SECONDS or more after the chunk's start opens a new chunk (it
    is not appended first): a search hit links to its chunk's start, so no word is ever
    further than that from where the link lands, even after a long silence.
    """
    chunks: list[tuple[float, str]] = []
    start: float | None = None
    parts: list[str] = []
    size = 0
    for seg in segments:
        if start is not None and (seg.start - start >= CHUNK_SECONDS or size >= CHUNK_MAX_CHARS):
            chunks.append((start, " ".join(parts)))
            start, parts, size = None, [], 0
        if start is None:
            start = seg.start
        parts.append(seg.text)
        size += len(seg.text) + 1
    if parts and start is not None:
        chunks.append((start, " ".join(parts)))
    return chunks


def _transcript_row(fetched: FetchedTranscript, raw: Sequence[Sequence[Any]],
                    cleaned: CleanedTranscript, now: datetime) -> dict[str, Any]:
    """The transcripts row (without its video), its JSON packed before any lock is taken."""
    timing = timing_of((s.start, s.duration, s.text) for s in cleaned.segments)
    return {
        "language_code": fetched.language_code,
        "language": fetched.language,
        "is_generated": fetched.is_generated,
        "translated_from": fetched.translated_from,
        "chosen_by": fetched.chosen_by,
        "segments": pack_json(list(raw)),
        "segment_count": len(raw),
        "cleaned_timing": pack_json(timing),
        # The text itself is its search passages' (see db/packed.py join_passages).
        "paragraph_breaks": pack_json(paragraph_breaks(cleaned.text, timing)),
        "word_count": cleaned.word_count,
        "char_count": cleaned.char_count,
        "cleaning_version": CLEANING_VERSION,
        "fetched_at": now,
        "created_at": now,
        "updated_at": now,
    }


# SQLite has one writer at a time. Threads of one process that wait for its lock in SQLite's
# busy handler sleep in steps of up to 100 ms and wake to find it taken again; queued on a
# Python lock instead, the next writer starts the moment the last one commits (measured:
# most of a 4-thread pipeline's time went to those sleeps). Other processes, and this
# process's job ledger, still meet at SQLite's own lock. PostgreSQL writes in parallel.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Database, threading.Lock] = weakref.WeakKeyDictionary()
_WRITE_LOCKS_GUARD = threading.Lock()


@contextmanager
def _writers_in_turn(db: Database) -> Iterator[None]:
    """Hold this process's turn to write to ``db`` (SQLite; nothing on PostgreSQL)."""
    if db.dialect != "sqlite":
        yield
        return
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.setdefault(db, threading.Lock())
    with lock:
        yield


@contextmanager
def _serialized_write(db: Database) -> Iterator[Session]:
    """``db.write()``, taken in turn by this process's threads on SQLite."""
    with _writers_in_turn(db), db.write() as s:
        yield s


# The store's statements, built once (building one per call cost more than running it).
_VIDEOS, _TRANSCRIPTS, _PASSAGES = Video.__table__, Transcript.__table__, TranscriptChunk.__table__
_MARK_DONE = (
    update(_VIDEOS).where(_VIDEOS.c.youtube_video_id == bindparam("b_video"))
    .values(transcript_status="done", unavailable_reason=None, transcript_error=None,
            updated_at=bindparam("b_now"))
    .returning(_VIDEOS.c.id)
)
_MARK_DONE_WITH_TRACKS = _MARK_DONE.values(available_languages=bindparam("b_tracks"),
                                           languages_checked_at=bindparam("b_now"))
_DELETE_TRANSCRIPT = delete(_TRANSCRIPTS).where(
    _TRANSCRIPTS.c.video_id == bindparam("b_video_pk"),
    _TRANSCRIPTS.c.language_code == bindparam("b_language"))
_INSERT_TRANSCRIPT = insert(_TRANSCRIPTS).returning(_TRANSCRIPTS.c.id)
# RETURNING makes SQLAlchemy send an executemany as multi-row INSERTs ("insertmanyvalues",
# up to 1,000 rows a statement) instead of one statement per row: FTS5 indexes a
# transcript's passages in one statement at about a third of the cost (1.5 -> 0.6 ms per
# transcript measured), and a writer holding the lock gives up the GIL once, not per row.
# The ids it returns are not needed.
_INSERT_PASSAGES = insert(_PASSAGES).returning(_PASSAGES.c.id)


def _insert_passages(conn: Connection, transcript_pk: int,
                     passages: Sequence[tuple[float, str]]) -> None:
    """A transcript's search passages (``chunk_segments``), which the FTS triggers index."""
    if passages:
        conn.execute(_INSERT_PASSAGES, [
            {"transcript_id": transcript_pk, "seq": i, "start_s": start, "text": text}
            for i, (start, text) in enumerate(passages)])


def store_transcript(db: Database, fetched: FetchedTranscript) -> TranscriptOutcome:
    """Clean and store a fetched transcript; the video becomes ``done``. Idempotent.

    Everything is computed first (cleaning, packing, the search passages); the write
    transaction is four Core statements on a connection (the video, the old transcript out,
    the new one in, its passages in one multi-row INSERT, which the FTS triggers index), so
    the write lock that every worker thread shares is held for as short a time as the index
    allows.
    """
    raw = fetched.segments  # (start, duration, text) as the library parsed them
    cleaned = clean_segments(Segment(float(s), float(d), str(t)) for s, d, t in raw)
    now = datetime.now(UTC)
    row = _transcript_row(fetched, raw, cleaned, now)
    passages = chunk_segments(cleaned.segments)
    mark: Any = _MARK_DONE
    video_params: dict[str, Any] = {"b_video": fetched.video_id, "b_now": now}
    if fetched.available is not None:
        mark = _MARK_DONE_WITH_TRACKS
        video_params["b_tracks"] = [t.as_dict() for t in fetched.available]
    with _writers_in_turn(db), db.writer.begin() as conn:
        video_pk = conn.execute(mark, video_params).scalar_one_or_none()
        if video_pk is None:
            raise VideoNotInCorpus(f"video {fetched.video_id} is not in the corpus")
        conn.execute(_DELETE_TRANSCRIPT,
                     {"b_video_pk": video_pk, "b_language": fetched.language_code})
        row["video_id"] = video_pk
        transcript_pk = conn.execute(_INSERT_TRANSCRIPT, row).scalar_one()
        _insert_passages(conn, transcript_pk, passages)
    return TranscriptOutcome(
        fetched.video_id, "done", None, fetched.language_code, fetched.is_generated,
        cleaned.word_count, chosen_by=fetched.chosen_by,
    )


def mark_unavailable(
    db: Database, youtube_video_id: str, error: Permanent
) -> TranscriptOutcome:
    reason = error.reason if error.reason in UNAVAILABLE_REASONS else "video_unavailable"
    tracks = getattr(error, "available", None)
    with _serialized_write(db) as s:
        video = get_video(s, youtube_video_id)
        video.transcript_status = "unavailable"
        video.unavailable_reason = reason
        video.transcript_error = error.message
        _record_tracks(video, tracks, datetime.now(UTC))
    return TranscriptOutcome(youtube_video_id, "unavailable", reason,
                             available=None if tracks is None else describe_tracks(tracks))


def offered_tracks(settings: Settings, youtube_video_id: str) -> tuple[Track, ...]:
    """Ask YouTube now which transcript tracks ``youtube_video_id`` has (through the
    configured endpoint and proxies); nothing is read or written in the database. Raises the
    taxonomy's errors: Permanent (captions disabled, video unavailable...), Transient,
    Blocked."""
    client = transcript_client(settings)
    try:
        return client.list_tracks(youtube_video_id)
    finally:
        client.close()


def fetch_transcript(
    p: Pipeline, youtube_video_id: str, before_store: Callable[[], None] | None = None
) -> TranscriptOutcome:
    """Fetch, clean and store one video's transcript, or record why there is none.

    ``before_store`` runs between the network fetch and the write (the job system uses it to
    stop a job that ran out of time from writing anything). Raises Transient / Blocked /
    ConfigurationError for the caller to handle.
    """
    if p.db.query(video_status, youtube_video_id) is None:  # fail fast, before any request
        raise VideoNotInCorpus(f"video {youtube_video_id} is not in the corpus")
    try:
        fetched = p.transcripts.fetch(youtube_video_id)
    except Permanent as exc:
        if before_store is not None:
            before_store()
        return mark_unavailable(p.db, youtube_video_id, exc)
    if before_store is not None:
        before_store()
    return store_transcript(p.db, fetched)


@dataclass(frozen=True)
class RecleanReport:
    transcripts: int
    changed: int


def reclean(db: Database, *, everything: bool = False, batch: int = 200) -> RecleanReport:
    """Re-run cleaning from the raw segments (all, or those cleaned by an older version)."""
    total = changed = 0
    last_id = 0
    while True:
        with db.write() as s:
            stmt = select(Transcript).where(Transcript.id > last_id).order_by(Transcript.id)
            if not everything:
                stmt = stmt.where(Transcript.cleaning_version < CLEANING_VERSION)
            rows = s.execute(stmt.limit(batch)).scalars().all()
            if not rows:
                break
            for tr in rows:
                last_id = tr.id
                total += 1
                cleaned = clean_segments(
                    Segment(float(a), float(b), str(c)) for a, b, c in tr.segments
                )
                new_segments = [[x.start, x.duration, x.text] for x in cleaned.segments]
                if cleaned.text != tr.text or new_segments != tr.cleaned_segments:
                    changed += 1
                    tr.cleaned_timing = timing = timing_of(new_segments)
                    tr.paragraph_breaks = paragraph_breaks(cleaned.text, timing)
                    tr.word_count = cleaned.word_count
                    tr.char_count = cleaned.char_count
                    conn = s.connection()
                    conn.execute(delete(_PASSAGES).where(_PASSAGES.c.transcript_id == tr.id))
                    _insert_passages(conn, tr.id, chunk_segments(cleaned.segments))
                tr.cleaning_version = CLEANING_VERSION
    return RecleanReport(total, changed)
