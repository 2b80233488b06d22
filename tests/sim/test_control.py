"""Stats, runtime fault switching, world changes, determinism, the CLI and speed."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError
from youtube_transcript_api import IpBlocked, VideoUnplayable

from tubesensei.sim import SimConfig, running_simulator
from tubesensei.sim.world import SimWorld

from .helpers import data_api, get_json, http, page_all, transcript_api

ROOT = Path(__file__).resolve().parents[2]


def test_stats_count_every_endpoint(sim, yt, ytt):
    ch = sim.world.channels[0]
    yt.channels().list(part="id", forHandle=ch.handle).execute()
    yt.playlistItems().list(part="id", playlistId=ch.uploads_playlist_id).execute()
    yt.videos().list(part="id", id=ch.videos[0].video_id).execute()
    yt.search().list(part="id", q=ch.title, type="channel").execute()
    ytt.fetch(sim.world.find("manual_en", ch.channel_id).video_id)
    stats = sim.stats()
    assert stats["requests"] == {"channels.list": 1, "playlistItems.list": 1,
                                 "videos.list": 1, "search.list": 1, "watch": 1, "player": 1,
                                 "timedtext": 1}
    assert stats["quota_units_used"] == 103
    assert stats["requests_total"] == 7
    assert stats["responses_by_status"] == {"200": 7}
    assert [e["endpoint"] for e in stats["request_log"]][-3:] == ["watch", "player",
                                                                  "timedtext"]
    sim.reset_stats()
    assert sim.stats()["requests_total"] == 0 and sim.stats()["quota_units_used"] == 0


def test_faults_over_http(sim, ytt):
    base = sim.base_url
    status, body = http("POST", f"{base}/__sim/faults",
                        {"blocked": True, "blocked_variant": "ip_blocked", "quota_per_day": 1})
    assert status == 200 and json.loads(body)["blocked"] is True
    with pytest.raises(IpBlocked):
        ytt.fetch(sim.world.find("manual_en").video_id)
    yt = data_api(base)
    yt.channels().list(part="id", forHandle="@simchannel0").execute()
    with pytest.raises(HttpError):
        yt.channels().list(part="id", forHandle="@simchannel0").execute()
    status, stats = get_json(f"{base}/__sim/stats")
    assert stats["requests"]["watch"] == 1 and stats["quota_units_used"] == 1
    assert stats["responses_by_status"]["429"] == 1
    assert http("POST", f"{base}/__sim/faults", {"bogus": 1})[0] == 400
    assert http("POST", f"{base}/__sim/faults", {"error_rate": 7})[0] == 400
    assert http("POST", f"{base}/__sim/reset", {})[0] == 200
    assert get_json(f"{base}/__sim/faults")[1]["blocked"] is False
    assert get_json(f"{base}/__sim/stats")[1]["requests_total"] == 0
    assert ytt.fetch(sim.world.find("manual_en").video_id)


def test_world_changes_for_incremental_rescans():
    with running_simulator(SimConfig(seed=5, channels=1, videos_per_channel=30)) as sim:
        ch = sim.world.channels[0]
        yt, ytt = data_api(sim.base_url), transcript_api(sim.base_url)
        before = [i["contentDetails"]["videoId"] for i in page_all(yt, ch.uploads_playlist_id)]
        new = sim.add_upload(ch.channel_id)
        assert sim.world.video(new.video_id) is new and new.case == "manual_en"
        after = page_all(yt, ch.uploads_playlist_id)
        assert [i["contentDetails"]["videoId"] for i in after] == [new.video_id, *before]
        assert after[0]["snippet"]["publishedAt"] > after[1]["snippet"]["publishedAt"]
        assert ytt.fetch(new.video_id).to_raw_data() == new.expected_segments()

        private = sim.world.find("private")
        assert yt.videos().list(part="id", id=private.video_id).execute()["items"] == []
        sim.make_public(private.video_id)
        assert yt.videos().list(part="id", id=private.video_id).execute()["items"]
        row = next(i for i in page_all(yt, ch.uploads_playlist_id)
                   if i["contentDetails"]["videoId"] == private.video_id)
        assert row["status"]["privacyStatus"] == "public"
        assert ytt.fetch(private.video_id)

        status, body = http("POST", f"{sim.base_url}/__sim/uploads",
                            {"channel_id": ch.channel_id, "case": "generated_en"})
        assert status == 200 and sim.world.video(json.loads(body)["video_id"])
        live = sim.world.find("live")
        sim.finish_stream(live.video_id)
        item = yt.videos().list(part="snippet,liveStreamingDetails", id=live.video_id
                                ).execute()["items"][0]
        assert item["snippet"]["liveBroadcastContent"] == "none"
        assert "actualEndTime" in item["liveStreamingDetails"]


def test_world_changes_for_reconciles():
    """Deleted (row kept or gone), privatised and restored videos; a renamed and a closed
    channel: each as the real API shows it, driven in-process and over /__sim/change."""
    with running_simulator(SimConfig(seed=6, channels=2, videos_per_channel=25)) as sim:
        ch, other = sim.world.channels
        yt, ytt = data_api(sim.base_url), transcript_api(sim.base_url)

        def rows() -> dict[str, str]:
            return {i["contentDetails"]["videoId"]: i["snippet"]["title"]
                    for i in page_all(yt, ch.uploads_playlist_id)}

        def listed(video_id: str) -> bool:
            return bool(yt.videos().list(part="id", id=video_id).execute()["items"])

        gone, kept, hidden = sim.world.videos_by_case("manual_en", ch.channel_id)[:3]
        sim.world.delete_video(gone.video_id)
        sim.world.delete_video(kept.video_id, keep_row=True)
        status, body = http("POST", f"{sim.base_url}/__sim/change",
                            {"action": "make_private", "video_id": hidden.video_id})
        assert status == 200 and json.loads(body)["privacy"] == "private"
        now = rows()
        assert gone.video_id not in now and now[kept.video_id] == "Deleted video"
        assert now[hidden.video_id] == "Private video"
        assert not any(listed(v.video_id) for v in (gone, kept, hidden))
        with pytest.raises(VideoUnplayable, match="removed by the uploader"):
            ytt.fetch(gone.video_id)
        for v in (gone, kept, hidden):
            sim.world.restore_video(v.video_id)
        assert all(listed(v.video_id) for v in (gone, kept, hidden))
        assert list(rows()) == [v.video_id for v in ch.videos]  # back in its place
        assert ytt.fetch(gone.video_id).to_raw_data() == gone.expected_segments()

        sim.change("rename_channel", channel_id=ch.channel_id, title="Renamed",
                   handle="@renamed")
        item = yt.channels().list(part="snippet", forHandle="@renamed").execute()["items"][0]
        assert item["id"] == ch.channel_id and item["snippet"]["title"] == "Renamed"
        assert not yt.channels().list(part="id", forHandle="@simchannel0").execute().get("items")
        with pytest.raises(ValueError):
            sim.change("rename_channel", channel_id=ch.channel_id, handle=other.handle)

        sim.change("close_channel", channel_id=other.channel_id)
        assert not yt.channels().list(part="id", id=other.channel_id).execute().get("items")
        with pytest.raises(HttpError) as err:
            yt.playlistItems().list(part="id", playlistId=other.uploads_playlist_id).execute()
        assert err.value.resp.status == 404
        assert not listed(other.videos[0].video_id)
        assert http("POST", f"{sim.base_url}/__sim/change", {"action": "explode"})[0] == 400
        assert http("POST", f"{sim.base_url}/__sim/change", {})[0] == 400


def _fingerprint(seed: int) -> str:
    world = SimWorld(SimConfig(seed=seed, channels=2, videos_per_channel=25))
    text = json.dumps(world.summary(), sort_keys=True)
    text += json.dumps(world.find("generated_en").expected_segments())
    return hashlib.sha256(text.encode()).hexdigest()


def test_same_seed_same_world_even_across_processes():
    assert _fingerprint(9) == _fingerprint(9)
    assert _fingerprint(9) != _fingerprint(10)
    code = ("from tests.sim.test_control import _fingerprint; print(_fingerprint(9))")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout.strip()
    assert out == _fingerprint(9)


def test_cli_serve_subprocess():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tubesensei.sim", "serve", "--port", "0", "--channels", "1",
         "--videos-per-channel", "20", "--quota", "50"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "TUBESENSEI_YOUTUBE__API_ENDPOINT=http://127.0.0.1:" in line
        base = line.split("TUBESENSEI_YOUTUBE__API_ENDPOINT=")[1].split()[0]
        assert f"TUBESENSEI_YOUTUBE__WEB_BASE_URL={base}" in line
        _, world = get_json(f"{base}/__sim/world")
        handle = world["channels"][0]["handle"]
        resp = data_api(base).channels().list(part="id", forHandle=handle).execute()
        assert resp["items"][0]["id"] == world["channels"][0]["channel_id"]
        assert get_json(f"{base}/__sim/stats")[1]["quota_per_day"] == 50
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "Traceback" not in err


def test_5000_video_channel_pages_and_details_fast():
    t0 = time.perf_counter()
    with running_simulator(SimConfig(seed=2, channel_sizes=[5000])) as sim:
        built = time.perf_counter() - t0
        ch = sim.world.channels[0]
        yt = data_api(sim.base_url)
        t1 = time.perf_counter()
        ids = [i["contentDetails"]["videoId"] for i in page_all(yt, ch.uploads_playlist_id)]
        t2 = time.perf_counter()
        details = 0
        for i in range(0, len(ids), 50):
            resp = yt.videos().list(part="snippet,contentDetails,statistics,status,"
                                    "liveStreamingDetails", id=",".join(ids[i:i + 50])
                                    ).execute()
            details += len(resp["items"])
        t3 = time.perf_counter()
    assert len(ids) == 5000 == len(set(ids))
    assert details == sum(v.is_public for v in ch.videos)
    rate = len(ids) / (t3 - t1) * 60
    print(f"\n5,000-video channel: world {built:.2f}s, paging {t2 - t1:.2f}s, "
          f"details {t3 - t2:.2f}s, total {t3 - t1:.2f}s = {rate:,.0f} videos/minute")
    assert built < 5
