"""Reading the corpus: videos by channel/status/kind, one video's transcript."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video


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
    channel_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    limit: int | None = None,
) -> tuple[list[VideoRow], int]:
    """Videos newest first, and how many match in all (for "showing N of M")."""
    filters = []
    if channel_id:
        filters.append(Channel.youtube_channel_id == channel_id)
    if status:
        filters.append(Video.transcript_status == status)
    if kind:
        filters.append(Video.kind == kind)
    base = select(Video, Channel).join(Channel, Channel.id == Video.channel_id).where(*filters)
    stmt = base.order_by(Video.published_at.desc(), Video.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    async with db.read() as s:
        rows = (await s.execute(stmt)).all()
        total = len(rows)
        if limit is not None and total >= limit:
            count = select(func.count()).select_from(Video).join(Channel).where(*filters)
            total = (await s.execute(count)).scalar_one()
    return [
        VideoRow(
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
        for v, c in rows
    ], total


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
    )
