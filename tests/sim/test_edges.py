"""Less common Data API paths, control endpoints and knob validation."""

from __future__ import annotations

import pytest
from googleapiclient.errors import HttpError

from tubesensei.sim import SimConfig, running_simulator
from tubesensei.sim.config import Faults
from tubesensei.sim.data_api import playlist_token, search_token
from tubesensei.sim.resources import iso_duration
from tubesensei.sim.world import SimWorld

from .helpers import get_json, http, page_all


def _reason(exc: HttpError) -> str:
    import json

    return json.loads(exc.content)["error"]["errors"][0]["reason"]


def test_tokens_match_youtube_encoding():
    assert playlist_token(50) == "EAAaBlBUOkNESQ"
    assert playlist_token(50, backwards=True) == "EAEaBlBUOkNESQ"
    assert search_token(5) == "CAUQAA"


def test_iso_durations():
    assert iso_duration(0) == "P0D"
    assert iso_duration(253) == "PT4M13S"
    assert iso_duration(3600) == "PT1H"
    assert iso_duration(90061) == "P1DT1H1M1S"


def test_filtered_upload_playlists(sim, yt):
    ch = sim.world.channels[0]
    tail = ch.channel_id[2:]
    shorts = page_all(yt, "UUSH" + tail, "contentDetails")
    assert {i["contentDetails"]["videoId"] for i in shorts} == {
        v.video_id for v in ch.videos if v.kind == "short"}
    live = {i["contentDetails"]["videoId"] for i in page_all(yt, "UULV" + tail, "id,contentDetails")}
    assert live == {v.video_id for v in ch.videos
                    if v.case in ("live", "upcoming", "finished_live")}
    longform = page_all(yt, "UULF" + tail, "contentDetails")
    assert len(longform) + len(shorts) + len(live) == len(ch.videos)
    with pytest.raises(HttpError) as exc:
        yt.playlistItems().list(part="id", playlistId="PLnot-an-uploads-list").execute()
    assert exc.value.resp.status == 404


def test_playlist_item_filters(sim, yt):
    ch = sim.world.channels[0]
    target = ch.videos[3]
    one = yt.playlistItems().list(part="snippet", playlistId=ch.uploads_playlist_id,
                                  videoId=target.video_id).execute()
    assert [i["snippet"]["resourceId"]["videoId"] for i in one["items"]] == [target.video_id]
    assert one["items"][0]["snippet"]["position"] == 3
    by_id = yt.playlistItems().list(part="contentDetails", id=one["items"][0]["id"]).execute()
    assert by_id["items"][0]["contentDetails"]["videoId"] == target.video_id
    assert yt.playlistItems().list(part="id", id="bm9wZQ==").execute()["items"] == []
    assert yt.playlistItems().list(part="id", id="%%%").execute()["items"] == []
    for kwargs, reason in (({}, "missingRequiredParameter"),
                           ({"id": "x", "playlistId": "y"}, "incompatibleParameters")):
        with pytest.raises(HttpError) as exc:
            yt.playlistItems().list(part="id", **kwargs).execute()
        assert _reason(exc.value) == reason


def test_videos_list_filters(sim, yt):
    popular = yt.videos().list(part="statistics", chart="mostPopular", maxResults=10).execute()
    views = [int(i["statistics"]["viewCount"]) for i in popular["items"]]
    assert views == sorted(views, reverse=True) and len(views) == 10
    nxt = yt.videos().list(part="id", chart="mostPopular", maxResults=10,
                           pageToken=popular["nextPageToken"]).execute()
    assert not {i["id"] for i in nxt["items"]} & {i["id"] for i in popular["items"]}
    with pytest.raises(HttpError) as exc:
        yt.videos().list(part="id", myRating="like").execute()
    assert exc.value.resp.status == 401
    for kwargs, reason in (({}, "missingRequiredParameter"),
                           ({"id": "x", "chart": "mostPopular"}, "incompatibleParameters")):
        with pytest.raises(HttpError) as exc:
            yt.videos().list(part="id", **kwargs).execute()
        assert _reason(exc.value) == reason
    with pytest.raises(HttpError) as exc:
        yt.channels().list(part="id", id="x", forHandle="y").execute()
    assert _reason(exc.value) == "incompatibleParameters"


def test_search_variants(sim, yt):
    ch = sim.world.channels[0]
    first = yt.search().list(part="snippet", channelId=ch.channel_id, type="video",
                             maxResults=5, order="viewCount").execute()
    second = yt.search().list(part="snippet", channelId=ch.channel_id, type="video",
                              maxResults=5, order="viewCount",
                              pageToken=first["nextPageToken"]).execute()
    assert second["prevPageToken"] and first["regionCode"] == "US"
    assert not {i["id"]["videoId"] for i in first["items"]} & {
        i["id"]["videoId"] for i in second["items"]}
    live = yt.search().list(part="snippet", type="video", eventType="live").execute()
    assert all(i["snippet"]["liveBroadcastContent"] == "live" for i in live["items"])
    assert live["items"]
    dated = yt.search().list(part="id", type="video", publishedAfter="2099-01-01T00:00:00Z"
                             ).execute()
    assert dated["items"] == [] and dated["pageInfo"]["totalResults"] == 0
    status, body = get_json(f"{sim.base_url}/youtube/v3/search?part=id&eventType=live&key=k")
    assert status == 400
    status, body = get_json(f"{sim.base_url}/youtube/v3/search?part=id&key=k"
                            "&publishedBefore=yesterday")
    assert body["error"]["errors"][0]["location"] == "publishedBefore"
    status, _ = get_json(f"{sim.base_url}/youtube/v3/search?part=id&key=k&pageToken=CAUQ")
    assert status == 400


def test_protocol_odds_and_ends(sim):
    base = sim.base_url
    status, body = get_json(f"{base}/youtube/v3/channels?forHandle=x&key=k")
    assert status == 400 and body["error"]["errors"][0]["reason"] == "required"
    status, body = get_json(f"{base}/youtube/v3/channels?part=id&forHandle=@simchannel0")
    assert status == 403
    status, _ = http("GET", f"{base}/youtube/v3/channels?part=id&forHandle=@simchannel0",
                     headers={"Authorization": "Bearer token"})
    assert status == 200
    status, _ = http("GET", f"{base}/youtube/v3/channels?part=id&forHandle=@simchannel0",
                     headers={"X-Goog-Api-Key": "k"})
    assert status == 200
    assert get_json(f"{base}/youtube/v3/channels?part=id&forHandle=x&maxResults=ten&key=k"
                    )[0] == 400
    assert http("POST", f"{base}/youtube/v3/channels?part=id&key=k", {})[0] == 405
    assert http("GET", f"{base}/nothing-here")[0] == 404
    assert http("GET", f"{base}/youtubei/v1/player")[0] == 405
    assert http("POST", f"{base}/youtubei/v1/player?key=wrong", {"videoId": "x"})[0] == 400
    assert http("POST", f"{base}/youtubei/v1/player", {"video": "x"})[0] == 400
    v = sim.world.find("manual_en")
    assert http("GET", f"{base}/api/timedtext?v=AAAAAAAAAAA&lang=en")[0] == 404
    assert http("GET", f"{base}/api/timedtext?v={v.video_id}&lang=en")[0] == 403


def test_control_endpoints(sim):
    base = sim.base_url
    assert http("GET", f"{base}/__sim/nope")[0] == 404
    assert http("POST", f"{base}/__sim/make_public", {"video_id": "nope"})[0] == 400
    world = get_json(f"{base}/__sim/world")[1]
    assert world["seed"] == 7 and len(world["channels"]) == 2
    v = next(v for v in world["channels"][0]["videos"] if v["case"] == "manual_en")
    assert v["unavailable_reason"] is None and ["en", False] in v["tracks"]


def test_control_mutations_over_http():
    with running_simulator(SimConfig(seed=8, channels=1, videos_per_channel=20)) as sim:
        base = sim.base_url
        private = sim.world.find("private")
        status, _ = http("POST", f"{base}/__sim/make_public", {"video_id": private.video_id})
        assert status == 200 and sim.world.video(private.video_id).is_public
        up = sim.world.find("upcoming")
        assert http("POST", f"{base}/__sim/finish_stream", {"video_id": up.video_id})[0] == 200
        assert sim.world.video(up.video_id).case == "finished_live"
        with pytest.raises(ValueError):
            sim.finish_stream(up.video_id)
        with pytest.raises(ValueError):
            sim.make_public(up.video_id)
        with pytest.raises(ValueError):
            sim.add_upload(sim.world.channels[0].channel_id, case="nonsense")


def test_world_helpers_and_config():
    world = SimWorld(SimConfig(seed=4, channels=1, videos_per_channel=5, extra_channels=[30]))
    assert [len(ch.videos) for ch in world.channels] == [5, 30]
    assert len(world.videos) == 35
    with pytest.raises(ValueError):
        world.videos_by_case("bogus")
    assert world.channel_by_username("simchannel1") is world.channels[1]
    assert world.get_video("missing") is None and world.get_channel("missing") is None
    v = world.find("generated_en", world.channels[1].channel_id)
    assert v.unavailable_reason is None and not v.has_manual_captions
    with pytest.raises(LookupError):
        v.segments("xx")
    assert world.find("no_english").unavailable_reason == "no_transcript_in_language"

    f = Faults()
    f.update(blocked="yes", valid_api_keys="one", quota_per_day="7", latency_ms=1)
    assert f.blocked is True and f.valid_api_keys == ["one"] and f.quota_per_day == 7
    f.update(valid_api_keys=None, quota_per_day=None)
    assert f.valid_api_keys is None and f.quota_per_day is None
    for bad in ({"latency_ms": -1}, {"blocked_variant": "nope"}, {"timeout_rate": 2},
                {"nope": 1}):
        with pytest.raises(ValueError):
            f.update(**bad)
