"""Channels: add (resolve + upsert), sync metadata, pause/resume, remove, list with counts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video
from tubesensei.pipeline.context import Pipeline
from tubesensei.youtube.data_api import ChannelInfo
from tubesensei.youtube.ids import ChannelRef


class ChannelNotInCorpus(LookupError):
    """The reference names no channel stored locally (one-line message)."""


def _apply_info(channel: Channel, info: ChannelInfo, now: datetime) -> None:
    channel.title = info.title or channel.title
    channel.description = info.description or ""
    channel.handle = info.handle.lstrip("@").lower() if info.handle else channel.handle
    channel.thumbnail_url = info.thumbnail_url
    channel.country = info.country
    channel.subscriber_count = info.subscriber_count
    channel.video_count = info.video_count
    channel.view_count = info.view_count
    channel.uploads_playlist_id = info.uploads_playlist_id or channel.uploads_playlist_id
    channel.published_at = info.published_at
    channel.last_synced_at = now


async def upsert_channel(session: AsyncSession, info: ChannelInfo) -> Channel:
    """Insert or refresh the row keyed on the UC id (adding by handle and by id: one row)."""
    now = datetime.now(UTC)
    channel = (
        await session.execute(select(Channel).where(Channel.youtube_channel_id == info.channel_id))
    ).scalar_one_or_none()
    if channel is None:
        channel = Channel(youtube_channel_id=info.channel_id)
        session.add(channel)
    _apply_info(channel, info, now)
    if channel.status == "error":
        channel.status = "active"
        channel.last_error = None
    await session.flush()
    return channel


async def add_channel(p: Pipeline, ref: ChannelRef) -> Channel:
    """Resolve ``ref`` through the Data API and store the channel. Idempotent."""
    info = await p.call_api(p.api.resolve_channel, ref)
    async with p.db.write() as s:
        channel = await upsert_channel(s, info)
        await p.meter.flush(s)
    return channel


async def sync_channel(p: Pipeline, ref: ChannelRef) -> Channel:
    """Refresh title, description, counts, thumbnails and the uploads playlist."""
    return await add_channel(p, ref)


def _ref_filter(ref: ChannelRef) -> Any:
    if ref.kind == "id":
        return Channel.youtube_channel_id == ref.value
    if ref.kind == "handle":
        return Channel.handle == ref.value.lower()
    # custom names and legacy usernames are only known to YouTube: match what we can.
    return func.lower(Channel.handle) == ref.value.lower()


async def find_channel(session: AsyncSession, ref: ChannelRef) -> Channel | None:
    if ref.kind == "video":
        stmt = select(Channel).join(Video).where(Video.youtube_video_id == ref.value)
    else:
        stmt = select(Channel).where(_ref_filter(ref))
    return (await session.execute(stmt)).scalars().first()


async def get_channel(session: AsyncSession, ref: ChannelRef) -> Channel:
    channel = await find_channel(session, ref)
    if channel is None:
        raise ChannelNotInCorpus(
            f"no channel {ref.display()} in the corpus (add it: tubesensei channels add {ref})"
        )
    return channel


async def set_channel_status(db: Database, ref: ChannelRef, status: str) -> Channel:
    """Pause (rescans skip it) or resume a channel."""
    async with db.write() as s:
        channel = await get_channel(s, ref)
        channel.status = status
        if status == "active":
            channel.last_error = None
        return channel


@dataclass(frozen=True)
class RemovedChannel:
    youtube_channel_id: str
    title: str
    videos: int
    transcripts: int


async def remove_channel(db: Database, ref: ChannelRef) -> RemovedChannel:
    """Delete the channel with its videos, transcripts and search index rows (cascades)."""
    async with db.write() as s:
        channel = await get_channel(s, ref)
        videos = (
            await s.execute(select(func.count()).where(Video.channel_id == channel.id))
        ).scalar_one()
        transcripts = (
            await s.execute(
                select(func.count())
                .select_from(Transcript)
                .join(Video)
                .where(Video.channel_id == channel.id)
            )
        ).scalar_one()
        removed = RemovedChannel(channel.youtube_channel_id, channel.title, videos, transcripts)
        await s.execute(delete(Channel).where(Channel.id == channel.id))
    return removed


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


async def list_channels(db: Database, ref: ChannelRef | None = None) -> list[ChannelSummary]:
    """Every channel (or one) with videos discovered vs transcripts stored vs unavailable.

    The counts come from one GROUP BY over the (channel_id, transcript_status) index, which
    SQLite reads without touching the table: a join of channels to videos with CASE sums
    evaluated per row costs several times as much on a 100k-video corpus.
    """
    channels_stmt = select(Channel).order_by(func.lower(Channel.title), Channel.id)
    counts_stmt = select(Video.channel_id, Video.transcript_status, func.count()).group_by(
        Video.channel_id, Video.transcript_status
    )
    async with db.read() as s:
        if ref is not None:
            one = await get_channel(s, ref)
            channels_stmt = channels_stmt.where(Channel.id == one.id)
            counts_stmt = counts_stmt.where(Video.channel_id == one.id)
        channels = (await s.execute(channels_stmt)).scalars().all()
        counts: dict[int, dict[str, int]] = {}
        for channel_id, status, n in (await s.execute(counts_stmt)).all():
            counts.setdefault(channel_id, {})[status] = n
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
