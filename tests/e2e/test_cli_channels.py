"""channels add (retries, a line per reference) through the real CLI entry point, against an
in-process simulator."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.jobs_helpers import sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with running_simulator(SimConfig(seed=61, channels=3, videos_per_channel=4)) as s:
        for key, value in sim_environ(s.base_url, tmp_path / "data").items():
            monkeypatch.setenv(key, value)
        yield s


def ok(result) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == "", result.stderr
    return result.stdout


def one_line_error(result, code: int, fragment: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: "), result.stderr
    assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def stored(run_cli) -> dict[str, dict]:
    return {r["youtube_channel_id"]: r for r in json.loads(ok(run_cli("channels", "list",
                                                                      "--json")))}


# -- channels add -----------------------------------------------------------------------------


def test_add_retries_transient_errors_and_reports_each_reference(run_cli, sim,
                                                                 monkeypatch) -> None:
    a, b, _ = sim.world.channels
    ok(run_cli("channels", "add", b.channel_id))
    sim.set_faults(error_rate=1.0)  # every call answers HTTP 500/503 ...
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # ... until the back-off has waited twice
        waits.append(seconds)
        if len(waits) == 2:
            sim.set_faults(error_rate=0.0)

    monkeypatch.setattr("tubesensei.jobs.policy._wait", sleep)
    sim.reset_stats()
    result = run_cli("channels", "add", a.handle, f"https://www.youtube.com/{b.handle}",
                     "@nosuchchannel")
    one_line_error(result, 1, "1 of 3 channels not added: @nosuchchannel: no YouTube channel")
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("added ") and a.channel_id in lines[0] and a.title in lines[0]
    assert lines[1].startswith("already there ") and b.channel_id in lines[1]
    assert lines[2].startswith("not found ") and "@nosuchchannel" in lines[2]
    assert sim.stats()["errors_injected"] == 2 and len(waits) == 2
    assert 0.03 <= waits[0] <= 0.07 and 0.07 <= waits[1] <= 0.13  # 0.05·2^(n-1) ± 25%
    assert set(stored(run_cli)) == {a.channel_id, b.channel_id}


def test_add_reports_failure_after_n_attempts_and_json(run_cli, sim, monkeypatch) -> None:
    a, b, _ = sim.world.channels
    ok(run_cli("channels", "add", b.channel_id))
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "3")
    sim.set_faults(error_rate=1.0)
    sim.reset_stats()
    result = run_cli("channels", "add", a.handle, b.handle, "--json")
    one_line_error(result, 1, "2 of 2 channels not added: ")
    assert "failed after 3 attempts: YouTube Data API channels.list" in result.stderr
    rows = json.loads(result.stdout)
    assert [(r["ref"], r["outcome"], r["attempts"], r["channel"]) for r in rows] == [
        (a.handle, "failed", 3, None), (b.handle, "failed", 3, None)]
    assert all("HTTP 5" in r["error"] for r in rows)
    assert sim.stats()["requests"]["channels.list"] == 6
    sim.set_faults(error_rate=0.0)
    assert set(stored(run_cli)) == {b.channel_id}  # nothing half-written

    rows = json.loads(ok(run_cli("channels", "add", a.channel_id, b.handle, "--json")))
    assert [(r["outcome"], r["attempts"], r["error"]) for r in rows] == [
        ("added", 1, None), ("already_there", 1, None)]
    assert rows[0]["channel"]["youtube_channel_id"] == a.channel_id
    assert rows[0]["channel"]["title"] == a.title and rows[0]["channel"]["status"] == "active"


def test_add_with_one_malformed_reference_calls_nothing_and_writes_nothing(
        run_cli, sim, tmp_path) -> None:
    a = sim.world.channels[0]
    sim.reset_stats()
    one_line_error(run_cli("channels", "add", a.handle, "https://vimeo.com/1", a.channel_id), 2,
                   "not a YouTube URL")
    one_line_error(run_cli("channels", "add", a.handle, "--json", "@x"), 2, "handle")
    assert sim.stats()["requests_total"] == 0
    assert not (tmp_path / "data").exists()


def test_add_in_a_subprocess_under_random_5xx_succeeds(tubesensei_exe, tmp_path) -> None:
    """The installed command, as a person runs it, while a third of YouTube's answers fail."""
    with running_simulator(SimConfig(seed=62, channels=4, videos_per_channel=2,
                                     error_rate=0.35)) as sim:
        env = {**os.environ, **sim_environ(sim.base_url, tmp_path / "data")}
        refs = [ch.handle for ch in sim.world.channels]
        done = subprocess.run([*tubesensei_exe, "channels", "add", *refs], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (done.stdout, done.stderr)
        assert done.stderr == ""
        lines = done.stdout.splitlines()
        assert [line.split()[0] for line in lines] == ["added"] * 4
        for line, ch in zip(lines, sim.world.channels, strict=True):
            assert ch.channel_id in line
        assert sim.stats()["errors_injected"] > 0  # some needed retries
