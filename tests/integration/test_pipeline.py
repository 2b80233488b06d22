"""Channels and discovery services against the simulator, on temp SQLite files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from tests.integration.pipeline_env import (
    channels,
    playlist_pages,
    public_ids,
    videos_by_id,
)
from tubesensei.db.models import Channel, Video
from tubesensei.pipeline.channels import (
    add_channel,
    remove_channel,
    set_channel_status,
    sync_channels,
)
from tubesensei.pipeline.discovery import add_video, discover_channel, eligible_pending_videos
from tubesensei.queries.corpus import ChannelNotInCorpus, list_channels
from tubesensei.queries.state import quota_today
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.errors import Permanent
from tubesensei.youtube.ids import ChannelRef, parse_channel_ref


@pytest.fixture(scope="module")
def big_sim():
    """A 1,000-video channel that no test changes (mutating tests make their own)."""
    with running_simulator(SimConfig(seed=11, channel_sizes=[1000])) as sim:
        yield sim


@pytest.fixture
def fresh_sim():
    with running_simulator(SimConfig(seed=5, channel_sizes=[200, 40])) as sim:
        yield sim


# -- channels -------------------------------------------------------------------------------


def test_adding_by_handle_id_url_and_video_gives_one_row(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[0]
    p = pipelines(fresh_sim)
    refs = [ch.handle, ch.channel_id, f"https://www.youtube.com/{ch.handle.upper()}/videos",
            f"https://youtu.be/{ch.videos[0].video_id}"]
    for text in refs:
        stored = add_channel(p, parse_channel_ref(text))
        assert stored.channel.youtube_channel_id == ch.channel_id
        assert stored.created == (text == refs[0])
    rows = channels(p)
    assert [r.youtube_channel_id for r in rows] == [ch.channel_id]
    row = rows[0]
    assert (row.handle, row.title, row.uploads_playlist_id) == (
        ch.handle[1:], ch.title, ch.uploads_playlist_id)
    assert row.subscriber_count == ch.subscriber_count and row.last_synced_at is not None
    assert (p.db.query(quota_today, 10_000)).units == 5  # 4 lookups + the video's channel


def test_unknown_channel_is_permanent_and_stores_nothing(fresh_sim, pipelines) -> None:
    p = pipelines(fresh_sim)
    with pytest.raises(Permanent) as err:
        add_channel(p, ChannelRef("handle", "nobodyhere"))
    assert err.value.reason == "channel_not_found"
    assert channels(p) == []
    assert (p.db.query(quota_today, 10_000)).units == 1  # a failed call still costs


def test_sync_pause_resume_remove_and_not_in_corpus(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[1]
    p = pipelines(fresh_sim)
    discover_channel(p, ChannelRef("handle", ch.handle[1:]))
    (synced,) = sync_channels(p, [ch.channel_id])
    assert (synced.title, synced.outcome) == (ch.title, "unchanged")
    ref = ChannelRef("id", ch.channel_id)
    assert (set_channel_status(p.db, ref, "paused")).status == "paused"
    assert (p.db.query(list_channels))[0].status == "paused"
    assert (set_channel_status(p.db, ref, "active")).status == "active"
    summary = (p.db.query(list_channels, ref))[0]
    assert summary.videos == len(public_ids(ch))
    removed = remove_channel(p.db, ref)
    assert (removed.videos, removed.transcripts) == (len(public_ids(ch)), 0)
    assert channels(p) == [] and videos_by_id(p) == {}
    for call in (lambda: remove_channel(p.db, ref),
                 lambda: set_channel_status(p.db, ref, "paused"),
                 lambda: p.db.query(list_channels, ChannelRef("handle", "nope123"))):
        with pytest.raises(ChannelNotInCorpus, match=r"no channel .* in the corpus"):
            call()


# -- full discovery ---------------------------------------------------------------------------


def test_full_discovery_of_a_1000_video_channel(big_sim, pipelines) -> None:
    ch = big_sim.world.channels[0]
    p = pipelines(big_sim)
    pages_seen: list[list[str]] = []

    def on_page(channel_id: str, video_ids: list[str]) -> None:
        assert channel_id == ch.channel_id
        pages_seen.append(video_ids)

    big_sim.reset_stats()
    result = discover_channel(p, ChannelRef("handle", ch.handle[1:]), on_page=on_page)

    pages = playlist_pages(ch)
    assert pages == 20
    assert result.mode == "full" and result.reached_end and result.pages == pages
    assert result.units == 1 + 2 * pages == big_sim.stats()["quota_units_used"]
    assert (p.db.query(quota_today, 10_000)).units == result.units
    stored = videos_by_id(p)
    truth = {v.video_id: v for v in ch.videos}
    assert set(stored) == public_ids(ch) == set(result.new_video_ids)
    assert len(result.new_video_ids) == len(set(result.new_video_ids))
    assert not any(truth[vid].privacy != "public" for vid in stored)
    for vid, video in stored.items():
        sim_video = truth[vid]
        assert video.kind == sim_video.kind, sim_video.case
        assert video.was_live == sim_video.was_live
        waiting = sim_video.kind in ("live", "upcoming")
        assert video.transcript_status == ("waiting" if waiting else "pending")
        assert video.title == sim_video.title and video.published_at == sim_video.published_at
    eligible = {vid for vid, v in stored.items() if v.transcript_status == "pending"}
    assert set(result.to_transcribe) == eligible
    assert [vid for page in pages_seen for vid in page] == result.to_transcribe
    row = (channels(p))[0]
    assert row.last_full_scan_at is not None and row.last_discovered_at is not None
    assert set(eligible_pending_videos(p, ch.channel_id)) == eligible


def test_discovery_twice_changes_nothing(big_sim, pipelines) -> None:
    ch = big_sim.world.channels[0]
    p = pipelines(big_sim)
    ref = ChannelRef("id", ch.channel_id)
    discover_channel(p, ref)

    def snapshot(rows):  # updated_at too: a full scan of an unchanged channel writes nothing
        return {vid: (v.id, v.kind, v.transcript_status, v.title, v.duration_s, v.published_at,
                      v.view_count, v.missing_reason, v.updated_at)
                for vid, v in rows.items()}

    before = snapshot(videos_by_id(p))
    again = discover_channel(p, ref, mode="full")
    assert again.new_video_ids == [] and again.to_transcribe == []
    assert snapshot(videos_by_id(p)) == before
    assert len(channels(p)) == 1


@pytest.mark.parametrize("crash_in", ["on_page", "checkpoint"])
def test_crash_mid_discovery_then_resume(big_sim, pipelines, crash_in: str) -> None:
    ch = big_sim.world.channels[0]
    p = pipelines(big_sim, name=f"crash-{crash_in}")
    ref = ChannelRef("id", ch.channel_id)
    pages_done = 0

    def on_page(_channel: str, _ids: list[str]) -> None:
        nonlocal pages_done
        pages_done += 1
        if crash_in == "on_page" and pages_done == 5:
            raise RuntimeError("worker killed")

    def checkpoint() -> None:
        if crash_in == "checkpoint" and pages_done == 5:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):  # handed over page by page, as they commit
        discover_channel(p, ref, on_page=on_page, checkpoint=checkpoint, handoff_batch=1)
    kept = videos_by_id(p)
    assert 200 <= len(kept) <= 250  # five pages committed, one transaction each
    assert (channels(p))[0].last_full_scan_at is None

    big_sim.reset_stats()
    resumed = discover_channel(p, ref)
    assert resumed.mode == "full" and resumed.reached_end
    stored = videos_by_id(p)
    assert set(stored) == public_ids(ch) and len(stored) == len(public_ids(ch))
    assert set(resumed.new_video_ids) == public_ids(ch) - set(kept)
    # The scan goes on from the page after the last one committed: the five pages done are
    # neither listed nor detailed again (one more details call re-checks the live/upcoming
    # streams the first run stored). Units: the floor plus nothing in flight.
    assert resumed.resumed_after == 5 and resumed.as_dict()["resumed_after_pages"] == 5
    requests = big_sim.stats()["requests"]
    assert requests["playlistItems.list"] == playlist_pages(ch) - 5
    assert requests["videos.list"] == playlist_pages(ch) - 5 + 1
    assert resumed.units == 2 * (playlist_pages(ch) - 5) + 1
    row = (channels(p))[0]
    assert row.last_full_scan_at is not None and row.scan_page_token is None
    # A finished scan leaves no cursor: the next full scan starts at the top.
    big_sim.reset_stats()
    again = discover_channel(p, ref, mode="full")
    assert again.resumed_after == 0 and again.reached_end
    assert big_sim.stats()["requests"]["playlistItems.list"] == playlist_pages(ch)


def test_videos_are_handed_over_in_batches_and_when_a_scan_stops(big_sim, pipelines) -> None:
    """on_page gets the videos of committed pages HANDOFF_BATCH at a time and the rest at
    the end; a scan that stops on an error hands over what its committed pages found."""
    ch = big_sim.world.channels[0]
    ref = ChannelRef("id", ch.channel_id)
    handed: list[list[str]] = []
    p = pipelines(big_sim, name="batches")
    result = discover_channel(p, ref, on_page=lambda _c, ids: handed.append(list(ids)),
                              handoff_batch=300)
    assert len(handed) > 1 and all(len(b) >= 300 for b in handed[:-1]) and handed[-1]
    assert [v for b in handed for v in b] == result.to_transcribe
    assert set(result.to_transcribe) == set(eligible_pending_videos(p, ch.channel_id))

    pages = 0
    handed.clear()

    def checkpoint() -> None:
        nonlocal pages
        pages += 1
        if pages == 4:  # three pages committed
            raise RuntimeError("cancelled")

    stopped = pipelines(big_sim, name="stopped")
    with pytest.raises(RuntimeError, match="cancelled"):
        discover_channel(stopped, ref, on_page=lambda _c, ids: handed.append(list(ids)),
                         checkpoint=checkpoint)
    assert len(handed) == 1 and 0 < len(handed[0]) <= 150
    assert set(handed[0]) == set(eligible_pending_videos(stopped, ch.channel_id))


def test_a_stale_scan_cursor_is_not_resumed(big_sim, pipelines) -> None:
    """A cursor older than a day starts the scan at the top again (YouTube's page token
    points at a position in a playlist that may have moved a lot since)."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from tubesensei.db.models import Channel

    ch = big_sim.world.channels[0]
    p = pipelines(big_sim, name="stale-cursor")
    ref = ChannelRef("id", ch.channel_id)
    pages_done = 0

    def on_page(_channel: str, _ids: list[str]) -> None:
        nonlocal pages_done
        pages_done += 1
        if pages_done == 3:
            raise RuntimeError("worker killed")

    with pytest.raises(RuntimeError):
        discover_channel(p, ref, on_page=on_page, handoff_batch=1)
    with p.db.write() as s:
        s.execute(update(Channel).values(
            scan_resumable_at=datetime.now(UTC) - timedelta(days=2)))
    big_sim.reset_stats()
    fresh = discover_channel(p, ref)
    assert fresh.resumed_after == 0 and fresh.reached_end
    assert big_sim.stats()["requests"]["playlistItems.list"] == playlist_pages(ch)


# -- incremental rescans ------------------------------------------------------------------------


def test_rescan_of_an_unchanged_channel_costs_at_most_2_units(big_sim, pipelines) -> None:
    ch = big_sim.world.channels[0]
    p = pipelines(big_sim)
    ref = ChannelRef("handle", ch.handle[1:])
    discover_channel(p, ref)
    before = videos_by_id(p)
    big_sim.reset_stats()
    result = discover_channel(p, ref)
    assert result.mode == "incremental" and result.pages == 1
    assert result.new_video_ids == [] and result.to_transcribe == []
    assert result.units <= 2 and big_sim.stats()["quota_units_used"] == result.units
    assert big_sim.stats()["requests"]["channels.list"] == 0  # the stored channel is used
    assert set(videos_by_id(p)) == set(before)


def test_rescan_finds_new_uploads_late_public_videos_and_finished_streams(
    fresh_sim, pipelines
) -> None:
    ch = fresh_sim.world.channels[0]
    p = pipelines(fresh_sim)
    ref = ChannelRef("id", ch.channel_id)
    discover_channel(p, ref)

    uploads = [fresh_sim.add_upload(ch.channel_id, case) for case in ("manual_en", "short")]
    private_near_top = next(v for v in ch.videos[:45] if v.privacy == "private")
    fresh_sim.make_public(private_near_top.video_id)
    live = next(v for v in ch.videos if v.kind == "live")
    upcoming = next(v for v in ch.videos if v.kind == "upcoming")
    fresh_sim.finish_stream(live.video_id)
    fresh_sim.finish_stream(upcoming.video_id)

    result = discover_channel(p, ref)
    assert result.mode == "incremental"
    new = {u.video_id for u in uploads} | {private_near_top.video_id}
    assert set(result.new_video_ids) == new
    assert set(result.to_transcribe) == new | {live.video_id, upcoming.video_id}
    stored = videos_by_id(p)
    assert set(stored) == public_ids(ch)
    for finished in (live, upcoming):
        video = stored[finished.video_id]
        assert (video.kind, video.was_live, video.transcript_status) == ("video", True, "pending")
    assert stored[uploads[1].video_id].kind == "short"


def test_full_reconcile_after_the_configured_days(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[0]
    p = pipelines(fresh_sim, **{"discovery.full_reconcile_days": 7})
    ref = ChannelRef("id", ch.channel_id)
    discover_channel(p, ref)
    deep = next(v for v in reversed(ch.videos) if v.privacy == "private")  # oldest page
    fresh_sim.make_public(deep.video_id)
    assert (discover_channel(p, ref)).new_video_ids == []  # a rescan cannot see it

    with p.db.write() as s:
        s.execute(update(Channel).values(
            last_full_scan_at=datetime.now(UTC) - timedelta(days=8)))
    result = discover_channel(p, ref)
    assert result.mode == "full" and result.pages == playlist_pages(ch)
    assert result.new_video_ids == [deep.video_id]
    with p.db.read() as s:
        scanned = (s.execute(select(Channel.last_full_scan_at))).scalar_one()
    assert datetime.now(UTC) - scanned < timedelta(minutes=1)


def test_no_reconcile_when_days_is_zero(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[1]
    p = pipelines(fresh_sim, **{"discovery.full_reconcile_days": 0})
    ref = ChannelRef("id", ch.channel_id)
    discover_channel(p, ref)
    with p.db.write() as s:
        s.execute(update(Channel).values(last_full_scan_at=datetime(2000, 1, 1, tzinfo=UTC)))
    assert (discover_channel(p, ref)).mode == "incremental"


# -- rules and single videos ------------------------------------------------------------------


def test_shorts_and_finished_streams_excluded_by_config(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[0]
    p = pipelines(fresh_sim, **{"transcripts.include_shorts": False,
                                "transcripts.include_finished_streams": False})
    result = discover_channel(p, ChannelRef("id", ch.channel_id))
    stored = videos_by_id(p)
    shorts = {vid for vid, v in stored.items() if v.kind == "short"}
    finished = {vid for vid, v in stored.items() if v.was_live}
    assert shorts and finished
    queued = set(result.to_transcribe)
    assert not queued & (shorts | finished)
    assert queued == {vid for vid, v in stored.items()
                      if v.kind == "video" and not v.was_live}
    assert set(eligible_pending_videos(p)) == queued
    # Stored all the same, and still pending: a change of rules picks them up later.
    assert all(stored[vid].transcript_status == "pending" for vid in shorts | finished)


def test_add_video_stores_one_video_and_its_channel(fresh_sim, pipelines) -> None:
    ch = fresh_sim.world.channels[1]
    p = pipelines(fresh_sim)
    video = next(v for v in ch.videos if v.case == "manual_en")
    assert add_video(p, video.video_id) == "pending"
    assert [c.youtube_channel_id for c in channels(p)] == [ch.channel_id]
    assert set(videos_by_id(p)) == {video.video_id}
    fresh_sim.reset_stats()
    assert add_video(p, video.video_id) == "pending"  # stored: free
    assert fresh_sim.stats()["requests_total"] == 0
    live = next(v for v in ch.videos if v.kind == "live")
    assert add_video(p, live.video_id) == "waiting"
    private = next(v for v in ch.videos if v.privacy == "private")
    with pytest.raises(Permanent, match="not found"):
        add_video(p, private.video_id)
    with p.db.read() as s:
        assert (s.execute(select(Video.youtube_video_id).where(
            Video.youtube_video_id == private.video_id))).first() is None


# -- a world that changes between scans ------------------------------------------------------


def test_scans_keep_the_corpus_true_to_a_changed_world(fresh_sim, pipelines) -> None:
    """Deleted (row gone or kept), privatised, retitled and restored videos and a stream that
    ends: after each scan the stored videos match the world; nothing is deleted."""
    changed_world_scans(fresh_sim, pipelines(fresh_sim))


def changed_world_scans(sim, p) -> None:
    """The scenario, on any database (tests/server runs it on PostgreSQL)."""
    from tubesensei.pipeline.transcripts import fetch_transcript

    world = sim.world
    ch = world.channels[1]
    ref = ChannelRef("id", ch.channel_id)
    discover_channel(p, ref)
    gone, kept_row, private, retitled = world.videos_by_case("manual_en", ch.channel_id)[:4]
    fetch_transcript(p, gone.video_id)  # its transcript must outlive it
    live = world.find("live", ch.channel_id)
    assert videos_by_id(p)[live.video_id].transcript_status == "waiting"

    world.delete_video(gone.video_id)
    world.delete_video(kept_row.video_id, keep_row=True)
    world.make_private(private.video_id)
    with world.lock:
        world.video(retitled.video_id).title = "A new title"
        world.video(retitled.video_id).view_count += 1000
        world.version += 1
    world.finish_stream(live.video_id)

    def missing() -> dict[str, str]:
        return {vid: v.missing_reason for vid, v in videos_by_id(p).items() if v.missing_reason}

    # A rescan sees the rows shown as private or deleted on its pages and the ended stream.
    rescan = discover_channel(p, ref, mode="incremental")
    assert rescan.missing == {kept_row.video_id: "gone", private.video_id: "private"}
    assert missing() == rescan.missing
    assert live.video_id in rescan.to_transcribe
    stored = videos_by_id(p)[live.video_id]
    assert (stored.kind, stored.was_live, stored.transcript_status) == ("video", True, "pending")

    # The full reconcile finds the video whose row vanished, and refreshes what changed.
    untouched = videos_by_id(p)
    full = discover_channel(p, ref, mode="full")
    assert full.missing == {gone.video_id: "gone"}
    assert missing() == {gone.video_id: "gone", kept_row.video_id: "gone",
                         private.video_id: "private"}
    stored = videos_by_id(p)
    assert stored[retitled.video_id].title == "A new title"
    assert stored[retitled.video_id].view_count == world.video(retitled.video_id).view_count
    # Only rows whose details changed were written.
    assert stored[retitled.video_id].updated_at > untouched[retitled.video_id].updated_at
    assert {vid for vid, v in stored.items() if v.updated_at != untouched[vid].updated_at} == {
        retitled.video_id, gone.video_id}
    assert stored[gone.video_id].missing_since is not None
    assert stored[gone.video_id].transcript_status == "done"  # kept, with its transcript
    assert set(stored) >= {v.video_id for v in ch.videos if v.is_public}
    again = discover_channel(p, ref, mode="full")
    assert again.missing == {} and missing() == full.missing | rescan.missing

    # Back on YouTube: marked back, nothing duplicated.
    for v in (gone, kept_row, private):
        world.restore_video(v.video_id)
    back = discover_channel(p, ref, mode="full")
    assert sorted(back.returned) == sorted([gone.video_id, kept_row.video_id, private.video_id])
    assert missing() == {} and back.new_video_ids == []
    assert set(videos_by_id(p)) == public_ids(ch)  # the corpus is the world again
