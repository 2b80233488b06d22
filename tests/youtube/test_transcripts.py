import logging

import pytest
import structlog
from youtube_transcript_api import (
    InvalidVideoId,
    IpBlocked,
    NoTranscriptFound,
    RequestBlocked,
    YouTubeRequestFailed,
)
from youtube_transcript_api.proxies import GenericProxyConfig, WebshareProxyConfig

from tests.youtube.fakes import Reply, elapsed, serve
from tests.youtube.webfake import Video, WebFake, asset, player_json
from tubesensei.youtube.errors import Blocked, Permanent, Transient, UnavailableReason
from tubesensei.youtube.transcripts import (
    TranscriptClient,
    build_proxy_config,
    classify_error,
    scrub,
)

PLAYER = {name: Reply(200, asset(f"youtube_{name}.innertube.json.static")) for name in (
    "transcripts_disabled", "transcripts_disabled2", "age_restricted", "unplayable",
    "video_unavailable", "request_blocked", "po_token_required")}


@pytest.fixture
def web():
    videos = {
        "disabled001": Video(player=PLAYER["transcripts_disabled"]),
        "disabled002": Video(player=PLAYER["transcripts_disabled2"]),
        "agerestrict": Video(player=PLAYER["age_restricted"]),
        "unplayable1": Video(player=PLAYER["unplayable"]),
        "unavailable": Video(player=PLAYER["video_unavailable"]),
        "botcheck001": Video(player=PLAYER["request_blocked"]),
        "potoken0001": Video(player=PLAYER["po_token_required"]),
        "recaptcha01": Video(watch=Reply(200, asset("youtube_too_many_requests.html.static"))),
        "http4290001": Video(watch=Reply(429, "slow down", {"Retry-After": "120"})),
        "http5000001": Video(watch=Reply(500, "oops")),
        "player50301": Video(player=Reply(503, "unavailable")),
        "caption4291": Video(player=Reply(200, player_json([("en", False)], "caption4291")),
                             timedtext=Reply(429, "")),
        "emptycapti1": Video(player=Reply(200, player_json([("en", False)], "emptycapti1")),
                             timedtext=Reply(200, "")),
        "garbageplay": Video(player=Reply(200, "<html>not json</html>")),
        "consentok01": Video(needs_consent=True),
        "consentbad1": Video(watch=Reply(200, asset("youtube_consent_page_invalid.html.static"))),
        "stalled0001": Video(watch=Reply(200, "", stall=10)),
        "generatedEN": Video(player=Reply(200, player_json([("en", True), ("de", False)],
                                                          "generatedEN"))),
        "regionalEN1": Video(player=Reply(200, player_json([("en-GB", False), ("en", True)],
                                                          "regionalEN1"))),
        "onlyfrench1": Video(player=Reply(200, player_json([("fr", True)], "onlyfrench1"))),
    }
    with serve(WebFake(videos)) as server:
        yield server


def client(server, **kwargs) -> TranscriptClient:
    kwargs.setdefault("timeout", (2.0, 2.0))
    return TranscriptClient(web_base_url=server.url, **kwargs)


def test_fetch_prefers_manual_in_language_order(web) -> None:
    result = client(web, languages=("de", "en")).fetch("GJLlxj_dtq8")
    assert (result.language_code, result.is_generated, result.translated_from) == ("de", False,
                                                                                   None)
    assert result.video_id == "GJLlxj_dtq8"
    assert result.segments == [(0.0, 1.54, "Hey, this is just a test"),
                               (1.54, 4.16, "this is not the original transcript"),
                               (5.7, 3.239, "just something shorter, I made up for testing")]
    timedtext = [s for s in web.seen if s.route == "/api/timedtext"]
    assert timedtext[-1].query["lang"] == ["de"]
    assert "fmt" not in timedtext[-1].query  # the library strips &fmt=srv3


def test_manual_before_generated_across_languages(web) -> None:
    result = client(web, languages=("en", "de")).fetch("generatedEN")
    assert (result.language_code, result.is_generated) == ("de", False)
    result = client(web, languages=("en",)).fetch("generatedEN")
    assert (result.language_code, result.is_generated) == ("en", True)


def test_regional_variant_accepted(web) -> None:
    result = client(web, languages=("en",)).fetch("regionalEN1")
    assert (result.language_code, result.is_generated) == ("en-GB", False)


def test_no_transcript_in_language_lists_available(web) -> None:
    with pytest.raises(Permanent) as caught:
        client(web, languages=("en", "de")).fetch("onlyfrench1")
    assert caught.value.reason == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE
    assert "fr (generated)" in str(caught.value) and "en, de" in str(caught.value)


def test_translation_when_allowed(web) -> None:
    result = client(web, languages=("nl",), allow_translation=True).fetch("onlyfrench1")
    assert (result.language_code, result.translated_from, result.is_generated) == ("nl", "fr",
                                                                                   True)
    assert web.seen[-1].query["tlang"] == ["nl"]


@pytest.mark.parametrize(
    ("video_id", "reason"),
    [("disabled001", UnavailableReason.TRANSCRIPTS_DISABLED),
     ("disabled002", UnavailableReason.TRANSCRIPTS_DISABLED),
     ("agerestrict", UnavailableReason.AGE_RESTRICTED),
     ("unplayable1", UnavailableReason.UNPLAYABLE),
     ("unavailable", UnavailableReason.VIDEO_UNAVAILABLE),
     ("potoken0001", UnavailableReason.PO_TOKEN_REQUIRED)],
)
def test_permanent_cases(web, video_id: str, reason: str) -> None:
    with pytest.raises(Permanent) as caught:
        client(web, languages=("en",)).fetch(video_id)
    assert caught.value.reason == reason


@pytest.mark.parametrize("video_id", ["botcheck001", "recaptcha01", "http4290001",
                                      "caption4291"])
def test_blocked_cases(web, video_id: str) -> None:
    tc = client(web)
    with pytest.raises(Blocked):
        tc.fetch(video_id)
    assert tc._api is None  # a fresh session next time


@pytest.mark.parametrize("video_id", ["http5000001", "player50301", "emptycapti1", "garbageplay",
                                      "consentbad1"])
def test_transient_cases_reset_the_session(web, video_id: str) -> None:
    tc = client(web)
    tc.fetch("GJLlxj_dtq8")
    first_session = tc._session
    with pytest.raises(Transient):
        tc.fetch(video_id)
    assert tc._api is None and tc._session is None
    tc.fetch("GJLlxj_dtq8")
    assert tc._session is not first_session


def test_consent_cookie_works_through_rewriting(web) -> None:
    result = client(web).fetch("consentok01")
    assert result.language_code == "en"
    watches = [s for s in web.seen if s.route == "/watch"]
    assert len(watches) == 2 and "CONSENT=YES+cb.20210328-17-p0.de+FX+119" in \
        watches[1].headers["Cookie"]


def test_stall_is_transient_within_timeout(web) -> None:
    tc = client(web, timeout=(1.0, 0.5))
    took, error = elapsed(lambda: tc.fetch("stalled0001"))
    assert isinstance(error, Transient), error
    assert took < 2.5


def test_classify_library_edge_cases() -> None:
    assert classify_error(InvalidVideoId("https://x"), "https://x").reason == \
        UnavailableReason.VIDEO_UNAVAILABLE
    assert isinstance(classify_error(IpBlocked("v"), "v"), Blocked)
    assert isinstance(classify_error(RequestBlocked("v"), "v"), Blocked)
    no_transcript = classify_error(NoTranscriptFound("v", ["en"], []), "v", ("en",))
    assert no_transcript.reason == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE
    import requests

    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "30"
    http_error = requests.HTTPError("429 Client Error", response=response)
    library_error = YouTubeRequestFailed("v", http_error)
    library_error.__context__ = http_error  # as when raised inside `except HTTPError`
    failed_429 = classify_error(library_error, "v")
    assert isinstance(failed_429, Blocked) and failed_429.retry_after == 30
    with pytest.raises(TypeError):
        classify_error(RuntimeError("bug"), "v")


# -- proxies and credentials ----------------------------------------------------------------

def test_proxy_configs() -> None:
    assert build_proxy_config() is None
    generic = build_proxy_config(proxy_http="http://u:p@proxy:3128")
    assert isinstance(generic, GenericProxyConfig)
    assert generic.to_requests_dict() == {"http": "http://u:p@proxy:3128",
                                          "https": "http://u:p@proxy:3128"}
    webshare = build_proxy_config(webshare_username="wsuser", webshare_password="wspass",
                                  webshare_locations=["de", "us"])
    assert isinstance(webshare, WebshareProxyConfig)
    assert webshare.retries_when_blocked == 0
    assert webshare.url == "http://wsuser-DE-US-rotate:wspass@p.webshare.io:80/"
    with pytest.raises(ValueError):
        build_proxy_config(webshare_username="only-user")


def test_credentials_absent_from_repr_and_str() -> None:
    tc = TranscriptClient(proxy_https="http://user:hunter2@proxy.example:3128",
                          webshare_username="wsuser77", webshare_password="wspass99")
    for text in (repr(tc), str(tc)):
        for secret in ("hunter2", "wsuser77", "wspass99"):
            assert secret not in text
    assert "WebshareProxyConfig" in repr(tc)


def test_scrub() -> None:
    assert scrub("via http://u:pw@h:1/x and https://a@b") == "via http://***@h:1/x and https://***@b"
    assert scrub("token s3 here", ["s3"]) == "token *** here"


def test_dead_proxy_error_is_transient_and_hides_credentials(caplog) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    tc = TranscriptClient(proxy_http=f"http://puser:ppass123@127.0.0.1:{port}", timeout=(2, 2))
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs, pytest.raises(Transient) as caught:
        tc.fetch("GJLlxj_dtq8")
    assert "ppass123" not in str(caught.value) and "puser" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert "ppass123" not in caplog.text and "ppass123" not in repr(logs)


def test_webshare_with_loopback_base_goes_direct(web) -> None:
    tc = TranscriptClient(web_base_url=web.url, webshare_username="wsuser",
                          webshare_password="wspass", timeout=(2, 2))
    assert tc.fetch("GJLlxj_dtq8").language_code == "en"
    # Webshare asks for Connection: close; our adapters are still the mounted ones.
    from tubesensei.youtube.http import RewritingHTTPAdapter

    assert isinstance(tc._session.get_adapter("https://www.youtube.com/"), RewritingHTTPAdapter)


def test_bad_settings_are_configuration_errors() -> None:
    from tubesensei.youtube.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        TranscriptClient(web_base_url="127.0.0.1:8080")
    with pytest.raises(ConfigurationError) as caught:
        TranscriptClient(webshare_password="only-the-password")
    assert "only-the-password" not in str(caught.value)


def test_list_tracks_and_what_a_miss_or_a_fetch_knows_of_them(web) -> None:
    c = client(web, languages=("en",))
    tracks = c.list_tracks("generatedEN")
    assert [(t.language_code, t.kind) for t in tracks] == [("de", "manual"),
                                                           ("en", "generated")]
    assert [t.language_code for t in c.fetch("generatedEN").available] == ["de", "en"]
    with pytest.raises(Permanent) as miss:
        c.fetch("onlyfrench1")
    assert miss.value.reason == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE
    assert [(t.language_code, t.is_generated) for t in miss.value.available] == [("fr", True)]
    assert "available: fr (generated)" in str(miss.value)
    with pytest.raises(Permanent) as disabled:
        c.list_tracks("disabled001")
    assert disabled.value.reason == UnavailableReason.TRANSCRIPTS_DISABLED
    assert disabled.value.available == ()  # known: no track at all
    with pytest.raises(Permanent) as gone:
        c.fetch("unavailable")
    assert gone.value.available is None  # unknown: the video could not be read
    with pytest.raises(Blocked):
        c.list_tracks("http4290001")
