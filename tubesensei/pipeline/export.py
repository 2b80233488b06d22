"""Export the corpus: JSONL (one video per line, for the AI phase), txt, srt, vtt.

Rows are streamed from the database in batches, so exporting 100k videos uses constant memory.
JSONL goes to one file (or stdout); txt/srt/vtt write one file per video under
``<out>/<channel id>/<video id>.<ext>``.
"""

from __future__ import annotations

import json
import os
import re
import stat
import string
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from tubesensei.db.engine import Database
from tubesensei.errors import BadInput, Failure
from tubesensei.formatting import video_link
from tubesensei.queries.corpus import channel_pk
from tubesensei.queries.transcripts import ExportFilter, ExportRow, export_page
from tubesensei.youtube.ids import ChannelRef

Format = Literal["jsonl", "txt", "srt", "vtt"]
BATCH = 200


def row_json(row: ExportRow) -> dict[str, Any]:
    """One JSONL object: a video, its channel and its transcript (keys in docs/export.md)."""
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
            "removed": row.removed,
        },
        "language_code": row.language_code,
        "language": row.language,
        "is_generated": row.is_generated,
        "translated_from": row.translated_from,
        "word_count": row.word_count,
        "text": row.text,
        "segments": [{"start": s, "duration": d, "text": t} for s, d, t in row.segments],
    }


def passages(segments: list[list[Any]], seconds: float) -> list[tuple[float, float, str]]:
    """Consecutive segments grouped into passages of about ``seconds`` (a passage ends at the
    first segment boundary past that length): (start, end, text)."""
    out: list[tuple[float, float, str]] = []
    words: list[str] = []
    first = end = 0.0
    for start, duration, text in segments:
        start = float(start)
        if words and start - first >= seconds:
            out.append((first, end, " ".join(words)))
            words = []
        if not words:
            first = start
        words.append(str(text).strip())
        end = max(end, start + float(duration or 0))
    if words:
        out.append((first, end, " ".join(words)))
    return out


def chunk_json(row: ExportRow, seconds: float) -> Iterator[dict[str, Any]]:
    """``--chunks SECONDS``: one object per passage, for embedding pipelines."""
    for index, (start, end, text) in enumerate(passages(row.segments, seconds)):
        yield {
            "video_id": row.video_id,
            "channel_id": row.channel_id,
            "title": row.title,
            "published_at": row.published_at.isoformat() if row.published_at else None,
            "language_code": row.language_code,
            "chunk": index,
            "start": round(start, 3),
            "end": round(end, 3),
            "text": text,
            "url": video_link(row.video_id, start),
        }


def iter_export_rows(
    db: Database,
    where: ExportFilter = ExportFilter(),
    *,
    channels: Sequence[ChannelRef] = (),
    channel: ChannelRef | None = None,
) -> Iterator[ExportRow]:
    """Stored transcripts in the order they were stored, a page at a time (constant memory
    and constant time per page however far the export has got). Each of ``channels`` (any
    reference) must name a stored channel: ChannelNotInCorpus otherwise."""
    refs = [*channels, *([channel] if channel is not None else [])]
    if refs:
        pks = tuple(db.query(channel_pk, ref) for ref in refs)
        where = replace(where, channel_pks=tuple(p for p in pks if p is not None))
    last_id = 0
    while True:
        rows = db.query(export_page, last_id, BATCH, where)
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


def _cue_text(body: Any) -> str:
    """Cue text on one or more non-blank lines: a blank line ends a cue in SRT and WebVTT."""
    lines = [line.strip() for line in str(body).splitlines()]
    return "\n".join(line for line in lines if line) or "…"


def _cues(segments: list[list[Any]]) -> list[tuple[float, float, str]]:
    """Cue times that never overlap (rolling captions overlap their successors)."""
    cues = []
    for i, (start, duration, body) in enumerate(segments):
        end = float(start) + float(duration)
        if i + 1 < len(segments):
            end = min(end, float(segments[i + 1][0]))
        end = max(end, float(start) + 0.001)
        cues.append((float(start), end, _cue_text(body)))
    return cues


def to_srt(segments: list[list[Any]]) -> str:
    """SubRip: no escapes exist, so "-->" in a caption (it would read as a timing line) is
    written "->"; everything else as it is."""
    blocks = [
        f"{i}\n{_timestamp(a, ',')} --> {_timestamp(b, ',')}\n{body.replace('-->', '->')}\n"
        for i, (a, b, body) in enumerate(_cues(segments), start=1)
    ]
    return "\n".join(blocks)


def vtt_escape(text: str) -> str:
    """WebVTT cue text: "&" and "<" start entities and tags, so they are written as
    character references, and ">" too (so "-->" in a caption cannot read as a timing line);
    a parser's text unescaped is the caption exactly."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: list[list[Any]]) -> str:
    blocks = [
        f"{_timestamp(a, '.')} --> {_timestamp(b, '.')}\n{vtt_escape(body)}\n"
        for a, b, body in _cues(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def render(row: ExportRow, fmt: Format, chunks: float | None = None) -> str:
    if fmt == "jsonl":
        if chunks is not None:
            return "".join(json.dumps(c, ensure_ascii=False) + "\n"
                           for c in chunk_json(row, chunks))
        return json.dumps(row_json(row), ensure_ascii=False) + "\n"
    if fmt == "srt":
        return to_srt(row.segments)
    if fmt == "vtt":
        return to_vtt(row.segments)
    return row.text + "\n"


# -- file names -------------------------------------------------------------------------------

DEFAULT_NAME = "{channel_id}/{id}"
NAME_FIELDS = ("id", "title", "channel_id", "channel_handle", "channel_title", "published",
               "language", "kind")
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.I)
MAX_COMPONENT = 120  # characters; well inside every file system's 255-byte limit


class NameTemplate:
    """``--name``: where each per-video file goes under --out, e.g.
    ``{channel_handle}/{published:%Y-%m-%d}-{title}-{id}``. Values are made safe for every
    OS (no separators, reserved names, control or forbidden characters; bounded length);
    "/" in the template makes folders; the extension (and a language suffix when not
    English) is added."""

    def __init__(self, template: str = DEFAULT_NAME) -> None:
        self.template = template.strip().strip("/")
        if not self.template:
            raise BadInput("--name: empty template")
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(self.template) if f]
        except ValueError as exc:
            raise BadInput(f"--name {template!r}: {exc}") from None
        for name in fields:
            if name.split(".")[0].split("[")[0] not in NAME_FIELDS or name != name.strip():
                raise BadInput(f"--name: unknown field {{{name}}}; use "
                               + ", ".join("{" + f + "}" for f in NAME_FIELDS))
        if "id" not in fields:
            self.template += "-{id}"  # two videos never share a file
        self._sample()

    def _sample(self) -> None:
        try:
            self.path(_SAMPLE, "srt")
        except (ValueError, KeyError, IndexError, AttributeError, TypeError) as exc:
            raise BadInput(f"--name {self.template!r}: {exc}") from None

    def path(self, row: ExportRow, ext: str) -> Path:
        values = {
            "id": row.video_id,
            "title": _safe(row.title),
            "channel_id": row.channel_id,
            "channel_handle": _safe((row.channel_handle or row.channel_id).lstrip("@")),
            "channel_title": _safe(row.channel_title),
            "published": row.published_at or datetime(1970, 1, 1, tzinfo=UTC),
            "language": _safe(row.language_code),
            "kind": row.kind,
        }
        rendered = self.template.format_map(values)
        parts = [_component(part) for part in rendered.split("/") if part.strip()]
        suffix = f".{_safe(row.language_code)}" if row.language_code != "en" else ""
        parts[-1] = f"{parts[-1][:MAX_COMPONENT - 12]}{suffix}.{ext}"
        return Path(*parts)


def _safe(value: str) -> str:
    return _UNSAFE.sub("_", value).strip()


def _component(part: str) -> str:
    part = _safe(part)[:MAX_COMPONENT].rstrip(". ") or "_"
    if part in (".", "..") or _RESERVED.match(part):
        part = "_" + part
    return part


_SAMPLE = ExportRow(0, "UC" + "x" * 22, "Title", "@handle", "dQw4w9WgXcQ", "A/B: <t>", "",
                    datetime(2020, 1, 2, tzinfo=UTC), 1, "video", 0, "de", "Deutsch", False,
                    None, "", [], 0)


@dataclass
class ExportReport:
    videos: int = 0
    files: int = 0
    bytes: int = 0


def export_stream(db: Database, fmt: Format, out: IO[str], where: ExportFilter = ExportFilter(),
                  *, chunks: float | None = None, **refs: Any) -> ExportReport:
    """Write every selected transcript to one stream (JSONL, or txt separated by headers)."""
    report = ExportReport()
    for row in iter_export_rows(db, where, **refs):
        chunk = render(row, fmt, chunks)
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
    db: Database, fmt: Format, out_dir: Path, where: ExportFilter = ExportFilter(), *,
    progress: Progress | None = None, name: NameTemplate | None = None,
    chunks: float | None = None, **refs: Any,
) -> ExportReport:
    """One file per video (JSONL: one file for all) under ``out_dir``; ``progress`` is
    called with the running report after each video. Each file is written beside its final
    name and renamed over it: a symbolic link planted there is replaced, never followed."""
    with _writing(out_dir):
        out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        return export_jsonl_file(db, out_dir / "transcripts.jsonl", where, chunks=chunks,
                                 **refs)
    name = name or NameTemplate()
    report = ExportReport()
    for row in iter_export_rows(db, where, **refs):
        target = out_dir / name.path(row, fmt)
        body = render(row, fmt)
        with _writing(target):
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace_atomically(target, body)
        report.videos += 1
        report.files += 1
        report.bytes += len(body.encode("utf-8"))
        if progress is not None:
            progress(report)
    return report


def export_jsonl_file(db: Database, path: Path, where: ExportFilter = ExportFilter(), *,
                      in_place: bool = False, chunks: float | None = None,
                      **refs: Any) -> ExportReport:
    """JSONL into one file, written next to it first and renamed when complete (a reader
    never sees half an export under the final name). ``in_place`` writes into the existing
    path as it is (through a symbolic link, into a device or FIFO). A write error removes
    the partial file and is a Failure: never a success report."""
    if in_place and (path.exists() or path.is_symlink()):
        with _writing(path), path.open("w", encoding="utf-8", newline="\n") as fh:
            report = export_stream(db, "jsonl", fh, where, chunks=chunks, **refs)
        report.files = 1
        return report
    with _writing(path):
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    partial = Path(tmp)
    try:
        with _writing(path), os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            report = export_stream(db, "jsonl", fh, where, chunks=chunks, **refs)
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
