"""Reading stored transcripts: one video's (for people), pages of them (for exports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from tubesensei.db.models import Channel, ProcessingJob, Transcript, TranscriptChunk, Video
from tubesensei.errors import NotFound
from tubesensei.formatting import paragraphs
from tubesensei.queries.corpus import VideoNotInCorpus


class TranscriptNotStored(NotFound):
    """The video is stored but has no transcript (in that language); says why."""


@dataclass(frozen=True)
class StoredTranscript:
    video_id: str
    title: str
    channel_title: str
    language_code: str
    language: str
    is_generated: bool
    text: str
    segments: list[list[Any]]
    word_count: int
    fetched_at: datetime
    channel_id: str = ""
    chosen_by: str | None = None
    """The rule of the transcript choice that picked it (CHOICE_RULES); None: not recorded."""

    def paragraphs(self) -> list[tuple[float, str]]:
        """Readable paragraphs with the second each starts at (the CLI's and the TUI's)."""
        if self.segments:
            return paragraphs(self.segments)
        return [(0.0, self.text)] if self.text else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "video_id": self.video_id,
            "title": self.title,
            "channel_id": self.channel_id,
            "channel": self.channel_title,
            "language_code": self.language_code,
            "language": self.language,
            "is_generated": self.is_generated,
            "chosen_by": self.chosen_by,
            "word_count": self.word_count,
            "fetched_at": self.fetched_at.isoformat(),
            "link": f"https://youtu.be/{self.video_id}",
            "text": self.text,
            "segments": [{"start": a, "duration": b, "text": c} for a, b, c in self.segments],
        }


def get_transcript(
    s: Session, youtube_video_id: str, language_code: str | None = None
) -> tuple[Video, StoredTranscript | None]:
    """The video row and its transcript (preferred language first), or None if there is none."""
    row = s.execute(
        select(Video, Channel)
        .join(Channel, Channel.id == Video.channel_id)
        .where(Video.youtube_video_id == youtube_video_id)
    ).first()
    if row is None:
        raise VideoNotInCorpus(f"video {youtube_video_id} is not in the corpus")
    video, channel = row
    stmt = select(Transcript).where(Transcript.video_id == video.id).order_by(Transcript.id)
    if language_code:
        stmt = stmt.where(Transcript.language_code == language_code)
    tr = s.execute(stmt).scalars().first()
    if tr is None:
        return video, None
    return video, StoredTranscript(
        video_id=youtube_video_id,
        title=video.title,
        channel_title=channel.title,
        language_code=tr.language_code,
        language=tr.language,
        is_generated=tr.is_generated,
        text=tr.text,
        segments=tr.cleaned_segments,
        word_count=tr.word_count,
        fetched_at=tr.fetched_at,
        channel_id=channel.youtube_channel_id,
        chosen_by=tr.chosen_by,
    )


def show_transcript(
    s: Session, youtube_video_id: str, language_code: str | None = None
) -> StoredTranscript:
    """The stored transcript, or TranscriptNotStored saying why there is none (the video's
    status and unavailable reason, or the languages that are stored)."""
    video, transcript = get_transcript(s, youtube_video_id, language_code)
    if transcript is not None:
        return transcript
    if language_code:
        stored = s.execute(
            select(Transcript.language_code)
            .where(Transcript.video_id == video.id)
            .order_by(Transcript.language_code)
        ).scalars().all()
        if stored:
            raise TranscriptNotStored(
                f"video {youtube_video_id} has no transcript in {language_code!r} "
                f"(stored: {', '.join(stored)})"
            )
    raise TranscriptNotStored(f"video {youtube_video_id} has no transcript: {_why(video)}")


def _why(video: Video) -> str:
    status = video.transcript_status
    if status == "unavailable":
        return f"unavailable ({video.unavailable_reason or 'no reason recorded'})"
    if status == "failed":
        return f"failed ({video.transcript_error or 'no error recorded'})"
    if status == "waiting":
        return f"waiting (a {video.kind} stream: transcribed once it has finished)"
    if status == "done":
        return "done, but its transcript row is missing (run discovery again)"
    return f"{status} (not fetched yet)"


def transcript_count(s: Session) -> int:
    return int(s.execute(select(func.count()).select_from(Transcript)).scalar_one())


def sample_passages(s: Session, limit: int = 400) -> list[str]:
    """The text of the first ``limit`` search passages (to pick an example search word)."""
    return list(s.execute(select(TranscriptChunk.text).limit(limit)).scalars())




# -- export -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRow:
    transcript_pk: int
    channel_id: str
    channel_title: str
    channel_handle: str | None
    video_id: str
    title: str
    description: str
    published_at: datetime | None
    duration_s: int | None
    kind: str
    view_count: int | None
    language_code: str
    language: str
    is_generated: bool
    translated_from: str | None
    text: str
    segments: list[list[Any]]
    word_count: int
    removed: str | None = None  # gone/private: YouTube no longer lists the video


@dataclass(frozen=True)
class ExportFilter:
    """Which stored transcripts an export takes (all given conditions hold)."""

    channel_pks: tuple[int, ...] = ()
    session_id: int | None = None
    video_ids: tuple[str, ...] | None = None
    published_since: datetime | None = None  # videos published at or after
    changed_since: datetime | None = None  # transcripts stored (fetched) at or after
    languages: tuple[str, ...] = ()  # "en" takes en, en-US, en-GB...
    include_removed: bool = False  # also videos YouTube no longer lists (deleted, private)


def export_page(s: Session, after: int, limit: int,
                where: ExportFilter = ExportFilter()) -> list[ExportRow]:
    """The next ``limit`` stored transcripts after transcript id ``after``, in storing order:
    keyset paging on the primary key (an index range however far an export has got)."""
    stmt = (
        select(Channel, Video, Transcript)
        .join(Video, Video.channel_id == Channel.id)
        .join(Transcript, Transcript.video_id == Video.id)
        .where(Transcript.id > after)
        .order_by(Transcript.id)
        .limit(limit)
    )
    if not where.include_removed:
        stmt = stmt.where(Video.missing_reason.is_(None))
    if where.channel_pks:
        stmt = stmt.where(Video.channel_id.in_(where.channel_pks))
    if where.video_ids is not None:
        stmt = stmt.where(Video.youtube_video_id.in_(list(where.video_ids)))
    if where.published_since is not None:
        stmt = stmt.where(Video.published_at >= where.published_since)
    if where.changed_since is not None:
        stmt = stmt.where(Transcript.fetched_at >= where.changed_since)
    if where.languages:
        stmt = stmt.where(or_(*(
            or_(Transcript.language_code == code, Transcript.language_code.like(f"{code}-%"))
            for code in where.languages)))
    if where.session_id is not None:
        job = aliased(ProcessingJob)
        stmt = stmt.where(
            select(job.id)
            .where(job.session_id == where.session_id, job.entity_id == Video.youtube_video_id)
            .exists()
        )
    return [
        ExportRow(
            transcript_pk=t.id,
            channel_id=ch.youtube_channel_id,
            channel_title=ch.title,
            channel_handle=ch.handle,
            video_id=v.youtube_video_id,
            title=v.title,
            description=v.description,
            published_at=v.published_at,
            duration_s=v.duration_s,
            kind=v.kind,
            view_count=v.view_count,
            language_code=t.language_code,
            language=t.language,
            is_generated=t.is_generated,
            translated_from=t.translated_from,
            text=t.text,
            segments=t.cleaned_segments,
            word_count=t.word_count,
            removed=v.missing_reason,
        )
        for ch, v, t in s.execute(stmt).all()
    ]
