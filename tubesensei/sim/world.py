"""The simulated world: channels, uploads and the truth tests check against."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from . import content as c
from .config import SimConfig

CASES = (
    "manual_en", "generated_en", "multi_language", "no_english", "captions_disabled",
    "unavailable", "age_restricted", "unplayable", "po_token_required", "private",
    "deleted", "short", "live", "upcoming", "finished_live",
)
# Every block of 20 consecutive uploads (oldest first) holds each case once, plus extras.
_BLOCK = (*CASES, "manual_en", "manual_en", "manual_en", "generated_en", "generated_en")
_KIND = {"short": "short", "live": "live", "upcoming": "upcoming"}
# Why the product cannot store a transcript (DESIGN.md words), per case.
_UNAVAILABLE_REASON = {
    "captions_disabled": "transcripts_disabled",
    "no_english": "no_transcript_in_language",
    "unavailable": "video_unavailable",
    "age_restricted": "age_restricted",
    "unplayable": "unplayable",
    "po_token_required": "po_token_required",
}


@dataclass(frozen=True)
class SimTrack:
    language_code: str
    language: str  # the name the player shows, e.g. "English (auto-generated)"
    is_generated: bool
    is_translatable: bool = True


@dataclass
class SimVideo:
    video_id: str
    channel_id: str
    index: int  # upload ordinal within the channel, oldest = 0
    case: str
    title: str
    description: str
    published_at: datetime
    seed_key: str
    kind: str = "video"  # video | short | live | upcoming
    privacy: str = "public"  # public | private | deleted
    duration_s: int = 0
    tags: list[str] = field(default_factory=list)
    category_id: str = "22"
    default_audio_language: str = "en"
    view_count: int = 0
    like_count: int = 0
    comment_count: int | None = 0  # None: comments disabled (no commentCount in statistics)
    caption_tracks: list[SimTrack] = field(default_factory=list)
    was_live: bool = False  # a finished live stream (kind "video")
    scheduled_start: datetime | None = None
    actual_start: datetime | None = None
    actual_end: datetime | None = None

    @property
    def is_public(self) -> bool:
        return self.privacy == "public"

    @property
    def unavailable_reason(self) -> str | None:
        """DESIGN.md reason the transcript cannot be had (None if it can or if n/a)."""
        return _UNAVAILABLE_REASON.get(self.case)

    @property
    def has_manual_captions(self) -> bool:
        return any(not t.is_generated for t in self.caption_tracks)

    def track(self, language_code: str, generated: bool | None = None) -> SimTrack | None:
        """Track the library would pick for one language (manual before generated)."""
        order = [False, True] if generated is None else [generated]
        for gen in order:
            for t in self.caption_tracks:
                if t.language_code == language_code and t.is_generated == gen:
                    return t
        return None

    def segments(self, language_code: str = "en", generated: bool | None = None,
                 translate_to: str | None = None) -> tuple[c.Segment, ...]:
        t = self.track(language_code, generated)
        if t is None:
            raise LookupError(f"{self.video_id} has no {language_code} track")
        make = c.generated_segments if t.is_generated else c.manual_segments
        segs = make(self.seed_key, t.language_code, self.duration_s or 60)
        return c.translated(segs, translate_to) if translate_to else segs

    def expected_segments(self, language_code: str = "en", generated: bool | None = None,
                          translate_to: str | None = None) -> list[dict]:
        """Exactly what ``YouTubeTranscriptApi().fetch(...).to_raw_data()`` returns."""
        return [{"text": s.text, "start": s.start, "duration": s.duration}
                for s in self.segments(language_code, generated, translate_to) if s.markup]

    def spoken_lines(self, language_code: str = "en", generated: bool | None = None) -> list[str]:
        """The distinct spoken lines in order: no [Music]-style cues, no rolling repeats."""
        out: list[str] = []
        for s in self.segments(language_code, generated):
            for line in s.text.split("\n"):
                line = line.replace("[Applause]", "").replace("[Music]", "").strip()
                line = " ".join(line.split())
                if line and (not out or out[-1] != line):
                    out.append(line)
        return out


@dataclass
class SimChannel:
    channel_id: str
    handle: str  # "@simchannel0"
    title: str
    custom_url: str
    username: str
    description: str
    published_at: datetime
    subscriber_count: int
    videos: list[SimVideo] = field(default_factory=list)  # newest first

    @property
    def uploads_playlist_id(self) -> str:
        return "UU" + self.channel_id[2:]


def _tracks(case: str, rng) -> list[SimTrack]:
    def t(code: str, gen: bool = False) -> SimTrack:
        name = c.LANGUAGE_NAMES[code] + (" (auto-generated)" if gen else "")
        return SimTrack(code, name, gen)

    if case in ("manual_en", "age_restricted", "unplayable", "unavailable", "private",
                "deleted", "po_token_required"):
        return [t("en"), t("en", True)] if rng.random() < 0.5 else [t("en")]
    if case in ("generated_en", "finished_live"):
        return [t("en", True)]
    if case == "short":
        return [t("en")] if rng.random() < 0.4 else [t("en", True)]
    if case == "multi_language":
        others = rng.sample(["de", "es", "fr", "pt", "ja"], 3)
        return [t("en")] + [t(x) for x in sorted(others)] + [t("en", True)]
    if case == "no_english":
        langs = sorted(rng.sample(["de", "es", "fr"], 2))
        return [t(x) for x in langs] + [t(langs[0], True)]
    return []  # captions_disabled, live, upcoming


def apply_case(v: SimVideo, case: str, anchor: datetime) -> None:
    """(Re)derive every case-dependent field of a video from its seed key."""
    rng = c.rng_for(v.seed_key, "case", case)
    v.case = case
    v.kind = _KIND.get(case, "video")
    v.privacy = {"private": "private", "deleted": "deleted"}.get(case, "public")
    v.caption_tracks = _tracks(case, rng)
    asr = [t.language_code for t in v.caption_tracks if t.is_generated]
    v.default_audio_language = asr[0] if asr else "en"
    v.was_live = case == "finished_live"
    v.scheduled_start = v.actual_start = v.actual_end = None
    if case == "short":
        v.duration_s = rng.randint(12, 60)
        if "#shorts" not in v.title:
            v.title = f"{v.title[:60]} #shorts"
    elif case == "finished_live":
        v.duration_s = rng.randint(1800, 7200)
        v.scheduled_start = v.published_at + timedelta(minutes=30)
        v.actual_start = v.scheduled_start + timedelta(seconds=rng.randint(20, 300))
        v.actual_end = v.actual_start + timedelta(seconds=v.duration_s)
    elif case == "live":
        v.duration_s = 0
        v.scheduled_start = v.published_at + timedelta(minutes=5)
        v.actual_start = v.scheduled_start + timedelta(seconds=rng.randint(5, 120))
    elif case == "upcoming":
        v.duration_s = 0
        v.scheduled_start = anchor + timedelta(days=rng.randint(3, 60), hours=rng.randint(0, 23))
    else:
        v.duration_s = rng.randint(90, 1500) if rng.random() < 0.9 else rng.randint(1500, 5400)
    if case == "upcoming":
        v.view_count = v.like_count = 0
        v.comment_count = 0


def _fmt(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class SimWorld:
    """All channels and videos. Mutations bump ``version`` (response caches key on it)."""

    def __init__(self, config: SimConfig):
        self.config = config
        self.seed = config.seed
        self.anchor = datetime.strptime(config.anchor, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC)
        self.version = 0
        self.lock = threading.RLock()
        self.channels: list[SimChannel] = []
        self._videos: dict[str, SimVideo] = {}
        self._by_channel: dict[str, SimChannel] = {}
        # Changes between scans: videos taken out of their uploads playlist (a deleted video
        # whose row is gone), and channels YouTube no longer has.
        self._unlisted_from: dict[str, SimChannel] = {}
        self._closed: dict[str, SimChannel] = {}
        for i, size in enumerate(config.sizes()):
            self._make_channel(i, size)

    # -- lookups ------------------------------------------------------------------------
    def video(self, video_id: str) -> SimVideo:
        return self._videos[video_id]

    def get_video(self, video_id: str) -> SimVideo | None:
        return self._videos.get(video_id)

    def channel(self, channel_id: str) -> SimChannel:
        return self._by_channel[channel_id]

    def get_channel(self, channel_id: str) -> SimChannel | None:
        return self._by_channel.get(channel_id)

    def channel_by_handle(self, handle: str) -> SimChannel | None:
        h = handle.strip().lstrip("@").lower()
        return next((ch for ch in self.channels if ch.handle[1:].lower() == h), None)

    def channel_by_username(self, username: str) -> SimChannel | None:
        u = username.strip().lower()
        return next((ch for ch in self.channels if ch.username.lower() == u), None)

    @property
    def videos(self) -> list[SimVideo]:
        """Every video of every channel (channel order, newest first within a channel)."""
        return [v for ch in self.channels for v in ch.videos]

    def videos_by_case(self, case: str, channel_id: str | None = None) -> list[SimVideo]:
        if case not in CASES:
            raise ValueError(f"unknown case {case!r}; one of {', '.join(CASES)}")
        chans = [self.channel(channel_id)] if channel_id else self.channels
        return [v for ch in chans for v in ch.videos if v.case == case]

    def find(self, case: str, channel_id: str | None = None) -> SimVideo:
        found = self.videos_by_case(case, channel_id)
        if not found:
            raise LookupError(f"no video of case {case!r}")
        return found[0]

    # -- generation -----------------------------------------------------------------------
    def _make_channel(self, i: int, size: int) -> SimChannel:
        rng = c.rng_for(self.seed, "channel", i)
        cid = c.new_channel_id(rng)
        while cid in self._by_channel:  # pragma: no cover - 2**-128 odds
            cid = c.new_channel_id(rng)
        span = timedelta(days=min(size * 3, 12 * 365))
        gap = span / max(size, 1)
        first = self.anchor - span
        ch = SimChannel(
            channel_id=cid, handle=f"@simchannel{i}", title=c.channel_title(rng),
            custom_url=f"@simchannel{i}", username=f"SimChannel{i}",
            description=f"Simulated channel number {i}. New videos every week!",
            published_at=(first - timedelta(days=30)).replace(microsecond=0),
            subscriber_count=rng.randint(1_000, 3_000_000),
        )
        oldest_first = [self._make_video(ch, k, first + gap * k, rng.random() * 0.5 * gap)
                        for k in range(size)]
        ch.videos = oldest_first[::-1]
        self.channels.append(ch)
        self._by_channel[cid] = ch
        return ch

    def _make_video(self, ch: SimChannel, k: int, at: datetime, jitter: timedelta | float,
                    case: str | None = None) -> SimVideo:
        if case is None:
            order = c.rng_for(self.seed, ch.channel_id, "block", k // len(_BLOCK)).sample(
                _BLOCK, len(_BLOCK))
            case = order[k % len(_BLOCK)]
        rng = c.rng_for(self.seed, ch.channel_id, "video", k)
        vid = c.new_video_id(rng)
        while vid in self._videos:  # pragma: no cover - 2**-64 odds
            vid = c.new_video_id(rng)
        if isinstance(jitter, timedelta):
            jitter = jitter.total_seconds()
        published = (at + timedelta(seconds=jitter)).replace(microsecond=0)
        title, tags = c.video_title(rng)
        views = int(rng.lognormvariate(8, 2)) % 50_000_000
        v = SimVideo(
            video_id=vid, channel_id=ch.channel_id, index=k, case=case, title=title,
            description=c.video_description(rng, title), published_at=published,
            seed_key=f"{self.seed}:{vid}", tags=tags, category_id=c.category_id(rng),
            view_count=views, like_count=views // rng.randint(20, 60),
            comment_count=None if rng.random() < 0.07 else views // rng.randint(100, 400),
        )
        apply_case(v, case, self.anchor)
        self._videos[vid] = v
        return v

    # -- mutations (tests of incremental rescans) ----------------------------------------
    def add_upload(self, channel_id: str, case: str = "manual_en") -> SimVideo:
        if case not in CASES:
            raise ValueError(f"unknown case {case!r}")
        with self.lock:
            ch = self.channel(channel_id)
            newest = ch.videos[0].published_at if ch.videos else self.anchor
            at = max(newest, self.anchor) + timedelta(hours=1)
            v = self._make_video(ch, len(ch.videos), at, 0.0, case)
            ch.videos = [v, *ch.videos]  # copy-on-write: readers keep a consistent list
            self.version += 1
            return v

    def make_public(self, video_id: str, case: str = "manual_en") -> SimVideo:
        with self.lock:
            v = self.video(video_id)
            if v.privacy != "private":
                raise ValueError(f"{video_id} is {v.privacy}, not private")
            apply_case(v, case, self.anchor)
            self.version += 1
            return v

    def finish_stream(self, video_id: str) -> SimVideo:
        """A live or upcoming stream ends: it becomes a finished stream with captions."""
        with self.lock:
            v = self.video(video_id)
            if v.case not in ("live", "upcoming"):
                raise ValueError(f"{video_id} is not live or upcoming")
            apply_case(v, "finished_live", self.anchor)
            self.version += 1
            return v

    def delete_video(self, video_id: str, keep_row: bool = False) -> SimVideo:
        """The owner deletes a video: videos.list stops returning it, the watch page says it
        is unavailable. ``keep_row``: its uploads-playlist row stays as "Deleted video" (as
        in playlists YouTube keeps such rows); otherwise the row disappears."""
        with self.lock:
            v = self.video(video_id)
            v.privacy = "deleted"
            if not keep_row:
                ch = self.channel(v.channel_id)
                ch.videos = [x for x in ch.videos if x.video_id != video_id]
                self._unlisted_from[video_id] = ch
            self.version += 1
            return v

    def make_private(self, video_id: str) -> SimVideo:
        """The owner makes a public video private: its playlist row becomes "Private video"."""
        with self.lock:
            v = self.video(video_id)
            if not v.is_public:
                raise ValueError(f"{video_id} is {v.privacy}, not public")
            v.privacy = "private"
            self.version += 1
            return v

    def restore_video(self, video_id: str) -> SimVideo:
        """A deleted or private video is back, as it was (same case, same captions)."""
        with self.lock:
            v = self.video(video_id)
            if v.is_public:
                raise ValueError(f"{video_id} is already public")
            v.privacy = "public"
            ch = self._unlisted_from.pop(video_id, None)
            if ch is not None:
                ch.videos = sorted([*ch.videos, v], key=lambda x: x.published_at, reverse=True)
            self.version += 1
            return v

    def rename_channel(self, channel_id: str, title: str | None = None,
                       handle: str | None = None, description: str | None = None) -> SimChannel:
        """New title, handle or description (the old handle stops resolving)."""
        with self.lock:
            ch = self.channel(channel_id)
            if handle is not None:
                handle = "@" + handle.lstrip("@")
                other = self.channel_by_handle(handle)
                if other is not None and other is not ch:
                    raise ValueError(f"{handle} is taken by {other.channel_id}")
                ch.handle = ch.custom_url = handle
            if title is not None:
                ch.title = title
            if description is not None:
                ch.description = description
            self.version += 1
            return ch

    def close_channel(self, channel_id: str) -> SimChannel:
        """The channel is terminated: channels.list, its playlist and its videos are gone."""
        with self.lock:
            ch = self._by_channel.pop(channel_id)
            self.channels = [x for x in self.channels if x is not ch]
            for v in ch.videos:
                v.privacy = "deleted"
            self._closed[channel_id] = ch
            self.version += 1
            return ch

    def summary(self) -> dict:
        """JSON-able truth for tests driving a subprocess (GET /__sim/world)."""
        return {"seed": self.seed, "version": self.version, "channels": [
            {"channel_id": ch.channel_id, "handle": ch.handle, "title": ch.title,
             "username": ch.username, "uploads_playlist_id": ch.uploads_playlist_id,
             "videos": [{"video_id": v.video_id, "case": v.case, "kind": v.kind,
                         "privacy": v.privacy, "title": v.title,
                         "published_at": _fmt(v.published_at),
                         "unavailable_reason": v.unavailable_reason,
                         "tracks": [[t.language_code, t.is_generated] for t in v.caption_tracks]}
                        for v in ch.videos]}
            for ch in self.channels]}
