"""Channels: add (resolve + upsert), sync metadata, pause/resume, remove.

Reading channels (lists with counts, one by reference) is in ``queries.corpus``.

Statuses: ``active`` (rescans cover it), ``paused`` (by hand: rescans and the periodic sync
skip it), ``error`` (YouTube no longer returns it: ``last_error`` says since when; rescans
skip it, the periodic sync keeps looking and makes it ``active`` again if it comes back). A
channel is never deleted because YouTube lost it: its videos and transcripts stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, Transcript, Video
from tubesensei.logging import get_logger
from tubesensei.queries.corpus import find_channel, get_channel
from tubesensei.youtube.errors import YouTubeError
from tubesensei.youtube.ids import ChannelRef

if TYPE_CHECKING:  # the YouTube clients (googleapiclient, youtube-transcript-api): not for
    # the TUI and the commands that only pause a channel or read one (~125 ms, ~25 MB)
    from tubesensei.pipeline.context import Pipeline
    from tubesensei.youtube.data_api import ChannelInfo

log = get_logger(__name__)
T = TypeVar("T")

Retry = Callable[[Callable[[], Any]], Any]
"""Runs a Data API call, retrying what is worth retrying (jobs/policy.py ``CommandRetry``, for
commands that call YouTube at once); jobs pass none: the job system retries the whole job."""


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


def _call(p: Pipeline, retry: Retry | None, fn: Callable[..., T], *args: Any) -> T:
    if retry is None:
        return p.call_api(fn, *args)
    return p.call_api(retry, lambda: fn(*args))


@dataclass(frozen=True)
class AddedChannel:
    channel: Channel
    created: bool
    """False: the channel was stored already (its metadata is refreshed)."""


def add_channel(p: Pipeline, ref: ChannelRef, retry: Retry | None = None) -> AddedChannel:
    """Resolve ``ref`` through the Data API and store the channel. Idempotent."""
    info = _call(p, retry, p.api.resolve_channel, ref)
    with p.db.write() as s:
        created = s.execute(
            select(func.count()).where(Channel.youtube_channel_id == info.channel_id)
        ).scalar_one() == 0
        channel = upsert_channel(s, info)
        p.meter.flush(s)
    return AddedChannel(channel, created)


# -- sync: many stored channels, one channels.list call per 50 ---------------------------------

# What a sync reports as changed (last_synced_at and published_at are not news).
_REPORTED = ("status", "title", "handle", "description", "thumbnail_url", "country",
             "uploads_playlist_id", "subscriber_count", "video_count", "view_count")


@dataclass(frozen=True)
class ChannelSync:
    """What a sync did to one stored channel."""

    youtube_channel_id: str
    title: str
    outcome: str
    """``updated``, ``unchanged`` or ``not_found`` (YouTube did not return it)."""
    status: str
    """The status after the sync (``error`` when marked not found; ``paused`` stays)."""
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    """Field -> (old, new), the status included (``error`` -> ``active``: it came back)."""
    last_error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"youtube_channel_id": self.youtube_channel_id, "title": self.title,
                "outcome": self.outcome, "status": self.status,
                "changes": {k: {"old": old, "new": new} for k, (old, new) in self.changes.items()},
                "last_error": self.last_error}


NOT_FOUND = "channel not found on YouTube (closed or removed)"


def _mark_not_found(channel: Channel, now: datetime) -> None:
    """``error`` with the reason; a paused channel stays paused (the reason is recorded);
    one already marked keeps the date it was first missed."""
    if channel.status != "paused":
        channel.status = "error"
    if not (channel.last_error or "").startswith(NOT_FOUND):
        channel.last_error = f"{NOT_FOUND} at {now:%Y-%m-%d %H:%M} UTC"


def _sync_row(channel: Channel, info: ChannelInfo | None, now: datetime) -> ChannelSync:
    before = {name: getattr(channel, name) for name in _REPORTED}
    if info is None:
        _mark_not_found(channel, now)
    else:
        _apply_info(channel, info, now)
        if channel.status == "error":  # it came back; a paused channel stays paused
            channel.status = "active"
        channel.last_error = None
    changes = {name: (before[name], getattr(channel, name)) for name in _REPORTED
               if getattr(channel, name) != before[name]}
    outcome = "not_found" if info is None else "updated" if changes else "unchanged"
    return ChannelSync(channel.youtube_channel_id, channel.title, outcome, channel.status,
                       changes, channel.last_error)


def sync_channels(
    p: Pipeline,
    channel_ids: Sequence[str],
    *,
    retry: Retry | None = None,
    checkpoint: Callable[[], None] | None = None,
    on_result: Callable[[ChannelSync], None] | None = None,
) -> list[ChannelSync]:
    """Refresh stored channels (UC ids) with one ``channels.list`` call (1 unit) per 50.

    A returned channel gets its title, handle, description, counts, thumbnail and uploads
    playlist refreshed (an ``error`` one becomes ``active`` again; ``paused`` stays). One
    YouTube does not return is marked ``error`` with the reason in ``last_error`` (never
    deleted). Each batch of 50 commits with the units it cost: a failure keeps what the
    batches before it did. Ids not stored are ignored.
    """
    from tubesensei.youtube.data_api import MAX_PAGE_SIZE

    unique = list(dict.fromkeys(channel_ids))
    results: list[ChannelSync] = []
    for start in range(0, len(unique), MAX_PAGE_SIZE):
        if checkpoint is not None:
            checkpoint()
        batch = unique[start:start + MAX_PAGE_SIZE]
        found = {info.channel_id: info for info in _call(p, retry, p.api.channels_by_ids, batch)}
        now = datetime.now(UTC)
        with p.db.write() as s:
            rows = {c.youtube_channel_id: c for c in s.execute(
                select(Channel).where(Channel.youtube_channel_id.in_(batch))).scalars()}
            done = [_sync_row(rows[cid], found.get(cid), now) for cid in batch if cid in rows]
            p.meter.flush(s)
        for result in done:
            if result.outcome == "not_found":
                log.warning("channel not found on YouTube", channel=result.youtube_channel_id,
                            status=result.status)
            if on_result is not None:
                on_result(result)
        results.extend(done)
    return results


def check_channel_gone(p: Pipeline, ref: ChannelRef) -> ChannelSync | None:
    """After a discovery found the channel or its uploads playlist missing: ask YouTube for
    the stored channel by id (1 unit) and mark it ``error`` if it is gone.

    An uploads playlist also answers "not found" for a channel without public uploads, and a
    handle stops resolving when the channel is renamed, so the answer is checked rather than
    trusted. Returns None when the reference names no stored channel or the check itself
    failed (logged: the discovery's own error is what the caller reports).
    """
    if ref.kind not in ("id", "handle", "video"):  # custom names are YouTube's to resolve
        return None
    channel = p.db.query(find_channel, ref)
    if channel is None:
        return None
    try:
        results = sync_channels(p, [channel.youtube_channel_id])
    except YouTubeError as exc:
        log.warning("could not check whether the channel is gone", channel=str(ref),
                    error=exc.message)
        return None
    return results[0] if results else None


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
