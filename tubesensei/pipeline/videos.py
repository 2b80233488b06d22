"""Reading the corpus: videos by channel/status/kind, one video's transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video
from tubesensei.pipeline.channels import get_channel
from tubesensei.youtube.ids import ChannelRef


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

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["published_at"] = self.published_at.isoformat() if self.published_at else None
        return d


async def list_videos(
    db: Database,
    *,
    channel: ChannelRef | None = None,
    channel_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> tuple[list[VideoRow], int]:
    """Videos newest first, and how many match in all (for "showing N of M").

    ``channel`` (any reference) or ``channel_id`` (a UC id) must name a stored channel:
    ChannelNotInCorpus otherwise. Filters go on videos' own columns, so the count needs no
    join and both queries stay on one index ((channel_id | transcript_status | kind,
    published_at)).
    """
    if channel is None and channel_id:
        channel = ChannelRef("id", channel_id)
    filters = []
    if status:
        filters.append(Video.transcript_status == status)
    if kind:
        filters.append(Video.kind == kind)
    async with db.read() as s:
        if channel is not None:
            filters.append(Video.channel_id == (await get_channel(s, channel)).id)
        stmt = (
            select(Video, Channel)
            .join(Channel, Channel.id == Video.channel_id)
            .where(*filters)
            .order_by(Video.published_at.desc(), Video.id.desc())
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        rows = (await s.execute(stmt)).all()
        total = len(rows)
        if limit is not None and total >= limit:
            count = select(func.count()).select_from(Video).where(*filters)
            total = (await s.execute(count)).scalar_one()
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
    )


@dataclass(frozen=True)
class StoredTranscript:
    video_id: str
    title: str
    channel_title: str
    language_code: str
    language: str
    is_generated: bool
    text: str
    segments: list[list[Any]]
    word_count: int
    fetched_at: datetime
    channel_id: str = ""

    def paragraphs(self) -> list[tuple[float, str]]:
        """The text's paragraphs, each with the start of its first segment.

        The cleaned text is the cleaned segments joined by spaces, with blank lines between
        paragraphs (pipeline.cleaning.build_text), so counting words lines them up.
        """
        out: list[tuple[float, str]] = []
        i = 0
        for paragraph in self.text.split("\n\n"):
            start = float(self.segments[i][0]) if i < len(self.segments) else 0.0
            words = len(paragraph.split())
            while words > 0 and i < len(self.segments):
                words -= len(str(self.segments[i][2]).split())
                i += 1
            out.append((start, paragraph))
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "title": self.title,
            "channel_id": self.channel_id,
            "channel": self.channel_title,
            "language_code": self.language_code,
            "language": self.language,
            "is_generated": self.is_generated,
            "word_count": self.word_count,
            "fetched_at": self.fetched_at.isoformat(),
            "link": f"https://youtu.be/{self.video_id}",
            "text": self.text,
            "segments": [{"start": a, "duration": b, "text": c} for a, b, c in self.segments],
        }


class TranscriptNotStored(LookupError):
    """The video is stored but has no transcript (in that language); says why."""


async def get_transcript(
    db: Database, youtube_video_id: str, language_code: str | None = None
) -> tuple[Video, StoredTranscript | None]:
    """The video row and its transcript (preferred language first), or None if there is none."""
    from tubesensei.pipeline.transcripts import VideoNotInCorpus

    async with db.read() as s:
        row = (
            await s.execute(
                select(Video, Channel)
                .join(Channel, Channel.id == Video.channel_id)
                .where(Video.youtube_video_id == youtube_video_id)
            )
        ).first()
        if row is None:
            raise VideoNotInCorpus(f"video {youtube_video_id} is not in the corpus")
        video, channel = row
        stmt = select(Transcript).where(Transcript.video_id == video.id).order_by(Transcript.id)
        if language_code:
            stmt = stmt.where(Transcript.language_code == language_code)
        tr = (await s.execute(stmt)).scalars().first()
    if tr is None:
        return video, None
    return video, StoredTranscript(
        video_id=youtube_video_id,
        title=video.title,
        channel_title=channel.title,
        language_code=tr.language_code,
        language=tr.language,
        is_generated=tr.is_generated,
        text=tr.text,
        segments=tr.cleaned_segments,
        word_count=tr.word_count,
        fetched_at=tr.fetched_at,
        channel_id=channel.youtube_channel_id,
    )


async def show_transcript(
    db: Database, youtube_video_id: str, language_code: str | None = None
) -> StoredTranscript:
    """The stored transcript, or TranscriptNotStored saying why there is none (the video's
    status and unavailable reason, or the languages that are stored)."""
    video, transcript = await get_transcript(db, youtube_video_id, language_code)
    if transcript is not None:
        return transcript
    if language_code:
        async with db.read() as s:
            stored = (
                await s.execute(
                    select(Transcript.language_code)
                    .where(Transcript.video_id == video.id)
                    .order_by(Transcript.language_code)
                )
            ).scalars().all()
        if stored:
            raise TranscriptNotStored(
                f"video {youtube_video_id} has no transcript in {language_code!r} "
                f"(stored: {', '.join(stored)})"
            )
    raise TranscriptNotStored(f"video {youtube_video_id} has no transcript: {_why(video)}")


def _why(video: Video) -> str:
    status = video.transcript_status
    if status == "unavailable":
        return f"unavailable ({video.unavailable_reason or 'no reason recorded'})"
    if status == "failed":
        return f"failed ({video.transcript_error or 'no error recorded'})"
    if status == "waiting":
        return f"waiting (a {video.kind} stream: transcribed once it has finished)"
    if status == "done":
        return "done, but its transcript row is missing (run discovery again)"
    return f"{status} (not fetched yet)"


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


async def corpus_totals(db: Database) -> CorpusTotals:
    """How many channels and videos, videos by transcript status, unavailable ones by reason:
    one grouped count over the (transcript_status, unavailable_reason) index."""
    async with db.read() as s:
        channels = (await s.execute(select(func.count()).select_from(Channel))).scalar_one()
        rows = (await s.execute(
            select(Video.transcript_status, Video.unavailable_reason, func.count())
            .group_by(Video.transcript_status, Video.unavailable_reason)
        )).all()
    by_status: dict[str, int] = {}
    by_reason: dict[str, int] = {}
    for status, reason, n in rows:
        by_status[status] = by_status.get(status, 0) + int(n)
        if status == "unavailable":
            key = reason or "unknown"
            by_reason[key] = by_reason.get(key, 0) + int(n)
    return CorpusTotals(channels=int(channels), videos_by_status=by_status,
                        unavailable_by_reason=by_reason)
