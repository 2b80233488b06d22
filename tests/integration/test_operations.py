"""Job operations: sessions, cancel/retry, rate limit, quota pause, breaker, time limits,
periodic tasks, live scaling, metrics and stats — real consumer threads, the simulator."""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.jobs_helpers import query, run_burst, running_consumer, scalar, settings_for
from tubesensei.jobs import periodic
from tubesensei.jobs.ratelimit import RateLimiter
from tubesensei.jobs.system import JobSystem
from tubesensei.queries.sessions import session_report
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import parse_channel_ref


@pytest.fixture
def sim():
    with running_simulator(SimConfig(seed=21, channels=2, videos_per_channel=40)) as s:
        yield s


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_batch_session_runs_and_reports(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_LIMITS__MAX_VIDEOS_PER_BATCH="4")
    system = JobSystem(settings)
    videos = [v for v in sim.world.channels[0].videos if v.is_public
              and v.kind not in ("live", "upcoming")][:10]
    ids = [v.video_id for v in videos]
    system.enqueue_videos(ids[:1])  # one of them already has an active job: it is adopted
    session_id, batches = system.create_batch("ten", ids)
    assert batches == 3
    run_burst(system)
    report = system.db.query(session_report, session_id)
    expected_unavailable = {}
    for v in videos:
        if v.unavailable_reason:
            expected_unavailable[v.unavailable_reason] = expected_unavailable.get(v.unavailable_reason, 0) + 1
    assert report.status == "completed" and report.completed_at is not None
    assert report.total == 10 and report.finished == 10 and report.jobs == {"completed": 10}
    assert report.unavailable == expected_unavailable
    assert report.transcripts == 10 - sum(expected_unavailable.values())
    assert report.success_rate == 1.0 and report.throughput_per_min
    system.close()


def test_cancel_queued_and_running_jobs(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    queued = system.enqueue_videos([v.video_id for v in sim.world.videos_by_case("manual_en")][:3])
    cancelled, requested = system.ledger.cancel([queued[0].job_id])
    assert cancelled == [queued[0].job_id] and requested == []
    # A running discovery job stops at its next checkpoint (between pages).
    sim.set_faults(latency_ms=150)
    (disc,) = system.enqueue_channels([parse_channel_ref(sim.world.channels[1].handle)])
    with running_consumer(system, workers=2, queues=["discovery"]):
        wait_for(lambda: scalar(settings, "SELECT status FROM processing_jobs WHERE id=:i",
                                i=disc.job_id) == "running")
        _, requested = system.ledger.cancel([disc.job_id])
        assert requested == [disc.job_id]
        wait_for(lambda: scalar(settings, "SELECT status FROM processing_jobs WHERE id=:i",
                                i=disc.job_id) == "cancelled")
    sim.set_faults(latency_ms=0)
    run_burst(system)
    statuses = dict(query(settings, "SELECT id, status FROM processing_jobs"))
    assert statuses[queued[0].job_id] == "cancelled"
    assert statuses[queued[1].job_id] == statuses[queued[2].job_id] == "completed"
    assert scalar(settings, "SELECT attempts FROM processing_jobs WHERE id=:i",
                  i=queued[0].job_id) == 0
    system.close()


def test_cancel_a_session_and_retry_failed_jobs(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_LIMITS__MAX_ATTEMPTS="2")
    system = JobSystem(settings)
    ids = [v.video_id for v in sim.world.videos_by_case("manual_en")][:4]
    session_id, _ = system.create_batch("s", ids)
    # Make the transcript endpoints fail: jobs use their 2 attempts and fail.
    sim.set_faults(error_rate=1.0)
    run_burst(system, burst_wait=2)
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='failed' "
                            "AND job_type='extract_transcript'") == 4
    assert system.db.query(session_report, session_id).failures == {"transient": 4}
    sim.set_faults(error_rate=0.0)
    assert system.ledger.retry_failed(session_id=session_id) == []  # no attempts left
    one = system.ledger.retry_failed(job_type="extract_transcript", force=True)
    assert len(one) == 4
    system.send(one)
    run_burst(system)
    report = system.db.query(session_report, session_id)
    assert report.status == "completed" and report.jobs == {"completed": 4}
    assert report.transcripts == 4
    system.close()


def test_rate_limiter_spaces_calls_and_never_exceeds_the_limit(tmp_path: Path) -> None:
    settings = settings_for("http://127.0.0.1:9", tmp_path / "d")
    system = JobSystem(settings)
    limiter = RateLimiter(system.db, "test", per_minute=600)  # one per 0.1 s
    slots: list[float] = []
    lock = threading.Lock()

    def take(n: int) -> None:
        for _ in range(n):
            slot = limiter.reserve()
            with lock:
                slots.append(slot)

    threads = [threading.Thread(target=take, args=(15,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots.sort()
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert min(gaps) >= 0.1 - 1e-6, "two calls closer than the limit allows"
    # Any one-second window holds at most 10 calls; under a backlog we stay near the limit.
    assert max(sum(1 for s in slots if start <= s < start + 1.0) for start in slots) <= 10
    rate = (len(slots) - 1) / (slots[-1] - slots[0])
    assert 9.0 <= rate <= 10.0
    assert not RateLimiter(system.db, "off", per_minute=0).enabled
    system.close()


def test_rate_limited_transcripts_are_spaced_across_consumer_threads(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE="240")  # 0.25 s apart
    system = JobSystem(settings)
    ids = [v.video_id for v in sim.world.videos_by_case("manual_en")][:6]
    sim.reset_stats()  # the request log: this test's fetches only
    system.enqueue_videos(ids)
    run_burst(system, workers=4)
    assert scalar(settings, "SELECT count(*) FROM transcripts") == 6
    # When YouTube saw each fetch begin (the watch page is its first request), as the
    # simulator logged it: a slot is 0.25 s, plus up to 10 % jitter, never less.
    starts = sorted(e["t"] - e["ms"] / 1000 for e in sim.stats()["request_log"]
                    if e["endpoint"] == "watch" and any(v in e["path"] for v in ids))
    assert len(starts) == 6
    # Paced: each fetch has its own slot, 0.25 s after the previous one. A thread may start
    # late (another holding the GIL while it builds its API client) and then sit close to
    # the next, so no single gap is asserted: the median gap is a slot, and six fetches
    # span five slots less at most one slot of lateness (unpaced, they take ~0.1 s).
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert statistics.median(gaps) >= 0.2, gaps
    assert starts[-1] - starts[0] >= 5 * 0.25 - 0.25, gaps
    system.close()


def test_quota_exhaustion_pauses_discovery_and_resumes_by_itself(
    sim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tubesensei.youtube.data_api as data_api

    resume_at = datetime.now(UTC) + timedelta(seconds=2)
    monkeypatch.setattr(data_api, "next_reset", lambda now=None: resume_at, raising=False)
    import tubesensei.youtube.quota as quota

    monkeypatch.setattr(quota, "next_reset", lambda now=None: resume_at)
    sim.set_faults(quota_per_day=2)
    settings = settings_for(sim.base_url, tmp_path / "d")
    system = JobSystem(settings)
    channels = [parse_channel_ref(c.handle) for c in sim.world.channels]
    system.enqueue_channels(channels)
    with running_consumer(system, workers=2):
        wait_for(lambda: system.control.statuses()["discovery"].paused_until
                 is not None)
        status = system.control.statuses()["discovery"]
        assert status.pause_reason == "quota_exhausted"
        assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='failed'") == 0
        sim.set_faults(quota_per_day=None)  # the quota resets at midnight Pacific
        wait_for(lambda: scalar(settings, "SELECT count(*) FROM processing_jobs WHERE "
                                          "job_type='discover_channel' AND status='completed'")
                 == 2, timeout=30)
    run_burst(system)
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status != 'completed'") == 0
    assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1
    system.close()


def test_blocked_opens_the_breaker_probes_and_closes_without_failing_anything(
    sim, tmp_path: Path
) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_LIMITS__BLOCKED_COOLDOWN_SECONDS="0.5",
                            TUBESENSEI_LIMITS__BLOCKED_COOLDOWN_MAX_SECONDS="1")
    system = JobSystem(settings)
    videos = sim.world.videos_by_case("manual_en")[:5]
    sim.set_faults(blocked=True)
    system.enqueue_videos([v.video_id for v in videos])
    control = system.control
    with running_consumer(system, workers=3):
        wait_for(lambda: control.statuses()["transcripts"].breaker_opens >= 2)
        st = control.statuses()["transcripts"]
        assert st.breaker_state in ("open", "half_open")
        requests_while_open = sim.stats()["requests"].get("watch", 0)
        # The jobs in flight when the block began, then one probe per cool-down: no storm.
        assert requests_while_open <= 3 + st.breaker_opens
        assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status "
                                "IN ('failed', 'unavailable')") == 0
        sim.set_faults(blocked=False)
        wait_for(lambda: scalar(settings, "SELECT count(*) FROM transcripts") == 5, timeout=30)
    assert control.statuses()["transcripts"].breaker_state == "closed"
    assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1
    system.close()


def test_hard_time_limit_fails_the_job_and_ignores_the_late_result(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d",
                            TUBESENSEI_LIMITS__TRANSCRIPT_SOFT_TIME_LIMIT_SECONDS="5",
                            TUBESENSEI_LIMITS__TRANSCRIPT_HARD_TIME_LIMIT_SECONDS="0.6",
                            TUBESENSEI_LIMITS__MAX_ATTEMPTS="1")
    system = JobSystem(settings)
    video = sim.world.find("manual_en")
    system.enqueue_videos([video.video_id])
    sim.set_faults(latency_ms=500)  # three requests: ~1.5 s, well past the hard limit
    with running_consumer(system, workers=1) as consumer:
        wait_for(lambda: scalar(settings, "SELECT status FROM processing_jobs") == "failed")
        assert consumer.threads_wanted == 1
        time.sleep(2.0)  # the late thread finishes its fetch meanwhile
    (status, error_class), = query(settings, "SELECT status, error_class FROM processing_jobs")
    assert (status, error_class) == ("failed", "timeout")
    # The late thread wrote nothing: no transcript, and the video is not "done".
    assert scalar(settings, "SELECT count(*) FROM transcripts") == 0
    assert scalar(settings, "SELECT transcript_status FROM videos") in ("failed", "pending")
    system.close()


def test_periodic_tasks_run_once_across_consumers(sim, tmp_path: Path) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_SCHEDULE__RESCAN="* * * * *")
    a, b = JobSystem(settings), JobSystem(settings)
    a.enqueue_channels([parse_channel_ref(c.handle) for c in sim.world.channels])
    run_burst(a)
    with a.engine.begin() as conn:
        from sqlalchemy import text

        conn.execute(text("UPDATE channels SET status='paused' WHERE id=1"))
        conn.execute(text("UPDATE processing_jobs SET finished_at=:t"),
                     {"t": (datetime.now(UTC) - timedelta(days=90)).replace(tzinfo=None)})
    minute = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=5)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda s=s: results.append(periodic.run_due(s, "w", minute)))
               for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran = [r for r in results if "rescan" in r]
    assert len(ran) == 1 and ran[0]["rescan"] == {"channels": 1, "queued": 1}
    assert periodic.run_due(a, "w", minute) == {}  # the slot is taken
    with pytest.raises(ValueError):
        periodic.parse_cron("* * *")
    pruned = periodic.prune(a)
    assert pruned["jobs_deleted"] > 0
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='completed'") == 0
    a.close()
    b.close()


def test_workers_scale_changes_concurrency_live_and_metrics_tell_the_truth(
    sim, tmp_path: Path
) -> None:
    settings = settings_for(sim.base_url, tmp_path / "d", TUBESENSEI_LIMITS__HEARTBEAT_SECONDS="0.2")
    system = JobSystem(settings)
    registry = system.workers
    with running_consumer(system, workers=2, metrics_port=0) as consumer:
        (row,) = registry.live(60)
        assert row["worker_id"] == consumer.worker_id and row["concurrency"]["transcripts"] == 2
        assert registry.scale("transcripts", 6, 60) == 1
        wait_for(lambda: consumer.concurrency["transcripts"] == 6)
        wait_for(lambda: consumer.pool.threads_alive() == 6)
        registry.scale("transcripts", 1, 60)
        wait_for(lambda: consumer.threads_wanted == 2)

        system.enqueue_videos([v.video_id for v in sim.world.videos_by_case("manual_en")][:3])
        wait_for(lambda: scalar(settings, "SELECT count(*) FROM transcripts") == 3)
        system.control.pause("discovery")
        port = consumer.metrics_server.server_port
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        for path in ("/", "/favicon.ico", "/metricsx"):
            with pytest.raises(urllib.error.HTTPError) as missing:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
            assert missing.value.code == 404
    families = {f.name: f for f in text_string_to_metric_families(body)}
    # Prometheus conventions: no *_created series; the standard process and python
    # collectors; one label name for a job type everywhere.
    assert "_created" not in body
    assert {"process_cpu_seconds", "process_resident_memory_bytes", "python_info",
            "python_gc_objects_collected"} <= set(families)
    labels = {name for f in families.values() for s in f.samples for name in s.labels}
    assert "task" not in labels and "job_type" in labels
    tasks = {(s.labels["job_type"], s.labels["outcome"]): s.value
             for s in families["tubesensei_tasks"].samples if s.name == "tubesensei_tasks_total"}
    assert tasks[("extract_transcript", "completed")] == 3
    jobs = {(s.labels["status"], s.labels["job_type"]): s.value
            for s in families["tubesensei_jobs"].samples}
    assert jobs[("completed", "extract_transcript")] == 3
    paused = {s.labels["queue"]: s.value for s in families["tubesensei_queue_paused"].samples}
    assert paused == {"discovery": 1, "transcripts": 0, "batch": 0}
    assert families["tubesensei_workers"].samples[0].value == 1
    assert "tubesensei_task_duration_seconds" in families
    assert "tubesensei_quota_units_used_today" in families
    depth = {(s.labels["queue"], s.labels["state"]) for s in families["tubesensei_queue_depth"].samples}
    assert ("transcripts", "queued") in depth

    stats = system.stats()
    assert set(stats) >= {"queues", "jobs", "jobs_by_status", "throughput", "quota", "workers"}
    assert stats["jobs_by_status"]["completed"] == 3
    assert stats["throughput"]["last_minute"] == 3
    assert stats["queues"]["discovery"]["state"]["state"] == "paused by hand"
    assert stats["workers"] == []  # the consumer stopped
    system.close()
