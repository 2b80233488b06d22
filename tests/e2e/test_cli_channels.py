"""channels add (retries, a line per reference) and channels sync through the real CLI entry
point, against an in-process simulator whose world changes between commands."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_cli_corpus import ok, one_line_error
from tests.jobs_helpers import sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with running_simulator(SimConfig(seed=61, channels=3, videos_per_channel=4)) as s:
        for key, value in sim_environ(s.base_url, tmp_path / "data").items():
            monkeypatch.setenv(key, value)
        yield s



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


# -- channels sync ----------------------------------------------------------------------------


def test_sync_refreshes_a_renamed_channel_and_marks_a_closed_one(run_cli, sim) -> None:
    a, b, c = sim.world.channels
    ok(run_cli("channels", "add", a.handle, b.handle, c.handle))
    old_title = a.title
    sim.world.rename_channel(a.channel_id, title="Kites Weekly", handle="@kitesweekly",
                             description="All about kites now.")
    sim.world.close_channel(b.channel_id)
    sim.reset_stats()

    lines = ok(run_cli("channels", "sync")).splitlines()
    assert sim.stats()["requests"]["channels.list"] == 1  # three channels, one call
    assert len(lines) == 3
    assert lines[0].startswith("updated ") and a.channel_id in lines[0]
    assert f"title '{old_title}' -> 'Kites Weekly'" in lines[0]
    assert "handle @simchannel0 -> @kitesweekly" in lines[0] and "description changed" in lines[0]
    assert lines[1].startswith("not found ") and b.channel_id in lines[1]
    assert "not found on YouTube: marked error (channel not found on YouTube" in lines[1]
    assert lines[2].startswith("unchanged ") and c.channel_id in lines[2]

    rows = stored(run_cli)
    assert (rows[a.channel_id]["title"], rows[a.channel_id]["handle"]) == (
        "Kites Weekly", "kitesweekly")
    assert rows[b.channel_id]["status"] == "error" and rows[b.channel_id]["title"] == b.title
    assert "closed or removed" in rows[b.channel_id]["last_error"]
    shown = json.loads(ok(run_cli("channels", "show", "@kitesweekly", "--json")))
    assert shown["description"] == "All about kites now."

    # One channel by reference, JSON: the change is reported once, the error stays.
    synced = json.loads(ok(run_cli("channels", "sync", "@kitesweekly", b.channel_id, "--json")))
    assert [(r["youtube_channel_id"], r["outcome"], r["status"]) for r in synced] == [
        (a.channel_id, "unchanged", "active"), (b.channel_id, "not_found", "error")]
    assert synced[1]["last_error"] == rows[b.channel_id]["last_error"]
    assert synced[0]["changes"] == {} and synced[1]["changes"] == {}


def test_a_failing_discovery_job_marks_a_closed_channel(run_cli, sim) -> None:
    gone = sim.world.channels[2]
    ok(run_cli("enqueue", "channel", gone.handle))
    assert run_cli("run-consumer", "--burst", "--burst-wait", "1").exit_code == 0
    sim.world.close_channel(gone.channel_id)
    ok(run_cli("enqueue", "channel", gone.channel_id))
    assert run_cli("run-consumer", "--burst", "--burst-wait", "1").exit_code == 0
    failed = json.loads(ok(run_cli("jobs", "list", "--status", "failed", "--json")))
    assert [(j["job_type"], j["error_class"]) for j in failed] == [
        ("discover_channel", "playlist_not_found")]
    row = stored(run_cli)[gone.channel_id]
    assert row["status"] == "error" and row["videos"] > 0  # marked, its videos kept
    assert row["last_error"].startswith("channel not found on YouTube (closed or removed)")
    # Resuming by hand is allowed; the next sync finds it gone again.
    ok(run_cli("channels", "resume", gone.channel_id))
    assert "marked error" in ok(run_cli("channels", "sync", gone.handle))


def test_sync_bad_input_and_unknown_channels(run_cli, sim, tmp_path) -> None:
    one_line_error(run_cli("channels", "sync", "not a ref"), 2, "space")
    one_line_error(run_cli("channels", "sync", "@fine", "https://vimeo.com/1"), 2,
                   "not a YouTube URL")
    assert not (tmp_path / "data").exists()
    assert ok(run_cli("channels", "sync")).strip().startswith("no channels yet")
    assert ok(run_cli("channels", "sync", "--json")).strip() == "[]"
    a = sim.world.channels[0]
    ok(run_cli("channels", "add", a.channel_id))
    sim.reset_stats()
    one_line_error(run_cli("channels", "sync", a.handle, "@nosuch"), 1, "no channel @nosuch")
    assert sim.stats()["requests_total"] == 0  # every reference is looked up first


def test_sync_under_5xx_retries_then_stops_with_one_line(run_cli, sim, monkeypatch) -> None:
    channels = sim.world.channels
    ok(run_cli("channels", "add", *(ch.channel_id for ch in channels)))
    sim.world.rename_channel(channels[0].channel_id, title="Renamed")
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "2")
    sim.set_faults(error_rate=1.0)
    sim.reset_stats()
    result = run_cli("channels", "sync", "--json")
    one_line_error(result, 1, "sync stopped after 2 attempts: YouTube Data API channels.list")
    assert "(0 of 3 channels synced)" in result.stderr
    assert json.loads(result.stdout) == []
    assert sim.stats()["requests"]["channels.list"] == 2
    sim.set_faults(error_rate=0.0)
    assert stored(run_cli)[channels[0].channel_id]["title"] != "Renamed"  # nothing written
    # With faults part of the time, the retries get it done.
    sim.set_faults(error_rate=0.5)
    monkeypatch.setenv("TUBESENSEI_LIMITS__MAX_ATTEMPTS", "8")
    out = ok(run_cli("channels", "sync"))
    assert out.startswith("updated ") and "'Renamed'" in out
