import pytest
import requests
from youtube_transcript_api.proxies import GenericProxyConfig

from tests.youtube.fakes import Reply, serve
from tubesensei.youtube.http import (
    RewritingHTTPAdapter,
    build_api_http,
    build_transcript_session,
    is_loopback_host,
    is_loopback_url,
    normalize_base_url,
)


def test_loopback_detection() -> None:
    for host in ("127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "api.localhost"):
        assert is_loopback_host(host), host
    for host in ("www.youtube.com", "10.0.0.1", "", None, "8.8.8.8"):
        assert not is_loopback_host(host), host
    assert is_loopback_url("http://127.0.0.1:8080/x")
    assert not is_loopback_url("https://youtube.googleapis.com/")
    assert not is_loopback_url(None)


def test_normalize_base_url() -> None:
    assert normalize_base_url("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    assert normalize_base_url("http://h:9/pre/fix/") == "http://h:9/pre/fix"
    for bad in ("ftp://h", "127.0.0.1:80", "http://h/?q=1"):
        with pytest.raises(ValueError):
            normalize_base_url(bad)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=x", "http://127.0.0.1:9/p/watch?v=x"),
        ("https://youtube.com/watch?v=x&a=b", "http://127.0.0.1:9/p/watch?v=x&a=b"),
        ("https://m.youtube.com/youtubei/v1/player?key=K", "http://127.0.0.1:9/p/youtubei/v1/player?key=K"),
        ("https://WWW.YouTube.com/api/timedtext?v=1&lang=en",
         "http://127.0.0.1:9/p/api/timedtext?v=1&lang=en"),
        ("https://example.com/watch", None),
        ("https://consent.youtube.com/s", None),
    ],
)
def test_rewrite_table(url: str, expected: str | None) -> None:
    assert RewritingHTTPAdapter("http://127.0.0.1:9/p/").rewrite(url) == expected


def test_requests_for_youtube_arrive_at_the_base_with_cookies() -> None:
    def handler(seen):
        return Reply(200, "ok " + seen.path, {"Set-Cookie": "VISITOR=abc; Path=/"})

    with serve(handler) as server:
        session = build_transcript_session(server.url + "/yt")
        session.cookies.set("CONSENT", "YES+42", domain=".youtube.com")
        first = session.get("https://www.youtube.com/watch?v=x")
        second = session.post("https://www.youtube.com/youtubei/v1/player?key=K", json={"a": 1})

    assert first.text == "ok /yt/watch?v=x"
    assert first.url == "https://www.youtube.com/watch?v=x"  # the library sees YouTube's URL
    assert [s.method for s in server.seen] == ["GET", "POST"]
    assert server.seen[0].path == "/yt/watch?v=x"
    assert "CONSENT=YES+42" in server.seen[0].headers.get("Cookie", "")
    # The cookie the server set was stored for YouTube and is sent back.
    assert "VISITOR=abc" in server.seen[1].headers.get("Cookie", "")
    assert server.seen[1].path == "/yt/youtubei/v1/player?key=K"
    assert server.seen[1].body == b'{"a": 1}'
    assert second.status_code == 200
    assert session.trust_env is False


def test_relative_redirects_stay_on_the_base() -> None:
    def handler(seen):
        if seen.route == "/watch":
            return Reply(302, "", {"Location": "/moved?v=1"})
        return Reply(200, "here")

    with serve(handler) as server:
        session = build_transcript_session(server.url)
        answer = session.get("https://www.youtube.com/watch?v=1")
    assert answer.text == "here"
    assert [s.path for s in server.seen] == ["/watch?v=1", "/moved?v=1"]


def test_loopback_base_ignores_environment_and_configured_proxies(monkeypatch) -> None:
    dead_proxy = "http://127.0.0.1:9"  # nothing listens on the discard port
    monkeypatch.setenv("HTTPS_PROXY", dead_proxy)
    monkeypatch.setenv("HTTP_PROXY", dead_proxy)
    with serve(lambda seen: Reply(200, "direct")) as server:
        session = build_transcript_session(server.url)
        session.proxies = GenericProxyConfig(https_url=dead_proxy).to_requests_dict()
        assert session.get("https://www.youtube.com/watch?v=x", timeout=5).text == "direct"


def test_default_timeout_applies_when_caller_gives_none() -> None:
    with serve(lambda seen: Reply(200, "late", stall=5)) as server:
        session = build_transcript_session(server.url, timeout=(1.0, 0.5))
        import time

        start = time.monotonic()
        with pytest.raises(requests.Timeout):
            session.get("https://www.youtube.com/watch?v=x")
        assert time.monotonic() - start < 2.5


def test_session_without_base_still_has_timeouts() -> None:
    with serve(lambda seen: Reply(200, "late", stall=5)) as server:
        session = build_transcript_session(None, timeout=(1.0, 0.3))
        with pytest.raises(requests.Timeout):
            session.get(server.url + "/x")


def test_api_http_has_timeout_and_no_proxy_for_loopback() -> None:
    local = build_api_http("http://127.0.0.1:8080/", timeout=7)
    assert local.timeout == 7
    assert local.proxy_info is None
    remote = build_api_http(None, timeout=3)
    assert remote.timeout == 3
