"""Export the corpus: JSONL (one video per line, for the AI phase), txt, srt, vtt.

Rows are streamed from the database in batches, so exporting 100k videos uses constant memory.
JSONL goes to one file (or stdout); txt/srt/vtt write one file per video under
``<out>/<channel id>/<video id>.<ext>``.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

from tubesensei.db.engine import Database
from tubesensei.errors import BadInput, Failure
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


def check_target(out: Path, fmt: Format, *, in_place: bool = False) -> None:
    """Refuse (BadInput) an --out that an export must not replace: a symbolic link, a device,
    a FIFO or a socket are written through only with ``in_place``; a file where a folder is
    needed; a missing parent folder."""
    if fmt != "jsonl":
        if out.exists() and not out.is_dir():
            raise BadInput(f"--out {out}: is a file; --format {fmt} needs a folder")
        return
    if out.is_dir() and not out.is_symlink():
        return
    if out.is_symlink() or (out.exists() and not stat.S_ISREG(out.stat().st_mode)):
        if in_place:
            return
        what = "a symbolic link" if out.is_symlink() else "not a regular file"
        raise BadInput(f"--out {out}: is {what}; refusing to replace it (--in-place writes "
                       "into it as it is, --out - writes to stdout)")
    if not out.parent.is_dir():
        raise BadInput(f"--out {out}: folder {out.parent} does not exist")


def export_files(
    db: Database, fmt: Format, out_dir: Path, *, progress: Progress | None = None,
    **filters: Any,
) -> ExportReport:
    """One file per video (JSONL: one file for all) under ``out_dir``; ``progress`` is
    called with the running report after each video. Each file is written beside its final
    name and renamed over it: a symbolic link planted there is replaced, never followed."""
    with _writing(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return export_jsonl_file(db, out_dir / "transcripts.jsonl", **filters)
    report = ExportReport()
    for row in iter_export_rows(db, **filters):
        folder = out_dir / row.channel_id
        suffix = f".{row.language_code}" if row.language_code != "en" else ""
        body = render(row, fmt)
        target = folder / f"{row.video_id}{suffix}.{fmt}"
        with _writing(target):
            folder.mkdir(exist_ok=True)
            _replace_atomically(target, body)
        report.videos += 1
        report.files += 1
        report.bytes += len(body.encode("utf-8"))
        if progress is not None:
            progress(report)
    return report


def export_jsonl_file(db: Database, path: Path, *, in_place: bool = False,
                      **filters: Any) -> ExportReport:
    """JSONL into one file, written next to it first and renamed when complete (a reader
    never sees half an export under the final name). ``in_place`` writes into the existing
    path as it is (through a symbolic link, into a device or FIFO). A write error removes
    the partial file and is a Failure: never a success report."""
    if in_place and (path.exists() or path.is_symlink()):
        with _writing(path), path.open("w", encoding="utf-8", newline="\n") as fh:
            report = export_stream(db, "jsonl", fh, **filters)
        report.files = 1
        return report
    with _writing(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    partial = Path(tmp)
    try:
        with _writing(path), os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            report = export_stream(db, "jsonl", fh, **filters)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(partial, 0o666 & ~_umask())
        with _writing(path):
            os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    report.files = 1
    return report


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An OSError while writing ``path`` as one line (exit 1)."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise Failure(f"cannot write {path}: {reason}; nothing was exported there") from None


def _replace_atomically(target: Path, body: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(body)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
