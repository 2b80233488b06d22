"""Export the corpus: JSONL (one video per line, for the AI phase), txt, srt, vtt.

Rows are streamed from the database in batches, so exporting 100k videos uses constant memory.
JSONL goes to one file (or stdout); txt/srt/vtt write one file per video under
``<out>/<channel id>/<video id>.<ext>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from tubesensei.db.engine import Database
from tubesensei.queries.corpus import channel_pk
from tubesensei.queries.transcripts import ExportRow, export_page
from tubesensei.youtube.ids import ChannelRef

Format = Literal["jsonl", "txt", "srt", "vtt"]
BATCH = 200


def row_json(row: ExportRow) -> dict[str, Any]:
    """One JSONL object: a video, its channel and its transcript."""
    return {
        "channel": {"id": row.channel_id, "title": row.channel_title, "handle": row.channel_handle},
        "video": {
            "id": row.video_id,
            "title": row.title,
            "description": row.description,
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "duration_s": row.duration_s,
            "kind": row.kind,
            "view_count": row.view_count,
            "url": f"https://www.youtube.com/watch?v={row.video_id}",
        },
        "language_code": row.language_code,
        "language": row.language,
        "is_generated": row.is_generated,
        "translated_from": row.translated_from,
        "word_count": row.word_count,
        "text": row.text,
        "segments": [{"start": s, "duration": d, "text": t} for s, d, t in row.segments],
    }


def iter_export_rows(
    db: Database,
    *,
    channel: ChannelRef | None = None,
    session_id: int | None = None,
    video_ids: list[str] | None = None,
) -> Iterator[ExportRow]:
    """Stored transcripts in the order they were stored, a page at a time (constant memory
    and constant time per page however far the export has got). ``channel`` (any reference)
    must name a stored channel: ChannelNotInCorpus otherwise."""
    pk = db.query(channel_pk, channel)
    last_id = 0
    while True:
        rows = db.query(export_page, last_id, BATCH, channel_pk=pk, session_id=session_id,
                        video_ids=video_ids)
        if not rows:
            return
        yield from rows
        last_id = rows[-1].transcript_pk


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
        return json.dumps(row_json(row), ensure_ascii=False) + "\n"
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


def export_stream(db: Database, fmt: Format, out: IO[str], **filters: Any) -> ExportReport:
    """Write every selected transcript to one stream (JSONL, or txt separated by headers)."""
    report = ExportReport()
    for row in iter_export_rows(db, **filters):
        chunk = render(row, fmt)
        if fmt != "jsonl":
            chunk = f"# {row.video_id} {row.title}\n{chunk}\n"
        out.write(chunk)
        report.videos += 1
        report.bytes += len(chunk.encode("utf-8"))
    return report


Progress = Callable[[ExportReport], None]


def export_files(
    db: Database, fmt: Format, out_dir: Path, *, progress: Progress | None = None,
    **filters: Any,
) -> ExportReport:
    """One file per video (JSONL: one file for all) under ``out_dir``; ``progress`` is
    called with the running report after each video."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return export_jsonl_file(db, out_dir / "transcripts.jsonl", **filters)
    report = ExportReport()
    for row in iter_export_rows(db, **filters):
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


def export_jsonl_file(db: Database, path: Path, **filters: Any) -> ExportReport:
    """JSONL into one file, written next to it first and renamed when complete (a reader
    never sees half an export under the final name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="\n") as fh:
            report = export_stream(db, "jsonl", fh, **filters)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    report.files = 1
    return report
