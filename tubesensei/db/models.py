"""SQLAlchemy 2 typed models. The words in the CHECK constraints are DESIGN.md's contract."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from tubesensei.db.packed import (
    PackedJSON,
    join_passages,
    split_cleaned,
    timing_of,
    unpack_json,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

CHANNEL_STATUSES = ("active", "paused", "error")
VIDEO_KINDS = ("video", "short", "live", "upcoming")
TRANSCRIPT_STATUSES = ("pending", "queued", "done", "unavailable", "failed", "waiting")
UNAVAILABLE_REASONS = (
    "transcripts_disabled",
    "no_transcript_in_language",
    "video_unavailable",
    "age_restricted",
    "unplayable",
    "po_token_required",
)
# How a stored video went missing from YouTube (videos.missing_reason).
MISSING_REASONS = ("gone", "private")
# Which rule of the transcript choice picked a stored track (transcripts.chosen_by): the
# languages in order of preference; within one, manual before generated, an exact code before
# a regional variant (en-GB for en); translation only when no listed language exists.
CHOICE_RULES = ("manual", "manual_regional", "generated", "generated_regional", "translation")
JOB_STATUSES = ("pending", "running", "retrying", "completed", "failed", "cancelled")
ACTIVE_JOB_STATUSES = ("pending", "running", "retrying")
RUNNABLE_JOB_STATUSES = ("pending", "retrying")
FINISHED_JOB_STATUSES = ("completed", "failed", "cancelled")
SESSION_STATUSES = ("pending", "running", "completed", "cancelled")


def _count_segments(context: Any) -> int:
    """segment_count's default: the length of the row's ``segments``."""
    segments = context.get_current_parameters().get("segments")
    if isinstance(segments, bytes | bytearray | memoryview | str):
        segments = unpack_json(segments)
    return len(segments or ())


def utcnow() -> datetime:
    return datetime.now(UTC)


def _in(column: str, words: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(w) for w in words)})"


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: one meaning on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use aware UTC datetimes")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Channel(TimestampMixin, Base):
    __tablename__ = "channels"
    __table_args__ = (
        CheckConstraint(_in("status", CHANNEL_STATUSES), name="status"),
        Index("ix_channels_handle", "handle"),
        Index("ix_channels_status", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    youtube_channel_id: Mapped[str] = mapped_column(String(24), unique=True)
    handle: Mapped[str | None] = mapped_column(String(100))
    """Lower-case, without the @ (YouTube handles are case-insensitive)."""
    title: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    country: Mapped[str | None] = mapped_column(String(8))
    subscriber_count: Mapped[int | None] = mapped_column(BigInteger)
    video_count: Mapped[int | None] = mapped_column(BigInteger)
    view_count: Mapped[int | None] = mapped_column(BigInteger)
    uploads_playlist_id: Mapped[str | None] = mapped_column(String(64))
    published_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_discovered_at: Mapped[datetime | None]
    last_full_scan_at: Mapped[datetime | None]
    # An unfinished full scan: the next page of the uploads playlist, the pages done, when
    # the last one was committed (pipeline/discovery.py resumes from there).
    scan_page_token: Mapped[str | None] = mapped_column(String(256))
    scan_pages: Mapped[int | None] = mapped_column(Integer)
    scan_resumable_at: Mapped[datetime | None]
    discovery_job_id: Mapped[int | None] = mapped_column(Integer)
    """The discovery job that last claimed the channel (jobs/discovery_claims.py): while it
    runs, another discovery of the same channel joins it instead of repeating the work."""
    last_synced_at: Mapped[datetime | None]

    videos: Mapped[list[Video]] = relationship(
        back_populates="channel", cascade="all, delete-orphan", passive_deletes=True
    )


class Video(TimestampMixin, Base):
    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint(_in("kind", VIDEO_KINDS), name="kind"),
        CheckConstraint(_in("transcript_status", TRANSCRIPT_STATUSES), name="transcript_status"),
        CheckConstraint(
            f"unavailable_reason IS NULL OR {_in('unavailable_reason', UNAVAILABLE_REASONS)}",
            name="unavailable_reason",
        ),
        Index("ix_videos_channel_published", "channel_id", "published_at"),
        # channels list (counts by channel and status) and videos --channel --status.
        Index("ix_videos_channel_status_published", "channel_id", "transcript_status",
              "published_at"),
        Index("ix_videos_status_kind_published", "transcript_status", "kind", "published_at"),
        Index("ix_videos_transcript_status", "transcript_status", "published_at"),
        # corpus totals: videos by status and unavailable reason, from the index alone.
        Index("ix_videos_status_reason", "transcript_status", "unavailable_reason"),
        # kind lists are shown newest first: (kind) alone made SQLite sort every match.
        Index("ix_videos_kind_published", "kind", "published_at"),
        Index("ix_videos_published_at", "published_at"),
        # sessions' outcomes: each session job's video status and reason, from the index alone.
        Index("ix_videos_video_id_status_reason", "youtube_video_id", "transcript_status",
              "unavailable_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    youtube_video_id: Mapped[str] = mapped_column(String(11), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channels.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime | None]
    duration_s: Mapped[int | None] = mapped_column(Integer)
    view_count: Mapped[int | None] = mapped_column(BigInteger)
    like_count: Mapped[int | None] = mapped_column(BigInteger)
    comment_count: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16), default="video")
    was_live: Mapped[bool] = mapped_column(Boolean, default=False)
    privacy_status: Mapped[str | None] = mapped_column(String(32))
    scheduled_start_at: Mapped[datetime | None]
    transcript_status: Mapped[str] = mapped_column(String(16), default="pending")
    unavailable_reason: Mapped[str | None] = mapped_column(String(32))
    transcript_error: Mapped[str | None] = mapped_column(Text)
    available_languages: Mapped[list[Any] | None] = mapped_column(JSON)
    """The transcript tracks YouTube listed at the last fetch, success or miss:
    [{language_code, language, is_generated, is_translatable}, ...]; [] when captions are
    disabled; NULL when never listed (not fetched yet, or the video could not be read)."""
    languages_checked_at: Mapped[datetime | None]
    missing_since: Mapped[datetime | None]
    """When a scan first found the video no longer on YouTube (NULL: it is there)."""
    missing_reason: Mapped[str | None] = mapped_column(String(16))
    """How it went: ``gone`` (deleted, or no longer listed) or ``private``; see MISSING_REASONS."""
    discovered_at: Mapped[datetime] = mapped_column(default=utcnow)

    channel: Mapped[Channel] = relationship(back_populates="videos")
    transcripts: Mapped[list[Transcript]] = relationship(
        back_populates="video", cascade="all, delete-orphan", passive_deletes=True
    )


class Transcript(TimestampMixin, Base):
    __tablename__ = "transcripts"
    __table_args__ = (
        UniqueConstraint("video_id", "language_code", name="uq_transcripts_video_language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    language_code: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(100), default="")
    is_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    translated_from: Mapped[str | None] = mapped_column(String(16))
    chosen_by: Mapped[str | None] = mapped_column(String(24))
    """The rule of the transcript choice that picked this track (see CHOICE_RULES); NULL for
    transcripts stored before it was recorded."""
    segments: Mapped[list[Any]] = mapped_column(PackedJSON, nullable=True)
    """Raw segments [[start, duration, text], ...] exactly as fetched (re-cleanable), stored
    compact and compressed (db/packed.py)."""
    segment_count: Mapped[int] = mapped_column(Integer, default=_count_segments,
                                               server_default=text("0"))
    """How many raw segments (``videos show`` says it without unpacking them)."""
    cleaned_timing: Mapped[list[Any] | None] = mapped_column(PackedJSON)
    """[start, duration, characters, ...] per cleaned segment: their texts are cut out of
    ``text`` (see ``cleaned_segments``), not stored twice."""
    paragraph_breaks: Mapped[list[int] | None] = mapped_column(PackedJSON)
    """Indexes of the cleaned segments a paragraph break follows (see ``text``)."""
    word_count: Mapped[int] = mapped_column(Integer, default=0)
    char_count: Mapped[int] = mapped_column(Integer, default=0)
    cleaning_version: Mapped[int] = mapped_column(Integer, default=0)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)

    video: Mapped[Video] = relationship(back_populates="transcripts")
    chunks: Mapped[list[TranscriptChunk]] = relationship(
        back_populates="transcript", cascade="all, delete-orphan", passive_deletes=True,
        order_by="TranscriptChunk.seq", lazy="selectin",
    )

    @property
    def text(self) -> str:
        """The cleaned text: its search passages (``chunks``) joined, with the paragraph
        breaks put back. It is not stored a second time."""
        return join_passages([c.text for c in self.chunks], self.cleaned_timing or [],
                             self.paragraph_breaks or [])

    @property
    def cleaned_segments(self) -> list[list[Any]]:
        """The cleaned segments [[start, duration, text], ...], cut out of ``text``."""
        return split_cleaned(self.text, self.cleaned_timing or [])

    @cleaned_segments.setter
    def cleaned_segments(self, segments: list[list[Any]]) -> None:
        # ``text`` must be these texts joined by " " or "\n\n" (cleaning.build_text).
        self.cleaned_timing = timing_of(segments)


class TranscriptChunk(Base):
    """A stretch of cleaned text with its start time: the unit the full-text index searches.

    The FTS5 table ``transcript_chunks_fts`` (external content, kept in sync by triggers,
    created by the migration) indexes ``text``; a hit gives the video and the second to link to.
    """

    __tablename__ = "transcript_chunks"
    __table_args__ = (Index("ix_transcript_chunks_transcript_seq", "transcript_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    start_s: Mapped[float] = mapped_column(Float)
    text: Mapped[str] = mapped_column(Text)

    transcript: Mapped[Transcript] = relationship(back_populates="chunks")


class ProcessingSession(Base):
    __tablename__ = "processing_sessions"
    __table_args__ = (
        CheckConstraint(_in("status", SESSION_STATUSES), name="status"),
        Index("ix_processing_sessions_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    session_type: Mapped[str] = mapped_column(String(32), default="batch")
    configuration: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]


class ProcessingJob(Base):
    """The ledger: one row per job; Huey only carries messages pointing at these rows."""

    __tablename__ = "processing_jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
        # At most one active job per (job_type, entity_id): enqueuing twice finds the first.
        Index(
            "uq_processing_jobs_active_entity",
            "job_type",
            "entity_id",
            unique=True,
            sqlite_where=text(_in("status", ACTIVE_JOB_STATUSES)),
            # postgresql_where: see add_postgresql_options (below).
        ),
        # counts by status, queue and type (stats, the dashboard), failures by error class:
        # read from the index alone.
        Index("ix_processing_jobs_status_queue_type", "status", "queue", "job_type",
              "error_class"),
        # jobs lists by type and status, newest first; counts by type and status.
        Index("ix_processing_jobs_type_status_created", "job_type", "status", "created_at"),
        # a session's jobs by status, and each one's entity (its video) for the outcomes.
        Index("ix_processing_jobs_session_status_type_entity", "session_id", "status",
              "job_type", "entity_id"),
        Index("ix_processing_jobs_entity", "entity_id"),
        # completions by time ("done in the last minute", the TUI's throughput), and prune.
        # (started_at: the backlog's recent rate reads the index alone.)
        Index("ix_processing_jobs_status_finished_started", "status", "finished_at", "queue",
              "started_at"),
        Index("ix_processing_jobs_created_at", "created_at"),
        # jobs lists filtered by status or type, newest first, without sorting every match.
        Index("ix_processing_jobs_status_created", "status", "created_at"),
        Index("ix_processing_jobs_type_created", "job_type", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_type: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(32))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=5)
    error_class: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    job_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_sessions.id", ondelete="SET NULL")
    )
    huey_task_id: Mapped[str | None] = mapped_column(String(64))
    worker_id: Mapped[str | None] = mapped_column(String(128))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    heartbeat_at: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QuotaUsage(Base):
    """Data API units spent per quota day (the Pacific-time day the quota resets on)."""

    __tablename__ = "quota_usage"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    units: Mapped[int] = mapped_column(Integer, default=0)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QueueState(Base):
    """Pauses and the circuit breaker of a queue, shared by every consumer.

    ``paused`` is a person's pause (queues pause/resume). ``paused_until`` is an automatic one
    (the Data API quota, until it resets). The breaker (transcripts: YouTube blocking us) is
    closed, open until ``breaker_until``, or half_open while one probe job runs.
    """

    __tablename__ = "queue_state"
    __table_args__ = (
        CheckConstraint("breaker_state IN ('closed', 'open', 'half_open')", name="breaker_state"),
    )

    queue: Mapped[str] = mapped_column(String(32), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_until: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(Text)
    breaker_state: Mapped[str] = mapped_column(String(16), default="closed")
    breaker_until: Mapped[datetime | None]
    breaker_opens: Mapped[int] = mapped_column(Integer, default=0)
    breaker_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Consumer(Base):
    """A run-consumer process: its threads, per-queue concurrency and counters (workers)."""

    __tablename__ = "consumers"
    __table_args__ = (Index("ix_consumers_heartbeat_at", "heartbeat_at"),)

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    queues: Mapped[list[Any]] = mapped_column(JSON)
    concurrency: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Per-queue cap of jobs running at once; ``workers scale`` changes it live."""
    threads: Mapped[int] = mapped_column(Integer, default=0)
    inflight: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None]


class PeriodicRun(Base):
    """The last cron slot each periodic task ran for: a compare-and-set picks one consumer."""

    __tablename__ = "periodic_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_slot: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_worker: Mapped[str | None] = mapped_column(String(128))
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class RateLimit(Base):
    """A shared pacing slot: the earliest time the next call may start (seconds since epoch)."""

    __tablename__ = "rate_limits"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float, default=0.0)
    waits: Mapped[int] = mapped_column(Integer, default=0)


def add_postgresql_options() -> None:
    """Give the models' indexes their PostgreSQL options (the active-entity index's WHERE).

    Naming ``postgresql_where`` in an ``Index`` makes SQLAlchemy import its PostgreSQL
    dialect to check the keyword: 35-40 ms of every command on SQLite, which never needs it.
    db/engine.py calls this when it makes a PostgreSQL engine, before anything there can
    compile DDL from these models or compare a schema with them. Idempotent."""
    index = next(i for i in ProcessingJob.__table__.indexes
                 if i.name == "uq_processing_jobs_active_entity")
    index.dialect_options["postgresql"]["where"] = text(_in("status", ACTIVE_JOB_STATUSES))
