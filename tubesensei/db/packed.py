"""How transcripts keep their segments small: compressed JSON, and cleaned segments as
timings over the cleaned text.

* ``PackedJSON``: a JSON value written compact (no spaces) and zlib-compressed, in a BLOB
  (SQLite) or bytea (PostgreSQL). Raw caption segments shrink about fourfold: auto-captions
  repeat every line once as they scroll, which is what deflate is good at. Reading accepts
  plain JSON too (bytes or text starting with ``[`` or ``{``), so a value written before the
  format changed still reads.
* The cleaned text is not stored as such either: the search passages (transcript_chunks)
  hold it, each the texts of consecutive cleaned segments joined by spaces; joined by
  spaces in turn, with ``"\\n\\n"`` after the segments listed in ``paragraph_breaks``, they
  are the text again (``join_passages``).
* Cleaned segments are not stored as text: the cleaned text is exactly their texts joined by
  ``" "`` or ``"\\n\\n"`` (pipeline/cleaning.py ``build_text``; a cleaned segment's text holds
  no line break and starts with no space), so ``[start, duration, characters]`` per segment
  (``timing_of``) is enough to cut them back out of it (``split_cleaned``).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import LargeBinary, TypeDecorator

__all__ = ["PackedJSON", "join_passages", "pack_json", "paragraph_breaks", "split_cleaned",
           "timing_of", "unpack_json"]

# zlib level 6 (the default) packs raw segments to ~24% of their JSON at ~0.6 ms per
# transcript; level 1 saves a fifth of that time for a fifth more bytes.
LEVEL = 6


def pack_json(value: Any) -> bytes:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return zlib.compress(text.encode("utf-8"), LEVEL)


def unpack_json(data: bytes | bytearray | memoryview | str) -> Any:
    if isinstance(data, str):
        return json.loads(data)
    data = bytes(data)
    if data[:1] in (b"[", b"{"):  # written uncompressed (before migration 0009 packed it)
        return json.loads(data)
    return json.loads(zlib.decompress(data))


class PackedJSON(TypeDecorator[Any]):
    """A JSON value stored compact and zlib-compressed; bytes are taken as already packed."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> bytes | None:
        if value is None or isinstance(value, bytes):
            return value
        return pack_json(value)

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return None if value is None else unpack_json(value)


def timing_of(segments: Iterable[Sequence[Any]]) -> list[float | int]:
    """Cleaned segments ``[[start, duration, text], ...]`` as one flat list
    ``[start, duration, len(text), ...]``: what ``split_cleaned`` needs beside the text."""
    flat: list[float | int] = []
    for start, duration, text in segments:
        flat += (start, duration, len(text))
    return flat


def split_cleaned(text: str, timing: Sequence[float | int]) -> list[list[Any]]:
    """The cleaned segments back from the cleaned text and ``timing_of`` them."""
    out: list[list[Any]] = []
    pos = 0
    for i in range(0, len(timing) - 2, 3):
        end = pos + int(timing[i + 2])
        out.append([timing[i], timing[i + 1], text[pos:end]])
        pos = end + (2 if text.startswith("\n\n", end) else 1)
    return out


def paragraph_breaks(text: str, timing: Sequence[float | int]) -> list[int]:
    """Indexes of the cleaned segments (``timing_of`` them) that ``text`` follows with a
    paragraph break."""
    breaks: list[int] = []
    pos = 0
    for n, i in enumerate(range(0, len(timing) - 2, 3)):
        pos += int(timing[i + 2])
        if text.startswith("\n\n", pos):
            breaks.append(n)
            pos += 2
        else:
            pos += 1
    return breaks


def join_passages(passages: Sequence[str], timing: Sequence[float | int],
                  breaks: Sequence[int]) -> str:
    """The cleaned text from its search passages (in order), ``timing_of`` its segments and
    its ``paragraph_breaks``."""
    joined = " ".join(passages)
    if not breaks:
        return joined
    ends: list[int] = []
    pos = 0
    for i in range(0, len(timing) - 2, 3):
        pos += int(timing[i + 2])
        ends.append(pos)
        pos += 1
    parts: list[str] = []
    last = 0
    for n in breaks:
        if n < len(ends) and joined[ends[n]:ends[n] + 1] == " ":
            parts.append(joined[last:ends[n]])
            last = ends[n] + 1
    parts.append(joined[last:])
    return "\n\n".join(parts)
