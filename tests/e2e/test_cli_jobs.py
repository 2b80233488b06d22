"""enqueue, jobs and run-consumer through the real CLI entry point."""

from __future__ import annotations

import json
import os
import subprocess
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
    ],
)
def test_bad_input_exits_2_and_queues_nothing(run_cli, sim, tmp_path: Path, args) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    if (tmp_path / "data" / "tubesensei.db").exists():
        settings = settings_for(sim.base_url, tmp_path / "data")
        assert scalar(settings, "SELECT count(*) FROM processing_jobs") == 0


def test_unknown_job_is_exit_1(run_cli, sim) -> None:
    result = run_cli("jobs", "show", "999")
    assert result.exit_code == 1 and result.stderr.strip() == "Error: no job 999"


def test_enqueue_works_offline(run_cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUBESENSEI_YOUTUBE__API_ENDPOINT", "http://127.0.0.1:9")
    result = run_cli("enqueue", "channel", "@offline_handle")
    assert result.exit_code == 0 and "queued" in result.stdout


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
