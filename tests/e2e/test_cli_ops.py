"""enqueue batch, jobs cancel/retry, sessions, queues, workers, stats through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.jobs_helpers import scalar, settings_for, sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with running_simulator(SimConfig(seed=4, channels=1, videos_per_channel=30)) as s:
        for key, value in sim_environ(s.base_url, tmp_path / "data").items():
            monkeypatch.setenv(key, value)
        yield s


def ok(result) -> str:
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.stdout


def test_batch_session_from_args_file_and_channel(run_cli, sim, tmp_path: Path) -> None:
    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text(f"# reading list\nhttps://youtu.be/{manual[0]}\n\n{manual[1]}  # two\n")
    out = ok(run_cli("enqueue", "batch", "--name", "from file", "--file", str(ids_file)))
    assert 'session 1 "from file": 2 videos in 1 batch(es)' in out
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    report = json.loads(ok(run_cli("sessions", "show", "1", "--json")))
    assert report["status"] == "completed" and report["transcripts"] == 2
    assert report["jobs"] == {"completed": 2} and report["success_rate"] == 1.0
    listed = json.loads(ok(run_cli("sessions", "list", "--json")))
    assert [s["name"] for s in listed] == ["from file"]
    assert "completed" in ok(run_cli("sessions", "list"))
    assert "transcripts" in ok(run_cli("sessions", "show", "1"))

    # --channel: every pending video of a stored channel (discover it first, shorts excluded)
    channel = sim.world.channels[0]
    ok(run_cli("enqueue", "channel", channel.handle))
    settings = settings_for(sim.base_url, tmp_path / "data",
                            TUBESENSEI_TRANSCRIPTS__INCLUDE_SHORTS="false")
    from tubesensei.jobs.system import JobSystem

    system = JobSystem(settings)
    from tests.jobs_helpers import run_burst

    run_burst(system)
    system.close()
    pending = scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status='pending' "
                               "AND kind='short'")
    assert pending > 0
    # With the default rules shorts are wanted again: the batch picks them up.
    out = ok(run_cli("enqueue", "batch", "--channel", channel.handle, "--name", "shorts"))
    assert f"{pending} videos" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["enqueue", "batch", "--name", "x"], "give video references, --file or --channel"),
        (["enqueue", "batch", "dQw4w9WgXcQ"], "missing option '--name'"),
        (["enqueue", "batch", "--name", "x", "not-a-video!"], "video"),
        (["jobs", "cancel"], "give job ids or --session ID"),
        (["jobs", "retry", "--type", "nope"], "nope"),
        (["queues", "pause", "everything"], "everything"),
        (["workers", "scale", "transcripts", "-1"], "-1"),
        (["sessions", "show", "abc"], "abc"),
    ],
)
def test_bad_input_is_exit_2(run_cli, sim, args, fragment) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and fragment in result.stderr


@pytest.mark.parametrize("content", ["", "\n\n", "# my reading list\n   # nothing yet\n"])
def test_a_batch_file_without_ids_says_so(run_cli, sim, tmp_path: Path, content: str) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text(content, encoding="utf-8")
    result = run_cli("enqueue", "batch", "--file", str(ids), "--name", "x")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr == f"Error: --file {ids}: no video ids in it (one video id or URL " \
                            "per line; '#' starts a comment)\n"
    assert not (tmp_path / "data" / "tubesensei.db").exists()  # nothing written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["jobs", "cancel", "77"], "Error: no job 77"),
        (["jobs", "retry", "77"], "Error: no job 77"),
        (["sessions", "show", "9"], "Error: no session 9"),
        (["jobs", "cancel", "--session", "9"], "Error: no session 9"),
        (["workers", "scale", "transcripts", "4"], "Error: no live consumer serves that queue"),
        (["enqueue", "batch", "--channel", "@notstored", "--name", "x"], "Error: no channel @notstored"),
    ],
)
def test_not_found_is_exit_1(run_cli, sim, args, message) -> None:
    result = run_cli(*args)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message)


def test_cancel_retry_queues_workers_stats(run_cli, sim, tmp_path: Path) -> None:
    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")]
    ok(run_cli("enqueue", "video", *manual[:3]))
    out = ok(run_cli("jobs", "cancel", "1"))
    assert "cancelled 1 queued job(s); asked 0 running job(s) to stop" in out
    ok(run_cli("queues", "pause", "transcripts"))
    queues = json.loads(ok(run_cli("queues", "--json")))
    state = {q["queue"]: q["state"]["state"] for q in queues}
    assert state["transcripts"] == "paused by hand"
    assert "paused by hand" in ok(run_cli("queues"))
    stats = json.loads(ok(run_cli("stats", "--json")))
    assert stats["queues"]["transcripts"]["pending"] == 2
    assert stats["jobs_by_status"]["cancelled"] == 1
    assert stats["quota"]["units_per_day"] == 10000 and stats["workers"] == []
    assert "quota:" in ok(run_cli("stats"))
    # Paused: a burst consumer does nothing and says what is waiting.
    out = ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    assert "still waiting in transcripts: pending 2" in out
    ok(run_cli("queues", "resume", "transcripts"))
    sim.set_faults(error_rate=1.0)
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "3", "--no-metrics"))
    failed = json.loads(ok(run_cli("jobs", "list", "--status", "failed", "--json")))
    assert len(failed) == 2 and all(j["attempts"] == 5 for j in failed)
    out = ok(run_cli("jobs", "retry", "--type", "extract_transcript"))
    assert "re-queued 0 failed job(s)" in out and "--force" in out
    sim.set_faults(error_rate=0.0)
    assert "re-queued 2 failed job(s)" in ok(run_cli("jobs", "retry", "--force"))
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    statuses = {j["status"] for j in json.loads(ok(run_cli("jobs", "list", "--json")))}
    assert statuses == {"completed", "cancelled"}
    assert "no consumer is running" in ok(run_cli("workers"))
    assert json.loads(ok(run_cli("workers", "--json"))) == []


def test_resuming_a_queue_releases_jobs_waiting_for_it(run_cli, sim, tmp_path: Path) -> None:
    from tubesensei.jobs.system import JobSystem

    settings = settings_for(sim.base_url, tmp_path / "data")
    system = JobSystem(settings)
    ok(run_cli("enqueue", "channel", sim.world.channels[0].handle))
    job = system.ledger.claim(1, "w")
    assert job is not None
    system.ledger.retry_later(1, "w", 36_000, "quota_exhausted", "quota", refund_attempt=True)
    system.close()
    out = ok(run_cli("queues", "resume", "discovery"))
    assert "(1 waiting job(s) released)" in out
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    (row,) = json.loads(ok(run_cli("jobs", "list", "--type", "discover_channel", "--json")))
    assert row["status"] == "completed" and row["attempts"] == 1


def test_a_session_of_unavailable_videos_reports_jobs_and_transcripts_apart(
        run_cli, sim) -> None:
    gone = [v.video_id for case in ("captions_disabled", "unavailable", "age_restricted")
            for v in sim.world.videos_by_case(case)]
    ok(run_cli("enqueue", "batch", *gone, "--name", "all gone"))
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    n = len(gone)
    report = json.loads(ok(run_cli("sessions", "show", "1", "--json")))
    # The contract's keys stay (every job completed: success_rate 1.0, transcripts 0) …
    assert report["success_rate"] == 1.0 and report["transcripts"] == 0
    # … and clearer ones tell the two numbers apart.
    assert report["jobs_completed"] == n and report["transcripts_obtained"] == 0
    assert report["no_transcript"] == n and report["transcript_rate"] == 0.0
    shown = ok(run_cli("sessions", "show", "1"))
    assert f"jobs completed       {n}/{n} (100%)" in shown
    assert f"transcripts obtained 0 of {n} videos (0%)" in shown
    assert f"no transcript        {n} (" in shown and "transcripts disabled" in shown
    assert "success_rate" not in shown  # a JSON key, not a label
    listed = ok(run_cli("sessions", "list"))
    assert "transcripts obtained" in listed and f"0 of {n}" in listed


def test_sessions_show_says_while_a_batch_is_still_creating_its_jobs(
        run_cli, sim, tmp_path: Path) -> None:
    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")][:3]
    ok(run_cli("enqueue", "batch", *manual, "--name", "three"))  # no consumer yet
    shown = ok(run_cli("sessions", "show", "1"))
    assert ("jobs created         0 of 3 (the session's batch jobs are still creating the "
            "rest)") in shown
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    done = ok(run_cli("sessions", "show", "1"))
    assert "jobs created" not in done and "jobs finished        3/3 (100%)" in done


def test_sessions_list_shows_the_newest_screenful(run_cli, sim, tmp_path: Path) -> None:
    from tubesensei.jobs.system import JobSystem

    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")]
    ok(run_cli("enqueue", "batch", manual[0], "--name", "first"))  # makes the database
    system = JobSystem(settings_for(sim.base_url, tmp_path / "data"))
    try:
        for n in range(2, 24):
            system.create_batch(f"batch {n}", manual[:1])
    finally:
        system.close()

    def names(out: str) -> list[str]:
        return [line.split("│")[2].strip() for line in out.splitlines()
                if line.startswith("│")]

    table = ok(run_cli("sessions", "list"))
    assert names(table) == [f"batch {n}" for n in range(23, 3, -1)]  # the newest 20
    assert "showing 20 of 23 sessions (use --limit N or --json for more)" in table
    five = ok(run_cli("sessions", "list", "--limit", "5"))
    assert names(five) == [f"batch {n}" for n in range(23, 18, -1)]
    assert "showing 5 of 23 sessions" in five
    everything = ok(run_cli("sessions", "list", "--limit", "23"))
    assert names(everything)[-1] == "first" and "showing" not in everything
    listed = json.loads(ok(run_cli("sessions", "list", "--json")))  # JSON: all of them
    assert len(listed) == 23 and listed[-1]["name"] == "first"
    assert len(json.loads(ok(run_cli("sessions", "list", "--json", "--limit", "2")))) == 2
    bad = run_cli("sessions", "list", "--limit", "0")
    assert bad.exit_code == 2 and bad.stderr.count("\n") == 1 and "--limit" in bad.stderr


def test_a_cancelled_job_is_retried_by_id_or_with_cancelled(run_cli, sim, tmp_path: Path) -> None:
    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")][:3]
    ok(run_cli("enqueue", "video", *manual))
    ok(run_cli("jobs", "cancel", "1", "2", "3"))
    settings = settings_for(sim.base_url, tmp_path / "data")
    cancelled = "SELECT count(*) FROM processing_jobs WHERE status='cancelled'"
    assert scalar(settings, cancelled) == 3
    assert "re-queued 0 failed job(s)" in ok(run_cli("jobs", "retry"))  # failed ones only
    assert "re-queued 1 job(s)" in ok(run_cli("jobs", "retry", "1"))
    assert "re-queued 2 job(s)" in ok(run_cli("jobs", "retry", "--cancelled"))
    assert scalar(settings, cancelled) == 0
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='pending' "
                            "AND attempts=0") == 3
    ok(run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics"))
    jobs = json.loads(ok(run_cli("jobs", "list", "--json")))
    assert [(j["status"], j["attempts"]) for j in jobs] == [("completed", 1)] * 3
    # A job that is neither failed nor cancelled: one line, exit 1, nothing changes.
    done = run_cli("jobs", "retry", "1")
    assert done.exit_code == 1
    assert done.stderr == "Error: job 1 is completed: only failed or cancelled jobs are retried\n"


def test_stats_shows_the_backlog_and_says_when_there_is_no_eta(run_cli, sim) -> None:
    manual = [v.video_id for v in sim.world.videos_by_case("manual_en")][:4]
    ok(run_cli("enqueue", "video", *manual))
    data = json.loads(ok(run_cli("stats", "--json")))
    backlog = data["backlog"]
    assert backlog["remaining"] == 4 and backlog["live_consumers"] == 0
    assert backlog["eta_s"] is None and backlog["eta_at"] is None  # no consumer: no guess
    transcripts = backlog["queues"]["transcripts"]
    assert transcripts["remaining"] == 4 and transcripts["per_minute"] is None
    assert set(data) >= {"queues", "jobs", "jobs_by_status", "throughput", "quota", "workers"}
    table = ok(run_cli("stats"))
    assert "backlog" in table and "– (no consumer running" in table


def test_workers_show_the_caps_that_scaling_changes(run_cli, sim, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from tests.jobs_helpers import running_consumer
    from tubesensei.jobs.system import JobSystem

    monkeypatch.setenv("TUBESENSEI_LIMITS__HEARTBEAT_SECONDS", "0.2")
    settings = settings_for(sim.base_url, tmp_path / "data",
                            TUBESENSEI_LIMITS__HEARTBEAT_SECONDS="0.2")
    system = JobSystem(settings)
    try:
        with running_consumer(system, workers=4):
            assert "transcripts: 8 at once on 1 consumer(s)" in ok(
                run_cli("workers", "scale", "transcripts", "8"))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                (row,) = json.loads(ok(run_cli("workers", "--json")))
                if row["threads"] == 8:
                    break
                time.sleep(0.1)
            # batch starts at 1 (registry.QUEUE_CAPS: one writer at a time on SQLite)
            assert row["concurrency"] == {"discovery": 4, "transcripts": 8, "batch": 1}
            assert row["threads"] == 8  # the threads that serve the caps shown
            table = ok(run_cli("workers"))
            assert "caps (jobs at once)" in table
            assert "discovery 4 · transcripts 8 · batch 1" in table
            assert "at most limits.max_concurrent_jobs (10)" in table
            over = run_cli("workers", "scale", "transcripts", "20")
            assert over.exit_code == 0 and "transcripts: 20 at once" in over.stdout
            assert over.stderr.count("above limits.max_concurrent_jobs (10)") == 1
    finally:
        system.close()
