"""Channels: add (resolve + upsert), sync metadata, pause/resume, remove.

Reading channels (lists with counts, one by reference) is in ``queries.corpus``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video
from tubesensei.pipeline.context import Pipeline
from tubesensei.queries.corpus import get_channel
from tubesensei.youtube.data_api import ChannelInfo
from tubesensei.youtube.ids import ChannelRef


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


def upsert_channel(session: Session, info: ChannelInfo) -> Channel:
    """Insert or refresh the row keyed on the UC id (adding by handle and by id: one row)."""
    now = datetime.now(UTC)
    channel = session.execute(
        select(Channel).where(Channel.youtube_channel_id == info.channel_id)
    ).scalar_one_or_none()
    if channel is None:
        channel = Channel(youtube_channel_id=info.channel_id)
        session.add(channel)
    _apply_info(channel, info, now)
    if channel.status == "error":
        channel.status = "active"
        channel.last_error = None
    session.flush()
    return channel


def add_channel(p: Pipeline, ref: ChannelRef) -> Channel:
    """Resolve ``ref`` through the Data API and store the channel. Idempotent."""
    info = p.call_api(p.api.resolve_channel, ref)
    with p.db.write() as s:
        channel = upsert_channel(s, info)
        p.meter.flush(s)
    return channel


def sync_channel(p: Pipeline, ref: ChannelRef) -> Channel:
    """Refresh title, description, counts, thumbnails and the uploads playlist."""
    return add_channel(p, ref)


def set_channel_status(db: Database, ref: ChannelRef, status: str) -> Channel:
    """Pause (rescans skip it) or resume a channel."""
    with db.write() as s:
        channel = get_channel(s, ref)
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


def remove_channel(db: Database, ref: ChannelRef) -> RemovedChannel:
    """Delete the channel with its videos, transcripts and search index rows (cascades)."""
    with db.write() as s:
        channel = get_channel(s, ref)
        videos = s.execute(select(func.count()).where(Video.channel_id == channel.id)).scalar_one()
        transcripts = s.execute(
            select(func.count()).select_from(Transcript).join(Video)
            .where(Video.channel_id == channel.id)
        ).scalar_one()
        removed = RemovedChannel(channel.youtube_channel_id, channel.title, videos, transcripts)
        s.execute(delete(Channel).where(Channel.id == channel.id))
    return removed
