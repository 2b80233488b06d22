"""enqueue, jobs and run-consumer through the real CLI entry point."""

from __future__ import annotations

import json
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from tests.jobs_helpers import scalar, settings_for, sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with running_simulator(SimConfig(seed=3, channels=1, videos_per_channel=30)) as s:
        for key, value in sim_environ(s.base_url, tmp_path / "data").items():
            monkeypatch.setenv(key, value)
        yield s


def test_enqueue_run_consumer_and_inspect_jobs(run_cli, sim, tmp_path: Path) -> None:
    handle = sim.world.channels[0].handle
    queued = run_cli("enqueue", "channel", handle)
    assert queued.exit_code == 0, queued.stderr
    assert "queued   job 1  discover " + handle.lower() in queued.stdout
    assert queued.stderr == ""  # a key is set: nothing to say
    again = run_cli("enqueue", "channel", f"https://www.youtube.com/{handle}/videos")
    assert "exists   job 1" in again.stdout and "already pending" in again.stdout

    done = run_cli("run-consumer", "--workers", "3", "--burst", "--burst-wait", "1")
    assert done.exit_code == 0, done.stderr
    assert "consumer stopped after" in done.stdout and "completed" in done.stdout

    listed = run_cli("jobs", "list", "--json")
    rows = json.loads(listed.stdout)
    assert {r["status"] for r in rows} == {"completed"}
    assert len(rows) == 1 + scalar(settings_for(sim.base_url, tmp_path / "data"),
                                   "SELECT count(*) FROM videos WHERE transcript_status "
                                   "IN ('done', 'unavailable')")
    assert run_cli("jobs", "list", "--status", "failed", "--json").stdout.strip() == "[]"
    limited = json.loads(run_cli("jobs", "list", "--limit", "2", "--json").stdout)
    assert len(limited) == 2

    shown = json.loads(run_cli("jobs", "show", "1", "--json").stdout)
    assert shown["job_type"] == "discover_channel" and shown["result"]["mode"] == "full"
    assert shown["metadata"] == {"mode": "auto"}
    table = run_cli("jobs", "show", "1")
    assert table.exit_code == 0 and "discover_channel" in table.stdout
    assert "sim-key-123456" not in json.dumps(rows) + table.stdout


def test_enqueue_video(run_cli, sim) -> None:
    video = sim.world.find("generated_en")
    result = run_cli("enqueue", "video", f"https://youtu.be/{video.video_id}?si=x", video.video_id)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("queued") == 1
    assert run_cli("run-consumer", "--burst", "--burst-wait", "1").exit_code == 0
    (job,) = json.loads(run_cli("jobs", "list", "--json").stdout)
    assert job["status"] == "completed"


@pytest.mark.parametrize(
    "args",
    [
        ["enqueue", "channel", "@good_handle", "https://vimeo.com/123"],
        ["enqueue", "channel", "UC12345678901234567890a"],
        ["enqueue", "video", "dQw4w9WgXcQ", "not a video"],
        ["enqueue", "channel", "@ok", "--priority", "1000"],
        ["jobs", "list", "--status", "sleeping"],
        ["run-consumer", "--workers", "0"],
        ["enqueue", "batch", "--file", "/bin/ls", "--name", "binary"],
        ["enqueue", "batch", "dQw4w9WgXcQ", "--name", ""],
        ["enqueue", "batch", "dQw4w9WgXcQ", "--name", "   "],
        ["enqueue", "batch", "dQw4w9WgXcQ", "--name", "x" * 201],
        ["enqueue", "batch", "--file", "/", "--name", "a folder"],
    ],
)
def test_bad_input_exits_2_and_queues_nothing(run_cli, sim, tmp_path: Path, args) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    if (tmp_path / "data" / "tubesensei.db").exists():
        settings = settings_for(sim.base_url, tmp_path / "data")
        assert scalar(settings, "SELECT count(*) FROM processing_jobs") == 0


def test_enqueue_batch_takes_ids_that_start_with_dash_h(run_cli, sim) -> None:
    """A real video id may begin with "-h": it is an id, not a request for help."""
    result = run_cli("enqueue", "batch", "-hAbCdEfGhI", "--name", "dash")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('session 1 "dash": 1 videos')
    assert "Usage" in run_cli("enqueue", "batch", "-h").stdout


def test_empty_job_and_session_lists_say_so(run_cli, sim) -> None:
    assert run_cli("jobs", "list").stdout == "no jobs yet\n"
    assert run_cli("sessions", "list").stdout == (
        "no sessions yet (a batch makes one: tubesensei enqueue batch --file ids.txt "
        "--name NAME)\n")
    assert run_cli("sessions", "list", "--json").stdout.strip() == "[]"
    assert run_cli("enqueue", "channel", sim.world.channels[0].handle).exit_code == 0
    assert run_cli("jobs", "list", "--status", "failed", "--queue", "discovery").stdout == (
        "no jobs match --status failed --queue discovery\n")
    assert run_cli("jobs", "list", "--status", "failed", "--json").stdout.strip() == "[]"
    assert "discover_channel" in run_cli("jobs", "list").stdout


def test_unknown_job_is_exit_1(run_cli, sim) -> None:
    result = run_cli("jobs", "show", "999")
    assert result.exit_code == 1 and result.stderr.strip() == "Error: no job 999"


def test_enqueue_works_offline(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBESENSEI_YOUTUBE__API_ENDPOINT", "http://127.0.0.1:9")
    result = run_cli("enqueue", "channel", "@offline_handle")
    assert result.exit_code == 0 and "queued" in result.stdout


def test_enqueue_channel_without_an_api_key_queues_and_says_what_will_fail(
        run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consumer may run elsewhere with its own key (scale-out), so the job is queued;
    on a laptop it would fail at once with a configuration error, so the user hears now."""
    monkeypatch.delenv("TUBESENSEI_YOUTUBE__API_KEY", raising=False)
    result = run_cli("enqueue", "channel", "@no_key_here")
    assert result.exit_code == 0 and "queued   job 1  discover @no_key_here" in result.stdout
    assert result.stderr == ("note: no YouTube Data API key is set here "
                             "(TUBESENSEI_YOUTUBE__API_KEY or youtube.api_key); discovery "
                             "fails on a consumer without one\n")


def test_run_consumer_logs_json_to_stderr(tubesensei_exe, sim, tmp_path: Path) -> None:
    env = {**os.environ}
    subprocess.run([*tubesensei_exe, "enqueue", "video", sim.world.find("manual_en").video_id],
                   env=env, check=True, capture_output=True, timeout=60)
    out = subprocess.run([*tubesensei_exe, "run-consumer", "--burst", "--burst-wait", "1"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    names = {e["event"] for e in events}
    assert {"consumer started", "job started", "job completed", "consumer stopped"} <= names
    completed = next(e for e in events if e["event"] == "job completed")
    assert {"job_id", "job_type", "entity", "attempt", "duration_s"} <= set(completed)
    assert "sim-key-123456" not in out.stderr


def test_burst_summary_names_an_open_breaker_and_when_it_probes(
        run_cli, sim, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBESENSEI_LIMITS__BLOCKED_COOLDOWN_SECONDS", "600")
    sim.set_faults(blocked=True)
    videos = [v.video_id for v in sim.world.videos_by_case("manual_en")][:2]
    assert run_cli("enqueue", "video", *videos).exit_code == 0
    out = run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics")
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith("consumer stopped after ") and "retrying" in lines[0]
    assert any(line.startswith("still waiting in transcripts: retrying 2, next retry at ")
               for line in lines), out.stdout
    (breaker,) = [line for line in lines if "circuit breaker open" in line]
    assert re.match(r"transcripts circuit breaker open since \d\d:\d\d:\d\d UTC \(opened 1× in "
                    r"a row: .+\); next probe at \d\d:\d\d:\d\d UTC, its 2 waiting job\(s\) run "
                    r"once it gets through$", breaker), breaker


def test_burst_summary_names_a_quota_pause_and_when_held_jobs_run(run_cli, sim) -> None:
    sim.set_faults(quota_per_day=0)
    assert run_cli("enqueue", "channel", sim.world.channels[0].handle).exit_code == 0
    out = run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics")
    assert out.exit_code == 0, out.stderr
    from tubesensei.commands.live import clock

    resets = json.loads(run_cli("stats", "--json").stdout)["quota"]["resets_at"]
    when = clock(datetime.fromisoformat(resets))
    assert f"still waiting in discovery: retrying 1, next retry at {when}" in out.stdout
    assert (f"discovery is paused for the Data API quota until {when} (the quota's reset): "
            "its 1 waiting job(s) run then") in out.stdout


def test_workers_above_the_cap_says_so_once(run_cli, sim,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    out = run_cli("run-consumer", "--workers", "20", "--burst", "--burst-wait", "0",
                  "--no-metrics")
    assert out.exit_code == 0, out.stderr
    notice = ("--workers 20 is above limits.max_concurrent_jobs (10): running 10 (raise it "
              "with TUBESENSEI_LIMITS__MAX_CONCURRENT_JOBS or `tubesensei config set "
              "limits.max_concurrent_jobs N`)")
    assert out.stderr.count(notice) == 1 and notice not in out.stdout
    started = next(json.loads(line) for line in out.stderr.splitlines()
                   if '"consumer started"' in line)
    assert started["workers"] == 10
    out = run_cli("run-consumer", "--workers", "10", "--burst", "--burst-wait", "0",
                  "--no-metrics")
    assert "max_concurrent_jobs" not in out.stderr  # at the cap: nothing to say
    monkeypatch.setenv("TUBESENSEI_LIMITS__WORKER_CONCURRENCY", "12")  # the default, too
    out = run_cli("run-consumer", "--burst", "--burst-wait", "0", "--no-metrics")
    assert out.stderr.count("limits.worker_concurrency (12) is above "
                            "limits.max_concurrent_jobs (10): running 10") == 1


def test_run_consumer_off_a_terminal_prints_no_progress(tubesensei_exe, sim) -> None:
    env = {**os.environ, "TUBESENSEI_LOGGING__FORMAT": "console"}
    subprocess.run([*tubesensei_exe, "enqueue", "video", sim.world.find("manual_en").video_id],
                   env=env, check=True, capture_output=True, timeout=60)
    out = subprocess.run([*tubesensei_exe, "run-consumer", "--burst", "--burst-wait", "1",
                          "--no-metrics"], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "job completed" in out.stderr  # plain log lines …
    assert "\x1b" not in out.stderr + out.stdout  # … and no live display, no escape codes
    assert " done " not in out.stderr and "ETA" not in out.stderr


def test_run_consumer_on_a_terminal_shows_progress_above_the_logs(tubesensei_exe, sim) -> None:
    import pty

    env = {**os.environ, "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "120", "COLUMNS": "120"}
    videos = [v.video_id for v in sim.world.videos_by_case("manual_en")][:4]
    subprocess.run([*tubesensei_exe, "enqueue", "video", *videos], env=env, check=True,
                   capture_output=True, timeout=60)
    leader, follower = pty.openpty()
    proc = subprocess.Popen([*tubesensei_exe, "run-consumer", "--burst", "--burst-wait", "1",
                             "--no-metrics"], env=env, stdout=subprocess.PIPE, stderr=follower)
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out = proc.communicate(timeout=60)[0].decode()
    os.close(leader)
    assert proc.returncode == 0
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))
    assert "job completed" in screen  # the log lines …
    assert re.search(r"transcripts\s.*\d+/4 done", screen), screen[-2000:]  # … and progress
    assert "ETA" in screen
    assert out.startswith("consumer stopped after ")  # the summary stays on stdout


def test_a_burst_on_one_queue_ends_when_that_queue_is_done(run_cli, sim) -> None:
    """`--queue discovery --burst` ends once discovery is done, though the transcript jobs
    it created wait for a consumer of their own."""
    assert run_cli("enqueue", "channel", sim.world.channels[0].handle).exit_code == 0
    done = run_cli("run-consumer", "--queue", "discovery", "--burst", "--burst-wait", "1",
                   "--no-metrics")
    assert done.exit_code == 0, done.stderr
    jobs = json.loads(run_cli("jobs", "list", "--json").stdout)
    assert {j["status"] for j in jobs if j["job_type"] == "discover_channel"} == {"completed"}
    waiting = [j for j in jobs if j["job_type"] == "extract_transcript"]
    assert waiting and {j["status"] for j in waiting} == {"pending"}
    rest = run_cli("run-consumer", "--queue", "transcripts", "--burst", "--burst-wait", "1",
                   "--no-metrics")
    assert rest.exit_code == 0
    after = json.loads(run_cli("jobs", "list", "--json").stdout)
    assert {j["status"] for j in after} == {"completed"}


def test_a_failing_housekeeping_step_neither_blocks_a_burst_nor_floods_the_log(
    run_cli, sim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that raises on every tick (4 a second) is logged once, and the burst still
    ends when the work is done."""
    def broken(self) -> None:
        raise RuntimeError("periodic tasks are broken")

    monkeypatch.setattr("tubesensei.jobs.scheduler.Housekeeper._periodic", broken)
    assert run_cli("enqueue", "video", sim.world.find("manual_en").video_id).exit_code == 0
    done = run_cli("run-consumer", "--burst", "--burst-wait", "1", "--no-metrics")
    assert done.exit_code == 0, done.stderr[-2000:]
    assert done.stderr.count("housekeeping step failed") == 1
    assert "periodic tasks are broken" in done.stderr
    assert "completed 1" in done.stdout


def test_a_metrics_port_asked_for_and_taken_fails_with_one_line(run_cli, sim) -> None:
    """An explicit --metrics-port that another program holds: exit 1, one line saying so
    (no other OSError of the consumer's is reported as a metrics problem)."""
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        result = run_cli("run-consumer", "--burst", "--burst-wait", "1",
                         "--metrics-port", str(port))
    finally:
        holder.close()
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot serve metrics on port {port}: ")
    assert line.endswith("(use --metrics-port or --no-metrics)") and "None" not in line
