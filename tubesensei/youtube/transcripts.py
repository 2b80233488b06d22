"""Transcripts through youtube-transcript-api.

This module is the only place that inspects youtube-transcript-api (and requests) exceptions:
every failure leaves :meth:`TranscriptClient.fetch` as a class of
:mod:`tubesensei.youtube.errors`.

Threads: the library keeps a ``requests.Session`` (cookies, connection pool) and is not
thread-safe. Use one ``TranscriptClient`` per thread.

Choosing a transcript (:func:`choose`): the preferred languages are the order of preference;
within one language a manual track before a generated one, and an exact code before a regional
variant of the same kind (``en-GB`` stands in for ``en`` only when no exact ``en`` track of
that kind exists). So per language: manual exact, manual regional, generated exact, generated
regional -- as youtube-transcript-api's own ``find_transcript``. With ``allow_translation``, a
video with none of the languages gets a track translated to the first preferred language (a
manual source before a generated one). The rule that picked the track travels with it
(``FetchedTranscript.chosen_by``, one of ``tubesensei.db.models.CHOICE_RULES``).

Proxies: ``proxy_http``/``proxy_https`` (a generic proxy) or Webshare credentials. Webshare is
configured with ``retries_when_blocked=0``: a positive value makes the library mount its own
adapters on our session, which would drop our timeouts and endpoint rewriting; blocking is
handled by the job system's circuit breaker instead. Credentials never appear in logs,
exception messages or ``repr``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

import requests
import structlog
import youtube_transcript_api as yta
from youtube_transcript_api.proxies import GenericProxyConfig, ProxyConfig, WebshareProxyConfig

from tubesensei.youtube.errors import (
    Blocked,
    ConfigurationError,
    Permanent,
    Transient,
    UnavailableReason,
    YouTubeError,
)
from tubesensei.youtube.http import (
    DEFAULT_TRANSCRIPT_TIMEOUT,
    TimeoutSpec,
    build_transcript_session,
    mount_adapters,
    normalize_base_url,
)

__all__ = ["CHOICE_RULES", "FetchedTranscript", "Track", "TranscriptClient",
           "build_proxy_config", "choose", "classify_error", "preferred", "tracks_of"]

log = structlog.get_logger(__name__)

Segment = tuple[float, float, str]

# The rules of the transcript choice, best first within a language, then the last resort
# (the words stored in transcripts.chosen_by; tubesensei.db.models.CHOICE_RULES is the same).
CHOICE_RULES = ("manual", "manual_regional", "generated", "generated_regional", "translation")


@dataclass(frozen=True)
class Track:
    """One transcript track YouTube lists for a video (``--list-transcripts``' rows)."""

    language_code: str
    language: str
    is_generated: bool
    is_translatable: bool

    @property
    def kind(self) -> str:
        return "generated" if self.is_generated else "manual"

    def as_dict(self) -> dict[str, Any]:
        return {"language_code": self.language_code, "language": self.language,
                "is_generated": self.is_generated, "is_translatable": self.is_translatable}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Track:
        return cls(str(data.get("language_code", "")), str(data.get("language", "")),
                   bool(data.get("is_generated")), bool(data.get("is_translatable")))


def tracks_of(listing: Iterable[Any] | None) -> tuple[Track, ...]:
    """The tracks of a library ``TranscriptList``: manual ones first, as the library lists."""
    return tuple(Track(t.language_code, t.language, bool(t.is_generated),
                       bool(t.translation_languages)) for t in (listing or []))


@dataclass(frozen=True)
class FetchedTranscript:
    video_id: str
    language_code: str
    language: str
    is_generated: bool
    translated_from: str | None
    segments: list[Segment]
    available: tuple[Track, ...] | None = None
    """Every track YouTube listed for the video when this one was fetched (None: unknown)."""
    chosen_by: str | None = None
    """The rule that picked this track (one of CHOICE_RULES; None: not recorded)."""


def build_proxy_config(proxy_http: str | None = None, proxy_https: str | None = None,
                       webshare_username: str | None = None,
                       webshare_password: str | None = None,
                       webshare_locations: Sequence[str] | None = None) -> ProxyConfig | None:
    """The library's proxy config for our settings, or None. Webshare wins when configured."""
    if webshare_username or webshare_password:
        if not (webshare_username and webshare_password):
            raise ValueError("Webshare proxies need both a username and a password")
        return WebshareProxyConfig(proxy_username=webshare_username,
                                   proxy_password=webshare_password,
                                   filter_ip_locations=list(webshare_locations or []) or None,
                                   retries_when_blocked=0)
    if proxy_http or proxy_https:
        return GenericProxyConfig(http_url=proxy_http or None, https_url=proxy_https or None)
    return None


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove URL credentials (``scheme://user:pass@``) and known secret strings."""
    text = _USERINFO.sub(r"\1***@", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _status_of(exc: yta.YouTubeRequestFailed) -> int | None:
    """The HTTP status behind a ``YouTubeRequestFailed`` (the library keeps only a string;
    the ``requests.HTTPError`` it was raised from is its ``__context__``)."""
    response = getattr(exc.__context__, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int):
        return status
    match = re.match(r"\s*(\d{3})\b", getattr(exc, "reason", "") or "")
    return int(match.group(1)) if match else None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc.__context__, "response", None)
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def describe_tracks(tracks: Iterable[Track]) -> str:
    """``de (manual), fr (generated)``: the languages a miss names."""
    return ", ".join(f"{t.language_code} ({t.kind})" for t in tracks) or "none"


def _no_transcript(video_id: str, languages: Sequence[str], listing: Any) -> Permanent:
    tracks = tracks_of(listing)
    return Permanent(UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE,
                     f"video {video_id} has no transcript in {', '.join(languages)}; "
                     f"available: {describe_tracks(tracks)}", available=tracks)


_PERMANENT = (
    (yta.TranscriptsDisabled, UnavailableReason.TRANSCRIPTS_DISABLED,
     "transcripts are disabled"),
    (yta.VideoUnavailable, UnavailableReason.VIDEO_UNAVAILABLE, "video is unavailable"),
    (yta.InvalidVideoId, UnavailableReason.VIDEO_UNAVAILABLE, "not a valid video id"),
    (yta.AgeRestricted, UnavailableReason.AGE_RESTRICTED, "video is age-restricted"),
    (yta.PoTokenRequired, UnavailableReason.PO_TOKEN_REQUIRED,
     "YouTube demands a PO token for this transcript"),
)


def classify_error(exc: BaseException, video_id: str, languages: Sequence[str] = ("en",),
                   secrets: Iterable[str | None] = ()) -> YouTubeError:
    """Map a youtube-transcript-api / requests / XML exception onto the taxonomy."""
    if isinstance(exc, YouTubeError):
        return exc
    if isinstance(exc, yta.RequestBlocked):  # IpBlocked is a subclass
        return Blocked(f"YouTube is blocking transcript requests ({type(exc).__name__})")
    for cls, reason, text in _PERMANENT:
        if isinstance(exc, cls):
            # Captions turned off: YouTube offers no track at all (known, not unknown).
            known = () if reason == UnavailableReason.TRANSCRIPTS_DISABLED else None
            return Permanent(reason, f"video {video_id}: {text}", available=known)
    if isinstance(exc, yta.NoTranscriptFound):
        return _no_transcript(video_id, languages, getattr(exc, "_transcript_data", None))
    if isinstance(exc, (yta.NotTranslatable, yta.TranslationLanguageNotAvailable)):
        return Permanent(UnavailableReason.NO_TRANSCRIPT_IN_LANGUAGE,
                         f"video {video_id}: no translation to {languages[0]}", available=None)
    if isinstance(exc, yta.VideoUnplayable):
        why = scrub(exc.reason or "no reason given", secrets)[:200]
        return Permanent(UnavailableReason.UNPLAYABLE, f"video {video_id} is unplayable: {why}")
    if isinstance(exc, yta.YouTubeRequestFailed):
        status = _status_of(exc)
        if status == 429:
            return Blocked("YouTube answered 429 Too Many Requests", _retry_after(exc))
        return Transient(f"transcript request for {video_id} failed: HTTP {status or '?'}")
    if isinstance(exc, (yta.YouTubeDataUnparsable, yta.FailedToCreateConsentCookie)):
        return Transient(f"transcript request for {video_id} failed: {type(exc).__name__}")
    if isinstance(exc, requests.Timeout):
        return Transient(f"transcript request for {video_id} timed out")
    if isinstance(exc, requests.RequestException):
        detail = scrub(str(exc), secrets)[:200]
        return Transient(f"transcript request for {video_id} failed: "
                         f"{type(exc).__name__}: {detail}")
    if isinstance(exc, (ParseError, ValueError, KeyError, IndexError, TypeError,
                        AttributeError)):
        # An empty or garbled caption body (bare ParseError from the XML parser) or a
        # player answer of an unexpected shape: YouTube hiccups, worth retrying.
        return Transient(f"unparsable transcript data for {video_id} ({type(exc).__name__})")
    if isinstance(exc, yta.YouTubeTranscriptApiException):
        return Transient(f"transcript request for {video_id} failed: {type(exc).__name__}")
    if isinstance(exc, OSError):
        return Transient(f"transcript request for {video_id} failed: {type(exc).__name__}")
    raise TypeError(f"not a transcript error: {type(exc).__name__}") from exc


def choose(tracks: Sequence[Any], languages: Sequence[str]) -> tuple[Any, str] | None:
    """The track to store among ``tracks`` (library transcripts or :class:`Track`s) and the
    rule that picked it (a word of CHOICE_RULES). The languages are the order of preference;
    per language: manual exact, manual regional (``en-GB`` for ``en``), generated exact,
    generated regional. None: no language matches (translation is the caller's business)."""
    for language in languages:
        base = language.split("-")[0]
        for generated in (False, True):
            kind = "generated" if generated else "manual"
            of_kind = [t for t in tracks if bool(t.is_generated) == generated]
            for t in of_kind:
                if t.language_code == language:
                    return t, kind
            for t in of_kind:
                if t.language_code.split("-")[0] == base:
                    return t, f"{kind}_regional"
    return None


def preferred(tracks: Sequence[Any], languages: Sequence[str]) -> Any | None:
    """The track :func:`choose` picks, without its rule (None: no language matches)."""
    chosen = choose(tracks, languages)
    return None if chosen is None else chosen[0]


class TranscriptClient:
    """Fetches one video's transcript at a time; one instance per thread."""

    def __init__(self, languages: Sequence[str] = ("en",), allow_translation: bool = False,
                 web_base_url: str | None = None,
                 timeout: TimeoutSpec = DEFAULT_TRANSCRIPT_TIMEOUT,
                 proxy_http: str | None = None, proxy_https: str | None = None,
                 webshare_username: str | None = None, webshare_password: str | None = None,
                 webshare_locations: Sequence[str] | None = None) -> None:
        self.languages = tuple(languages) or ("en",)
        self.allow_translation = allow_translation
        self.timeout = timeout
        self._secrets = (proxy_http, proxy_https, webshare_username, webshare_password)
        try:
            self.web_base_url = normalize_base_url(web_base_url) if web_base_url else None
            self._proxy_config = build_proxy_config(proxy_http, proxy_https, webshare_username,
                                                    webshare_password, webshare_locations)
        except ValueError as exc:
            raise ConfigurationError(scrub(str(exc), self._secrets)) from None
        self._session: requests.Session | None = None
        self._api: yta.YouTubeTranscriptApi | None = None

    def __repr__(self) -> str:
        proxy = type(self._proxy_config).__name__ if self._proxy_config else None
        return (f"TranscriptClient(languages={list(self.languages)!r}, "
                f"allow_translation={self.allow_translation}, "
                f"web_base_url={self.web_base_url!r}, proxy={proxy})")

    def _library(self) -> yta.YouTubeTranscriptApi:
        if self._api is None:
            self._session = build_transcript_session(self.web_base_url, self.timeout)
            self._api = yta.YouTubeTranscriptApi(proxy_config=self._proxy_config,
                                                 http_client=self._session)
            # The library mounts its own retrying adapters when retries_when_blocked > 0;
            # ours must stay (timeouts, rewriting), whatever a future proxy config says.
            mount_adapters(self._session, self.web_base_url, self.timeout)
        return self._api

    def reset(self) -> None:
        """Drop the library instance and its session (cookies, pooled connections)."""
        if self._session is not None:
            self._session.close()
        self._session = None
        self._api = None

    def close(self) -> None:
        self.reset()

    def _failed(self, exc: Exception, video_id: str, tracks: tuple[Track, ...] | None
                ) -> YouTubeError:
        """The taxonomy error for ``exc`` (a permanent miss knows the tracks listed)."""
        error = classify_error(exc, video_id, self.languages, self._secrets)
        if isinstance(error, (Transient, Blocked)):
            # A fresh session next time: new connections, no cookies YouTube tied to the
            # failure.
            self.reset()
        if isinstance(error, Permanent) and error.available is None and tracks is not None:
            error.available = tracks
        return error

    def list_tracks(self, video_id: str) -> tuple[Track, ...]:
        """The transcript tracks YouTube lists for ``video_id`` (the library's list API:
        what ``youtube_transcript_api --list-transcripts`` prints), or a taxonomy error:
        captions disabled, video unavailable, blocked..."""
        library = self._library()
        try:
            return tracks_of(library.list(video_id))
        except Exception as exc:  # classified right here; nothing else inspects them
            library_error = isinstance(exc, (yta.YouTubeTranscriptApiException, ParseError))
            raise self._failed(exc, video_id, None) from (exc if library_error else None)

    def fetch(self, video_id: str) -> FetchedTranscript:
        """The best transcript of ``video_id``, or a taxonomy error saying why not. Either
        way the tracks YouTube listed travel along (``available``), when it listed any."""
        library = self._library()
        tracks: tuple[Track, ...] | None = None
        try:
            listing = library.list(video_id)
            tracks = tracks_of(listing)
            transcript, translated_from, chosen_by = self._choose(video_id, listing)
            fetched = transcript.fetch()
        except Exception as exc:  # classified right here; nothing else inspects them
            library_error = isinstance(exc, (yta.YouTubeTranscriptApiException, ParseError))
            raise self._failed(exc, video_id, tracks) from (exc if library_error else None)
        return FetchedTranscript(
            video_id=video_id,
            language_code=fetched.language_code,
            language=fetched.language,
            is_generated=fetched.is_generated,
            translated_from=translated_from,
            segments=[(s.start, s.duration, s.text) for s in fetched.snippets],
            available=tracks,
            chosen_by=chosen_by,
        )

    def _choose(self, video_id: str, listing: yta.TranscriptList
                ) -> tuple[yta.Transcript, str | None, str]:
        """(the transcript to fetch, the language it is translated from, the rule)."""
        tracks = list(listing)
        chosen = choose(tracks, self.languages)
        if chosen is not None:
            return chosen[0], None, chosen[1]
        if self.allow_translation:
            target = self.languages[0]
            # The best source: a manual track before a generated one (stable: listing order).
            for track in sorted(tracks, key=lambda t: bool(t.is_generated)):
                codes = {lang.language_code for lang in track.translation_languages}
                if target in codes:
                    return track.translate(target), track.language_code, "translation"
        raise _no_transcript(video_id, self.languages, listing)
