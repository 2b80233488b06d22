"""YouTube Data API v3 through google-api-python-client.

The service is built from the discovery document the library ships (no network fetch), with
``api_endpoint`` as the API root when set (e.g. ``http://127.0.0.1:8123`` for the simulator;
method paths such as ``youtube/v3/channels`` are appended to it, as to the real root
``https://youtube.googleapis.com/``).

This module is the only place that inspects googleapiclient/httplib2/socket exceptions: every
failure leaves it as one class of :mod:`tubesensei.youtube.errors`. The library never retries
(``num_retries=0``); the job system owns retries. Messages never contain the API key:
googleapiclient puts the request URL, ``key=...`` included, into ``str(HttpError)``, so that
string is never used and the original exception is not chained.

Threads: httplib2 objects are not thread-safe, so each thread gets its own service (and
``httplib2.Http``) lazily; one ``DataApiClient`` may be shared between threads.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httplib2
import structlog
from googleapiclient.errors import HttpError

from tubesensei.youtube import quota
from tubesensei.youtube.errors import (
    ConfigurationError,
    NotFoundReason,
    Permanent,
    QuotaExhausted,
    Transient,
    YouTubeError,
)
from tubesensei.youtube.http import build_api_http
from tubesensei.youtube.ids import ChannelRef

__all__ = [
    "ChannelInfo",
    "DataApiClient",
    "PlaylistEntry",
    "UploadsPage",
    "VideoInfo",
    "derive_kind",
    "map_http_error",
    "map_transport_error",
    "parse_iso8601_duration",
]

log = structlog.get_logger(__name__)

CHANNEL_PARTS = "snippet,contentDetails,statistics"
PLAYLIST_ITEM_PARTS = "snippet,contentDetails,status"
VIDEO_PARTS = "snippet,contentDetails,statistics,status,liveStreamingDetails"
MAX_PAGE_SIZE = 50

# -- what the API answers, as our own frozen records --------------------------------------


@dataclass(frozen=True)
class ChannelInfo:
    channel_id: str
    title: str
    description: str
    handle: str | None
    thumbnail_url: str | None
    subscriber_count: int | None
    video_count: int | None
    view_count: int | None
    uploads_playlist_id: str | None
    published_at: datetime | None
    country: str | None


@dataclass(frozen=True)
class PlaylistEntry:
    video_id: str
    published_at: datetime | None
    title: str
    position: int | None


@dataclass(frozen=True)
class UploadsPage:
    entries: list[PlaylistEntry]
    next_page_token: str | None
    total_results: int | None
    private_ids: tuple[str, ...] = ()
    """Ids of the page's "Private video" rows (a stored video made private shows up here)."""
    deleted_ids: tuple[str, ...] = ()
    """Ids of the page's "Deleted video" rows that still carry one."""
    skipped_private: int = 0
    skipped_deleted: int = 0


@dataclass(frozen=True)
class VideoInfo:
    video_id: str
    channel_id: str
    title: str
    description: str
    published_at: datetime | None
    duration_s: int | None
    view_count: int | None
    like_count: int | None
    comment_count: int | None
    privacy_status: str | None
    live_broadcast_content: str
    scheduled_start: datetime | None
    actual_start: datetime | None
    actual_end: datetime | None
    was_live: bool
    kind: str = "video"


_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?$"
)


def parse_iso8601_duration(text: str) -> int:
    """Seconds in an ISO-8601 duration as YouTube writes them (``PT1H2M3S``, ``P1DT2H``,
    ``PT0S``, ``P0D``, weeks too); fractions are rounded. Years and months (of no fixed
    length) and malformed text raise ``ValueError``."""
    match = _DURATION.match(text.strip().upper()) if text else None
    if not match or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(f"not an ISO-8601 duration: {text!r}")
    parts = {k: float((v or "0").replace(",", ".")) for k, v in match.groupdict().items()}
    seconds = (parts["weeks"] * 7 * 86400 + parts["days"] * 86400 + parts["hours"] * 3600
               + parts["minutes"] * 60 + parts["seconds"])
    return round(seconds)


SHORTS_MAX_SECONDS = 180  # YouTube's limit since October 2024 (60 s before)
SHORTS_UNTAGGED_MAX_SECONDS = 60
_SHORTS_TAG = re.compile(r"#shorts?\b", re.IGNORECASE)


def derive_kind(info: VideoInfo) -> str:
    """``upcoming`` / ``live`` / ``short`` / ``video`` for a video, from Data API fields.

    * ``upcoming`` and ``live`` come straight from ``snippet.liveBroadcastContent``.
    * A finished live stream is a ``video`` (``was_live`` records its past), whatever its length.
    * ``short`` is a heuristic. The API says nothing about the Shorts shelf or the aspect
      ratio (vertical/square), so only the duration and the uploader's ``#shorts`` tag are
      evidence:
        - up to 60 s: a short (the old limit; ordinary videos this short are rare);
        - 61-180 s: a short only with ``#shorts``/``#short`` in the title or description,
          since Shorts may run to 180 s since October 2024 but far more ordinary videos
          have that length;
        - duration unknown or zero (still processing) with the tag: a short;
        - longer than 180 s: never a short, tag or not.
      It errs both ways: an untagged 2-minute vertical Short counts as a video, a 45-second
      horizontal clip as a short.
    """
    if info.live_broadcast_content == "upcoming":
        return "upcoming"
    if info.live_broadcast_content == "live":
        return "live"
    if info.was_live:
        return "video"
    tagged = bool(_SHORTS_TAG.search(info.title) or _SHORTS_TAG.search(info.description))
    if not info.duration_s:
        return "short" if tagged else "video"
    if info.duration_s <= SHORTS_UNTAGGED_MAX_SECONDS:
        return "short"
    if info.duration_s <= SHORTS_MAX_SECONDS and tagged:
        return "short"
    return "video"


def parse_timestamp(value: Any) -> datetime | None:
    """RFC 3339 (``2024-05-01T12:00:00Z``, fractions up to nanoseconds) → aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _best_thumbnail(thumbnails: Mapping[str, Any] | None) -> str | None:
    for size in ("high", "medium", "default"):
        url = ((thumbnails or {}).get(size) or {}).get("url")
        if url:
            return url
    return None


def parse_channel(item: Mapping[str, Any]) -> ChannelInfo:
    snippet = item.get("snippet") or {}
    stats = item.get("statistics") or {}
    uploads = ((item.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
    handle = (snippet.get("customUrl") or "").lstrip("@") or None
    return ChannelInfo(
        channel_id=item["id"],
        title=snippet.get("title", ""),
        description=snippet.get("description", ""),
        handle=handle,
        thumbnail_url=_best_thumbnail(snippet.get("thumbnails")),
        subscriber_count=None if stats.get("hiddenSubscriberCount") else
        _count(stats.get("subscriberCount")),
        video_count=_count(stats.get("videoCount")),
        view_count=_count(stats.get("viewCount")),
        uploads_playlist_id=uploads or None,
        published_at=parse_timestamp(snippet.get("publishedAt")),
        country=snippet.get("country") or None,
    )


def parse_playlist_item(item: Mapping[str, Any]) -> tuple[PlaylistEntry | None, str | None]:
    """(entry, None) for a listable video, or (None, "private"/"deleted") for a skipped row.

    YouTube keeps rows for private and deleted videos: private ones have
    ``status.privacyStatus == "private"`` (title "Private video"), deleted ones
    ``privacyStatusUnspecified`` (title "Deleted video"); neither has ``videoPublishedAt``.
    """
    snippet = item.get("snippet") or {}
    details = item.get("contentDetails") or {}
    privacy = (item.get("status") or {}).get("privacyStatus")
    video_id = details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId")
    title = snippet.get("title", "")
    published = details.get("videoPublishedAt")
    if privacy == "private" or (privacy is None and not published and title == "Private video"):
        return None, "private"
    if not video_id or privacy == "privacyStatusUnspecified" or (
            not published and title == "Deleted video"):
        return None, "deleted"
    position = snippet.get("position")
    return PlaylistEntry(
        video_id=video_id,
        published_at=parse_timestamp(published or snippet.get("publishedAt")),
        title=title,
        position=position if isinstance(position, int) else None,
    ), None


def parse_video(item: Mapping[str, Any]) -> VideoInfo | None:
    video_id = item.get("id")
    if not isinstance(video_id, str):
        return None
    snippet = item.get("snippet") or {}
    stats = item.get("statistics") or {}
    live = item.get("liveStreamingDetails")
    live_details = live if isinstance(live, dict) else {}
    raw_duration = (item.get("contentDetails") or {}).get("duration")
    try:
        duration = parse_iso8601_duration(raw_duration) if raw_duration else None
    except ValueError:
        duration = None
    actual_end = parse_timestamp(live_details.get("actualEndTime"))
    return VideoInfo(
        video_id=video_id,
        channel_id=snippet.get("channelId", ""),
        title=snippet.get("title", ""),
        description=snippet.get("description", ""),
        published_at=parse_timestamp(snippet.get("publishedAt")),
        duration_s=duration,
        view_count=_count(stats.get("viewCount")),
        like_count=_count(stats.get("likeCount")),
        comment_count=_count(stats.get("commentCount")),
        privacy_status=(item.get("status") or {}).get("privacyStatus"),
        live_broadcast_content=snippet.get("liveBroadcastContent") or "none",
        scheduled_start=parse_timestamp(live_details.get("scheduledStartTime")),
        actual_start=parse_timestamp(live_details.get("actualStartTime")),
        actual_end=actual_end,
        was_live=actual_end is not None,
    )


# -- error mapping ------------------------------------------------------------------------

_QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded", "dailyLimitExceededUnreg"}
_CONFIG_REASONS = {
    "keyInvalid", "keyExpired", "forbidden", "accessNotConfigured", "ipRefererBlocked",
    "unauthorized", "authError",
}
_CONFIG_DETAIL_REASONS = {
    "API_KEY_INVALID", "API_KEY_EXPIRED", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED",
    "API_KEY_HTTP_REFERRER_BLOCKED", "API_KEY_IP_ADDRESS_BLOCKED", "CONSUMER_INVALID",
    "API_KEY_ANDROID_APP_BLOCKED", "API_KEY_IOS_APP_BLOCKED", "CONSUMER_SUSPENDED",
}
_RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"}
_NOT_FOUND_REASONS = {
    "channelNotFound": NotFoundReason.CHANNEL_NOT_FOUND,
    "channelForbidden": NotFoundReason.CHANNEL_NOT_FOUND,
    "playlistNotFound": NotFoundReason.PLAYLIST_NOT_FOUND,
    "playlistForbidden": NotFoundReason.PLAYLIST_NOT_FOUND,
    "playlistItemsNotAccessible": NotFoundReason.PLAYLIST_NOT_FOUND,
    "videoNotFound": NotFoundReason.VIDEO_NOT_FOUND,
}
_NOT_FOUND_BY_METHOD = {
    "channels.list": NotFoundReason.CHANNEL_NOT_FOUND,
    "search.list": NotFoundReason.CHANNEL_NOT_FOUND,
    "playlistItems.list": NotFoundReason.PLAYLIST_NOT_FOUND,
    "videos.list": NotFoundReason.VIDEO_NOT_FOUND,
}
_KEY_PARAM = re.compile(r"(?i)([?&]key=)[^&\s\"'<>]*")


def _scrub(text: str, secret: str | None = None) -> str:
    if secret:
        text = text.replace(secret, "***")
    return _KEY_PARAM.sub(r"\1***", text)


def _error_reasons(content: bytes) -> tuple[list[str], list[str], str | None] | None:
    """(errors[].reason, details[].reason, message) from a Google error body, or None."""
    try:
        data = json.loads(content.decode("utf-8"))
        error = data["error"]
        if not isinstance(error, dict):
            return None
    except (ValueError, KeyError, TypeError):
        return None
    reasons = [e.get("reason") for e in error.get("errors") or [] if isinstance(e, dict)]
    details = [d.get("reason") for d in error.get("details") or [] if isinstance(d, dict)]
    message = error.get("message") if isinstance(error.get("message"), str) else None
    return [r for r in reasons if r], [r for r in details if r], message


def map_http_error(err: HttpError, method: str = "", *, api_key: str | None = None,
                   now: datetime | None = None) -> YouTubeError:
    """Translate an ``HttpError`` into the taxonomy; the message never contains the key."""
    status = int(getattr(err.resp, "status", 0) or 0)
    parsed = _error_reasons(err.content or b"")
    reasons, details, google_message = parsed if parsed else ([], [], None)
    reason_set = set(reasons) | set(details)
    label = reasons[0] if reasons else (details[0] if details else "")
    what = f"YouTube Data API {method or 'call'} failed: HTTP {status}"
    if label:
        what += f" {label}"
    if google_message:
        what += f": {_scrub(google_message, api_key)[:300]}"

    if reason_set & _QUOTA_REASONS:
        resets_at = quota.next_reset(now or datetime.now(UTC))
        return QuotaExhausted(resets_at, f"{what} (quota resets {resets_at.isoformat()})")
    if reason_set & _CONFIG_DETAIL_REASONS or (reason_set & _CONFIG_REASONS) or status == 401:
        return ConfigurationError(what)
    if reason_set & _RATE_REASONS or status == 429:
        return Transient(what)
    for reason in reasons:
        if reason in _NOT_FOUND_REASONS:
            return Permanent(_NOT_FOUND_REASONS[reason], what)
    if status == 404:
        return Permanent(_NOT_FOUND_BY_METHOD.get(method, NotFoundReason.CHANNEL_NOT_FOUND), what)
    if parsed is None and status < 500:
        return Transient(f"{what} (unparsable error body)")
    # 5xx and unrecognised 4xx: the job system retries a bounded number of times.
    return Transient(what)


def _reached_server(exc: BaseException) -> bool:
    """Whether a transport failure may have happened after Google processed the request.

    Refused connections, unknown hosts and failed TLS handshakes never reached it; timeouts
    and resets may have (Google charges those), so they are counted, erring on the safe side.
    """
    if isinstance(exc, (httplib2.ServerNotFoundError, ConnectionRefusedError, ssl.SSLError,
                        ssl.CertificateError, socket.gaierror)):
        return False
    return isinstance(exc, (TimeoutError, ConnectionError, http.client.HTTPException,
                            httplib2.HttpLib2Error, ValueError))


def map_transport_error(exc: BaseException, method: str = "", timeout: float | None = None,
                        api_key: str | None = None) -> Transient:
    """Network-level failures (timeouts, resets, DNS, TLS, garbage bodies) are transient."""
    prefix = f"YouTube Data API {method or 'call'}"
    if isinstance(exc, TimeoutError):
        limit = f" after {timeout:g}s" if timeout else ""
        return Transient(f"{prefix} timed out{limit}")
    if isinstance(exc, httplib2.ServerNotFoundError):
        return Transient(f"{prefix}: server not found")
    if isinstance(exc, ValueError):
        return Transient(f"{prefix}: unparsable answer")
    detail = _scrub(str(exc), api_key)[:200]
    return Transient(f"{prefix} failed: {type(exc).__name__}: {detail}".rstrip(": "))


_TRANSPORT_ERRORS = (OSError, http.client.HTTPException, httplib2.HttpLib2Error, ValueError)


def _normalize_endpoint(api_endpoint: str | None) -> str | None:
    """The API root: ``scheme://host[:port][/prefix]``; a trailing ``/youtube/v3`` is dropped
    because the discovery document's method paths already start with it."""
    if not api_endpoint:
        return None
    endpoint = api_endpoint.strip().rstrip("/")
    if not re.match(r"^https?://[^/]+", endpoint):
        raise ConfigurationError(f"youtube.api_endpoint must be an http(s) URL: {endpoint!r}")
    if endpoint.endswith("/youtube/v3"):
        endpoint = endpoint[: -len("/youtube/v3")]
    return endpoint + "/"


class DataApiClient:
    """The Data API calls TubeSensei makes, with quota accounting and error mapping.

    ``on_units(method, units)`` is called once per request that reached (or may have
    reached) Google, successful or not, because Google charges failed calls too.
    """

    def __init__(self, api_key: str, api_endpoint: str | None = None, timeout: float = 30.0,
                 on_units: Callable[[str, int], None] | None = None,
                 unit_costs: dict[str, int] | None = None) -> None:
        if not api_key:
            raise ConfigurationError("no YouTube Data API key configured (youtube.api_key)")
        self._api_key = api_key
        self._endpoint = _normalize_endpoint(api_endpoint)
        self._timeout = timeout
        self._on_units = on_units
        self._costs = quota.unit_costs(unit_costs)
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"DataApiClient(api_endpoint={self._endpoint!r}, timeout={self._timeout})"

    # -- plumbing -----------------------------------------------------------------------

    def _service(self) -> Any:
        service = getattr(self._local, "service", None)
        if service is None:
            # Imported on first use: googleapiclient.discovery is 11 MB of a process that
            # may never call the Data API (a consumer of transcripts of stored videos).
            from googleapiclient.discovery import build

            http = build_api_http(self._endpoint, self._timeout)
            service = build(
                "youtube", "v3",
                developerKey=self._api_key,
                client_options={"api_endpoint": self._endpoint} if self._endpoint else None,
                http=http,
                static_discovery=True,
                cache_discovery=False,
            )
            self._local.service, self._local.http = service, http
            self._local.collections = {}
        return service

    def _collection(self, name: str) -> Any:
        """This thread's resource for ``name`` (``videos``, ``playlistItems``...): building
        one from the discovery document takes ~2 ms, as long as a zero-latency call."""
        service = self._service()
        collections: dict[str, Any] = self._local.collections
        if name not in collections:
            collections[name] = getattr(service, name)()
        return collections[name]

    def _drop_service(self) -> None:
        """Forget this thread's connections: after a transport failure a pooled connection
        may be left mid-response (httplib2 keeps it on a read timeout); start afresh."""
        http = getattr(self._local, "http", None)
        self._local.service = self._local.http = self._local.collections = None
        if http is not None:
            http.close()

    def _record(self, method: str) -> None:
        if self._on_units is None:
            return
        try:
            self._on_units(method, quota.unit_cost(method, self._costs))
        except Exception:  # accounting must never turn a good answer into a failure
            log.warning("quota accounting callback failed", method=method, exc_info=True)

    def _call(self, method: str, make_request: Callable[[Any], Any]) -> dict[str, Any]:
        """Run ``method`` (``collection.verb``); ``make_request`` gets the collection."""
        request = make_request(self._collection(method.split(".")[0]))
        try:
            answer = request.execute(num_retries=0)
        except HttpError as err:
            self._record(method)
            raise map_http_error(err, method, api_key=self._api_key) from None
        except _TRANSPORT_ERRORS as exc:
            if _reached_server(exc):
                self._record(method)
            self._drop_service()
            raise map_transport_error(exc, method, self._timeout, self._api_key) from None
        self._record(method)
        if not isinstance(answer, dict):
            raise Transient(f"YouTube Data API {method}: unparsable answer")
        return answer

    # -- channels -----------------------------------------------------------------------

    def _channels(self, **query: str) -> list[dict[str, Any]]:
        answer = self._call("channels.list",
                            lambda channels: channels.list(part=CHANNEL_PARTS, **query))
        return [item for item in answer.get("items") or [] if isinstance(item, dict)]

    def resolve_channel(self, ref: ChannelRef) -> ChannelInfo:
        """Look up a channel reference (id, @handle, /c/custom, /user/name, or a video)."""
        kind, value = ref.kind, ref.value
        if kind == "id":
            items = self._channels(id=value)
        elif kind == "handle":
            items = self._channels(forHandle=value.lstrip("@"))
        elif kind == "username":
            items = self._channels(forUsername=value)
        elif kind == "custom":
            items = self._channels(forHandle=value.lstrip("@")) or self._search_custom(value)
        elif kind == "video":
            items = self._channels(id=self._channel_of_video(value))
        else:
            raise ValueError(f"unknown channel reference kind: {kind!r}")
        if not items:
            raise Permanent(NotFoundReason.CHANNEL_NOT_FOUND,
                            f"no YouTube channel {_describe(kind, value)}")
        return parse_channel(items[0])

    def channels_by_ids(self, channel_ids: Iterable[str]) -> list[ChannelInfo]:
        """Channels by UC id, one ``channels.list`` call (1 unit) per 50 ids, as
        ``resolve_channel`` parses them. A channel YouTube no longer has (closed, removed) is
        simply absent from the answer, as an unknown id is: no error is raised for it."""
        unique = list(dict.fromkeys(c for c in channel_ids if c))
        found: list[ChannelInfo] = []
        for start in range(0, len(unique), MAX_PAGE_SIZE):
            found.extend(parse_channel(item) for item in self._channels(
                id=",".join(unique[start:start + MAX_PAGE_SIZE])) if isinstance(
                    item.get("id"), str))
        return found

    def _channel_of_video(self, video_id: str) -> str:
        answer = self._call("videos.list", lambda videos: videos.list(part="snippet",
                                                                        id=video_id))
        for item in answer.get("items") or []:
            channel_id = (item.get("snippet") or {}).get("channelId")
            if channel_id:
                return channel_id
        raise Permanent(NotFoundReason.VIDEO_NOT_FOUND, f"no YouTube video {video_id}")

    def _search_custom(self, name: str) -> list[dict[str, Any]]:
        """Legacy /c/ URLs have no lookup parameter: search, then match customUrl or title."""
        log.warning("resolving a /c/ custom URL through search.list",
                    custom_name=name, units=quota.unit_cost("search.list", self._costs))
        answer = self._call("search.list", lambda search: search.list(
            part="snippet", type="channel", q=name, maxResults=5))
        ids = []
        for result in answer.get("items") or []:
            channel_id = (result.get("id") or {}).get("channelId") or \
                (result.get("snippet") or {}).get("channelId")
            if channel_id and channel_id not in ids:
                ids.append(channel_id)
        if not ids:
            return []
        candidates = self._channels(id=",".join(ids))
        wanted = _fold(name)
        for field in ("customUrl", "title"):
            for item in candidates:
                if _fold((item.get("snippet") or {}).get(field, "")) == wanted:
                    return [item]
        return []

    # -- uploads ------------------------------------------------------------------------

    def iter_upload_pages(self, uploads_playlist_id: str, page_size: int = MAX_PAGE_SIZE,
                          page_token: str | None = None) -> Iterator[UploadsPage]:
        """Pages of the uploads playlist, newest first; each page costs a unit when pulled.

        Stop early by not pulling the next page (incremental rescans stop at known videos);
        ``page_token`` starts at a page an earlier scan reached (a resumed full scan).
        """
        size = max(1, min(int(page_size), MAX_PAGE_SIZE))
        token: str | None = page_token
        while True:
            query: dict[str, Any] = {"part": PLAYLIST_ITEM_PARTS,
                                     "playlistId": uploads_playlist_id, "maxResults": size}
            if token:
                query["pageToken"] = token
            answer = self._call("playlistItems.list",
                                lambda items, q=query: items.list(**q))
            page = _parse_page(answer)
            yield page
            token = page.next_page_token
            if not token:
                return

    # -- videos -------------------------------------------------------------------------

    def videos_details(self, video_ids: Iterable[str]) -> list[VideoInfo]:
        """Details for ``video_ids`` in batches of 50; ids YouTube does not return are absent."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        details: list[VideoInfo] = []
        for start in range(0, len(unique), MAX_PAGE_SIZE):
            batch = ",".join(unique[start:start + MAX_PAGE_SIZE])
            answer = self._call("videos.list", lambda videos, ids=batch: videos.list(
                part=VIDEO_PARTS, id=ids))
            for item in answer.get("items") or []:
                info = parse_video(item)
                if info is not None:
                    details.append(replace(info, kind=derive_kind(info)))
        return details


def _parse_page(answer: Mapping[str, Any]) -> UploadsPage:
    entries: list[PlaylistEntry] = []
    skipped: dict[str, list[str | None]] = {"private": [], "deleted": []}
    for item in answer.get("items") or []:
        entry, why = parse_playlist_item(item)
        if why is not None:
            skipped[why].append(_row_video_id(item))
        elif entry is not None:
            entries.append(entry)
    total = (answer.get("pageInfo") or {}).get("totalResults")
    private, deleted = skipped["private"], skipped["deleted"]
    return UploadsPage(entries=entries, next_page_token=answer.get("nextPageToken") or None,
                       total_results=int(total) if total is not None else None,
                       private_ids=tuple(v for v in private if v),
                       deleted_ids=tuple(v for v in deleted if v),
                       skipped_private=len(private), skipped_deleted=len(deleted))


def _row_video_id(item: Mapping[str, Any]) -> str | None:
    details = item.get("contentDetails") or {}
    snippet = item.get("snippet") or {}
    return details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId") or None


def _fold(text: str) -> str:
    return text.strip().lstrip("@").casefold()


def _describe(kind: str, value: str) -> str:
    return {"handle": f"@{value.lstrip('@')}", "username": f"user/{value}",
            "custom": f"c/{value}", "video": f"for video {value}"}.get(kind, value)
