import json
import socket
import ssl
from datetime import UTC, datetime

import httplib2
import pytest
from googleapiclient.errors import HttpError

from tests.youtube.fakes import Reply, elapsed, serve
from tubesensei.youtube.data_api import (
    DataApiClient,
    VideoInfo,
    derive_kind,
    map_http_error,
    map_transport_error,
    parse_iso8601_duration,
    parse_playlist_item,
    parse_video,
)
from tubesensei.youtube.errors import (
    ConfigurationError,
    NotFoundReason,
    Permanent,
    QuotaExhausted,
    Transient,
)
from tubesensei.youtube.ids import ChannelRef

SECRET = "AIzaSyTOTALLY-SECRET-KEY_123"
URI = f"https://youtube.googleapis.com/youtube/v3/channels?part=snippet&key={SECRET}&alt=json"


# -- durations and kinds --------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "seconds"),
    [("PT1H2M3S", 3723), ("P1DT2H", 93600), ("PT0S", 0), ("P0D", 0), ("PT59S", 59),
     ("PT3M", 180), ("PT3M1S", 181), ("PT15M33S", 933), ("P1W", 604800),
     ("P2DT0H0M1S", 172801), ("PT1.5S", 2), ("pt10m", 600)],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_iso8601_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "P", "PT", "1H", "P1Y", "P1M", "PT1H2", "P1DT", "garbage"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_iso8601_duration(text)


def _video(**overrides) -> VideoInfo:
    fields = dict(video_id="v" * 11, channel_id="UC" + "x" * 22, title="t", description="",
                  published_at=None, duration_s=600, view_count=None, like_count=None,
                  comment_count=None, privacy_status="public", live_broadcast_content="none",
                  scheduled_start=None, actual_start=None, actual_end=None, was_live=False)
    fields.update(overrides)
    return VideoInfo(**fields)


@pytest.mark.parametrize(
    ("overrides", "kind"),
    [
        ({}, "video"),
        ({"duration_s": 59}, "short"),
        ({"duration_s": 60}, "short"),
        ({"duration_s": 61}, "video"),  # untagged: far more ordinary videos are 1-3 min
        ({"duration_s": 150}, "video"),
        ({"duration_s": 150, "title": "look #shorts"}, "short"),
        ({"duration_s": 180, "description": "#Short"}, "short"),
        ({"duration_s": 181}, "video"),
        ({"duration_s": 90, "title": "#shortstory time"}, "video"),  # not the tag
        ({"duration_s": 181, "title": "wow #shorts"}, "video"),  # too long to be a Short
        ({"duration_s": 0, "title": "wow #Shorts"}, "short"),  # duration not known yet
        ({"duration_s": None, "description": "x #short"}, "short"),
        ({"duration_s": 0}, "video"),
        ({"live_broadcast_content": "upcoming", "duration_s": 0}, "upcoming"),
        ({"live_broadcast_content": "live", "duration_s": 0}, "live"),
        ({"was_live": True, "duration_s": 120}, "video"),  # a finished (short) stream
        ({"was_live": True, "duration_s": 7200}, "video"),
    ],
)
def test_derive_kind(overrides: dict, kind: str) -> None:
    assert derive_kind(_video(**overrides)) == kind


def test_parse_video_real_shape() -> None:
    item = {
        "kind": "youtube#video", "etag": "e", "id": "dQw4w9WgXcQ",
        "snippet": {"publishedAt": "2009-10-25T06:57:33Z", "channelId": "UCuAXFkgsw1L7xaCfnd5JJOw",
                    "title": "Never", "description": "d", "liveBroadcastContent": "none"},
        "contentDetails": {"duration": "PT3M33S"},
        "statistics": {"viewCount": "1700000000", "likeCount": "18000000",
                       "favoriteCount": "0", "commentCount": "2400000"},
        "status": {"privacyStatus": "public"},
        "liveStreamingDetails": {"actualStartTime": "2020-01-01T00:00:00.123Z",
                                 "actualEndTime": "2020-01-01T01:00:00Z"},
    }
    info = parse_video(item)
    assert info.duration_s == 213 and info.view_count == 1_700_000_000
    assert info.published_at == datetime(2009, 10, 25, 6, 57, 33, tzinfo=UTC)
    assert info.was_live and info.actual_end == datetime(2020, 1, 1, 1, tzinfo=UTC)
    item["statistics"] = {"viewCount": "5"}  # likes and comments hidden
    hidden = parse_video(item)
    assert hidden.like_count is None and hidden.comment_count is None


def test_playlist_rows_private_and_deleted_are_skipped() -> None:
    public = {"snippet": {"title": "A", "position": 0, "publishedAt": "2024-01-02T00:00:00Z",
                          "resourceId": {"kind": "youtube#video", "videoId": "aaaaaaaaaaa"}},
              "contentDetails": {"videoId": "aaaaaaaaaaa",
                                 "videoPublishedAt": "2024-01-01T00:00:00Z"},
              "status": {"privacyStatus": "public"}}
    entry, skipped = parse_playlist_item(public)
    assert skipped is None and entry.video_id == "aaaaaaaaaaa" and entry.position == 0
    assert entry.published_at == datetime(2024, 1, 1, tzinfo=UTC)
    private = {"snippet": {"title": "Private video", "description": "This video is private.",
                           "resourceId": {"videoId": "bbbbbbbbbbb"}},
               "contentDetails": {"videoId": "bbbbbbbbbbb"},
               "status": {"privacyStatus": "private"}}
    assert parse_playlist_item(private) == (None, "private")
    deleted = {"snippet": {"title": "Deleted video", "description": "This video is unavailable.",
                           "resourceId": {"videoId": "ccccccccccc"}},
               "contentDetails": {"videoId": "ccccccccccc"},
               "status": {"privacyStatus": "privacyStatusUnspecified"}}
    assert parse_playlist_item(deleted) == (None, "deleted")
    del deleted["status"]
    assert parse_playlist_item(deleted) == (None, "deleted")


# -- error mapping ----------------------------------------------------------------------------

def _http_error(status: int, body: dict | bytes) -> HttpError:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpError(httplib2.Response({"status": status}), content, uri=URI)


def _google(status: int, reason: str, message: str, domain: str = "global",
            details: list | None = None, rpc_status: str | None = None) -> dict:
    error = {"code": status, "message": message,
             "errors": [{"message": message, "domain": domain, "reason": reason}]}
    if rpc_status:
        error["status"] = rpc_status
    if details:
        error["details"] = details
    return {"error": error}


QUOTA = _google(403, "quotaExceeded", 'The request cannot be completed because you have '
                'exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
                domain="youtube.quota")
KEY_INVALID = _google(
    400, "badRequest", "API key not valid. Please pass a valid API key.",
    rpc_status="INVALID_ARGUMENT",
    details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
              "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}}])


@pytest.mark.parametrize(
    ("status", "body", "expected", "reason"),
    [
        (403, QUOTA, QuotaExhausted, None),
        (403, _google(403, "dailyLimitExceeded", "Daily Limit Exceeded", "usageLimits"),
         QuotaExhausted, None),
        (400, KEY_INVALID, ConfigurationError, None),
        (400, _google(400, "keyInvalid", "Bad Request", "usageLimits"), ConfigurationError, None),
        (403, _google(403, "forbidden", "The request is missing a valid API key.",
                      rpc_status="PERMISSION_DENIED"), ConfigurationError, None),
        (403, _google(403, "accessNotConfigured", "YouTube Data API v3 has not been used in "
                      "project 1 before or it is disabled.", "usageLimits",
                      details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                "reason": "SERVICE_DISABLED"}]), ConfigurationError, None),
        (403, _google(403, "ipRefererBlocked", "Requests from referer <empty> are blocked.",
                      "usageLimits"), ConfigurationError, None),
        (404, _google(404, "channelNotFound", "The channel identified with the request's "
                      "id parameter cannot be found.", "youtube.channel"),
         Permanent, NotFoundReason.CHANNEL_NOT_FOUND),
        (404, _google(404, "playlistNotFound", "The playlist identified with the request's "
                      "playlistId parameter cannot be found.", "youtube.playlistItem"),
         Permanent, NotFoundReason.PLAYLIST_NOT_FOUND),
        (404, _google(404, "videoNotFound", "The video cannot be found.", "youtube.video"),
         Permanent, NotFoundReason.VIDEO_NOT_FOUND),
        (404, b"Not Found", Permanent, NotFoundReason.PLAYLIST_NOT_FOUND),
        (403, _google(403, "rateLimitExceeded", "Rate limit exceeded", "youtube.quota"),
         Transient, None),
        (403, _google(403, "userRateLimitExceeded", "User rate limit", "usageLimits"),
         Transient, None),
        (429, _google(429, "rateLimitExceeded", "Too many", rpc_status="RESOURCE_EXHAUSTED"),
         Transient, None),
        (429, b"", Transient, None),
        (500, _google(500, "backendError", "Backend Error"), Transient, None),
        (503, b"<html>Service Unavailable</html>", Transient, None),
        (400, b"\xff\xfe not json", Transient, None),
    ],
)
def test_map_http_error(status, body, expected, reason) -> None:
    now = datetime(2024, 7, 4, 12, 0, tzinfo=UTC)
    error = map_http_error(_http_error(status, body), "playlistItems.list", api_key=SECRET,
                           now=now)
    assert type(error) is expected
    assert SECRET not in str(error) and "key=" not in str(error)
    if reason:
        assert error.reason == reason
    if expected is QuotaExhausted:
        assert error.resets_at == datetime(2024, 7, 5, 7, 0, tzinfo=UTC)


def test_key_scrubbed_even_if_google_echoes_it() -> None:
    body = _google(400, "badRequest", f"Bad key {SECRET} in https://x/?key={SECRET}&a=1",
                   details=[{"reason": "API_KEY_INVALID"}])
    err = _http_error(400, body)
    assert SECRET in str(err)  # the library itself leaks it: never use str(HttpError)
    mapped = map_http_error(err, "channels.list", api_key=SECRET)
    assert isinstance(mapped, ConfigurationError)
    assert SECRET not in str(mapped)


@pytest.mark.parametrize(
    "exc",
    [TimeoutError("timed out"), TimeoutError(), ConnectionResetError(104, "reset"),
     ConnectionRefusedError(111, "refused"), httplib2.ServerNotFoundError("nope"),
     ssl.SSLError("bad handshake"), OSError(113, "No route to host"), ValueError("garbage")],
)
def test_map_transport_error(exc) -> None:
    mapped = map_transport_error(exc, "videos.list", 5.0, SECRET)
    assert isinstance(mapped, Transient)


# -- the client against a local server --------------------------------------------------------

def _channel_item(channel_id: str = "UC" + "a" * 22) -> dict:
    return {"kind": "youtube#channel", "id": channel_id,
            "snippet": {"title": "Chan", "description": "About", "customUrl": "@chan",
                        "publishedAt": "2015-01-01T00:00:00Z", "country": "DE",
                        "thumbnails": {"default": {"url": "d"}, "high": {"url": "h"}}},
            "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + "a" * 22}},
            "statistics": {"viewCount": "10", "subscriberCount": "0",
                           "hiddenSubscriberCount": True, "videoCount": "3"}}


def _json(body: dict, status: int = 200) -> Reply:
    return Reply(status, json.dumps(body), {"Content-Type": "application/json; charset=UTF-8"})


@pytest.mark.parametrize("suffix", ["", "/", "/youtube/v3", "/youtube/v3/"])
def test_endpoint_forms_and_request_shape(suffix: str) -> None:
    units: list[tuple[str, int]] = []
    with serve(lambda seen: _json({"kind": "youtube#channelListResponse",
                                   "items": [_channel_item()]})) as server:
        client = DataApiClient(SECRET, server.url + suffix, timeout=5,
                               on_units=lambda m, u: units.append((m, u)))
        info = client.resolve_channel(ChannelRef("handle", "chan"))
    seen = server.seen[0]
    assert seen.route == "/youtube/v3/channels"
    assert seen.query["forHandle"] == ["chan"]
    assert seen.query["part"] == ["snippet,contentDetails,statistics"]
    assert seen.query["key"] == [SECRET]
    assert info.handle == "chan" and info.uploads_playlist_id == "UU" + "a" * 22
    assert info.subscriber_count is None and info.video_count == 3
    assert info.thumbnail_url == "h" and info.country == "DE"
    assert units == [("channels.list", 1)]


def test_endpoint_with_path_prefix() -> None:
    with serve(lambda seen: _json({"items": [_channel_item()]})) as server:
        DataApiClient(SECRET, server.url + "/proxy/").resolve_channel(ChannelRef("id", "UC" + "a" * 22))
    assert server.seen[0].route == "/proxy/youtube/v3/channels"


def test_no_items_is_channel_not_found_and_still_costs() -> None:
    units = []
    with serve(lambda seen: _json({"kind": "youtube#channelListResponse",
                                   "pageInfo": {"totalResults": 0, "resultsPerPage": 5}})) as s:
        client = DataApiClient(SECRET, s.url, on_units=lambda m, u: units.append(u))
        with pytest.raises(Permanent) as caught:
            client.resolve_channel(ChannelRef("handle", "foo"))
    assert caught.value.reason == NotFoundReason.CHANNEL_NOT_FOUND
    assert str(caught.value) == "no YouTube channel @foo"
    assert units == [1]


def test_http_errors_are_charged_and_key_never_leaks() -> None:
    units = []
    with serve(lambda seen: _json(KEY_INVALID, 400)) as server:
        client = DataApiClient(SECRET, server.url, on_units=lambda m, u: units.append(u))
        with pytest.raises(ConfigurationError) as caught:
            client.videos_details(["aaaaaaaaaaa"])
    assert SECRET not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert units == [1]


def test_stalled_server_is_transient_within_timeout() -> None:
    with serve(lambda seen: Reply(200, "{}", stall=10)) as server:
        client = DataApiClient(SECRET, server.url, timeout=0.5)
        took, error = elapsed(lambda: client.videos_details(["aaaaaaaaaaa"]))
    assert isinstance(error, Transient), error
    assert took < 3


def test_refused_connection_is_transient_and_not_charged() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    units = []
    client = DataApiClient(SECRET, f"http://127.0.0.1:{port}", timeout=2,
                           on_units=lambda m, u: units.append(u))
    with pytest.raises(Transient):
        client.videos_details(["aaaaaaaaaaa"])
    assert units == []


def test_garbage_200_body_is_transient() -> None:
    with serve(lambda seen: Reply(200, "<html>captive portal</html>")) as server, \
            pytest.raises(Transient):
        DataApiClient(SECRET, server.url).videos_details(["aaaaaaaaaaa"])


def test_missing_key_is_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        DataApiClient("")


def test_repr_hides_key() -> None:
    assert SECRET not in repr(DataApiClient(SECRET, "http://127.0.0.1:1"))
