"""HTTP plumbing for both YouTube clients: timeouts everywhere, endpoint redirection.

* :func:`build_transcript_session` makes the ``requests.Session`` handed to
  youtube-transcript-api. That library calls ``https://www.youtube.com/...`` with absolute
  URLs and no timeout, so the session's adapters (a) apply a default (connect, read) timeout
  to every request and (b) when ``web_base_url`` is set, send every request meant for
  YouTube's web hosts to that base instead. The rewrite happens inside the adapter's
  ``send``, i.e. after requests has chosen cookies for the *original* URL: the library pins
  its consent cookie to ``.youtube.com`` and it keeps working against any host.
* :func:`build_api_http` makes the ``httplib2.Http`` for google-api-python-client.

Loopback targets never go through a proxy (a proxy cannot reach our loopback anyway).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

import httplib2
import requests
from requests.adapters import HTTPAdapter
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.models import PreparedRequest

#: (connect, read) seconds for transcript requests.
DEFAULT_TRANSCRIPT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
#: Hosts that youtube-transcript-api talks to and that ``web_base_url`` replaces.
YOUTUBE_WEB_HOSTS = frozenset({"www.youtube.com", "youtube.com", "m.youtube.com"})

TimeoutSpec = float | tuple[float, float]


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ::1 (brackets allowed)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str | None) -> bool:
    return bool(url) and is_loopback_host(urlsplit(url).hostname)


def normalize_base_url(base_url: str) -> str:
    """Validate ``scheme://host[:port][/prefix]`` and drop a trailing slash."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) base URL: {base_url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"a base URL takes no query or fragment: {base_url!r}")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class TimeoutHTTPAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that applies ``timeout`` to every request sent without one."""

    def __init__(self, timeout: TimeoutSpec = DEFAULT_TRANSCRIPT_TIMEOUT, **kwargs) -> None:
        self.timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: PreparedRequest, stream=False, timeout=None, verify=True,
             cert=None, proxies=None) -> requests.Response:
        if timeout is None:
            timeout = self.timeout
        return super().send(request, stream=stream, timeout=timeout, verify=verify,
                            cert=cert, proxies=proxies)


class RewritingHTTPAdapter(TimeoutHTTPAdapter):
    """Sends requests for YouTube's web hosts to ``base_url`` instead.

    ``https://www.youtube.com/watch?v=x`` becomes ``<base_url>/watch?v=x``. The response is
    handed back under the original URL, so cookies the server sets land on the YouTube
    domain and relative redirects resolve against YouTube (and get rewritten again).
    """

    def __init__(self, base_url: str, timeout: TimeoutSpec = DEFAULT_TRANSCRIPT_TIMEOUT,
                 hosts: Iterable[str] = YOUTUBE_WEB_HOSTS, **kwargs) -> None:
        base = urlsplit(normalize_base_url(base_url))
        self._scheme, self._netloc, self._prefix = base.scheme, base.netloc, base.path
        self._hosts = frozenset(h.lower() for h in hosts)
        self._direct = is_loopback_host(base.hostname)
        super().__init__(timeout=timeout, **kwargs)

    def rewrite(self, url: str) -> str | None:
        """The URL to send instead of ``url``, or None when ``url`` is not YouTube's."""
        parts = urlsplit(url)
        if (parts.hostname or "").lower() not in self._hosts:
            return None
        path = self._prefix + (parts.path or "/")
        return urlunsplit((self._scheme, self._netloc, path, parts.query, ""))

    def send(self, request: PreparedRequest, stream=False, timeout=None, verify=True,
             cert=None, proxies=None) -> requests.Response:
        target = self.rewrite(request.url)
        if target is None:
            return super().send(request, stream=stream, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        outgoing = request.copy()
        outgoing.url = target
        if self._direct:
            proxies = {}
            outgoing.headers.pop("Proxy-Authorization", None)
        response = super().send(outgoing, stream=stream, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        response.url = request.url
        response.request = request
        response.cookies = RequestsCookieJar()
        extract_cookies_to_jar(response.cookies, request, response.raw)
        return response


def build_transcript_session(web_base_url: str | None = None,
                             timeout: TimeoutSpec = DEFAULT_TRANSCRIPT_TIMEOUT
                             ) -> requests.Session:
    """A session for youtube-transcript-api with timeouts and optional endpoint rewriting."""
    session = requests.Session()
    mount_adapters(session, web_base_url, timeout)
    if web_base_url and is_loopback_url(web_base_url):
        # Environment proxies are chosen from the *original* URL (www.youtube.com), so
        # NO_PROXY=127.0.0.1 would not exempt the rewritten request: ignore the environment.
        session.trust_env = False
    return session


def mount_adapters(session: requests.Session, web_base_url: str | None,
                   timeout: TimeoutSpec = DEFAULT_TRANSCRIPT_TIMEOUT) -> None:
    """(Re)mount our adapters on ``session`` for both schemes."""
    for prefix in ("https://", "http://"):
        adapter: HTTPAdapter
        if web_base_url:
            adapter = RewritingHTTPAdapter(web_base_url, timeout=timeout)
        else:
            adapter = TimeoutHTTPAdapter(timeout=timeout)
        session.mount(prefix, adapter)


def build_api_http(api_endpoint: str | None = None, timeout: float = 30.0) -> httplib2.Http:
    """An ``httplib2.Http`` for google-api-python-client (one per thread: not thread-safe).

    Proxies come from the environment as usual, except for loopback endpoints.
    """
    if api_endpoint and is_loopback_url(api_endpoint):
        return httplib2.Http(timeout=timeout, proxy_info=None)
    return httplib2.Http(timeout=timeout)
