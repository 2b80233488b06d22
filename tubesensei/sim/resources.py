"""Data API v3 resource bodies (Channel, PlaylistItem, Video, SearchResult).

Shapes follow the schemas in google-api-python-client's bundled youtube.v3.json and what
the live API returns (e.g. private/deleted playlist rows).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime

from . import content as c
from .world import SimChannel, SimVideo


def ts(dt: datetime | None) -> str | None:
    return None if dt is None else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(seconds: int) -> str:
    if seconds <= 0:
        return "P0D"
    d, rem = divmod(seconds, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    out = "P" + (f"{d}D" if d else "")
    if h or m or s:
        out += "T" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{s}S" if s else "")
    return out


def video_thumbnails(video_id: str, maxres: bool = True) -> dict:
    base = f"https://i.ytimg.com/vi/{video_id}/"
    out = {
        "default": {"url": base + "default.jpg", "width": 120, "height": 90},
        "medium": {"url": base + "mqdefault.jpg", "width": 320, "height": 180},
        "high": {"url": base + "hqdefault.jpg", "width": 480, "height": 360},
        "standard": {"url": base + "sddefault.jpg", "width": 640, "height": 480},
    }
    if maxres:
        out["maxres"] = {"url": base + "maxresdefault.jpg", "width": 1280, "height": 720}
    return out


def channel_thumbnails(ch: SimChannel, sized: bool = True) -> dict:
    base = f"https://yt3.ggpht.com/sim-{ch.channel_id}=s"
    out = {}
    for name, px in (("default", 88), ("medium", 240), ("high", 800)):
        out[name] = {"url": f"{base}{px}-c-k-c0x00ffffff-no-rj"}
        if sized:
            out[name].update(width=px, height=px)
    return out


def finish(item: dict) -> bytes:
    """Serialize an item with an etag derived from its own content."""
    item["etag"] = c.etag_of(json.dumps(item, sort_keys=True).encode())
    return json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def channel_item(ch: SimChannel, parts: frozenset[str]) -> bytes:
    item: dict = {"kind": "youtube#channel", "etag": "", "id": ch.channel_id}
    public = [v for v in ch.videos if v.is_public]
    if "snippet" in parts:
        item["snippet"] = {
            "title": ch.title, "description": ch.description, "customUrl": ch.custom_url,
            "publishedAt": ts(ch.published_at), "thumbnails": channel_thumbnails(ch),
            "localized": {"title": ch.title, "description": ch.description}, "country": "US",
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {"relatedPlaylists": {"likes": "",
                                                       "uploads": ch.uploads_playlist_id}}
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(sum(v.view_count for v in public)),
            "subscriberCount": str(ch.subscriber_count), "hiddenSubscriberCount": False,
            "videoCount": str(len(public)),
        }
    if "status" in parts:
        item["status"] = {"privacyStatus": "public", "isLinked": True,
                          "longUploadsStatus": "longUploadsUnspecified", "madeForKids": False}
    return finish(item)


def playlist_item_id(playlist_id: str, video_id: str) -> str:
    raw = f"{playlist_id}.{c.hex_digest(playlist_id, video_id, n=16)}"
    return base64.b64encode(raw.encode()).decode()


def playlist_item(ch: SimChannel, v: SimVideo, playlist_id: str, position: int,
                  parts: frozenset[str]) -> bytes:
    item: dict = {"kind": "youtube#playlistItem", "etag": "",
                  "id": playlist_item_id(playlist_id, v.video_id)}
    if "snippet" in parts:
        sn: dict = {"publishedAt": ts(v.published_at), "channelId": ch.channel_id}
        if v.privacy == "public":
            sn.update(title=v.title, description=v.description,
                      thumbnails=video_thumbnails(v.video_id, v.kind != "upcoming"))
        elif v.privacy == "private":
            sn.update(title="Private video", description="This video is private.",
                      thumbnails={})
        else:
            sn.update(title="Deleted video", description="This video is unavailable.",
                      thumbnails={})
        sn.update(channelTitle=ch.title, playlistId=playlist_id, position=position,
                  resourceId={"kind": "youtube#video", "videoId": v.video_id})
        if v.privacy == "public":
            sn.update(videoOwnerChannelTitle=ch.title, videoOwnerChannelId=ch.channel_id)
        item["snippet"] = sn
    if "contentDetails" in parts:
        cd = {"videoId": v.video_id}
        if v.privacy == "public":
            cd["videoPublishedAt"] = ts(v.published_at)
        item["contentDetails"] = cd
    if "status" in parts:
        item["status"] = {"privacyStatus": {"public": "public", "private": "private"}.get(
            v.privacy, "privacyStatusUnspecified")}
    return finish(item)


def _broadcast(v: SimVideo) -> str:
    return {"live": "live", "upcoming": "upcoming"}.get(v.case, "none")


def video_item(ch: SimChannel, v: SimVideo, parts: frozenset[str]) -> bytes:
    item: dict = {"kind": "youtube#video", "etag": "", "id": v.video_id}
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": ts(v.published_at), "channelId": ch.channel_id, "title": v.title,
            "description": v.description,
            "thumbnails": video_thumbnails(v.video_id, v.kind != "upcoming"),
            "channelTitle": ch.title, "tags": list(v.tags), "categoryId": v.category_id,
            "liveBroadcastContent": _broadcast(v), "defaultLanguage": v.default_audio_language,
            "localized": {"title": v.title, "description": v.description},
            "defaultAudioLanguage": v.default_audio_language,
        }
    if "contentDetails" in parts:
        cd: dict = {"duration": iso_duration(v.duration_s), "dimension": "2d",
                    "definition": "sd" if v.kind in ("live", "upcoming") else "hd",
                    "caption": "true" if v.has_manual_captions else "false",
                    "licensedContent": v.index % 3 == 0, "contentRating": {},
                    "projection": "rectangular"}
        if v.case == "age_restricted":
            cd["contentRating"] = {"ytRating": "ytAgeRestricted"}
        if v.case == "unplayable":
            cd["regionRestriction"] = {"allowed": ["JP", "KR"]}
        item["contentDetails"] = cd
    if "status" in parts:
        item["status"] = {
            "uploadStatus": "uploaded" if v.kind in ("live", "upcoming") else "processed",
            "privacyStatus": "public", "license": "youtube", "embeddable": True,
            "publicStatsViewable": True, "madeForKids": False,
        }
    if "statistics" in parts:
        st = {"viewCount": str(v.view_count), "likeCount": str(v.like_count),
              "favoriteCount": "0"}
        if v.comment_count is not None:
            st["commentCount"] = str(v.comment_count)
        item["statistics"] = st
    if "liveStreamingDetails" in parts and v.scheduled_start is not None:
        ls: dict = {}
        if v.actual_start:
            ls["actualStartTime"] = ts(v.actual_start)
        if v.actual_end:
            ls["actualEndTime"] = ts(v.actual_end)
        ls["scheduledStartTime"] = ts(v.scheduled_start)
        if v.case == "live":
            ls["concurrentViewers"] = str(50 + v.view_count % 5000)
        if v.case in ("live", "upcoming"):
            ls["activeLiveChatId"] = "Cg0KC" + c.b64_id(c.rng_for(v.video_id, "chat"), 24)
        item["liveStreamingDetails"] = ls
    return finish(item)


def search_channel(ch: SimChannel) -> dict:
    return {"kind": "youtube#searchResult", "etag": "",
            "id": {"kind": "youtube#channel", "channelId": ch.channel_id},
            "snippet": {"publishedAt": ts(ch.published_at), "channelId": ch.channel_id,
                        "title": ch.title, "description": ch.description[:160],
                        "thumbnails": channel_thumbnails(ch, sized=False),
                        "channelTitle": ch.title, "liveBroadcastContent": "none",
                        "publishTime": ts(ch.published_at)}}


def search_video(ch: SimChannel, v: SimVideo) -> dict:
    thumbs = video_thumbnails(v.video_id, False)
    thumbs.pop("standard")
    return {"kind": "youtube#searchResult", "etag": "",
            "id": {"kind": "youtube#video", "videoId": v.video_id},
            "snippet": {"publishedAt": ts(v.published_at), "channelId": ch.channel_id,
                        "title": v.title, "description": v.description[:160],
                        "thumbnails": thumbs, "channelTitle": ch.title,
                        "liveBroadcastContent": _broadcast(v),
                        "publishTime": ts(v.published_at)}}
