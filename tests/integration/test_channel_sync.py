"""Channel metadata sync: one channels.list call per 50 stored channels, channels YouTube no
longer has marked ``error`` (by the sync and by a failing discovery job), the sync job and
its periodic slot. Against the simulator, on temp SQLite files."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.integration.pipeline_env import channels
from tests.jobs_helpers import query, run_burst, settings_for
from tubesensei.db.models import Channel
from tubesensei.jobs import periodic
from tubesensei.jobs.system import JobSystem
from tubesensei.pipeline.channels import add_channel, check_channel_gone, sync_channels
from tubesensei.queries.corpus import active_channel_ids, stored_channel_ids
from tubesensei.queries.state import quota_today
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import ChannelRef


def store_placeholders(p, channel_ids: list[str]) -> None:
    """Stored rows as an old version of TubeSensei left them: ids only, stale metadata."""
    with p.db.write() as s:
        for cid in channel_ids:
            s.add(Channel(youtube_channel_id=cid, title="stale", handle="stale" + cid[-6:].lower()))


def by_id(p) -> dict[str, Channel]:
    return {c.youtube_channel_id: c for c in channels(p)}


def test_120_channels_take_3_calls_and_changes_are_found(pipelines) -> None:
    with running_simulator(SimConfig(seed=41, channels=120, videos_per_channel=1)) as sim:
        p = pipelines(sim)
        ids = [ch.channel_id for ch in sim.world.channels]
        store_placeholders(p, ids)
        sim.reset_stats()

        first = sync_channels(p, ids)
        assert sim.stats()["requests"]["channels.list"] == 3  # 50 + 50 + 20 ids
        assert [r.youtube_channel_id for r in first] == ids
        assert {r.outcome for r in first} == {"updated"}
        stored = by_id(p)
        for ch in sim.world.channels:
            row = stored[ch.channel_id]
            assert (row.title, row.handle, row.description) == (
                ch.title, ch.handle[1:].lower(), ch.description)
            assert row.uploads_playlist_id == ch.uploads_playlist_id
            assert row.subscriber_count == ch.subscriber_count and row.last_synced_at
            assert row.status == "active"

        renamed, closed = sim.world.channels[7], sim.world.channels[99]
        old_title = renamed.title
        sim.world.rename_channel(renamed.channel_id, title="A New Name", handle="@newname7",
                                 description="Now about kites.")
        sim.world.close_channel(closed.channel_id)
        sim.reset_stats()
        second = {r.youtube_channel_id: r for r in sync_channels(p, ids)}
        assert sim.stats()["requests"]["channels.list"] == 3
        assert p.db.query(quota_today, 10_000).units == 6

        changed = second[renamed.channel_id]
        assert changed.outcome == "updated" and changed.title == "A New Name"
        assert changed.changes["title"] == (old_title, "A New Name")
        assert changed.changes["handle"] == ("simchannel7", "newname7")
        assert set(changed.changes) == {"title", "handle", "description"}
        gone = second[closed.channel_id]
        assert (gone.outcome, gone.status) == ("not_found", "error")
        assert gone.changes == {"status": ("active", "error")}
        assert {r.outcome for cid, r in second.items()
                if cid not in (renamed.channel_id, closed.channel_id)} == {"unchanged"}

        stored = by_id(p)
        row = stored[closed.channel_id]
        assert row.status == "error" and row.title == closed.title  # kept, never deleted
        assert row.last_error.startswith("channel not found on YouTube (closed or removed) at ")
        assert stored[renamed.channel_id].handle == "newname7"
        # Rescans skip it; the sync still covers it.
        assert closed.channel_id not in p.db.query(active_channel_ids)
        assert closed.channel_id in p.db.query(stored_channel_ids, paused=False)

        # Missed again: still error, the date it was first missed is kept.
        (again,) = sync_channels(p, [closed.channel_id])
        assert (again.outcome, again.status, again.changes) == ("not_found", "error", {})
        assert by_id(p)[closed.channel_id].last_error == row.last_error


def test_error_channels_come_back_paused_ones_stay_paused(pipelines) -> None:
    with running_simulator(SimConfig(seed=42, channels=3, videos_per_channel=2)) as sim:
        p = pipelines(sim)
        a, b, c = sim.world.channels
        for ch in (a, b, c):
            add_channel(p, ChannelRef("id", ch.channel_id))
        with p.db.write() as s:
            s.execute(update(Channel).where(Channel.youtube_channel_id == a.channel_id)
                      .values(status="error", last_error="channel not found on YouTube (x)"))
            s.execute(update(Channel).where(Channel.youtube_channel_id.in_(
                [b.channel_id, c.channel_id])).values(status="paused"))
        sim.world.close_channel(c.channel_id)

        results = {r.youtube_channel_id: r for r in sync_channels(
            p, [a.channel_id, b.channel_id, c.channel_id, "UC" + "x" * 22])}
        assert set(results) == {a.channel_id, b.channel_id, c.channel_id}  # not stored: ignored
        assert results[a.channel_id].changes == {"status": ("error", "active")}
        assert results[b.channel_id].outcome == "unchanged"
        assert (results[c.channel_id].outcome, results[c.channel_id].status) == (
            "not_found", "paused")
        stored = by_id(p)
        assert (stored[a.channel_id].status, stored[a.channel_id].last_error) == ("active", None)
        assert stored[b.channel_id].status == "paused"
        assert stored[c.channel_id].status == "paused"
        assert stored[c.channel_id].last_error.startswith("channel not found on YouTube")
        # The periodic sync leaves paused channels alone.
        assert p.db.query(stored_channel_ids, paused=False) == [a.channel_id]


def test_check_channel_gone_asks_youtube_before_marking(pipelines) -> None:
    """An uploads playlist also 404s for a channel without public uploads: a discovery's
    "not found" is checked with channels.list before the channel is marked."""
    with running_simulator(SimConfig(seed=43, channels=2, videos_per_channel=2)) as sim:
        p = pipelines(sim)
        there, gone = sim.world.channels
        for ch in (there, gone):
            add_channel(p, ChannelRef("id", ch.channel_id))
        sim.world.close_channel(gone.channel_id)
        assert check_channel_gone(p, ChannelRef("handle", there.handle[1:])).outcome == \
            "unchanged"
        assert check_channel_gone(p, ChannelRef("custom", "whatever")) is None
        assert check_channel_gone(p, ChannelRef("handle", "notstored")) is None
        sim.set_faults(error_rate=1.0)  # the check fails: nothing is marked, nothing raised
        assert check_channel_gone(p, ChannelRef("id", gone.channel_id)) is None
        sim.set_faults(error_rate=0.0)
        assert by_id(p)[gone.channel_id].status == "active"
        checked = check_channel_gone(p, ChannelRef("id", gone.channel_id))
        assert (checked.outcome, checked.status) == ("not_found", "error")
        assert by_id(p)[there.channel_id].status == "active"


# -- the job system ---------------------------------------------------------------------------


@pytest.fixture
def sim():
    with running_simulator(SimConfig(seed=44, channels=3, videos_per_channel=3)) as s:
        yield s


def channel_rows(settings) -> dict[str, tuple[str, str | None, str]]:
    return {cid: (status, error, title) for cid, status, error, title in query(
        settings, "SELECT youtube_channel_id, status, last_error, title FROM channels")}


def test_a_discovery_job_marks_a_closed_channel(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    gone, kept, _ = sim.world.channels
    system.enqueue_channels([ChannelRef("handle", gone.handle[1:]),
                             ChannelRef("id", kept.channel_id)])
    run_burst(system)
    assert {s for s, _, _ in channel_rows(settings).values()} == {"active"}

    sim.world.close_channel(gone.channel_id)
    system.rescan_channels([gone.channel_id, kept.channel_id], "incremental", 0)
    run_burst(system)
    failed = query(settings, "SELECT entity_id, error_class, error FROM processing_jobs "
                             "WHERE status = 'failed'")
    assert [(e, c) for e, c, _ in failed] == [(gone.channel_id, "playlist_not_found")]
    rows = channel_rows(settings)
    status, error, title = rows[gone.channel_id]
    assert status == "error" and title == gone.title
    assert error.startswith("channel not found on YouTube (closed or removed) at ")
    assert rows[kept.channel_id][:2] == ("active", None)
    assert query(settings, "SELECT count(*) FROM videos v JOIN channels c ON c.id = "
                           "v.channel_id WHERE c.youtube_channel_id = :c",
                 c=gone.channel_id)[0][0] > 0  # its videos are kept
    # The next periodic rescan leaves it out.
    assert periodic.rescan(system, "incremental")["channels"] == 1  # the kept one
    system.close()


def test_the_periodic_sync_queues_one_job_for_all_channels(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_SCHEDULE__SYNC="* * * * *",
                            TUBESENSEI_SCHEDULE__RESCAN="0 0 1 1 *",
                            TUBESENSEI_SCHEDULE__RECONCILE="0 0 1 1 *",
                            TUBESENSEI_SCHEDULE__PRUNE="0 0 1 1 *")
    system = JobSystem(settings)
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    assert periodic.run_due(system, "w", minute) == {"sync": {"channels": 0, "queued": 0}}

    a, b, c = sim.world.channels
    system.enqueue_channels([ChannelRef("id", ch.channel_id) for ch in (a, b, c)])
    run_burst(system)
    with system.engine.begin() as conn:
        conn.execute(update(Channel.__table__).where(
            Channel.__table__.c.youtube_channel_id == c.channel_id).values(status="paused"))
    sim.world.rename_channel(a.channel_id, title="Renamed by YouTube")
    sim.world.close_channel(b.channel_id)

    later = minute + timedelta(minutes=1)
    assert periodic.run_due(system, "w", later) == {"sync": {"channels": 2, "queued": 1}}
    assert periodic.run_due(system, "w", later) == {}  # this slot is taken
    # The next slot finds the job still waiting: the ledger returns it, nothing new.
    assert periodic.run_due(system, "w", later + timedelta(minutes=1)) == {
        "sync": {"channels": 2, "queued": 0}}
    jobs = query(settings, "SELECT job_type, entity_id, queue FROM processing_jobs "
                           "WHERE job_type = 'sync_channels'")
    assert jobs == [("sync_channels", "all", "discovery")]

    sim.reset_stats()
    run_burst(system)
    assert sim.stats()["requests"]["channels.list"] == 1
    ((status, result),) = query(settings, "SELECT status, result FROM processing_jobs "
                                         "WHERE job_type = 'sync_channels'")
    result = json.loads(result) if isinstance(result, str) else result
    assert status == "completed"
    assert (result["channels"], result["updated"], result["not_found"], result["units"]) == (
        2, 1, 1, 1)
    rows = channel_rows(settings)
    assert rows[a.channel_id] == ("active", None, "Renamed by YouTube")
    assert rows[b.channel_id][0] == "error"
    assert rows[c.channel_id] == ("paused", None, c.title)  # not synced: no error recorded
    with system.db.read() as s:
        assert s.execute(select(Channel.status).where(
            Channel.youtube_channel_id == b.channel_id)).scalar_one() == "error"
    # A finished sync job does not stop the next one.
    assert periodic.sync(system) == {"channels": 2, "queued": 1}
    system.close()
