"""The job system with real consumer threads on temp SQLite files, against the simulator."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.jobs_helpers import query, run_burst, running_consumer, scalar, settings_for
from tubesensei.jobs.reaper import reap
from tubesensei.jobs.system import JobSystem
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import parse_channel_ref


@pytest.fixture
def sim():
    with running_simulator(SimConfig(seed=11, channels=2, videos_per_channel=40)) as s:
        yield s


def expected(sim, channel) -> tuple[set[str], set[str], dict[str, str]]:
    """(stored video ids, ids with a transcript, id -> unavailable reason) for a channel."""
    public = {v.video_id for v in channel.videos if v.is_public}
    waiting = {v.video_id for v in channel.videos if v.is_public and v.kind in ("live", "upcoming")}
    reasons = {v.video_id: v.unavailable_reason for v in channel.videos
               if v.is_public and v.unavailable_reason and v.video_id not in waiting}
    captioned = public - waiting - set(reasons)
    return public, captioned, reasons


def test_full_channel_processing_from_enqueue_to_stored_transcripts(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    channel = sim.world.channels[0]
    created = system.enqueue_channels([parse_channel_ref(channel.handle)])
    assert created[0].created
    summary = run_burst(system)
    public, captioned, reasons = expected(sim, channel)
    stored = {r[0] for r in query(settings, "SELECT youtube_video_id FROM videos")}
    assert stored == public
    done = {r[0] for r in query(settings, "SELECT youtube_video_id FROM videos "
                                          "WHERE transcript_status='done'")}
    assert done == captioned
    unavailable = dict(query(settings, "SELECT youtube_video_id, unavailable_reason FROM videos "
                                       "WHERE transcript_status='unavailable'"))
    assert unavailable == reasons
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status != 'completed'") == 0
    assert summary.outcomes["completed"] == 1 + len(captioned) + len(reasons)
    # The discovery job's result says what it did.
    result = query(settings, "SELECT result FROM processing_jobs WHERE job_type='discover_channel'")
    assert f'"new": {len(public)}' in result[0][0]
    system.close()


def test_enqueueing_twice_returns_the_active_job(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    handle = sim.world.channels[0].handle
    first = system.enqueue_channels([parse_channel_ref(handle)])
    again = system.enqueue_channels([parse_channel_ref(handle.upper())])
    assert again[0].job_id == first[0].job_id and not again[0].created
    assert again[0].status == "pending"
    videos = system.enqueue_videos(["dQw4w9WgXcQ", "dQw4w9WgXcQ"])
    assert videos[0].job_id == videos[1].job_id
    assert scalar(settings, "SELECT count(*) FROM processing_jobs") == 2
    system.close()


def test_transient_errors_and_timeouts_are_retried_until_everything_is_stored(
    sim, tmp_path: Path
) -> None:
    sim.set_faults(error_rate=0.25, timeout_rate=0.05, stall_seconds=2.0)
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_YOUTUBE__TIMEOUT_SECONDS="0.5",
                            TUBESENSEI_LIMITS__MAX_ATTEMPTS="30")
    system = JobSystem(settings)
    channel = sim.world.channels[1]
    system.enqueue_channels([parse_channel_ref(channel.channel_id)])
    run_burst(system, workers=4, burst_wait=2.0, timeout=240)
    _, captioned, reasons = expected(sim, channel)
    assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status='done'") == len(captioned)
    assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status='unavailable'") == len(reasons)
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='failed'") == 0
    retried = scalar(settings, "SELECT count(*) FROM processing_jobs WHERE attempts > 1")
    assert retried > 0, "the injected faults should have caused retries"
    system.close()


def test_a_channel_youtube_does_not_know_fails_with_the_reason(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    system.enqueue_channels([parse_channel_ref("@nobody-here")])
    run_burst(system)
    (status, error_class, attempts), = query(
        settings, "SELECT status, error_class, attempts FROM processing_jobs")
    assert (status, error_class, attempts) == ("failed", "channel_not_found", 1)
    system.close()


def test_transient_errors_use_up_attempts_then_fail(sim, tmp_path: Path) -> None:
    sim.set_faults(error_rate=1.0)
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_LIMITS__MAX_ATTEMPTS="3")
    system = JobSystem(settings)
    system.enqueue_channels([parse_channel_ref(sim.world.channels[0].handle)])
    run_burst(system, burst_wait=2.0)
    (status, error_class, attempts), = query(
        settings, "SELECT status, error_class, attempts FROM processing_jobs")
    assert (status, error_class, attempts) == ("failed", "transient", 3)
    system.close()


def test_duplicate_and_stale_messages_run_a_job_once(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    video = sim.world.find("manual_en")
    (created,) = system.enqueue_videos([video.video_id])
    # Three more messages for the same job: a duplicate delivery and two stale ones.
    system.send([("extract_transcript", created.job_id, 0, None)] * 3)
    sim.reset_stats()
    run_burst(system)
    assert scalar(settings, "SELECT attempts FROM processing_jobs WHERE id=:i", i=created.job_id) == 1
    assert sim.stats()["requests"].get("timedtext", 0) == 1
    assert scalar(settings, "SELECT count(*) FROM transcripts") == 1
    system.close()


def test_two_consumers_on_one_folder_never_run_a_job_twice(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    first, second = JobSystem(settings), JobSystem(settings)
    for ch in sim.world.channels:
        first.enqueue_channels([parse_channel_ref(ch.handle)])
    sim.reset_stats()
    out: list = []
    t = threading.Thread(target=lambda: out.append(run_burst(second, workers=3)))
    t.start()
    run_burst(first, workers=3)
    t.join(120)
    total_done = sum(s.outcomes.get("completed", 0) for s in out)
    assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status != 'completed'") == 0
    jobs = scalar(settings, "SELECT count(*) FROM processing_jobs WHERE job_type='extract_transcript'")
    assert sim.stats()["requests"].get("player", 0) == jobs  # each video fetched exactly once
    assert total_done > 0, "the second consumer should have done part of the work"
    first.close()
    second.close()


def test_graceful_shutdown_puts_unfinished_work_back(sim, tmp_path: Path) -> None:
    sim.set_faults(latency_ms=400)
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    videos = [v.video_id for v in sim.world.videos_by_case("manual_en")][:6]
    system.enqueue_videos(videos)
    with running_consumer(system, workers=3, grace_seconds=0.2) as consumer:
        deadline = time.monotonic() + 10
        while not consumer.executor.inflight_ids() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert consumer.executor.inflight_ids()
    rows = query(settings, "SELECT status, attempts FROM processing_jobs")
    assert all(status in ("pending", "completed") for status, _ in rows), rows
    assert all(attempts <= 1 for status, attempts in rows)
    assert any(status == "pending" for status, _ in rows)
    sim.set_faults(latency_ms=0)
    run_burst(system)
    assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status='done'") == 6
    system.close()


def test_reaper_recovers_dead_and_hung_workers_and_lost_messages(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    ids = [v.video_id for v in sim.world.videos_by_case("manual_en")][:3]
    created = system.submit([system.spec("extract_transcript", v) for v in ids])
    # Drain the queue: pretend three workers took the messages and then...
    huey = system.queues.hueys["transcripts"]
    while huey.dequeue() is not None:
        pass
    host = socket.gethostname()
    dead = system.ledger.claim(created[0].job_id, f"{host}:999999:dead")  # ...one's process died
    hung = system.ledger.claim(created[1].job_id, "elsewhere:1:hung")  # ...one hung elsewhere
    assert dead and hung
    old = datetime.now(UTC) - timedelta(hours=1)
    engine = system.engine
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text("UPDATE processing_jobs SET heartbeat_at=:t WHERE id=:i"),
                     {"t": old.replace(tzinfo=None), "i": hung.id})
        conn.execute(text("UPDATE processing_jobs SET updated_at=:t WHERE id=:i"),
                     {"t": old.replace(tzinfo=None), "i": created[2].job_id})
    report = reap(system)
    assert report.dead_process == [dead.id]
    assert report.stale_heartbeat == [hung.id]
    assert report.requeued == [created[2].job_id]
    # Attempts of interrupted runs are refunded; every job has a message again.
    assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 0
    assert system.queues.messages("transcripts") == {c.job_id for c in created}
    run_burst(system)
    assert scalar(settings, "SELECT count(*) FROM transcripts") == 3
    system.close()


def test_burst_waits_for_retries_due_soon_and_reports_later_ones(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_LIMITS__RETRY_BASE_SECONDS="3600",
                            TUBESENSEI_LIMITS__RETRY_MAX_SECONDS="3600")
    sim.set_faults(error_rate=1.0)
    system = JobSystem(settings)
    system.enqueue_videos([sim.world.find("manual_en").video_id])
    summary = run_burst(system, burst_wait=1.0)
    assert summary.outcomes == {"retrying": 1}
    assert summary.remaining["transcripts"]["retrying"] == 1
    assert "next_retry_at" in summary.remaining["transcripts"]
    system.close()


def test_kinds_waiting_and_rules(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_TRANSCRIPTS__INCLUDE_SHORTS="false")
    system = JobSystem(settings)
    channel = sim.world.channels[0]
    system.enqueue_channels([parse_channel_ref(channel.channel_id)])
    run_burst(system)
    shorts = scalar(settings, "SELECT count(*) FROM videos WHERE kind='short'")
    assert shorts > 0
    assert scalar(settings, "SELECT count(*) FROM videos WHERE kind='short' "
                            "AND transcript_status != 'pending'") == 0
    assert scalar(settings, "SELECT count(*) FROM videos WHERE kind IN ('live','upcoming') "
                            "AND transcript_status != 'waiting'") == 0
    system.close()


# -- one channel once -----------------------------------------------------------------------


def test_one_channel_once_under_two_references(sim, tmp_path: Path) -> None:
    """@handle and UC… queued before the channel is stored: two jobs, one discovery (the
    second finds the work done since it was queued); once stored, the references share one
    job at enqueue."""
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    channel = sim.world.channels[0]
    refs = [parse_channel_ref(channel.handle), parse_channel_ref(channel.channel_id)]
    first = system.enqueue_channels(refs)
    assert [c.created for c in first] == [True, True]  # nothing stored: cannot tell yet
    run_burst(system, workers=1)
    results = dict(query(settings, "SELECT id, result FROM processing_jobs "
                                   "WHERE job_type = 'discover_channel' ORDER BY id"))
    assert '"skipped": "discovered at' in results[first[1].job_id]
    assert '"pages": 1' in results[first[0].job_id]
    assert sim.stats()["requests"]["playlistItems.list"] == 1  # one scan, not two
    assert scalar(settings, "SELECT count(*) FROM channels") == 1

    # Stored now: every local reference maps to the UC id, the ledger keeps one job.
    video_url = f"https://youtu.be/{channel.videos[0].video_id}"
    again = system.enqueue_channels(
        [parse_channel_ref(r) for r in (channel.handle.upper(), channel.channel_id, video_url)])
    assert {c.spec.entity_id for c in again} == {channel.channel_id}
    assert [c.created for c in again] == [True, False, False]
    assert len({c.job_id for c in again}) == 1
    system.close()


def test_a_discovery_joins_the_one_running_on_its_channel(sim, tmp_path: Path) -> None:
    from sqlalchemy import update

    from tubesensei.db.models import Channel, ProcessingJob
    from tubesensei.jobs.discovery_claims import claim_or_join

    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    channel = sim.world.channels[1]
    a, b = system.enqueue_channels([parse_channel_ref(channel.handle),
                                    parse_channel_ref(channel.channel_id)])
    full = system.enqueue_channels([parse_channel_ref(f"youtube.com/c/{channel.username}")],
                                   full=True)[0]
    with system.db.write() as s:
        s.add(Channel(youtube_channel_id=channel.channel_id, title="t"))
    pk = scalar(settings, "SELECT id FROM channels")
    assert claim_or_join(system.db, a.job_id, pk, "auto") is None  # a claims the channel
    with system.db.write() as s:  # ... and runs
        s.execute(update(ProcessingJob).where(ProcessingJob.id == a.job_id)
                  .values(status="running"))
    joined = claim_or_join(system.db, b.job_id, pk, "auto")
    assert joined is not None and joined["joined"] == a.job_id
    # A full scan asked for is not covered by a running rescan: it goes on, unclaimed.
    assert claim_or_join(system.db, full.job_id, pk, "full") is None
    assert scalar(settings, "SELECT discovery_job_id FROM channels") == a.job_id
    # a ends (killed, put back): its claim lapses, b takes the channel.
    with system.db.write() as s:
        s.execute(update(ProcessingJob).where(ProcessingJob.id == a.job_id)
                  .values(status="retrying"))
    assert claim_or_join(system.db, b.job_id, pk, "auto") is None
    assert scalar(settings, "SELECT discovery_job_id FROM channels") == b.job_id
    system.close()


def test_closing_a_job_system_gives_back_the_ledgers_kept_connection(tmp_path: Path) -> None:
    """On a database it shares (the TUI, the demo), a closed job system holds no connection
    of the pool: the ledger's hot path keeps one between transactions until released."""
    from tubesensei.db.engine import Database

    settings = settings_for("http://127.0.0.1:9", tmp_path / "d")
    db = Database.from_settings(settings)
    system = JobSystem(settings, db)
    job = system.enqueue_videos(["dQw4w9WgXcQ"])[0]
    assert system.ledger.claim(job.job_id, "w1") is not None
    assert db.engine.pool.checkedout() == 1  # kept by the ledger
    system.close()
    assert db.engine.pool.checkedout() == 0
    db.dispose()
