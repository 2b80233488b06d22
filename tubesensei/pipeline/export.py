"""Export the corpus: JSONL (one video per line, for the AI phase), txt, srt, vtt.

Rows are streamed from the database in batches, so exporting 100k videos uses constant memory.
JSONL goes to one file (or stdout); txt/srt/vtt write one file per video under
``<out>/<channel id>/<video id>.<ext>``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import aliased

from tubesensei.db.engine import Database
from tubesensei.db.models import Channel, ProcessingJob, Transcript, Video

Format = Literal["jsonl", "txt", "srt", "vtt"]
FORMATS: tuple[str, ...] = ("jsonl", "txt", "srt", "vtt")
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
    channel_id: str | None = None,
    session_id: int | None = None,
    video_ids: Sequence[str] | None = None,
) -> AsyncIterator[ExportRow]:
    """Stored transcripts in channel, publication order; keyset-paged, constant memory."""
    last_key: tuple[int, int] | None = None
    while True:
        stmt = (
            select(Channel, Video, Transcript)
            .join(Video, Video.channel_id == Channel.id)
            .join(Transcript, Transcript.video_id == Video.id)
            .order_by(Video.id, Transcript.id)
            .limit(BATCH)
        )
        if channel_id:
            stmt = stmt.where(Channel.youtube_channel_id == channel_id)
        if video_ids is not None:
            stmt = stmt.where(Video.youtube_video_id.in_(list(video_ids)))
        if session_id is not None:
            job = aliased(ProcessingJob)
            stmt = stmt.where(
                select(job.id)
                .where(job.session_id == session_id, job.entity_id == Video.youtube_video_id)
                .exists()
            )
        if last_key is not None:
            stmt = stmt.where(
                (Video.id > last_key[0])
                | ((Video.id == last_key[0]) & (Transcript.id > last_key[1]))
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
        last_key = (rows[-1][1].id, rows[-1][2].id)


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
        cues.append((float(start), end, str(body)))
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


async def export_files(db: Database, fmt: Format, out_dir: Path, **filters: Any) -> ExportReport:
    """One file per video (JSONL: one file for all) under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    report = ExportReport()
    if fmt == "jsonl":
        target = out_dir / "transcripts.jsonl"
        with target.open("w", encoding="utf-8") as fh:
            report = await export_stream(db, fmt, fh, **filters)
        report.files = 1
        return report
    async for row in iter_export_rows(db, **filters):
        folder = out_dir / row.channel_id
        folder.mkdir(exist_ok=True)
        suffix = f".{row.language_code}" if row.language_code != "en" else ""
        body = render(row, fmt)
        (folder / f"{row.video_id}{suffix}.{fmt}").write_text(body, encoding="utf-8")
        report.videos += 1
        report.files += 1
        report.bytes += len(body.encode("utf-8"))
    return report
