"""Small text helpers shared by the views: times, durations, sparklines, numbers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from tubesensei.formatting import duration

SPARK_BLOCKS = " ▁▂▃▄▅▆▇█"

# Theme variables (resolved by Textual against the active theme): readable on dark and light.
STATUS_STYLE = {
    "pending": "$text-muted",
    "running": "$accent",
    "retrying": "$warning",
    "completed": "$success",
    "failed": "$error",
    "cancelled": "$text-disabled",
    "active": "$success",
    "paused": "$warning",
    "error": "$error",
}


def short_duration(seconds: float) -> str:
    """The largest unit only: '45s', '3m', '19h', '2d'."""
    s = round(max(0.0, seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"


def ago(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "–"
    delta = (now - at).total_seconds()
    return f"in {duration(-delta)}" if delta < 0 else f"{duration(delta)} ago"


def until(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "–"
    delta = (at - now).total_seconds()
    return "now" if delta <= 0 else f"in {duration(delta)}"


def clock_time(at: datetime | None, tz: tzinfo | None, now: datetime | None = None) -> str:
    """HH:MM:SS in ``tz`` (local when None); the date too when it is not today's."""
    if at is None:
        return "–"
    local = at.astimezone(tz)
    if now is not None and local.date() != now.astimezone(tz).date():
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%H:%M:%S")


def sparkline(values: Sequence[float], width: int | None = None) -> str:
    """Unicode block sparkline of the last ``width`` values (scaled to the largest)."""
    if width is not None:
        values = list(values)[-width:]
    top = max(values, default=0)
    if top <= 0:
        return "▁" * len(values)
    steps = len(SPARK_BLOCKS) - 1
    return "".join(SPARK_BLOCKS[max(1, round(v / top * steps))] if v > 0 else "▁"
                   for v in values)


def number(n: int | float | None) -> str:
    if n is None:
        return "–"
    if isinstance(n, float) and not n.is_integer():
        return f"{n:,.1f}"
    return f"{int(n):,}"


def shorten(text: str | None, width: int) -> str:
    """One line of at most ``width`` characters."""
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"
