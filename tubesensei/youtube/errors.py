"""One error taxonomy for everything that talks to YouTube.

Every library exception (googleapiclient, youtube-transcript-api, requests, httplib2,
sockets) is translated into one of these classes at the edge, in ``data_api.py`` and
``transcripts.py``. Nothing else in the code inspects library exceptions: the job system
decides retry / give up / pause / open the breaker from these classes alone.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from tubesensei.errors import TubeSenseiError


class UnavailableReason(StrEnum):
    """Why a video has no usable transcript (contract words: videos.unavailable_reason)."""

    TRANSCRIPTS_DISABLED = "transcripts_disabled"
    NO_TRANSCRIPT_IN_LANGUAGE = "no_transcript_in_language"
    VIDEO_UNAVAILABLE = "video_unavailable"
    AGE_RESTRICTED = "age_restricted"
    UNPLAYABLE = "unplayable"
    PO_TOKEN_REQUIRED = "po_token_required"


class NotFoundReason(StrEnum):
    """Why a Data API lookup answered nothing."""

    CHANNEL_NOT_FOUND = "channel_not_found"
    PLAYLIST_NOT_FOUND = "playlist_not_found"
    VIDEO_NOT_FOUND = "video_not_found"


class YouTubeError(TubeSenseiError):
    """Base of the taxonomy. ``str(err)`` is one human line, never containing secrets."""

    #: Short machine name of the class, stored in processing_jobs.error_class.
    kind: str = "error"

    def user_message(self) -> str:
        return f"YouTube: {self.message}"


class Transient(YouTubeError):
    """Network trouble, 5xx, timeouts, per-user rate limits, unparsable answers: retry later."""

    kind = "transient"


class Permanent(YouTubeError):
    """The answer will not change by retrying: a reason says why. A transcript miss also
    carries the tracks YouTube listed (``available``: a tuple of transcripts.Track, empty
    when captions are disabled, None when unknown)."""

    kind = "permanent"

    def __init__(self, reason: str, message: str | None = None, *,
                 available: tuple[Any, ...] | None = None) -> None:
        super().__init__(message or reason.replace("_", " "))
        self.reason = str(reason)
        self.available = available


class QuotaExhausted(YouTubeError):
    """The Data API's daily quota is spent; it resets at midnight Pacific time."""

    kind = "quota_exhausted"

    def __init__(self, resets_at: datetime, message: str | None = None) -> None:
        default = f"YouTube Data API quota exhausted until {resets_at.isoformat()}"
        super().__init__(message or default)
        self.resets_at = resets_at


class Blocked(YouTubeError):
    """YouTube is refusing our requests (429, recaptcha, "confirm you're not a bot").

    Not a property of any one video: the caller pauses the transcripts queue.
    """

    kind = "blocked"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ConfigurationError(YouTubeError):
    """The API key is missing/invalid/forbidden, or an endpoint is misconfigured."""

    kind = "configuration"
