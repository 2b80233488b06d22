"""Parse the channel and video references people paste.

Pure syntax: nothing here talks to YouTube. ``enqueue channel`` relies on that to check a
reference offline; resolving a handle, custom name or username to a ``UC…`` id is the
discovery job's business.

Accepted channel references (``parse_channel_ref``):

* a channel id: ``UC`` + 22 characters of ``[A-Za-z0-9_-]`` (24 in all);
* ``@handle``; handles are 3–30 letters (any script), digits, ``_``, ``-`` or ``.``.
  Percent-encoded handles (``@%E6%97%A5…``) are decoded. The case typed is kept;
  ``ChannelRef.key`` compares case-insensitively;
* a bare handle without ``@`` when it cannot be mistaken for something else. It is refused
  (with a message saying to write ``@name`` or paste a URL) when it:
  - starts with ``UC`` and is 22–26 id characters long (a channel id with a typo),
  - is exactly 11 video-id characters (could be a video id),
  - contains a ``.`` (could be a web address);
* URLs on ``youtube.com``, ``www.``, ``m.`` and ``music.youtube.com`` (YouTube Music serves
  the same ``/channel/`` and ``/watch`` paths, so its links are accepted too):
  ``/channel/UC…``, ``/@handle``, ``/c/name``, ``/user/name`` and the legacy vanity form
  ``/name`` (read as a custom name), each with any channel tab after it (``/videos``,
  ``/shorts``, ``/streams``, ``/featured``, ``/about``…: the channel is what counts);
* the same paths without a host: ``c/name``, ``user/name``, ``channel/UC…``, ``@handle/videos``;
* a video reference (any form below, or ``video:ID``), giving ``kind="video"``: the channel is
  found later through the video.

Accepted video references (``parse_video_id``): a bare 11-character id; ``/watch?v=ID`` with
any other parameters; ``/watch/ID``, ``/shorts/ID``, ``/live/ID``, ``/embed/ID``, ``/v/ID``,
``/e/ID`` on the hosts above; ``youtu.be/ID``; ``youtube-nocookie.com/embed/ID``.

Everywhere: surrounding whitespace and invisible characters are ignored, the scheme may be
http, https or absent, and query strings (``?si=…``, ``&t=42s``, ``&list=…``), fragments and
trailing slashes do not matter. Ids are checked for length and alphabet only; their last
character's reduced alphabet is not checked.

Anything else raises ``InvalidReference`` with one human line saying what was wrong.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import parse_qs, unquote, urlsplit

from tubesensei.errors import BadInput

__all__ = [
    "ChannelKind",
    "ChannelRef",
    "InvalidReference",
    "is_channel_id",
    "is_video_id",
    "parse_channel_ref",
    "parse_video_id",
]

ChannelKind = Literal["id", "handle", "custom", "username", "video"]

CHANNEL_ID_LENGTH = 24
VIDEO_ID_LENGTH = 11
HANDLE_MIN_LENGTH = 3
HANDLE_MAX_LENGTH = 30
NAME_MAX_LENGTH = 100

_ID_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
_CHANNEL_ID_RE = re.compile(r"UC[A-Za-z0-9_-]{22}")
_VIDEO_ID_RE = re.compile(r"[A-Za-z0-9_-]{11}")

_WEB_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_SHORT_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
_NOCOOKIE_HOSTS = frozenset({"youtube-nocookie.com", "www.youtube-nocookie.com"})
_ALL_HOSTS = _WEB_HOSTS | _SHORT_HOSTS | _NOCOOKIE_HOSTS

_VIDEO_PATHS = frozenset({"watch", "shorts", "live", "embed", "v", "e"})
# First path segments that may be written without a host ("c/name", "@handle/videos").
_RELATIVE_PATHS = _VIDEO_PATHS | {"channel", "c", "user", "playlist"}
# First path segments that are YouTube pages, never a legacy vanity name (youtube.com/NAME).
_RESERVED_PATHS = _RELATIVE_PATHS | {
    "about", "account", "ads", "attribution_link", "channels", "clip", "courses", "creators",
    "feed", "gaming", "hashtag", "howyoutubeworks", "index", "kids", "live_chat", "movies",
    "music", "news", "oembed", "post", "podcasts", "premium", "redirect", "results",
    "shopping", "signin", "source", "sports", "store", "studio", "subscriptions", "t",
    "trending", "tv", "upload", "verify_age", "yt",
}  # fmt: skip
# A bare "name.tld" with one of these endings is read as a web address, not a handle.
_COMMON_TLDS = frozenset({
    "app", "be", "co", "com", "de", "dev", "edu", "fm", "fr", "gg", "io", "it", "jp", "ly",
    "me", "net", "org", "ru", "tv", "uk", "us",
})  # fmt: skip
# Pasted from chat apps and web pages; never part of a reference.
_INVISIBLE = str.maketrans(dict.fromkeys(("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")))


class InvalidReference(BadInput, ValueError):
    """A channel or video reference that cannot be read; ``str(err)`` is one human line."""


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """A syntactically valid channel reference, not yet resolved against YouTube.

    ``value`` is the id, the handle without ``@`` (case as typed), the custom name, the
    legacy username, or a video id for ``kind="video"``.
    """

    kind: ChannelKind
    value: str

    def __post_init__(self) -> None:
        if self.kind not in get_args(ChannelKind):
            raise ValueError(f"unknown channel reference kind: {self.kind!r}")

    def display(self) -> str:
        """The canonical text form; ``parse_channel_ref(ref.display()) == ref``."""
        prefix = {"id": "", "handle": "@", "custom": "c/", "username": "user/", "video": "video:"}
        return prefix[self.kind] + self.value

    @property
    def key(self) -> tuple[str, str]:
        """Identity for comparisons: handles and names are case-insensitive, ids are not."""
        if self.kind in ("handle", "custom", "username"):
            return (self.kind, self.value.casefold())
        return (self.kind, self.value)

    def __str__(self) -> str:
        return self.display()


def is_channel_id(s: object) -> bool:
    """True for a well-formed channel id: ``UC`` followed by 22 id characters."""
    return isinstance(s, str) and _CHANNEL_ID_RE.fullmatch(s) is not None


def is_video_id(s: object) -> bool:
    """True for a well-formed video id: 11 characters of ``[A-Za-z0-9_-]``."""
    return isinstance(s, str) and _VIDEO_ID_RE.fullmatch(s) is not None


def parse_channel_ref(text: str) -> ChannelRef:
    """Read any channel reference a user may paste (see the module docstring)."""
    s = _prepare(text)
    if s.startswith("video:"):
        return ChannelRef("video", _check_video_id(s.removeprefix("video:")))
    if _looks_like_url(s):
        return _parse_url(s, wanted="channel")
    if s.startswith("@"):
        return ChannelRef("handle", _check_handle(s[1:]))
    return _parse_bare_channel(s)


def parse_video_id(text: str) -> str:
    """Return the 11-character video id from a bare id or any YouTube video URL."""
    s = _prepare(text)
    if s.startswith("video:"):
        s = s.removeprefix("video:")
    if _looks_like_url(s):
        ref = _parse_url(s, wanted="video")
        if ref.kind != "video":
            raise InvalidReference(f"not a video URL: it names a channel ({ref.display()})")
        return ref.value
    if s.startswith("@"):
        raise InvalidReference(f"a channel handle is not a video: {s}")
    if is_channel_id(s):
        raise InvalidReference(f"a channel id is not a video id: {s}")
    if "." in s:
        host = s.lower()
        if host in _ALL_HOSTS:
            raise InvalidReference(f"URL has no video id: {host}")
        raise InvalidReference(f"not a YouTube URL: {host}")
    return _check_video_id(s)


# -- helpers ----------------------------------------------------------------------------


def _prepare(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError(f"reference must be a str, not {type(text).__name__}")
    s = text.translate(_INVISIBLE).strip()
    if not s:
        raise InvalidReference("empty reference: give a URL, @handle or id")
    if any(ch.isspace() for ch in s):
        raise InvalidReference(
            f"reference contains a space: {_show(s)} (give one URL, @handle or id)"
        )
    return s


def _show(s: str, limit: int = 60) -> str:
    """User text quoted for an error line (repr escapes newlines; long text is cut)."""
    return repr(s if len(s) <= limit else s[: limit - 1] + "…")


def _looks_like_url(s: str) -> bool:
    return "/" in s or "?" in s or "#" in s


def _parse_bare_channel(s: str) -> ChannelRef:
    if is_channel_id(s):
        return ChannelRef("id", s)
    if s.startswith("UC") and 22 <= len(s) <= 26 and set(s) <= _ID_CHARS:
        raise InvalidReference(
            f"channel id must be {CHANNEL_ID_LENGTH} characters starting with UC, got {len(s)}"
            f" (write @{s} if it is a handle)"
        )
    if "." in s:
        host = s.lower()
        if host in _ALL_HOSTS:
            raise InvalidReference(f"URL has no channel: {host}")
        if host.rsplit(".", 1)[-1] in _COMMON_TLDS:
            raise InvalidReference(f"not a YouTube URL: {host}")
        raise InvalidReference(
            f"{_show(s)} could be a handle or a web address: write @{s} for a handle, "
            "or paste the full URL"
        )
    if is_video_id(s):
        raise InvalidReference(
            f"{_show(s)} could be a handle or a video id: write @{s} for a handle, "
            "or paste the channel or video URL"
        )
    return ChannelRef("handle", _check_handle(s))


def _parse_url(s: str, *, wanted: Literal["channel", "video"]) -> ChannelRef:
    if s.startswith("//"):
        s = "https:" + s
    elif "://" not in s:
        first = re.split(r"[/?#]", s, maxsplit=1)[0]
        if "." in first or ":" in first:
            s = "https://" + s
        elif first.startswith("@") or first.lower() in _RELATIVE_PATHS:
            s = "https://www.youtube.com/" + s
        else:
            raise InvalidReference(
                f"not a {wanted} reference: {_show(s)} (expected a YouTube URL, @handle or id)"
            )
    try:
        parts = urlsplit(s)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        raise InvalidReference(f"malformed URL: {_show(s)} ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidReference(f"unsupported URL scheme {scheme!r} (expected http or https)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidReference(f"URL has no host: {_show(s)}")
    try:
        segments = [unquote(p, errors="strict") for p in parts.path.split("/") if p]
    except UnicodeDecodeError:
        raise InvalidReference(f"URL path is not valid percent-encoded UTF-8: {_show(s)}") from None
    query = parse_qs(parts.query, keep_blank_values=True)

    if host in _SHORT_HOSTS:
        if not segments:
            raise InvalidReference(f"youtu.be URL has no video id: {_show(s)}")
        return ChannelRef("video", _check_video_id(segments[0]))
    if host in _NOCOOKIE_HOSTS:
        if len(segments) >= 2 and segments[0].lower() in ("embed", "v"):
            return _embedded_video(segments[1], wanted)
        raise InvalidReference(f"URL has no video id: {_show(s)}")
    if host in _WEB_HOSTS:
        return _parse_web_path(segments, query, wanted, host)
    if host.endswith((".youtube.com", ".youtu.be")):
        raise InvalidReference(
            f"unsupported YouTube address: {host} (use a www.youtube.com or youtu.be link)"
        )
    raise InvalidReference(f"not a YouTube URL: {host}")


def _parse_web_path(
    segments: list[str], query: dict[str, list[str]], wanted: str, host: str
) -> ChannelRef:
    if not segments:
        video = (query.get("v") or [""])[0]
        if video:  # youtube.com/?v=ID still redirects to the watch page
            return ChannelRef("video", _check_video_id(video))
        raise InvalidReference(f"URL has no {wanted}: {host}")
    head, key = segments[0], segments[0].lower()

    if key == "watch":
        if len(segments) >= 2:
            return ChannelRef("video", _check_video_id(segments[1]))
        video = (query.get("v") or [""])[0]
        if video:
            return ChannelRef("video", _check_video_id(video))
        if query.get("list"):
            raise InvalidReference(f"a playlist URL is not a {wanted}: it has list= but no v=")
        raise InvalidReference("watch URL has no video id (no v= parameter)")
    if key in _VIDEO_PATHS:
        if len(segments) < 2:
            raise InvalidReference(f"URL has no video id after /{head}/")
        if key in ("embed", "v"):
            return _embedded_video(segments[1], wanted)
        return ChannelRef("video", _check_video_id(segments[1]))
    if key == "playlist":
        hint = "paste the channel's URL or @handle" if wanted == "channel" else "paste a video URL"
        raise InvalidReference(f"a playlist URL is not a {wanted}: {hint}")
    if key == "channel":
        if len(segments) < 2:
            raise InvalidReference("URL has no channel id after /channel/")
        return ChannelRef("id", _check_channel_id(segments[1]))
    if head.startswith("@"):
        return ChannelRef("handle", _check_handle(head[1:]))
    if key in ("c", "user"):
        if len(segments) < 2:
            raise InvalidReference(f"URL has no name after /{key}/")
        kind: ChannelKind = "custom" if key == "c" else "username"
        return ChannelRef(kind, _check_name(segments[1], key))
    if key in _RESERVED_PATHS:
        raise InvalidReference(f"not a {wanted} URL: /{head} is a YouTube page")
    # Legacy vanity URL (youtube.com/NAME): a custom name; resolution tries it as such.
    return ChannelRef("custom", _check_name(head, "c"))


def _embedded_video(video: str, wanted: str) -> ChannelRef:
    if video == "videoseries":  # /embed/videoseries?list=PL… embeds a playlist
        raise InvalidReference(f"an embedded playlist is not a {wanted}")
    return ChannelRef("video", _check_video_id(video))


def _first_bad_char(s: str, allowed: frozenset[str]) -> str | None:
    return next((ch for ch in s if ch not in allowed), None)


def _check_channel_id(s: str) -> str:
    if len(s) != CHANNEL_ID_LENGTH:
        raise InvalidReference(
            f"channel id must be {CHANNEL_ID_LENGTH} characters starting with UC, got {len(s)}"
        )
    if not s.startswith("UC"):
        raise InvalidReference(f"channel id must start with UC, got {_show(s)}")
    bad = _first_bad_char(s, _ID_CHARS)
    if bad is not None:
        raise InvalidReference(f"channel id contains invalid character {bad!r}: {_show(s)}")
    return s


def _check_video_id(s: str) -> str:
    if not s:
        raise InvalidReference("video id is empty")
    bad = _first_bad_char(s, _ID_CHARS)
    if bad is not None:
        raise InvalidReference(f"video id contains invalid character {bad!r}: {_show(s)}")
    if len(s) != VIDEO_ID_LENGTH:
        raise InvalidReference(
            f"video id must be {VIDEO_ID_LENGTH} characters, got {len(s)}: {_show(s)}"
        )
    return s


def _is_name_char(ch: str) -> bool:
    # Letters (with their combining marks: Devanagari, Thai…) and digits of any script.
    return ch in "_-" or unicodedata.category(ch)[0] in "LMN"


def _decode(raw: str, what: str) -> str:
    if "%" in raw:
        try:
            raw = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            message = f"{what} is not valid percent-encoded UTF-8: {_show(raw)}"
            raise InvalidReference(message) from None
    return unicodedata.normalize("NFC", raw)


def _check_handle(raw: str) -> str:
    handle = _decode(raw, "handle")
    if not handle:
        raise InvalidReference("handle is empty: write @ followed by the handle")
    if not HANDLE_MIN_LENGTH <= len(handle) <= HANDLE_MAX_LENGTH:
        raise InvalidReference(
            f"handle must be {HANDLE_MIN_LENGTH}-{HANDLE_MAX_LENGTH} characters, "
            f"got {len(handle)}: {_show('@' + handle)}"
        )
    bad = next((ch for ch in handle if ch != "." and not _is_name_char(ch)), None)
    if bad is not None:
        raise InvalidReference(f"handle contains invalid character {bad!r}: {_show('@' + handle)}")
    return handle


def _check_name(raw: str, key: str) -> str:
    what = "custom URL name" if key == "c" else "username"
    name = _decode(raw, what)
    if not name:
        raise InvalidReference(f"{what} is empty")
    if len(name) > NAME_MAX_LENGTH:
        raise InvalidReference(f"{what} is too long ({len(name)} characters)")
    bad = next((ch for ch in name if not _is_name_char(ch)), None)
    if bad is not None:
        raise InvalidReference(f"{what} contains invalid character {bad!r}: {_show(name)}")
    return name
