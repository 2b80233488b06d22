"""Reading the corpus: channels with their counts, videos, totals (stored transcripts:
queries/transcripts.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import func, literal, select, true, union_all
from sqlalchemy.orm import Session

from tubesensei.db.models import (
    TRANSCRIPT_STATUSES,
    Channel,
    ProcessingJob,
    Transcript,
    Video,
)
from tubesensei.errors import NotFound
from tubesensei.youtube.ids import ChannelRef

CHANNELS = Channel.__table__
VIDEOS = Video.__table__
WAITING_KINDS = ("live", "upcoming")
NOT_DONE = tuple(s for s in TRANSCRIPT_STATUSES if s != "done")  # index ranges, not a scan


class ChannelNotInCorpus(NotFound):
    """The reference names no channel stored locally (one-line message)."""


class VideoNotInCorpus(NotFound):
    """The video id is not stored locally (one-line message)."""


# -- channels ---------------------------------------------------------------------------------


def _ref_filter(ref: ChannelRef) -> Any:
    if ref.kind == "id":
        return Channel.youtube_channel_id == ref.value
    if ref.kind == "handle":
        return Channel.handle == ref.value.lower()
    # custom names and legacy usernames are only known to YouTube: match what we can.
    return func.lower(Channel.handle) == ref.value.lower()


def find_channel(s: Session, ref: ChannelRef) -> Channel | None:
    if ref.kind == "video":
        stmt = select(Channel).join(Video).where(Video.youtube_video_id == ref.value)
    else:
        stmt = select(Channel).where(_ref_filter(ref))
    return s.execute(stmt).scalars().first()


def get_channel(s: Session, ref: ChannelRef) -> Channel:
    channel = find_channel(s, ref)
    if channel is None:
        raise ChannelNotInCorpus(
            f"no channel {ref.display()} in the corpus (add it: tubesensei channels add {ref})"
        )
    return channel


def channel_pk(s: Session, ref: ChannelRef | None) -> int | None:
    """The stored channel's primary key (None without a reference); ChannelNotInCorpus."""
    return get_channel(s, ref).id if ref is not None else None


@dataclass(frozen=True)
class ChannelSummary:
    youtube_channel_id: str
    handle: str | None
    title: str
    status: str
    subscriber_count: int | None
    video_count: int | None
    videos: int
    transcripts: int
    unavailable: int
    pending: int
    failed: int
    last_discovered_at: datetime | None
    last_full_scan_at: datetime | None
    last_error: str | None
    description: str = ""
    uploads_playlist_id: str | None = None
    view_count: int | None = None
    last_synced_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in vars(self).items()}


@cache
def _channel_counts() -> Any:
    """(channel id, transcript status, videos) for every pair: built on first use, then kept
    (its six literal SELECTs cost a tenth of the list to build on every call)."""
    statuses = union_all(*(select(literal(st).label("status"))
                           for st in TRANSCRIPT_STATUSES)).subquery("statuses")
    n = (select(func.count()).select_from(VIDEOS)
         .where(VIDEOS.c.channel_id == CHANNELS.c.id,
                VIDEOS.c.transcript_status == statuses.c.status)
         .scalar_subquery())
    return select(CHANNELS.c.id, statuses.c.status, n).select_from(
        CHANNELS.join(statuses, true()))


def list_channels(s: Session, ref: ChannelRef | None = None) -> list[ChannelSummary]:
    """Every channel (or one) with videos discovered vs transcripts stored vs unavailable.

    One count per channel and transcript status (the CHECK constraint's six), each a range
    of the (channel_id, transcript_status, ...) index that SQLite counts without touching
    the table. A GROUP BY over that index decodes both columns of every entry to find the
    groups' edges, which took 40% longer on a 100k-video corpus (p50 12.3 -> 8.8 ms); a
    join of channels to videos with CASE sums per row several times as long.
    """
    channels_stmt = select(Channel).order_by(func.lower(Channel.title), Channel.id)
    if ref is not None:
        channels_stmt = channels_stmt.where(Channel.id == get_channel(s, ref).id)
    channels = s.execute(channels_stmt).scalars().all()
    counts: dict[int, dict[str, int]] = {}
    if channels:
        counts_stmt = _channel_counts()
        if ref is not None:
            counts_stmt = counts_stmt.where(CHANNELS.c.id == channels[0].id)
        for channel_id, status, count in s.execute(counts_stmt).all():
            if count:
                counts.setdefault(channel_id, {})[status] = count
    return [_summary(ch, counts.get(ch.id, {})) for ch in channels]


def _summary(ch: Channel, by_status: dict[str, int]) -> ChannelSummary:
    return ChannelSummary(
        youtube_channel_id=ch.youtube_channel_id,
        handle=ch.handle,
        title=ch.title,
        status=ch.status,
        subscriber_count=ch.subscriber_count,
        video_count=ch.video_count,
        videos=sum(by_status.values()),
        transcripts=by_status.get("done", 0),
        unavailable=by_status.get("unavailable", 0),
        pending=sum(by_status.get(k, 0) for k in ("pending", "queued", "waiting")),
        failed=by_status.get("failed", 0),
        last_discovered_at=ch.last_discovered_at,
        last_full_scan_at=ch.last_full_scan_at,
        last_error=ch.last_error,
        description=ch.description,
        uploads_playlist_id=ch.uploads_playlist_id,
        view_count=ch.view_count,
        last_synced_at=ch.last_synced_at,
    )


def active_channel_ids(s: Session) -> list[str]:
    """UC ids of the channels periodic rescans cover: ``paused`` ones are skipped, and so are
    ``error`` ones (YouTube no longer returns them; the periodic sync looks for them)."""
    stmt = select(Channel.youtube_channel_id).where(Channel.status == "active")
    return list(s.execute(stmt).scalars())


def stored_channel_ids(s: Session, *, paused: bool = True) -> list[str]:
    """UC ids of the stored channels, in the order they were added; ``paused=False`` leaves
    the paused ones out (what the periodic metadata sync covers)."""
    stmt = select(Channel.youtube_channel_id).order_by(Channel.id)
    if not paused:
        stmt = stmt.where(Channel.status != "paused")
    return list(s.execute(stmt).scalars())


# -- videos -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    channel_id: str
    channel_title: str
    title: str
    published_at: datetime | None
    duration_s: int | None
    kind: str
    was_live: bool
    transcript_status: str
    unavailable_reason: str | None
    view_count: int | None
    missing_reason: str | None = None
    """``gone`` or ``private`` when YouTube no longer lists the video (None: it does)."""
    missing_since: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["published_at"] = self.published_at.isoformat() if self.published_at else None
        d["missing_since"] = self.missing_since.isoformat() if self.missing_since else None
        return d


def list_videos(
    s: Session,
    *,
    channel: ChannelRef | None = None,
    status: str | None = None,
    kind: str | None = None,
    removed: bool | None = None,
    limit: int | None = None,
) -> tuple[list[VideoRow], int]:
    """Videos newest first, and how many match in all (for "showing N of M").

    ``removed``: True only the videos YouTube no longer lists (gone or private), False only
    those it does, None both.

    ``channel`` (any reference) must name a stored channel: ChannelNotInCorpus otherwise.
    Filters go on videos' own columns, so the count needs no join and both queries stay on
    one index ((channel_id | transcript_status | kind, published_at)).
    """
    filters = []
    if status:
        filters.append(Video.transcript_status == status)
    if kind:
        filters.append(Video.kind == kind)
    if removed is not None:
        filters.append(Video.missing_reason.is_not(None) if removed
                       else Video.missing_reason.is_(None))
    if channel is not None:
        filters.append(Video.channel_id == get_channel(s, channel).id)
    stmt = (
        select(Video, Channel)
        .join(Channel, Channel.id == Video.channel_id)
        .where(*filters)
        .order_by(Video.published_at.desc(), Video.id.desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = s.execute(stmt).all()
    total = len(rows)
    if limit is not None and total >= limit:
        total = s.execute(select(func.count()).select_from(Video).where(*filters)).scalar_one()
    return [_video_row(v, c) for v, c in rows], total


def _video_row(v: Video, c: Channel) -> VideoRow:
    return VideoRow(
        video_id=v.youtube_video_id,
        channel_id=c.youtube_channel_id,
        channel_title=c.title,
        title=v.title,
        published_at=v.published_at,
        duration_s=v.duration_s,
        kind=v.kind,
        was_live=v.was_live,
        transcript_status=v.transcript_status,
        unavailable_reason=v.unavailable_reason,
        view_count=v.view_count,
        missing_reason=v.missing_reason,
        missing_since=v.missing_since,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class StoredTrack:
    """A transcript stored for a video: which one, and how much of it."""

    language_code: str
    language: str
    is_generated: bool
    translated_from: str | None
    segments: int
    words: int
    fetched_at: datetime
    chosen_by: str | None = None
    """The rule of the transcript choice that picked it (CHOICE_RULES); None: not recorded."""

    def as_dict(self) -> dict[str, Any]:
        return {**vars(self), "fetched_at": _iso(self.fetched_at)}


@dataclass(frozen=True)
class VideoJob:
    """One ledger row about a video (its transcript jobs), as ``videos show`` lists them."""

    id: int
    job_type: str
    status: str
    attempts: int
    max_attempts: int
    error_class: str | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    next_retry_at: datetime | None
    result: dict[str, Any] | None = None

    @property
    def outcome(self) -> str:
        """What a finished job found: ``done``, ``unavailable (reason)``, ``waiting``."""
        result = self.result or {}
        status = str(result.get("status") or "")
        return f"{status} ({result['reason']})" if result.get("reason") else status

    def as_dict(self) -> dict[str, Any]:
        return {k: _iso(v) if isinstance(v, datetime) else v for k, v in vars(self).items()}


@dataclass(frozen=True)
class VideoDetail:
    """Everything stored about one video: metadata, transcript status, the transcripts
    stored, the tracks YouTube listed at the last fetch, and its jobs (newest first)."""

    video_id: str
    title: str
    channel_id: str
    channel_title: str
    channel_handle: str | None
    kind: str
    was_live: bool
    published_at: datetime | None
    scheduled_start_at: datetime | None
    duration_s: int | None
    view_count: int | None
    like_count: int | None
    comment_count: int | None
    privacy_status: str | None
    discovered_at: datetime
    transcript_status: str
    unavailable_reason: str | None
    transcript_error: str | None
    transcripts: list[StoredTrack]
    available_languages: list[dict[str, Any]] | None
    """As recorded at the last fetch ([] captions disabled; None never listed)."""
    languages_checked_at: datetime | None
    jobs: list[VideoJob]
    description: str = ""
    missing_reason: str | None = None
    """``gone`` or ``private``: a scan found YouTube no longer lists it (since missing_since)."""
    missing_since: datetime | None = None

    @property
    def link(self) -> str:
        return f"https://youtu.be/{self.video_id}"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"link": self.link}
        for key, value in vars(self).items():
            if key in ("transcripts", "jobs"):
                value = [item.as_dict() for item in value]
            elif isinstance(value, datetime):
                value = value.isoformat()
            out[key] = value
        return out


def video_detail(s: Session, youtube_video_id: str) -> VideoDetail:
    """One stored video in full (VideoNotInCorpus when it is not stored). Segment counts
    are stored with each transcript: no transcript text is read."""
    video = get_video(s, youtube_video_id)
    channel = s.get(Channel, video.channel_id)
    assert channel is not None  # a foreign key
    tracks = s.execute(
        select(Transcript.language_code, Transcript.language, Transcript.is_generated,
               Transcript.translated_from, Transcript.segment_count,
               Transcript.word_count, Transcript.fetched_at, Transcript.chosen_by)
        .where(Transcript.video_id == video.id)
        .order_by(Transcript.fetched_at.desc(), Transcript.id.desc())
    ).all()
    jobs = s.execute(
        select(ProcessingJob.id, ProcessingJob.job_type, ProcessingJob.status,
               ProcessingJob.attempts, ProcessingJob.max_attempts, ProcessingJob.error_class,
               ProcessingJob.error, ProcessingJob.created_at, ProcessingJob.finished_at,
               ProcessingJob.next_retry_at, ProcessingJob.result)
        .where(ProcessingJob.entity_id == youtube_video_id)
        .order_by(ProcessingJob.id.desc())
    ).all()
    return VideoDetail(
        video_id=video.youtube_video_id, title=video.title,
        channel_id=channel.youtube_channel_id, channel_title=channel.title,
        channel_handle=channel.handle, kind=video.kind, was_live=bool(video.was_live),
        published_at=video.published_at, scheduled_start_at=video.scheduled_start_at,
        duration_s=video.duration_s, view_count=video.view_count, like_count=video.like_count,
        comment_count=video.comment_count, privacy_status=video.privacy_status,
        discovered_at=video.discovered_at, transcript_status=video.transcript_status,
        unavailable_reason=video.unavailable_reason, transcript_error=video.transcript_error,
        transcripts=[StoredTrack(code, name, bool(gen), src, int(n or 0), int(words or 0), at,
                                 rule)
                     for code, name, gen, src, n, words, at, rule in tracks],
        available_languages=video.available_languages,
        languages_checked_at=video.languages_checked_at,
        jobs=[VideoJob(*row) for row in jobs],
        description=video.description,
        missing_reason=video.missing_reason,
        missing_since=video.missing_since,
    )


def video_status(s: Session, youtube_video_id: str) -> str | None:
    """The video's transcript_status, or None when it is not stored."""
    stmt = select(Video.transcript_status).where(Video.youtube_video_id == youtube_video_id)
    return s.execute(stmt).scalar_one_or_none()


def get_video(s: Session, youtube_video_id: str) -> Video:
    video = s.execute(
        select(Video).where(Video.youtube_video_id == youtube_video_id)
    ).scalar_one_or_none()
    if video is None:
        raise VideoNotInCorpus(f"video {youtube_video_id} is not in the corpus")
    return video


def select_video_ids(s: Session, *, status: str, reason: str | None = None,
                     channel: ChannelRef | None = None) -> list[str]:
    """Ids of the stored videos with this transcript status (and unavailable reason, and
    channel: ChannelNotInCorpus when it is not stored), oldest first."""
    filters = [Video.transcript_status == status]
    if reason is not None:
        filters.append(Video.unavailable_reason == reason)
    if channel is not None:
        filters.append(Video.channel_id == get_channel(s, channel).id)
    stmt = select(Video.youtube_video_id).where(*filters).order_by(Video.published_at, Video.id)
    return list(s.execute(stmt).scalars())


def stored_video_states(s: Session, youtube_video_ids: Sequence[str]) -> dict[str, str | None]:
    """Which of these videos are stored: id -> missing_reason (None: YouTube lists it)."""
    stmt = select(Video.youtube_video_id, Video.missing_reason).where(
        Video.youtube_video_id.in_(list(youtube_video_ids)))
    return {vid: reason for vid, reason in s.execute(stmt).all()}


def channel_video_ids(s: Session, channel_pk: int) -> dict[str, str | None]:
    """Every stored video of a channel: its id and its missing_reason (None: listed)."""
    stmt = select(Video.youtube_video_id, Video.missing_reason).where(
        Video.channel_id == channel_pk)
    return {vid: reason for vid, reason in s.execute(stmt).all()}


def waiting_video_ids(s: Session, channel_pk: int) -> list[str]:
    """Live/upcoming videos of a channel still listed by YouTube, those due first (start
    known, earliest) first. (Missing ones are looked at again by the next full scan.)"""
    stmt = (
        select(Video.youtube_video_id)
        .where(Video.channel_id == channel_pk, Video.transcript_status == "waiting",
               Video.missing_reason.is_(None))
        .order_by(Video.scheduled_start_at.is_(None), Video.scheduled_start_at, Video.id)
    )
    return list(s.execute(stmt).scalars())


def pending_videos(
    s: Session, youtube_channel_id: str | None = None
) -> list[tuple[str, str, bool]]:
    """(video id, kind, was_live) of videos discovered with no job yet, oldest first (not
    those YouTube no longer lists: there is no transcript to fetch)."""
    stmt = (
        select(Video.youtube_video_id, Video.kind, Video.was_live)
        .where(Video.transcript_status == "pending", Video.missing_reason.is_(None))
        .order_by(Video.published_at, Video.id)
    )
    if youtube_channel_id is not None:
        stmt = stmt.join(Channel).where(Channel.youtube_channel_id == youtube_channel_id)
    return [(vid, kind, bool(was_live)) for vid, kind, was_live in s.execute(stmt).all()]


# -- totals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CorpusTotals:
    channels: int
    videos_by_status: dict[str, int]
    unavailable_by_reason: dict[str, int]

    @property
    def videos(self) -> int:
        return sum(self.videos_by_status.values())

    @property
    def transcripts(self) -> int:
        """Videos with a stored transcript."""
        return self.videos_by_status.get("done", 0)


def corpus_totals(s: Session) -> CorpusTotals:
    """How many channels and videos, videos by transcript status, unavailable ones by reason.

    Videos with a transcript (``done``: most of a corpus that is worked through) are every
    video minus the others: count(*) counts the cells of an index's pages, decoding none, and
    the others are ranges of the (transcript_status, unavailable_reason) index, grouped.
    """
    channels = s.execute(select(func.count()).select_from(Channel)).scalar_one()
    videos = s.execute(select(func.count()).select_from(Video)).scalar_one()
    rows = s.execute(
        select(Video.transcript_status, Video.unavailable_reason, func.count())
        .where(Video.transcript_status.in_(NOT_DONE))
        .group_by(Video.transcript_status, Video.unavailable_reason)
    ).all()
    done = int(videos) - sum(int(n) for _, _, n in rows)
    rows = [*rows, ("done", None, done)] if done else rows
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for status, reason, n in rows:
        by_status[status] = by_status.get(status, 0) + int(n)
        if status == "unavailable":
            key = reason or "unknown"
            by_reason[key] = by_reason.get(key, 0) + int(n)
    return CorpusTotals(channels=int(channels), videos_by_status=by_status,
                        unavailable_by_reason=by_reason)


def videos_by_kind(s: Session) -> dict[str, int]:
    rows = s.execute(select(Video.kind, func.count()).group_by(Video.kind)).all()
    return {str(k): int(v) for k, v in sorted(rows)}


def channel_status_counts(s: Session) -> list[tuple[str | None, str, str | None, int]]:
    """(handle, title, transcript status or None, videos) of every channel: progress per
    channel as the demo shows it."""
    rows = s.execute(
        select(Channel.handle, Channel.title, Video.transcript_status, func.count(Video.id))
        .outerjoin(Video, Video.channel_id == Channel.id)
        .group_by(Channel.id, Video.transcript_status)
    ).all()
    return [(h, t, st, int(n)) for h, t, st, n in rows]
