"""www.youtube.com endpoints used by youtube-transcript-api: /watch, /youtubei/v1/player and
/api/timedtext. Shapes follow the library's captured real responses (test/assets).

Caption ``baseUrl``s are absolute ``https://www.youtube.com/api/timedtext?...`` URLs, as on
the real site; clients reach the simulator by rewriting www.youtube.com in their transport.
"""

from __future__ import annotations

import html
import json
import threading
from collections import OrderedDict

from . import content as c
from .reply import XML, Reply, dumps, google_error
from .world import SimVideo, SimWorld

INNERTUBE_API_KEY = "AIzaSyB-SimulatedInnertubeKey_TubeSensei"
CLIENT_VERSION = "2.20250610.00.00"
BOT_REASON = "Sign in to confirm you\u2019re not a bot"
AGE_REASON = "This video may be inappropriate for some users."
UNAVAILABLE_REASON = "This video is unavailable"
UNPLAYABLE_REASON = "Video unavailable"
UNPLAYABLE_SUBREASON = "The uploader has not made this video available in your country"
CONSENT_VALUE = "cb.20210328-17-p0.en+FX+119"
_META_KEYS = ("sparams", "ip", "ipbits", "expire", "v", "ei", "caps", "opi", "xoaf")


def watch_page(world: SimWorld, video_id: str) -> str:
    v = world.get_video(video_id)
    title = html.escape(v.title if v and v.is_public else "YouTube")
    cfg = {"CLIENT_CANARY_STATE": "none", "DEVICE": "cbr=Chrome", "HL": "en", "GL": "US",
           "INNERTUBE_API_KEY": INNERTUBE_API_KEY, "INNERTUBE_API_VERSION": "v1",
           "INNERTUBE_CLIENT_NAME": "WEB", "INNERTUBE_CLIENT_VERSION": CLIENT_VERSION,
           "INNERTUBE_CONTEXT": {"client": {"hl": "en", "gl": "US", "clientName": "WEB",
                                            "clientVersion": CLIENT_VERSION}},
           "VISITOR_DATA": "CgtTaW1WaXNpdG9yMQ%3D%3D"}
    initial = {"playabilityStatus": playability(world, video_id),
               "videoDetails": video_details(world, v) if v else None}
    canonical = html.escape(video_id, quote=True)
    return (
        '<!DOCTYPE html><html style="font-size: 10px;font-family: Roboto, Arial, sans-serif;"'
        ' lang="en"><head><meta http-equiv="X-UA-Compatible" content="IE=edge"/>'
        f"<title>{title} - YouTube</title>"
        f'<link rel="canonical" href="https://www.youtube.com/watch?v={canonical}">'
        f"</head><body><script>ytcfg.set({json.dumps(cfg, separators=(',', ':'))});</script>"
        f"<script>var ytInitialPlayerResponse = {json.dumps(initial)};</script>"
        '<div id="content"></div></body></html>'
    )


def consent_page(video_id: str) -> str:
    cont = html.escape(f"https://www.youtube.com/watch?v={video_id}", quote=True)
    return (
        "<!DOCTYPE html><html lang=\"en\"><head><title>Before you continue to YouTube</title>"
        "</head><body><h1>Before you continue to YouTube</h1><p>We use cookies and data "
        "to deliver and maintain Google services.</p>"
        '<form action="https://consent.youtube.com/s" method="POST" style="display:inline;">'
        '<input type="hidden" name="gl" value="US"><input type="hidden" name="m" value="0">'
        '<input type="hidden" name="pc" value="yt">'
        f'<input type="hidden" name="continue" value="{cont}">'
        '<input type="hidden" name="ca" value="r"><input type="hidden" name="x" value="8">'
        f'<input type="hidden" name="v" value="{CONSENT_VALUE}">'
        '<input type="hidden" name="hl" value="en"><input type="hidden" name="src" value="1">'
        '<input type="submit" value="Accept all" class="button"/></form></body></html>'
    )


def captcha_page(video_id: str) -> str:
    nxt = html.escape(f"/watch?v={video_id}", quote=True)
    return (
        "<!DOCTYPE html><html><head><title>YouTube</title>"
        '<script src="https://www.google.com/recaptcha/api.js" async defer></script></head>'
        '<body><div id="captcha-page"><div id="captcha-page-content"><p>Sorry for the '
        "interruption. We have been receiving a large volume of requests from your "
        "network.</p><p>To continue with your YouTube experience, please fill out the form "
        'below.</p><form action="/das_captcha?fw=1" method="POST">'
        '<div class="g-recaptcha" data-sitekey="6Lf39AMTAAAAALPbLZdcrWDa8Ygmgk_fmGmrlRog">'
        '</div><br /><input type="hidden" name="action_recaptcha_verify2" value="1" />'
        f'<input type="hidden" name="next" value="{nxt}" />'
        '<input type="submit" value="Submit" /></form></div></div></body></html>'
    )


def _error_screen(reason: str, subreason: str | None = None) -> dict:
    pem: dict = {"reason": {"runs": [{"text": reason}]},
                 "thumbnail": {"thumbnails": [{"url": "//s.ytimg.com/yts/img/meh7-vflGevej7.png",
                                               "width": 140, "height": 100}]},
                 "icon": {"iconType": "ERROR_OUTLINE"}}
    if subreason:
        pem["subreason"] = {"runs": [{"text": subreason}]}
    return {"playerErrorMessageRenderer": pem}


def _status(status: str, reason: str, subreason: str | None = None) -> dict:
    return {"status": status, "reason": reason, "errorScreen": _error_screen(reason, subreason),
            "contextParams": "Q0FFU0FnZ0M="}


def bot_status() -> dict:
    out = _status("LOGIN_REQUIRED", BOT_REASON, "This helps protect our community. ")
    out["errorScreen"]["playerErrorMessageRenderer"]["subreason"]["runs"].append(
        {"text": "Learn more", "navigationEndpoint": {"urlEndpoint": {
            "url": "https://support.google.com/youtube/answer/3037019"}}})
    out["skip"] = {"playabilityErrorSkipConfig": {"skipOnPlayabilityError": False}}
    return out


def playability(world: SimWorld, video_id: str) -> dict:
    v = world.get_video(video_id)
    if v is None or v.case == "unavailable":
        return _status("ERROR", UNAVAILABLE_REASON)
    if v.privacy == "deleted":
        return _status("ERROR", "This video has been removed by the uploader")
    if v.privacy == "private":
        out = _status("LOGIN_REQUIRED", "This video is private")
        out["messages"] = ["This is a private video. Please sign in to verify that you may "
                           "see it."]
        return out
    if v.case == "age_restricted":
        title = "You must sign in to view this video"
        return {"status": "LOGIN_REQUIRED", "reason": AGE_REASON, "errorScreen": {
            "confirmDialogRenderer": {
                "title": {"runs": [{"text": title}]},
                "dialogMessages": [{"runs": [{"text": AGE_REASON}]}],
                "confirmButton": {"buttonRenderer": {"text": {"runs": [{"text": "Sign in"}]}}},
                "cancelButton": {"buttonRenderer": {"text": {"runs": [{"text": "Go back"}]}}}}},
            "desktopLegacyAgeGateReason": 1, "reasonTitle": title,
            "contextParams": "Q0FFU0FnZ0I="}
    if v.case == "unplayable":
        return _status("UNPLAYABLE", UNPLAYABLE_REASON, UNPLAYABLE_SUBREASON)
    if v.case == "upcoming" and v.scheduled_start is not None:
        when = v.scheduled_start.strftime("%B %d, %Y at %H:%M UTC")
        out = _status("LIVE_STREAM_OFFLINE", f"This live event will begin on {when}.")
        out["liveStreamability"] = {"liveStreamabilityRenderer": {
            "videoId": v.video_id, "offlineSlate": {}, "pollDelayMs": "15000"}}
        return out
    return {"status": "OK", "playableInEmbed": True,
            "miniplayer": {"miniplayerRenderer": {"playbackMode": "PLAYBACK_MODE_ALLOW"}},
            "contextParams": "Q0FFU0FnZ0M="}


def video_details(world: SimWorld, v: SimVideo) -> dict:
    ch = world.channel(v.channel_id)
    base = f"https://i.ytimg.com/vi/{v.video_id}/"
    out = {"videoId": v.video_id, "title": v.title, "lengthSeconds": str(v.duration_s),
           "keywords": list(v.tags), "channelId": ch.channel_id, "isOwnerViewing": False,
           "shortDescription": v.description, "isCrawlable": True,
           "thumbnail": {"thumbnails": [{"url": base + "default.jpg", "width": 120,
                                         "height": 90},
                                        {"url": base + "hqdefault.jpg", "width": 480,
                                         "height": 360}]},
           "allowRatings": True, "viewCount": str(v.view_count), "author": ch.title,
           "isPrivate": False, "isUnpluggedCorpus": False,
           "isLiveContent": v.was_live or v.kind in ("live", "upcoming")}
    if v.case == "live":
        out["isLive"] = True
    if v.case == "upcoming":
        out["isUpcoming"] = True
    return out


def _sig(world: SimWorld, video_id: str, ei: str, expire: str) -> str:
    return (c.hex_digest(world.seed, video_id, ei, expire) + "."
            + c.hex_digest(expire, ei, video_id, world.seed))


def _track_meta(world: SimWorld, v: SimVideo) -> tuple[str, str]:
    ei = c.b64_id(c.rng_for(world.seed, v.video_id, "ei"), 17)
    expire = str(int(world.anchor.timestamp()) + 10 * 365 * 86400)
    return ei, expire


def caption_tracks(world: SimWorld, v: SimVideo) -> list[dict]:
    ei, expire = _track_meta(world, v)
    exp = "&exp=xpe" if v.case == "po_token_required" else ""
    prefix = (f"https://www.youtube.com/api/timedtext?v={v.video_id}&ei={ei}&caps=asr"
              f"&opi=112496729{exp}&xoaf=5&hl=en&ip=0.0.0.0&ipbits=0&expire={expire}"
              f"&sparams=ip,ipbits,expire,v,ei,caps,opi,xoaf"
              f"&signature={_sig(world, v.video_id, ei, expire)}&key=yt8")
    return [{"baseUrl": prefix + ("&kind=asr" if t.is_generated else "")
             + f"&lang={t.language_code}&fmt=srv3",
             "name": {"runs": [{"text": t.language}]},
             "vssId": ("a." if t.is_generated else ".") + t.language_code,
             "languageCode": t.language_code, **({"kind": "asr"} if t.is_generated else {}),
             "isTranslatable": t.is_translatable, "trackName": ""}
            for t in v.caption_tracks]


def captions(world: SimWorld, v: SimVideo) -> dict | None:
    if not v.caption_tracks or v.case in ("live", "upcoming"):
        if v.case == "captions_disabled" and v.index % 2:
            # the other shape seen in the wild: a renderer without captionTracks
            return {"playerCaptionsTracklistRenderer": {"audioTracks": [
                {"captionsInitialState": "CAPTIONS_INITIAL_STATE_UNKNOWN"}]}}
        return None
    tracks = caption_tracks(world, v)
    default = next((i for i, t in enumerate(v.caption_tracks) if not t.is_generated), 0)
    return {"playerCaptionsTracklistRenderer": {
        "captionTracks": tracks,
        "audioTracks": [{"captionTrackIndices": list(range(len(tracks))),
                         "defaultCaptionTrackIndex": default, "hasDefaultTrack": True,
                         "captionsInitialState": "CAPTIONS_INITIAL_STATE_OFF_RECOMMENDED"}],
        "translationLanguages": [{"languageCode": code, "languageName": {"runs": [{"text": n}]}}
                                 for code, n in c.TRANSLATION_LANGUAGES.items()],
        "defaultAudioTrackIndex": 0}}


def player_response(world: SimWorld, video_id: str) -> dict:
    v = world.get_video(video_id)
    status = playability(world, video_id)
    out: dict = {"responseContext": {"visitorData": "CgtTaW1WaXNpdG9yMQ%3D%3D",
                                     "maxAgeSeconds": 0},
                 "playabilityStatus": status}
    if v is not None and status["status"] == "OK":
        out["streamingData"] = {"expiresInSeconds": "21540", "formats": [],
                                "adaptiveFormats": []}
        caps = captions(world, v)
        if caps is not None:
            out["captions"] = caps
        out["videoDetails"] = video_details(world, v)
    out["trackingParams"] = "CAAQu2kiEwjSimTrackingParams"
    return out


def player(world: SimWorld, query_key: str | None, body: bytes, bot_blocked: bool) -> Reply:
    if query_key is not None and query_key != INNERTUBE_API_KEY:
        return google_error(400, "API key not valid. Please pass a valid API key.",
                            "badRequest")
    try:
        payload = json.loads(body or b"{}")
        video_id = payload["videoId"]
        if not isinstance(video_id, str):
            raise TypeError(video_id)
    except (ValueError, KeyError, TypeError):
        return google_error(400, "Request contains an invalid argument.", "badRequest")
    if bot_blocked:
        return Reply(200, dumps({"responseContext": {}, "playabilityStatus": bot_status(),
                                 "trackingParams": "CAAQu2kiEwjSimTrackingParams"}))
    return Reply(200, dumps(player_response(world, video_id)))


class TimedText:
    """GET /api/timedtext: format 1 XML by default, srv3 when ``fmt=srv3``."""

    def __init__(self, world: SimWorld, size: int = 512):
        self.world = world
        self._lru: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def __call__(self, params: dict[str, list[str]]) -> Reply:
        q = {k: vals[0] for k, vals in params.items() if vals}
        v = self.world.get_video(q.get("v", ""))
        if v is None or not v.is_public:
            return Reply(404, b"", XML)
        ei, expire = _track_meta(self.world, v)
        if q.get("signature") != _sig(self.world, v.video_id, ei, expire) or any(
                k not in q for k in _META_KEYS):
            return Reply(403, b"", XML)
        if q.get("exp") == "xpe" and not q.get("pot"):
            return Reply(200, b"", XML)  # what YouTube sends without a PO token
        generated = q.get("kind") == "asr"
        track = v.track(q.get("lang", ""), generated)
        tlang = q.get("tlang")
        if track is None or (tlang and tlang not in c.TRANSLATION_LANGUAGES):
            return Reply(200, b"", XML)
        fmt = "srv3" if q.get("fmt") == "srv3" else "1"
        key = (self.world.version, v.video_id, track.language_code, generated, tlang, fmt)
        with self._lock:
            body = self._lru.get(key)
        if body is None:
            segs = v.segments(track.language_code, generated, tlang)
            body = (_srv3(segs) if fmt == "srv3" else _format1(segs)).encode("utf-8")
            with self._lock:
                self._lru[key] = body
                while len(self._lru) > self._size:
                    self._lru.popitem(last=False)
        return Reply(200, body, XML)


def _format1(segs) -> str:
    rows = "".join(f'<text start="{c.fmt_seconds(s.start)}" dur="{c.fmt_seconds(s.duration)}">'
                   f"{c.youtube_escape(s.markup)}</text>" for s in segs)
    return f'<?xml version="1.0" encoding="utf-8" ?><transcript>{rows}</transcript>'


def _srv3(segs) -> str:
    rows = "".join(f'<p t="{round(s.start * 1000)}" d="{round(s.duration * 1000)}">'
                   f"{html.escape(c.Segment(s.markup, 0, 0).text, quote=False)}</p>\n"
                   for s in segs if s.markup)
    return ('<?xml version="1.0" encoding="utf-8" ?><timedtext format="3">\n<body>\n'
            f"{rows}</body>\n</timedtext>\n")
