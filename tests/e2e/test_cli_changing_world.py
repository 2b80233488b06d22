"""A world that changes between scans, through the real CLI: videos deleted (their playlist
row gone or kept), made private and restored, a title changed, a live stream that ends. After
each reconcile the corpus matches the world, nothing stored is lost, and exports leave the
removed videos out unless asked, still parsing with real parsers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_pipeline_transcripts import parse_cues
from tests.jobs_helpers import sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with running_simulator(SimConfig(seed=21, channel_sizes=[45, 12])) as s:
        for key, value in sim_environ(s.base_url, tmp_path / "data").items():
            monkeypatch.setenv(key, value)
        yield s


def _json(run_cli, *args: str):
    result = run_cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _scan(run_cli, channel_id: str, *extra: str) -> None:
    assert run_cli("enqueue", "channel", channel_id, *extra).exit_code == 0
    done = run_cli("run-consumer", "--workers", "3", "--burst", "--burst-wait", "1")
    assert done.exit_code == 0, done.stderr


def _exported(run_cli, *extra: str) -> dict[str, dict]:
    result = run_cli("transcripts", "export", "--format", "jsonl", *extra)
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    return {r["video"]["id"]: r for r in rows}


def test_reconciles_follow_a_changing_world(run_cli, sim, tmp_path: Path) -> None:
    world = sim.world
    ch = world.channels[0]
    _scan(run_cli, ch.handle)
    _scan(run_cli, world.channels[1].handle)
    before = {v["video_id"]: v for v in _json(run_cli, "videos", "list", "--channel",
                                                  ch.channel_id)}
    assert set(before) == {v.video_id for v in ch.videos if v.is_public}
    done = [v for v in ch.videos if before.get(v.video_id, {}).get("transcript_status") == "done"]
    gone, kept_row, private, retitled = done[:4]
    live = world.find("live")
    assert before[live.video_id]["transcript_status"] == "waiting"

    world.delete_video(gone.video_id)
    world.delete_video(kept_row.video_id, keep_row=True)
    sim.change("make_private", video_id=private.video_id)
    with world.lock:
        world.video(retitled.video_id).title = "Renamed upload"
        world.version += 1
    world.finish_stream(live.video_id)
    # One channel once: the stored channel's handle and id are one job.
    queued = run_cli("enqueue", "channel", ch.handle, "--full")
    assert f"discover {ch.handle.lower()} (stored channel {ch.channel_id})" in queued.stdout
    assert "exists" in run_cli("enqueue", "channel", ch.channel_id).stdout
    _scan(run_cli, ch.channel_id, "--full")

    removed = {v["video_id"]: v["missing_reason"]
               for v in _json(run_cli, "videos", "list", "--removed")}
    assert removed == {gone.video_id: "gone", kept_row.video_id: "gone",
                       private.video_id: "private"}
    listed = {v["video_id"]: v for v in _json(run_cli, "videos", "list", "--listed",
                                              "--channel", ch.channel_id)}
    assert set(listed) == {v.video_id for v in ch.videos if v.is_public}  # the world, exactly
    assert all(v["missing_since"] for v in _json(run_cli, "videos", "list", "--removed"))
    assert listed[retitled.video_id]["title"] == "Renamed upload"
    ended = listed[live.video_id]
    assert (ended["kind"], ended["was_live"], ended["transcript_status"]) == (
        "video", True, "done")  # the ended stream got its transcript through the scan

    shown = run_cli("videos", "show", gone.video_id)
    assert shown.exit_code == 0 and "removed: gone" in shown.stdout
    detail = _json(run_cli, "videos", "show", private.video_id)
    assert detail["missing_reason"] == "private" and detail["transcripts"]  # kept

    exported = _exported(run_cli)
    assert not set(exported) & set(removed)
    assert live.video_id in exported and all(r["video"]["removed"] is None
                                             for r in exported.values())
    everything = _exported(run_cli, "--include-removed")
    assert {vid: everything[vid]["video"]["removed"] for vid in removed} == removed
    for fmt in ("srt", "vtt"):
        out = tmp_path / fmt
        assert run_cli("transcripts", "export", "--format", fmt, "--out", str(out)).exit_code == 0
        files = sorted(out.rglob(f"*.{fmt}"))
        assert len(files) == len(exported)
        assert all(parse_cues(f.read_text(encoding="utf-8"), fmt) for f in files)

    for v in (gone, kept_row, private):
        world.restore_video(v.video_id)
    _scan(run_cli, ch.channel_id, "--full")
    assert _json(run_cli, "videos", "list", "--removed") == []
    after = {v["video_id"]: v for v in _json(run_cli, "videos", "list", "--channel",
                                             ch.channel_id)}
    assert set(after) == {v.video_id for v in ch.videos if v.is_public}
    assert {vid: after[vid]["title"] for vid in after} == {
        v.video_id: v.title for v in ch.videos if v.is_public}
    assert set(_exported(run_cli)) == set(everything)  # back in the export, nothing lost


def test_renamed_and_closed_channels(run_cli, sim) -> None:
    """A channel renamed on YouTube is renamed here by channels sync; one YouTube closed is
    marked error (by the sync, and by its next discovery), its videos kept, rescans skip it."""
    world = sim.world
    renamed, closed = world.channels
    for channel in world.channels:
        _scan(run_cli, channel.handle)
    kept = len(_json(run_cli, "videos", "list", "--channel", closed.channel_id))
    sim.change("rename_channel", channel_id=renamed.channel_id, title="Brand New Name",
               handle="@brandnew")
    sim.change("close_channel", channel_id=closed.channel_id)

    synced = run_cli("channels", "sync")
    assert synced.exit_code == 0, synced.stderr
    assert "handle @simchannel0 -> @brandnew" in synced.stdout
    assert "not found on YouTube: marked error" in synced.stdout
    rows = {c["youtube_channel_id"]: c for c in _json(run_cli, "channels", "list")}
    assert rows[renamed.channel_id]["title"] == "Brand New Name"
    assert rows[renamed.channel_id]["handle"] == "brandnew"
    assert rows[closed.channel_id]["status"] == "error"
    # The new handle names the stored channel: one job, under its UC id.
    queued = run_cli("enqueue", "channel", "@brandnew")
    assert f"(stored channel {renamed.channel_id})" in queued.stdout
    assert len(_json(run_cli, "videos", "list", "--channel", closed.channel_id)) == kept
