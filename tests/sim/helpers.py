"""Drive the real client libraries against the simulator (no product code involved)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import requests
from googleapiclient.discovery import build
from requests.adapters import HTTPAdapter
from youtube_transcript_api import YouTubeTranscriptApi

YOUTUBE = "https://www.youtube.com"


class RewriteAdapter(HTTPAdapter):
    """Send https://www.youtube.com/... to the simulator. Rewriting happens in ``send``,
    after the session has attached cookies for .youtube.com (the consent cookie)."""

    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def send(self, request, **kwargs):
        if request.url.startswith(YOUTUBE + "/"):
            request.url = self.base_url + request.url[len(YOUTUBE):]
        return super().send(request, **kwargs)


def transcript_api(base_url: str) -> YouTubeTranscriptApi:
    session = requests.Session()
    session.mount(YOUTUBE, RewriteAdapter(base_url))
    return YouTubeTranscriptApi(http_client=session)


def data_api(base_url: str, key: str | None = "test-key"):
    return build("youtube", "v3", developerKey=key, cache_discovery=False,
                 client_options={"api_endpoint": base_url}, static_discovery=True)


def http(method: str, url: str, payload: dict | None = None,
         headers: dict | None = None) -> tuple[int, bytes]:
    data = None if payload is None else json.dumps(payload).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def get_json(url: str) -> tuple[int, dict]:
    status, body = http("GET", url)
    return status, json.loads(body)


def page_all(yt, playlist_id: str, parts: str = "snippet,contentDetails,status") -> list[dict]:
    items, token = [], None
    while True:
        resp = yt.playlistItems().list(part=parts, playlistId=playlist_id, maxResults=50,
                                       pageToken=token).execute()
        items.extend(resp["items"])
        token = resp.get("nextPageToken")
        if not token:
            return items
