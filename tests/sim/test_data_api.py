"""The Data API side, driven through the real google-api-python-client."""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from googleapiclient.errors import HttpError

from tubesensei.sim import SimConfig, running_simulator

from .helpers import data_api, get_json, http, page_all


def _error(exc: HttpError) -> dict:
    return json.loads(exc.content)["error"]


def test_api_endpoint_override_lands_on_youtube_v3_paths(sim, yt):
    yt.channels().list(part="id", id=sim.world.channels[0].channel_id).execute()
    log = sim.stats()["request_log"]
    assert log[-1]["path"].startswith("/youtube/v3/channels?")
    assert "key=REDACTED" in log[-1]["path"]


def test_resolve_by_handle_id_and_username(sim, yt):
    ch = sim.world.channels[1]
    for handle in ("@simchannel1", "simchannel1", "@SimChannel1", "SIMCHANNEL1"):
        resp = yt.channels().list(part="snippet,contentDetails,statistics",
                                  forHandle=handle).execute()
        assert [i["id"] for i in resp["items"]] == [ch.channel_id], handle
    item = resp["items"][0]
    assert item["kind"] == "youtube#channel"
    assert item["snippet"]["customUrl"] == "@simchannel1"
    assert item["snippet"]["title"] == ch.title
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == ch.uploads_playlist_id
    assert ch.uploads_playlist_id == "UU" + ch.channel_id[2:]
    public = [v for v in ch.videos if v.is_public]
    assert item["statistics"]["videoCount"] == str(len(public))
    assert "status" not in item  # only requested parts

    by_id = yt.channels().list(part="snippet", id=ch.channel_id).execute()
    assert by_id["items"][0]["id"] == ch.channel_id
    assert set(by_id["items"][0]) == {"kind", "etag", "id", "snippet"}
    by_user = yt.channels().list(part="id", forUsername=ch.username.lower()).execute()
    assert by_user["items"][0]["id"] == ch.channel_id
    both = yt.channels().list(part="id", id=[c.channel_id for c in sim.world.channels]).execute()
    assert len(both["items"]) == 2


def test_ids_look_real(sim):
    for ch in sim.world.channels:
        assert re.fullmatch(r"UC[A-Za-z0-9_-]{21}[AQgw]", ch.channel_id)
        for v in ch.videos:
            assert re.fullmatch(r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]", v.video_id)


def test_unknown_channel_has_no_items_key(yt):
    for kwargs in ({"forHandle": "@nobody-here"}, {"id": "UCxxxxxxxxxxxxxxxxxxxxxx"},
                   {"forUsername": "nobody"}):
        resp = yt.channels().list(part="snippet", **kwargs).execute()
        assert "items" not in resp
        assert resp["pageInfo"]["totalResults"] == 0
        assert resp["kind"] == "youtube#channelListResponse"


def test_channels_filter_errors(sim, yt):
    with pytest.raises(HttpError) as exc:
        yt.channels().list(part="snippet").execute()
    assert exc.value.resp.status == 400
    assert _error(exc.value)["errors"][0]["reason"] == "missingRequiredParameter"
    with pytest.raises(HttpError) as exc:
        yt.channels().list(part="snippet", mine=True).execute()
    assert exc.value.resp.status == 401
    with pytest.raises(HttpError) as exc:
        yt.channels().list(part="snippet,bogus", forHandle="@simchannel0").execute()
    assert _error(exc.value)["errors"][0]["reason"] == "unknownPart"


def test_page_1000_video_channel_completely():
    with running_simulator(SimConfig(seed=11, channel_sizes=[1000])) as sim:
        ch = sim.world.channels[0]
        items = page_all(data_api(sim.base_url), ch.uploads_playlist_id)
        ids = [i["contentDetails"]["videoId"] for i in items]
        assert len(ids) == 1000 and len(set(ids)) == 1000
        assert ids == [v.video_id for v in ch.videos]  # newest first
        assert [i["snippet"]["position"] for i in items] == list(range(1000))
        stats = sim.stats()
        assert stats["requests"]["playlistItems.list"] == 20
        assert stats["quota_units_used"] == 20

    by_id = {i["contentDetails"]["videoId"]: i for i in items}
    deleted = by_id[next(v.video_id for v in ch.videos if v.case == "deleted")]
    assert deleted["snippet"]["title"] == "Deleted video"
    assert deleted["status"]["privacyStatus"] == "privacyStatusUnspecified"
    assert "videoPublishedAt" not in deleted["contentDetails"]
    assert "videoOwnerChannelId" not in deleted["snippet"]
    private = by_id[next(v.video_id for v in ch.videos if v.case == "private")]
    assert private["snippet"]["title"] == "Private video"
    assert private["status"]["privacyStatus"] == "private"
    public = by_id[next(v.video_id for v in ch.videos if v.case == "manual_en")]
    assert public["snippet"]["videoOwnerChannelId"] == ch.channel_id
    assert public["snippet"]["resourceId"]["kind"] == "youtube#video"
    assert public["snippet"]["playlistId"] == ch.uploads_playlist_id
    assert public["contentDetails"]["videoPublishedAt"].endswith("Z")


def test_playlist_paging_tokens_and_parts(sim, yt):
    ch = sim.world.channels[0]
    first = yt.playlistItems().list(part="contentDetails", playlistId=ch.uploads_playlist_id
                                    ).execute()
    assert len(first["items"]) == 5  # maxResults defaults to 5
    assert first["pageInfo"] == {"totalResults": 60, "resultsPerPage": 5}
    assert "prevPageToken" not in first
    assert set(first["items"][0]) == {"kind", "etag", "id", "contentDetails"}
    second = yt.playlistItems().list(part="contentDetails", playlistId=ch.uploads_playlist_id,
                                     pageToken=first["nextPageToken"]).execute()
    back = yt.playlistItems().list(part="contentDetails", playlistId=ch.uploads_playlist_id,
                                   pageToken=second["prevPageToken"]).execute()
    assert back["items"] == first["items"]
    assert first["nextPageToken"] == "EAAaBlBUOkNBVQ"  # same encoding as YouTube's
    with pytest.raises(HttpError) as exc:
        yt.playlistItems().list(part="id", playlistId=ch.uploads_playlist_id,
                                pageToken="garbage!").execute()
    assert _error(exc.value)["errors"][0]["reason"] == "invalidPageToken"


def test_unknown_playlist_is_404_playlist_not_found(yt):
    with pytest.raises(HttpError) as exc:
        yt.playlistItems().list(part="snippet", playlistId="UUxxxxxxxxxxxxxxxxxxxxxx").execute()
    assert exc.value.resp.status == 404
    err = _error(exc.value)
    assert err["errors"][0]["reason"] == "playlistNotFound"
    assert err["errors"][0]["domain"] == "youtube.playlistItem"


def test_max_results_over_50_is_400(sim):
    pid = sim.world.channels[0].uploads_playlist_id
    status, body = get_json(f"{sim.base_url}/youtube/v3/playlistItems?part=id&playlistId={pid}"
                            "&maxResults=51&key=k")
    assert status == 400
    assert body["error"]["errors"][0]["reason"] == "invalidParameter"
    assert body["error"]["errors"][0]["location"] == "maxResults"


def test_videos_list_batching(sim, yt):
    ch = sim.world.channels[0]
    ids = [v.video_id for v in ch.videos[:50]]
    resp = yt.videos().list(part="snippet,contentDetails,statistics,status,liveStreamingDetails",
                            id=",".join(ids)).execute()
    public = [v.video_id for v in ch.videos[:50] if v.is_public]
    assert [i["id"] for i in resp["items"]] == public  # private/deleted silently absent
    assert resp["pageInfo"]["totalResults"] == len(public)
    as_list = yt.videos().list(part="id", id=ids).execute()  # repeated id= parameters
    assert [i["id"] for i in as_list["items"]] == public
    with pytest.raises(HttpError) as exc:
        yt.videos().list(part="id", id=",".join([*ids, ch.videos[50].video_id])).execute()
    assert exc.value.resp.status == 400
    empty = yt.videos().list(part="snippet", id="AAAAAAAAAAA").execute()
    assert empty["items"] == []


def test_video_details_per_case(sim, yt):
    w = sim.world
    cases = ["manual_en", "generated_en", "short", "live", "upcoming", "finished_live",
             "age_restricted", "no_english"]
    vids = {c: w.find(c) for c in cases}
    resp = yt.videos().list(part="snippet,contentDetails,statistics,status,liveStreamingDetails",
                            id=[v.video_id for v in vids.values()]).execute()
    got = {i["id"]: i for i in resp["items"]}
    manual, gen = got[vids["manual_en"].video_id], got[vids["generated_en"].video_id]
    assert manual["contentDetails"]["caption"] == "true"
    assert gen["contentDetails"]["caption"] == "false"
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", manual["contentDetails"]["duration"])
    assert manual["snippet"]["liveBroadcastContent"] == "none"
    assert "liveStreamingDetails" not in manual
    assert isinstance(manual["statistics"]["viewCount"], str)
    short = got[vids["short"].video_id]
    secs = int(re.fullmatch(r"PT(?:(\d+)M)?(?:(\d+)S)?", short["contentDetails"]["duration"])
               .group(2) or 0)
    assert vids["short"].duration_s <= 60 and secs <= 60
    live = got[vids["live"].video_id]
    assert live["snippet"]["liveBroadcastContent"] == "live"
    assert live["contentDetails"]["duration"] == "P0D"
    assert "actualStartTime" in live["liveStreamingDetails"]
    assert "actualEndTime" not in live["liveStreamingDetails"]
    up = got[vids["upcoming"].video_id]
    assert up["snippet"]["liveBroadcastContent"] == "upcoming"
    assert up["contentDetails"]["duration"] == "P0D"
    assert set(up["liveStreamingDetails"]) >= {"scheduledStartTime"}
    done = got[vids["finished_live"].video_id]
    assert done["snippet"]["liveBroadcastContent"] == "none"
    assert {"actualStartTime", "actualEndTime"} <= set(done["liveStreamingDetails"])
    age = got[vids["age_restricted"].video_id]
    assert age["contentDetails"]["contentRating"] == {"ytRating": "ytAgeRestricted"}
    no_en = vids["no_english"]
    audio = got[no_en.video_id]["snippet"]["defaultAudioLanguage"]
    assert audio != "en" and no_en.track(audio, generated=True) is not None


def test_search_channels_costs_100(sim, yt):
    ch = sim.world.channels[1]
    resp = yt.search().list(part="snippet", type="channel", q=ch.title).execute()
    first = resp["items"][0]
    assert first["id"] == {"kind": "youtube#channel", "channelId": ch.channel_id}
    assert first["snippet"]["title"] == ch.title
    assert resp["kind"] == "youtube#searchListResponse"
    assert sim.stats()["quota_units_used"] == 100
    videos = yt.search().list(part="id", type="video", channelId=ch.channel_id,
                              maxResults=50).execute()
    assert all(i["id"]["kind"] == "youtube#video" for i in videos["items"])
    assert all("snippet" not in i for i in videos["items"])


def test_missing_key_is_403_forbidden(sim):
    status, body = get_json(f"{sim.base_url}/youtube/v3/channels?part=id&forHandle=x")
    assert status == 403
    assert body["error"]["message"] == "The request is missing a valid API key."
    assert body["error"]["errors"][0]["reason"] == "forbidden"
    assert body["error"]["status"] == "PERMISSION_DENIED"


def test_invalid_key_body(sim):
    sim.set_faults(valid_api_keys=["good-key"])
    assert data_api(sim.base_url, "good-key").channels().list(
        part="id", forHandle="@simchannel0").execute()["items"]
    with pytest.raises(HttpError) as exc:
        data_api(sim.base_url, "bad-key").channels().list(
            part="id", forHandle="@simchannel0").execute()
    assert exc.value.resp.status == 400
    err = _error(exc.value)
    assert err["message"] == "API key not valid. Please pass a valid API key."
    assert err["errors"][0]["reason"] == "badRequest"
    assert err["status"] == "INVALID_ARGUMENT"
    assert err["details"][0] == {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
        "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}


def test_quota_exhaustion(sim, yt):
    sim.set_faults(quota_per_day=3)
    handle = "@simchannel0"
    for _ in range(3):
        yt.channels().list(part="id", forHandle=handle).execute()
    with pytest.raises(HttpError) as exc:
        yt.channels().list(part="id", forHandle=handle).execute()
    assert exc.value.resp.status == 403
    err = _error(exc.value)
    assert err["errors"][0] == {
        "message": "The request cannot be completed because you have exceeded your "
                   '<a href="/youtube/v3/getting-started#quota">quota</a>.',
        "domain": "youtube.quota", "reason": "quotaExceeded"}
    assert b"\\u003ca href" in exc.value.content  # escaped like Google's front end
    assert sim.stats()["quota_units_used"] == 3
    sim.set_faults(quota_per_day=102)
    with pytest.raises(HttpError):  # search needs 100 units, 99 are left
        yt.search().list(part="id", q="x", type="channel").execute()
    sim.reset_stats()
    assert yt.channels().list(part="id", forHandle=handle).execute()["items"]


def test_injected_5xx(sim, yt):
    sim.set_faults(error_rate=1.0)
    codes = set()
    for _ in range(12):
        with pytest.raises(HttpError) as exc:
            yt.channels().list(part="id", forHandle="@simchannel0").execute()
        codes.add(exc.value.resp.status)
        assert _error(exc.value)["errors"][0]["reason"] == "backendError"
    assert codes == {500, 503}
    stats = sim.stats()
    assert stats["errors_injected"] == 12 and stats["quota_units_used"] == 0
    sim.set_faults(error_rate=0.3)
    outcomes = []
    for _ in range(60):
        try:
            yt.channels().list(part="id", forHandle="@simchannel0").execute()
            outcomes.append(True)
        except HttpError:
            outcomes.append(False)
    assert 5 < outcomes.count(False) < 40


def test_latency_and_stall(sim):
    sim.set_faults(latency_ms=80)
    t0 = time.perf_counter()
    status, _ = http("GET", f"{sim.base_url}/youtube/v3/channels?part=id&forHandle=x&key=k")
    assert status == 200 and time.perf_counter() - t0 >= 0.08
    sim.set_faults(latency_ms=0, timeout_rate=1.0, stall_seconds=1.5)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{sim.base_url}/watch?v=x", timeout=0.3)
    assert sim.stats()["stalls_injected"] == 1
    deadline = time.monotonic() + 5
    while sim.stats()["requests"]["watch"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the stalled request still gets its answer, late
    assert sim.stats()["requests"]["watch"] == 1
