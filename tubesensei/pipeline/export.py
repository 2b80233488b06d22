"""Export the corpus: JSONL (one video per line, for the AI phase), txt, srt, vtt.

Rows are streamed from the database in batches, so exporting 100k videos uses constant memory.
JSONL goes to one file (or stdout); txt/srt/vtt write one file per video under
``<out>/<channel id>/<video id>.<ext>``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import aliased

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, ProcessingJob, Transcript, Video
from tubesensei.pipeline.channels import get_channel
from tubesensei.youtube.ids import ChannelRef

Format = Literal["jsonl", "txt", "srt", "vtt"]
BATCH = 200


@dataclass(frozen=True)
class ExportRow:
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

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": {
                "id": self.channel_id, "title": self.channel_title, "handle": self.channel_handle
            },
            "video": {
                "id": self.video_id,
                "title": self.title,
                "description": self.description,
                "published_at": self.published_at.isoformat() if self.published_at else None,
                "duration_s": self.duration_s,
                "kind": self.kind,
                "view_count": self.view_count,
                "url": f"https://www.youtube.com/watch?v={self.video_id}",
            },
            "language_code": self.language_code,
            "language": self.language,
            "is_generated": self.is_generated,
            "translated_from": self.translated_from,
            "word_count": self.word_count,
            "text": self.text,
            "segments": [
                {"start": s, "duration": d, "text": t} for s, d, t in self.segments
            ],
        }


async def iter_export_rows(
    db: Database,
    *,
    channel: ChannelRef | None = None,
    channel_id: str | None = None,
    session_id: int | None = None,
    video_ids: Sequence[str] | None = None,
) -> AsyncIterator[ExportRow]:
    """Stored transcripts in the order they were stored; keyset-paged on the transcripts'
    primary key (each batch is an index range, however far the export has got), so memory
    and the time per batch stay constant. ``channel`` (any reference) or ``channel_id`` (a
    UC id) must name a stored channel: ChannelNotInCorpus otherwise."""
    if channel is None and channel_id:
        channel = ChannelRef("id", channel_id)
    channel_pk: int | None = None
    if channel is not None:
        async with db.read() as s:
            channel_pk = (await get_channel(s, channel)).id
    last_id = 0
    while True:
        stmt = (
            select(Channel, Video, Transcript)
            .join(Video, Video.channel_id == Channel.id)
            .join(Transcript, Transcript.video_id == Video.id)
            .where(Transcript.id > last_id)
            .order_by(Transcript.id)
            .limit(BATCH)
        )
        if channel_pk is not None:
            stmt = stmt.where(Video.channel_id == channel_pk)
        if video_ids is not None:
            stmt = stmt.where(Video.youtube_video_id.in_(list(video_ids)))
        if session_id is not None:
            job = aliased(ProcessingJob)
            stmt = stmt.where(
                select(job.id)
                .where(job.session_id == session_id, job.entity_id == Video.youtube_video_id)
                .exists()
            )
        async with db.read() as s:
            rows = (await s.execute(stmt)).all()
        if not rows:
            return
        for ch, v, t in rows:
            yield ExportRow(
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
            )
        last_id = rows[-1][2].id


def _timestamp(seconds: float, sep: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, ms = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{sep}{ms:03d}"


def _cues(segments: list[list[Any]]) -> list[tuple[float, float, str]]:
    """Cue times that never overlap (rolling captions overlap their successors)."""
    cues = []
    for i, (start, duration, body) in enumerate(segments):
        end = float(start) + float(duration)
        if i + 1 < len(segments):
            end = min(end, float(segments[i + 1][0]))
        end = max(end, float(start) + 0.001)
        # "-->" inside a cue would read as a new timing line to SRT/VTT parsers.
        cues.append((float(start), end, str(body).replace("-->", "->")))
    return cues


def to_srt(segments: list[list[Any]]) -> str:
    blocks = [
        f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{body}\n"
        for i, (a, b, body) in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def to_vtt(segments: list[list[Any]]) -> str:
    blocks = [
        f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{body}\n" for a, b, body in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(row: ExportRow, fmt: Format) -> str:
    if fmt == "jsonl":
        return json.dumps(row.as_json(), ensure_ascii=False) + "\n"
    if fmt == "srt":
        return to_srt(row.segments)
    if fmt == "vtt":
        return to_vtt(row.segments)
    return row.text + "\n"


@dataclass
class ExportReport:
    videos: int = 0
    files: int = 0
    bytes: int = 0


async def export_stream(
    db: Database, fmt: Format, out: IO[str], **filters: Any
) -> ExportReport:
    """Write every selected transcript to one stream (JSONL, or txt separated by headers)."""
    report = ExportReport()
    async for row in iter_export_rows(db, **filters):
        chunk = render(row, fmt)
        if fmt != "jsonl":
            chunk = f"# {row.video_id} {row.title}\n{chunk}\n"
        out.write(chunk)
        report.videos += 1
        report.bytes += len(chunk.encode("utf-8"))
    return report


Progress = Callable[[ExportReport], None]


async def export_files(
    db: Database, fmt: Format, out_dir: Path, *, progress: Progress | None = None,
    **filters: Any,
) -> ExportReport:
    """One file per video (JSONL: one file for all) under ``out_dir``; ``progress`` is
    called with the running report after each video."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return await export_jsonl_file(db, out_dir / "transcripts.jsonl", **filters)
    report = ExportReport()
    async for row in iter_export_rows(db, **filters):
        folder = out_dir / row.channel_id
        folder.mkdir(exist_ok=True)
        suffix = f".{row.language_code}" if row.language_code != "en" else ""
        body = render(row, fmt)
        (folder / f"{row.video_id}{suffix}.{fmt}").write_text(body, encoding="utf-8")
        report.videos += 1
        report.files += 1
        report.bytes += len(body.encode("utf-8"))
        if progress is not None:
            progress(report)
    return report


async def export_jsonl_file(db: Database, path: Path, **filters: Any) -> ExportReport:
    """JSONL into one file, written next to it first and renamed when complete (a reader
    never sees half an export under the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as fh:
            report = await export_stream(db, "jsonl", fh, **filters)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    report.files = 1
    return report
