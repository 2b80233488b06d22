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
from tubesensei.db.models import CHOICE_RULES
from tubesensei.youtube.errors import Blocked, Permanent, Transient, UnavailableReason
from tubesensei.youtube.transcripts import (
    CHOICE_RULES as CLIENT_RULES,
)
from tubesensei.youtube.transcripts import (
    Track,
    TranscriptClient,
    build_proxy_config,
    choose,
    classify_error,
    preferred,
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
        "frenchspain": Video(player=Reply(200, player_json([("fr", True), ("es", False)],
                                                          "frenchspain"))),
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


def test_languages_are_the_order_of_preference(web) -> None:
    # generatedEN has a generated en and a manual de: the first language wins, whatever kind.
    result = client(web, languages=("en", "de")).fetch("generatedEN")
    assert (result.language_code, result.is_generated, result.chosen_by) == ("en", True,
                                                                             "generated")
    result = client(web, languages=("de", "en")).fetch("generatedEN")
    assert (result.language_code, result.is_generated, result.chosen_by) == ("de", False,
                                                                             "manual")
    result = client(web, languages=("en",)).fetch("generatedEN")
    assert (result.language_code, result.is_generated, result.chosen_by) == ("en", True,
                                                                             "generated")


def _track(code: str, generated: bool = False) -> Track:
    return Track(code, f"Language {code}", generated, True)


M_EN, G_EN, M_DE, G_DE = _track("en"), _track("en", True), _track("de"), _track("de", True)
M_GB, G_GB, G_US = _track("en-GB"), _track("en-GB", True), _track("en-US", True)


@pytest.mark.parametrize(("languages", "tracks", "expected"), [
    # The languages are the order of preference: a generated en beats a manual de.
    (["en", "de"], [M_DE, G_EN], (G_EN, "generated")),
    (["en", "de"], [M_DE, G_DE, G_EN], (G_EN, "generated")),
    (["de", "en"], [M_EN, G_DE], (G_DE, "generated")),
    (["en", "de"], [M_DE, G_DE], (M_DE, "manual")),
    # Within one language manual before generated, whatever the listing's order.
    (["en"], [G_EN, M_EN], (M_EN, "manual")),
    (["en", "de"], [G_EN, M_DE, M_EN], (M_EN, "manual")),
    # An exact code before a regional variant of the same kind; per language: manual exact,
    # manual regional, generated exact, generated regional.
    (["en"], [M_GB, M_EN], (M_EN, "manual")),
    (["en"], [G_EN, M_GB], (M_GB, "manual_regional")),
    (["en"], [G_US, G_EN], (G_EN, "generated")),
    (["en"], [G_US, M_DE], (G_US, "generated_regional")),
    (["en", "de"], [G_US, M_DE], (G_US, "generated_regional")),
    (["en-GB"], [M_EN, M_GB], (M_GB, "manual")),
    (["en-GB"], [M_EN, G_GB], (M_EN, "manual_regional")),
    (["en-GB", "en"], [G_US, G_GB], (G_GB, "generated")),
])
def test_choice_order(languages: list[str], tracks: list[Track],
                      expected: tuple[Track, str]) -> None:
    assert choose(tracks, languages) == expected
    assert preferred(tracks, languages) == expected[0]


def test_choice_without_a_listed_language() -> None:
    assert choose([M_DE, G_DE], ["en", "fr"]) is None
    assert choose([], ["en"]) is None and preferred([M_DE], ["en"]) is None


def test_choice_rules_are_the_stored_words() -> None:
    assert CLIENT_RULES == CHOICE_RULES
    rules = {choose(tracks, langs)[1] for langs, tracks in (  # type: ignore[index]
        (["en"], [M_EN]), (["en"], [M_GB]), (["en"], [G_EN]), (["en"], [G_GB]))}
    assert rules == set(CHOICE_RULES) - {"translation"}


def test_regional_variant_accepted(web) -> None:
    result = client(web, languages=("en",)).fetch("regionalEN1")
    assert (result.language_code, result.is_generated, result.chosen_by) == (
        "en-GB", False, "manual_regional")


def test_no_transcript_in_language_lists_available(web) -> None:
    with pytest.raises(Permanent) as caught:
        client(web, languages=("en", "de")).fetch("onlyfrench1")
    assert caught.value.reason == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE
    assert "fr (generated)" in str(caught.value) and "en, de" in str(caught.value)


def test_translation_when_allowed(web) -> None:
    result = client(web, languages=("nl",), allow_translation=True).fetch("onlyfrench1")
    assert (result.language_code, result.translated_from, result.is_generated) == ("nl", "fr",
                                                                                   True)
    assert result.chosen_by == "translation"
    assert web.seen[-1].query["tlang"] == ["nl"]


def test_translation_only_when_no_listed_language_exists(web) -> None:
    # A listed language (even a later one, even generated) beats a translation.
    result = client(web, languages=("nl", "fr"), allow_translation=True).fetch("onlyfrench1")
    assert (result.language_code, result.translated_from, result.chosen_by) == (
        "fr", None, "generated")
    assert "tlang" not in web.seen[-1].query
    # Without allow_translation a video with none of the languages has no transcript.
    with pytest.raises(Permanent) as caught:
        client(web, languages=("nl",)).fetch("frenchspain")
    assert caught.value.reason == UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE


def test_translation_source_is_manual_before_generated(web) -> None:
    result = client(web, languages=("nl", "de"), allow_translation=True).fetch("frenchspain")
    assert (result.language_code, result.translated_from, result.chosen_by) == (
        "nl", "es", "translation")
    assert web.seen[-1].query["tlang"] == ["nl"] and web.seen[-1].query["lang"] == ["es"]


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
