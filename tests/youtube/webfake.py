"""A fake of YouTube's web endpoints built from the real responses that youtube-transcript-api
ships as test assets (watch page, innertube player JSON per failure case, timedtext XML)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import youtube_transcript_api

from tests.youtube.fakes import Reply, Seen

ASSETS = Path(youtube_transcript_api.__file__).parent / "test" / "assets"


def asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def player_json(tracks: list[tuple[str, bool]], video_id: str,
                translation: tuple[str, ...] = ("nl", "fr")) -> str:
    """An innertube player answer listing ``(language_code, is_generated)`` tracks."""
    caption_tracks = [{
        "baseUrl": f"https://www.youtube.com/api/timedtext?v={video_id}&lang={code}"
                   + ("&kind=asr" if generated else "") + "&fmt=srv3",
        "name": {"runs": [{"text": f"Language {code}"}]},
        "languageCode": code, "isTranslatable": True,
        **({"kind": "asr"} if generated else {}),
    } for code, generated in tracks]
    return json.dumps({
        "playabilityStatus": {"status": "OK"},
        "captions": {"playerCaptionsTracklistRenderer": {
            "captionTracks": caption_tracks,
            "translationLanguages": [{"languageCode": c, "languageName": {"runs": [{"text": c}]}}
                                     for c in translation]}},
    })


@dataclass
class Video:
    watch: Reply = field(default_factory=lambda: Reply(200, asset("youtube.html.static")))
    player: Reply = field(
        default_factory=lambda: Reply(200, asset("youtube.innertube.json.static")))
    timedtext: Reply = field(default_factory=lambda: Reply(200, asset("transcript.xml.static")))
    needs_consent: bool = False


class WebFake:
    """Route requests to per-video behaviour; unknown ids get the default video."""

    def __init__(self, videos: dict[str, Video]) -> None:
        self.videos = videos

    def __call__(self, seen: Seen) -> Reply:
        query = seen.query
        if seen.route.endswith("/watch"):
            video = self._video(query.get("v", [""])[0])
            if video.needs_consent and "CONSENT=YES+" not in seen.headers.get("Cookie", ""):
                return Reply(200, asset("youtube_consent_page.html.static"))
            return video.watch
        if seen.route.endswith("/youtubei/v1/player"):
            return self._video(json.loads(seen.body).get("videoId", "")).player
        if seen.route.endswith("/api/timedtext"):
            return self._video(query.get("v", [""])[0]).timedtext
        return Reply(404, "not found")

    def _video(self, video_id: str) -> Video:
        return self.videos.get(video_id) or Video()
