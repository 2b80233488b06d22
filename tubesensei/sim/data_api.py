"""YouTube Data API v3 subset: channels, playlistItems, videos and search list methods."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from . import content as c
from . import params as p
from . import resources as r
from .config import Faults
from .reply import Reply, dumps, google_error
from .world import SimChannel, SimVideo, SimWorld

ENDPOINTS = {
    "/youtube/v3/channels": "channels.list",
    "/youtube/v3/playlistItems": "playlistItems.list",
    "/youtube/v3/videos": "videos.list",
    "/youtube/v3/search": "search.list",
}
COST = {"channels.list": 1, "playlistItems.list": 1, "videos.list": 1, "search.list": 100}
QUOTA_MESSAGE = ('The request cannot be completed because you have exceeded your '
                 '<a href="/youtube/v3/getting-started#quota">quota</a>.')
Params = p.Params
PARTS = p.PARTS
playlist_token, search_token = p.playlist_token, p.search_token


class Host(Protocol):
    world: SimWorld
    faults: Faults

    def try_spend(self, units: int) -> bool: ...


class ItemCache:
    """Serialized items keyed by (what, ids, parts); cleared when the world changes."""

    def __init__(self, world: SimWorld, limit: int = 200_000):
        self._world, self._limit = world, limit
        self._version = world.version
        self._items: dict[tuple, bytes] = {}
        self._lists: dict[tuple, list] = {}
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self._version != self._world.version or len(self._items) > self._limit:
            self._items, self._lists = {}, {}
            self._version = self._world.version

    def item(self, key: tuple, make: Callable[[], bytes]) -> bytes:
        with self._lock:
            self._check()
            hit = self._items.get(key)
        if hit is None:
            hit = make()
            with self._lock:
                self._items[key] = hit
        return hit

    def rows(self, key: tuple, make: Callable[[], list]) -> list:
        with self._lock:
            self._check()
            hit = self._lists.get(key)
        if hit is None:
            hit = make()
            with self._lock:
                self._lists[key] = hit
        return hit


def _envelope(kind: str, items: list[bytes] | None, total: int, per_page: int,
              next_token: str | None = None, prev_token: str | None = None,
              before_items: bool = False, extra: dict | None = None) -> Reply:
    """Assemble a list response from pre-serialized items (order as the live API)."""
    joined = b"[" + b",".join(items) + b"]" if items is not None else b""
    head: dict = {"kind": kind, "etag": ""}
    if next_token:
        head["nextPageToken"] = next_token
    if prev_token:
        head["prevPageToken"] = prev_token
    head.update(extra or {})
    info = {"totalResults": total, "resultsPerPage": per_page}
    head["etag"] = c.etag_of(dumps(head) + dumps(info) + joined)
    parts = [dumps(head)[:-1]]
    if before_items:
        parts.append(b',"pageInfo":' + dumps(info))
    if items is not None:
        parts.append(b',"items":' + joined)
    if not before_items:
        parts.append(b',"pageInfo":' + dumps(info))
    return Reply(200, b"".join(parts) + b"}")


# -- methods -------------------------------------------------------------------------------

def channels_list(host: Host, params: Params, cache: ItemCache) -> Reply:
    parts = p.parts(params, "channels.list")
    per_page = p.max_results(params)
    names = ("forUsername", "managedByMe", "categoryId", "mine", "mySubscribers", "id",
             "forHandle")
    used = p.filters(params, names)
    if not used:
        raise p.no_filter("forUsername, managedByMe, categoryId, mine, mySubscribers, id, "
                          "idParam, forHandle.")
    if len(used) > 1:
        raise p.incompatible(used)
    world, f = host.world, used[0]
    if f in ("mine", "managedByMe", "mySubscribers"):
        raise p.unauthorized(f)
    found: list[SimChannel] = []
    if f == "id":
        found = [ch for cid in p.ids(params) if (ch := world.get_channel(cid))]
    elif f == "forHandle":
        found = [ch for ch in [world.channel_by_handle(p.one(params, f) or "")] if ch]
    elif f == "forUsername":
        found = [ch for ch in [world.channel_by_username(p.one(params, f) or "")] if ch]
    items = [cache.item(("ch", ch.channel_id, parts), lambda ch=ch: r.channel_item(ch, parts))
             for ch in found]
    return _envelope("youtube#channelListResponse", items or None, len(items), per_page,
                     before_items=True)


def _playlist_rows(world: SimWorld, playlist_id: str) -> tuple[SimChannel, list] | None:
    kinds: Callable[[SimVideo], bool] | None = None
    if len(playlist_id) == 26 and playlist_id[:4] in ("UULF", "UUSH", "UULV"):
        cid = "UC" + playlist_id[4:]
        kinds = {"UULF": lambda v: v.kind == "video" and not v.was_live,
                 "UUSH": lambda v: v.kind == "short",
                 "UULV": lambda v: v.was_live or v.kind in ("live", "upcoming")}[playlist_id[:4]]
    elif len(playlist_id) == 24 and playlist_id.startswith("UU"):
        cid = "UC" + playlist_id[2:]
    else:
        return None
    ch = world.get_channel(cid)
    if ch is None:
        return None
    return ch, [v for v in ch.videos if kinds is None or kinds(v)]


def playlist_items_list(host: Host, params: Params, cache: ItemCache) -> Reply:
    parts = p.parts(params, "playlistItems.list")
    per_page = p.max_results(params)
    used = p.filters(params, ("id", "playlistId"))
    if not used:
        raise p.no_filter("id, playlistId.")
    if len(used) > 1:
        raise p.incompatible(used)
    world = host.world
    wanted_ids = set(p.ids(params)) if used[0] == "id" else None
    pid = p.one(params, "playlistId") or ""
    if wanted_ids is not None:  # playlist item ids carry their playlist id
        pids = {p.item_playlist(i) for i in wanted_ids}
        pid = next(iter(pids)) if len(pids) == 1 else ""
    found = cache.rows(("pl", pid), lambda: _playlist_rows(world, pid) or [])
    if not found:
        if wanted_ids is not None:
            return _envelope("youtube#playlistItemListResponse", [], 0, per_page)
        msg = ("The playlist identified with the request's <code>playlistId</code> "
               "parameter cannot be found.")
        return google_error(404, msg, "playlistNotFound", "youtube.playlistItem",
                            location="playlistId")
    ch, rows = found
    indexed = list(enumerate(rows))
    video_filter = p.one(params, "videoId")
    if video_filter:
        indexed = [(i, v) for i, v in indexed if v.video_id == video_filter]
    if wanted_ids is not None:
        indexed = [(i, v) for i, v in indexed
                   if r.playlist_item_id(pid, v.video_id) in wanted_ids]
    start = p.page_start(params, per_page, search=False)
    page = indexed[start:start + per_page]
    items = [cache.item(("pi", pid, v.video_id, i, parts),
                        lambda v=v, i=i: r.playlist_item(ch, v, pid, i, parts))
             for i, v in page]
    end = start + len(page)
    nxt = playlist_token(end) if per_page and end < len(indexed) else None
    prev = playlist_token(start, backwards=True) if start > 0 and page else None
    return _envelope("youtube#playlistItemListResponse", items, len(indexed), per_page,
                     next_token=nxt, prev_token=prev)


def videos_list(host: Host, params: Params, cache: ItemCache) -> Reply:
    parts = p.parts(params, "videos.list")
    used = p.filters(params, ("myRating", "chart", "id"))
    if not used:
        raise p.no_filter("myRating, chart, id, idParam.")
    if len(used) > 1:
        raise p.incompatible(used)
    world = host.world
    if used[0] == "myRating":
        raise p.unauthorized("myRating")
    if used[0] == "chart":
        per_page = p.max_results(params, low=1)
        popular = cache.rows(("chart",), lambda: sorted(
            (v for v in world.videos if v.is_public), key=lambda v: -v.view_count)[:200])
        start = p.page_start(params, per_page, search=False)
        page = popular[start:start + per_page]
        end = start + len(page)
        items = [_video_bytes(world, v, parts, cache) for v in page]
        return _envelope("youtube#videoListResponse", items, len(popular), per_page,
                         next_token=playlist_token(end) if end < len(popular) else None)
    found = [v for vid in p.ids(params) if (v := world.get_video(vid)) and v.is_public]
    items = [_video_bytes(world, v, parts, cache) for v in found]
    return _envelope("youtube#videoListResponse", items, len(items), len(items))


def _video_bytes(world: SimWorld, v: SimVideo, parts: frozenset[str], cache: ItemCache) -> bytes:
    return cache.item(("v", v.video_id, parts),
                      lambda: r.video_item(world.channel(v.channel_id), v, parts))


def search_list(host: Host, params: Params, cache: ItemCache) -> Reply:
    parts = p.parts(params, "search.list")
    per_page = p.max_results(params)
    world = host.world
    words = (p.one(params, "q") or "").lower().replace("|", " ").split()
    types = p.values(params, "type") or ["video", "channel", "playlist"]
    channel_id = p.one(params, "channelId")
    event = p.one(params, "eventType")
    after = p.parse_time(params, "publishedAfter")
    before = p.parse_time(params, "publishedBefore")
    if event and types != ["video"]:
        msg = "Request contains an invalid argument."
        raise p.Bad(google_error(400, msg, "invalidSearchFilter", "youtube.search",
                                 location="type"))

    def hit(text: str) -> bool:
        return all(w.lstrip("@") in text for w in words)

    results: list[dict] = []
    if "channel" in types and not channel_id:
        for ch in world.channels:
            if hit(f"{ch.title} {ch.handle} {ch.username} {ch.description}".lower()):
                results.append(r.search_channel(ch))
    if "video" in types:
        chans = [world.get_channel(channel_id)] if channel_id else world.channels
        vids = [(ch, v) for ch in chans if ch for v in ch.videos if v.is_public]
        if event:
            want = {"completed": "finished_live"}.get(event, event)
            vids = [(ch, v) for ch, v in vids if v.case == want]
        vids = [(ch, v) for ch, v in vids
                if (after is None or v.published_at >= after)
                and (before is None or v.published_at < before)
                and hit(f"{v.title} {v.description} {' '.join(v.tags)}".lower())]
        if p.one(params, "order") == "viewCount":
            vids.sort(key=lambda cv: -cv[1].view_count)
        results.extend(r.search_video(ch, v) for ch, v in vids[:500])
    start = p.page_start(params, per_page, search=True)
    page = results[start:start + per_page]
    items = []
    for res in page:
        if "snippet" not in parts:
            res.pop("snippet")
        items.append(r.finish(res))
    end = start + len(page)
    nxt = search_token(end) if per_page and end < len(results) else None
    prev = search_token(start, backwards=True) if start > 0 and page else None
    return _envelope("youtube#searchListResponse", items, len(results), per_page,
                     next_token=nxt, prev_token=prev, before_items=True,
                     extra={"regionCode": "US"})


METHODS = {"channels.list": channels_list, "playlistItems.list": playlist_items_list,
           "videos.list": videos_list, "search.list": search_list}


def handle(host: Host, endpoint: str, params: Params, headers: dict[str, str],
           cache: ItemCache) -> Reply:
    """Credentials, then quota, then the method (invalid requests still cost units)."""
    key = p.one(params, "key") or headers.get("x-goog-api-key", "")
    bearer = headers.get("authorization", "").lower().startswith("bearer ")
    if not key and not bearer:
        return google_error(403, "The request is missing a valid API key.", "forbidden")
    valid = host.faults.valid_api_keys
    if key and valid is not None and key not in valid:
        msg = "API key not valid. Please pass a valid API key."
        return google_error(400, msg, "badRequest", details=[
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "youtube.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
             "message": msg}])
    if not host.try_spend(COST[endpoint]):
        return google_error(403, QUOTA_MESSAGE, "quotaExceeded", "youtube.quota")
    try:
        return METHODS[endpoint](host, params, cache)
    except p.Bad as bad:
        return bad.reply
