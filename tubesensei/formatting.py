"""How the corpus reads, the same in the CLI and the TUI: positions in a video, paragraphs.

No dependencies beyond the cleaning rules: headless code and the TUI both import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# A timestamp at least this often, a paragraph at most this long (seconds of speech).
PARAGRAPH_SECONDS = 30.0
LONGEST_PARAGRAPH_SECONDS = 45.0
SENTENCE_END = (".", "?", "!", "…", '."', '?"', '!"')


def hms(seconds: float | int | None) -> str:
    """A position or length in a video: 'm:ss', or 'h:mm:ss' from an hour on ('-' if unknown)."""
    if seconds is None:
        return "-"
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
    return f"{s // 60}:{s % 60:02d}"


def duration(seconds: float | None) -> str:
    """A length of time for people: '45s', '3m 05s', '2h 10m', '3d 4h' ('–' if unknown)."""
    if seconds is None:
        return "–"
    s = round(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60:02d}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def video_link(video_id: str, second: float | int | None = None) -> str:
    """A youtu.be link, at a second when given."""
    at = f"?t={int(second)}" if second is not None else ""
    return f"https://youtu.be/{video_id}{at}"


def paragraphs(segments: Sequence[Sequence[Any]]) -> list[tuple[float, str]]:
    """Cleaned segments ``[start, duration, text]`` as readable paragraphs with their start.

    A new paragraph after a pause in speech, or once a paragraph has run 30 s and a sentence
    ends, and at 45 s in any case: auto-generated captions have no punctuation, and a
    timestamp every half minute keeps them readable and easy to cite.
    """
    # Here, not at the top: every table and list imports this module, and the cleaning
    # rules' module (~7 ms) only the commands that show a transcript.
    from tubesensei.pipeline.cleaning import PARAGRAPH_PAUSE_SECONDS

    out: list[tuple[float, list[str]]] = []
    previous_end: float | None = None
    for start, duration, text in segments:
        start = float(start)
        if out:
            block_start, words = out[-1]
            ran = start - block_start
            pause = previous_end is not None and start - previous_end >= PARAGRAPH_PAUSE_SECONDS
            ended = bool(words) and words[-1].rstrip().endswith(SENTENCE_END)
            if pause or ran >= LONGEST_PARAGRAPH_SECONDS or (ran >= PARAGRAPH_SECONDS and ended):
                out.append((start, []))
        else:
            out.append((start, []))
        out[-1][1].append(str(text))
        previous_end = start + float(duration or 0)
    return [(start, " ".join(words)) for start, words in out]
