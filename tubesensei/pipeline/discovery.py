"""Video discovery: page a channel's uploads playlist and store what is there.

- Full scan: every page, details in 50-id batches, one transaction per page that also records
  the next page's token on the channel: a crash keeps what was done, and the next full scan
  of the channel (within a day) goes on from that page instead of paying for every page
  again.
- Incremental rescan: stop at the first page whose videos are all known once at least
  ``discovery.recheck_known`` playlist rows have been looked at (so a video made public late,
  near the top of the playlist, is still found). Streams stored as live or upcoming by an
  earlier run are re-checked in one details call at the end (at most 50 of them, those due
  first), so they are picked up when they finish. An unchanged channel costs 1 unit, 2 when
  it has streams to re-check.
  ``discovery.full_reconcile_days`` turns a rescan into a full scan.
- Keeping the corpus true: a full scan refreshes the details of every video it lists (known
  ones too: titles, counts, duration, live -> finished), in the same 50-id calls. A stored
  video is never deleted: one shown as "Private video" or "Deleted video" in a page (any
  scan) is marked ``private``/``gone`` (``missing_since``); at the end of a full scan that
  saw every page, stored videos the playlist no longer lists are looked up (50 a call) and
  those YouTube does not return are marked ``gone``. A marked video that is listed again is
  marked back (its transcript was kept all along).

The pipeline knows nothing about queues: ``on_page(youtube_channel_id, video_ids)`` is called
with the videos that should now get a transcript once the pages holding them have committed,
so a caller can queue them while discovery goes on: every ``HANDOFF_BATCH`` videos (ten full
pages; a caller's jobs are created in one transaction per call, and one per page cost a
20,000-video channel's discovery a quarter of its time), and at the end of the scan, or
when it stops on an error. (A crash between a commit and the callback leaves those videos
``pending``: see :func:`eligible_pending_videos`, which a caller sweeps.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from tubesensei.config import TranscriptSettings
from tubesensei.db.models import Channel, Video
from tubesensei.pipeline.channels import upsert_channel
from tubesensei.pipeline.context import Pipeline
from tubesensei.queries.corpus import (
    WAITING_KINDS,
    channel_video_ids,
    find_channel,
    pending_videos,
    stored_video_states,
    video_status,
    waiting_video_ids,
)
from tubesensei.youtube.data_api import MAX_PAGE_SIZE, VideoInfo
from tubesensei.youtube.errors import NotFoundReason, Permanent
from tubesensei.youtube.ids import ChannelRef

Mode = Literal["auto", "full", "incremental"]
OnPage = Callable[[str, list[str]], None]
Checkpoint = Callable[[], None]
# Videos handed to ``on_page`` at a time (see the module docstring).
HANDOFF_BATCH = 500


@dataclass
class DiscoveryResult:
    youtube_channel_id: str
    title: str
    mode: Literal["full", "incremental"]
    pages: int = 0
    seen: int = 0
    new_video_ids: list[str] = field(default_factory=list)
    updated: int = 0
    to_transcribe: list[str] = field(default_factory=list)
    units: int = 0
    reached_end: bool = False
    resumed_after: int = 0  # pages an interrupted full scan had done before this run
    missing: dict[str, str] = field(default_factory=dict)  # newly marked: id -> gone/private
    returned: list[str] = field(default_factory=list)  # marked missing before, listed again

    def as_dict(self) -> dict[str, object]:
        return {
            "channel": self.youtube_channel_id,
            "title": self.title,
            "mode": self.mode,
            "pages": self.pages,
            "seen": self.seen,
            "new": len(self.new_video_ids),
            "updated": self.updated,
            "queued": len(self.to_transcribe),
            "units": self.units,
            "reached_end": self.reached_end,
            **({"resumed_after_pages": self.resumed_after} if self.resumed_after else {}),
            **({"removed": len(self.missing)} if self.missing else {}),
            **({"returned": len(self.returned)} if self.returned else {}),
        }


def wants_transcript(kind: str, was_live: bool, rules: TranscriptSettings) -> bool:
    """Whether a video of this kind gets a transcript under the configured rules."""
    if kind in WAITING_KINDS:
        return False
    if kind == "short":
        return rules.include_shorts
    return rules.include_finished_streams or not was_live


VIDEOS = Video.__table__

# The columns a details call sets. A video YouTube returned is there: not missing.
DETAIL_COLUMNS = ("title", "description", "published_at", "duration_s", "view_count",
                  "like_count", "comment_count", "kind", "was_live", "privacy_status",
                  "scheduled_start_at", "missing_since", "missing_reason")


def _detail_values(info: VideoInfo, published_at: datetime | None) -> dict[str, Any]:
    return {
        "title": info.title, "description": info.description,
        "published_at": info.published_at or published_at, "duration_s": info.duration_s,
        "view_count": info.view_count, "like_count": info.like_count,
        "comment_count": info.comment_count, "kind": info.kind, "was_live": info.was_live,
        "privacy_status": info.privacy_status, "scheduled_start_at": info.scheduled_start,
        "missing_since": None, "missing_reason": None,
    }


def _store_details(
    session: Session,
    channel: Channel,
    details: Sequence[VideoInfo],
    rules: TranscriptSettings,
    result: DiscoveryResult,
) -> list[str]:
    """Insert new video rows and refresh stored ones; return the ids that should get a
    transcript now.

    One INSERT for the page's new videos and one UPDATE per stored video whose details
    changed (an unchanged channel's rescan writes nothing), as Core statements: a
    20,000-video channel's discovery spent most of its time in the ORM's unit of work.
    """
    if not details:
        return []
    stored = {
        row.youtube_video_id: row
        for row in session.execute(
            select(VIDEOS.c.id, VIDEOS.c.youtube_video_id, VIDEOS.c.transcript_status,
                   *(VIDEOS.c[name] for name in DETAIL_COLUMNS))
            .where(VIDEOS.c.youtube_video_id.in_([d.video_id for d in details])))
    }
    eligible: list[str] = []
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    for info in details:
        row = stored.get(info.video_id)
        if row is None:
            new_rows.append({
                "youtube_video_id": info.video_id, "channel_id": channel.id,
                "transcript_status": "waiting" if info.kind in WAITING_KINDS else "pending",
                **_detail_values(info, None)})
            result.new_video_ids.append(info.video_id)
            if wants_transcript(info.kind, info.was_live, rules):
                eligible.append(info.video_id)
            continue
        if row.missing_reason is not None:
            result.returned.append(info.video_id)
        result.updated += 1
        values = _detail_values(info, row.published_at)
        status = row.transcript_status
        if status == "waiting" and info.kind not in WAITING_KINDS:
            status = "pending"  # the stream has finished
            if wants_transcript(info.kind, info.was_live, rules):
                eligible.append(info.video_id)
        if status != row.transcript_status or any(
                getattr(row, name) != value for name, value in values.items()):
            changed_rows.append({"row_id": row.id, "transcript_status": status, **values})
    if new_rows:
        session.execute(VIDEOS.insert(), new_rows)
    if changed_rows:
        session.execute(VIDEOS.update().where(VIDEOS.c.id == bindparam("row_id")),
                        changed_rows)
    return eligible


def resolve_channel(p: Pipeline, ref: ChannelRef) -> Channel:
    """The stored channel; resolved through the API (1 unit) only when not known yet.

    Only ids, handles and videos are matched locally: a custom name or legacy username is
    known to YouTube alone, and guessing it from a handle could pick the wrong channel.
    """
    if ref.kind in ("id", "handle", "video"):
        channel = p.db.query(find_channel, ref)
        if channel is not None and channel.uploads_playlist_id:
            return channel
    info = p.call_api(p.api.resolve_channel, ref)
    with p.db.write() as s:
        channel = upsert_channel(s, info)
        p.meter.flush(s)
    return channel


def _choose_mode(channel: Channel, mode: Mode, reconcile_days: int, now: datetime) -> str:
    if mode != "auto":
        return mode
    if channel.last_full_scan_at is None:
        return "full"
    if reconcile_days and now - channel.last_full_scan_at >= timedelta(days=reconcile_days):
        return "full"
    return "incremental"


def discover_channel(
    p: Pipeline,
    ref: ChannelRef,
    *,
    mode: Mode = "auto",
    on_page: OnPage | None = None,
    checkpoint: Checkpoint | None = None,
    handoff_batch: int | None = None,
) -> DiscoveryResult:
    """Discover the channel's videos; see the module docstring for full vs incremental, and
    for ``on_page`` (called every ``handoff_batch`` videos, default ``HANDOFF_BATCH``)."""
    if on_page is None:
        return _discover(p, ref, mode, None, checkpoint)
    handoff = _Handoff(on_page, HANDOFF_BATCH if handoff_batch is None else handoff_batch)
    try:
        result = _discover(p, ref, mode, handoff, checkpoint)
    except BaseException:
        # The pages committed so far keep their videos: hand them over before giving up
        # (a failure here leaves them pending for the sweep; the scan's own error stands).
        with suppress(Exception):
            handoff.flush()
        raise
    handoff.flush()
    return result


class _Handoff:
    """``on_page`` in batches: collects the videos of committed pages and passes them on
    once ``batch`` are there (``flush()`` passes on the rest)."""

    def __init__(self, on_page: OnPage, batch: int) -> None:
        self.on_page, self.batch = on_page, max(1, batch)
        self.channel_id = ""
        self.video_ids: list[str] = []

    def __call__(self, youtube_channel_id: str, video_ids: list[str]) -> None:
        self.channel_id = youtube_channel_id
        self.video_ids.extend(video_ids)
        if len(self.video_ids) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self.video_ids:
            video_ids, self.video_ids = self.video_ids, []
            self.on_page(self.channel_id, video_ids)


def _discover(p: Pipeline, ref: ChannelRef, mode: Mode, on_page: OnPage | None,
              checkpoint: Checkpoint | None) -> DiscoveryResult:
    start_units = p.meter.total_units
    channel = resolve_channel(p, ref)
    now = datetime.now(UTC)
    chosen = _choose_mode(channel, mode, p.settings.discovery.full_reconcile_days, now)
    result = DiscoveryResult(channel.youtube_channel_id, channel.title, chosen)  # type: ignore[arg-type]
    rules = p.settings.transcripts
    recheck = p.settings.discovery.recheck_known
    seen_ids: set[str] = set()
    seen_hidden: dict[str, str] = {}  # private/deleted rows: id -> private/gone
    rows_looked_at = 0

    start_token = None
    if chosen == "full" and _resumable(channel, now):
        start_token, result.resumed_after = channel.scan_page_token, channel.scan_pages or 0
    pages = p.api.iter_upload_pages(channel.uploads_playlist_id or "", page_token=start_token)
    while True:
        if checkpoint is not None:
            checkpoint()
        page = p.call_api(next, pages, None)
        if page is None:
            result.reached_end = True
            break
        result.pages += 1
        ids = [e.video_id for e in page.entries if e.video_id not in seen_ids]
        seen_ids.update(ids)
        result.seen += len(ids)
        stored = p.db.query(stored_video_states, ids)
        # Known streams still waiting are re-checked once, at the end (_recheck_waiting):
        # one details call for all of them keeps an unchanged channel's rescan at 2 units.
        unknown = [i for i in ids if i not in stored]
        # A full scan refreshes every listed video; a rescan only the new ones and those
        # marked missing that are listed again.
        wanted = ids if chosen == "full" else [
            i for i in ids if i not in stored or stored[i] is not None]
        details = p.call_api(p.api.videos_details, wanted) if wanted else []
        # A full scan records where it got to with the page (one transaction): killed now,
        # the next discovery of the channel goes on from the next page.
        cursor = (page.next_page_token, result.resumed_after + result.pages) if (
            chosen == "full") else None
        hidden = {**dict.fromkeys(page.deleted_ids, "gone"),
                  **dict.fromkeys(page.private_ids, "private")}
        seen_hidden.update(hidden)
        _commit_page(p, channel, details, rules, result, on_page, cursor, hidden)
        # Private and deleted rows count as looked at: they are what a late-public video
        # near the top of the playlist looks like until it is published.
        rows_looked_at += len(page.entries) + page.skipped_private + page.skipped_deleted
        if chosen == "incremental" and not unknown and rows_looked_at >= recheck:
            break

    _recheck_waiting(p, channel, rules, result, on_page)
    if chosen == "full" and result.reached_end and not result.resumed_after:
        _reconcile_unlisted(p, channel, seen_ids | set(seen_hidden), rules, result, on_page)
    with p.db.write() as s:
        row = s.get(Channel, channel.id)
        if row is not None:
            row.last_discovered_at = now
            if chosen == "full" and result.reached_end:
                row.last_full_scan_at = now
                row.scan_page_token = row.scan_pages = row.scan_resumable_at = None
        p.meter.flush(s)
    result.units = p.meter.total_units - start_units
    return result


# An unfinished full scan is resumed within this time (a page token of YouTube's points at
# a position in the playlist; after a long pause a fresh scan is the safer start).
RESUME_WITHIN = timedelta(days=1)


def _resumable(channel: Channel, now: datetime) -> bool:
    at = channel.scan_resumable_at
    return bool(channel.scan_page_token) and at is not None and now - at < RESUME_WITHIN


def _commit_page(
    p: Pipeline,
    channel: Channel,
    details: Sequence[VideoInfo],
    rules: TranscriptSettings,
    result: DiscoveryResult,
    on_page: OnPage | None,
    cursor: tuple[str | None, int] | None = None,
    missing: dict[str, str] | None = None,
) -> None:
    with p.db.write() as s:
        eligible = _store_details(s, channel, details, rules, result)
        if missing:
            _mark_missing(s, channel.id, missing, result)
        if cursor is not None:
            _save_cursor(s, channel.id, *cursor)
        p.meter.flush(s)
    result.to_transcribe.extend(eligible)
    if on_page is not None and eligible:
        on_page(channel.youtube_channel_id, eligible)


def _mark_missing(s: Session, channel_pk: int, missing: dict[str, str],
                  result: DiscoveryResult) -> None:
    """Mark stored videos of the channel that YouTube no longer lists (id -> gone/private);
    ``missing_since`` keeps the first time, the reason follows what YouTube shows now."""
    now = datetime.now(UTC)
    changed: list[dict[str, Any]] = []
    # By the unique video id alone, the channel checked here: with the channel in the WHERE
    # clause SQLite (without statistics) read the channel's index, every video of the
    # channel for each page (6 ms a page at 20,000 videos).
    for row in s.execute(select(VIDEOS.c.id, VIDEOS.c.youtube_video_id, VIDEOS.c.channel_id,
                                VIDEOS.c.missing_reason, VIDEOS.c.missing_since)
                         .where(VIDEOS.c.youtube_video_id.in_(list(missing)))):
        if row.channel_id != channel_pk:
            continue
        reason = missing[row.youtube_video_id]
        if row.missing_reason == reason and row.missing_since is not None:
            continue
        if row.missing_reason != reason:
            result.missing[row.youtube_video_id] = reason
        changed.append({"row_id": row.id, "missing_reason": reason,
                        "missing_since": row.missing_since or now})
    if changed:
        s.execute(VIDEOS.update().where(VIDEOS.c.id == bindparam("row_id")), changed)


def _reconcile_unlisted(
    p: Pipeline,
    channel: Channel,
    listed: set[str],
    rules: TranscriptSettings,
    result: DiscoveryResult,
    on_page: OnPage | None,
) -> None:
    """After a full scan that saw every page: stored videos the playlist no longer lists at
    all (a deleted video's row vanishes) are looked up, 50 a call; those YouTube returns are
    refreshed (an unlisted video added by id), the rest are marked ``gone``."""
    stored = p.db.query(channel_video_ids, channel.id)
    absent = [vid for vid, reason in stored.items() if vid not in listed and reason != "gone"]
    _look_up(p, channel, absent, rules, result, on_page)


def _look_up(
    p: Pipeline,
    channel: Channel,
    video_ids: list[str],
    rules: TranscriptSettings,
    result: DiscoveryResult,
    on_page: OnPage | None,
) -> None:
    """Ask YouTube for stored videos (50 a call): those it returns are refreshed, the rest
    are marked ``gone`` (deleted, or private: videos.list cannot tell them apart)."""
    if not video_ids:
        return
    details = p.call_api(p.api.videos_details, video_ids)
    returned = {d.video_id for d in details}
    gone = {vid: "gone" for vid in video_ids if vid not in returned}
    _commit_page(p, channel, details, rules, result, on_page, None, gone)


def _save_cursor(s: Session, channel_pk: int, token: str | None, pages: int) -> None:
    row = s.get(Channel, channel_pk)
    if row is None:
        return
    row.scan_page_token = token
    row.scan_pages = pages if token else None
    row.scan_resumable_at = datetime.now(UTC) if token else None


def _recheck_waiting(
    p: Pipeline,
    channel: Channel,
    rules: TranscriptSettings,
    result: DiscoveryResult,
    on_page: OnPage | None,
) -> None:
    """Live/upcoming videos stored by an earlier run: have they finished?

    A full scan re-checks all of them; a rescan the 50 whose start is earliest (one details
    call: those live now or due first), so a rescan stays cheap on a channel with many
    scheduled streams; the periodic full scan catches the rest.
    """
    new = set(result.new_video_ids)
    waiting = [vid for vid in p.db.query(waiting_video_ids, channel.id) if vid not in new]
    if result.mode == "incremental":
        waiting = waiting[:MAX_PAGE_SIZE]
    # A stream YouTube no longer returns was deleted or made private: the next full scan
    # tells which (a rescan does not page that far); until then it is marked gone.
    _look_up(p, channel, waiting, rules, result, on_page)


def add_video(p: Pipeline, youtube_video_id: str) -> str:
    """Make sure one video is stored (a batch names videos discovery has not seen yet).

    Returns its transcript_status. A stored video costs nothing; a new one, or a stream
    stored as ``waiting``, costs one details call (plus one to resolve a channel not stored
    yet). A video YouTube does not return (private, deleted, wrong id) raises Permanent.
    """
    status = p.db.query(video_status, youtube_video_id)
    if status is not None and status != "waiting":
        return status
    details = p.call_api(p.api.videos_details, [youtube_video_id])
    if not details:
        with p.db.write() as s:
            p.meter.flush(s)
        raise Permanent(
            NotFoundReason.VIDEO_NOT_FOUND,
            f"video {youtube_video_id} not found (deleted or private)",
        )
    channel = resolve_channel(p, ChannelRef("id", details[0].channel_id))
    result = DiscoveryResult(channel.youtube_channel_id, channel.title, "incremental")
    _commit_page(p, channel, details, p.settings.transcripts, result, None)
    return p.db.query(video_status, youtube_video_id) or "pending"


def eligible_pending_videos(
    p: Pipeline, youtube_channel_id: str | None = None, limit: int | None = None
) -> list[str]:
    """Videos that should get a transcript but have none queued (``pending``), oldest first."""
    rules = p.settings.transcripts
    rows = p.db.query(pending_videos, youtube_channel_id)
    ids = [vid for vid, kind, was_live in rows if wants_transcript(kind, was_live, rules)]
    return ids[:limit] if limit is not None else ids
