"""What workers report back to the UI thread: small past-tense messages.

Workers never touch widgets; they post one of these and the handler (on the UI thread)
updates the screen. Textual's Message supports dataclasses directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from tubesensei.jobs.ledger import Created
from tubesensei.queries.corpus import ChannelSummary
from tubesensei.queries.transcripts import StoredTranscript
from tubesensei.tui.data import Dashboard, JobFilter, JobsPage, SearchResults, SessionProgress


@dataclass
class DashboardLoaded(Message):
    dashboard: Dashboard


@dataclass
class JobsLoaded(Message):
    page: JobsPage


@dataclass
class JobLoaded(Message):
    job: dict[str, Any]


@dataclass
class JobsCancelled(Message):
    cancelled: list[int]
    requested: list[int]


@dataclass
class JobsRetried(Message):
    count: int
    what: str


@dataclass
class FailedCounted(Message):
    """How many failed jobs "retry all" would touch (for its confirmation)."""

    job_type: str | None
    failed: int
    with_attempts_left: int


@dataclass
class FailuresLoaded(Message):
    groups: list[dict[str, Any]]


@dataclass
class FailureGroupChosen(Message):
    """Show the jobs of a failure group (the jobs view, filtered)."""

    filter: JobFilter


@dataclass
class SessionsLoaded(Message):
    sessions: list[SessionProgress]


@dataclass
class SessionReportLoaded(Message):
    session: SessionProgress


@dataclass
class ChannelsLoaded(Message):
    channels: list[ChannelSummary]


@dataclass
class ChannelQueued(Message):
    created: Created
    rescan: bool


@dataclass
class ChannelStatusChanged(Message):
    youtube_channel_id: str
    status: str


@dataclass
class SearchCompleted(Message):
    results: SearchResults


@dataclass
class TranscriptLoaded(Message):
    transcript: StoredTranscript


@dataclass
class TranscriptMissing(Message):
    """The video has no stored transcript: why."""

    why: str


@dataclass
class TranscriptRequested(Message):
    """Open a video's transcript (from a search hit or a job)."""

    video_id: str
    at_seconds: float | None = None  # a search hit's second: the viewer scrolls to it


@dataclass
class WorkFailed(Message):
    """A worker raised: the app shows it and keeps running."""

    what: str
    error: BaseException
