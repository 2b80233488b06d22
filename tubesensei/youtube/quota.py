"""Data API quota arithmetic: what a call costs and which Pacific day it counts against.

YouTube's daily quota resets at midnight Pacific time (America/Los_Angeles, so the reset
moves by an hour against UTC twice a year). Everything here takes and returns aware
datetimes; naive input is rejected rather than guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")

#: Units each Data API method costs (https://developers.google.com/youtube/v3/determine_quota_cost).
DEFAULT_UNIT_COSTS: Mapping[str, int] = {
    "channels.list": 1,
    "playlistItems.list": 1,
    "videos.list": 1,
    "search.list": 100,
}


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("quota arithmetic needs an aware datetime (use datetime.now(UTC))")
    return now


def quota_day(now_utc: datetime) -> date:
    """The Pacific calendar date whose quota a call made at ``now_utc`` counts against."""
    return _require_aware(now_utc).astimezone(PACIFIC).date()


def next_reset(now_utc: datetime) -> datetime:
    """The next midnight Pacific after ``now_utc``, as an aware UTC datetime.

    Midnight always exists in Pacific time (DST switches at 02:00), so building the local
    wall-clock midnight and converting is exact on transition days too.
    """
    tomorrow = quota_day(now_utc) + timedelta(days=1)
    return datetime.combine(tomorrow, time(0), tzinfo=PACIFIC).astimezone(UTC)


def unit_costs(overrides: Mapping[str, int] | None = None) -> dict[str, int]:
    """The cost table: defaults, with ``overrides`` (e.g. from config) taking precedence."""
    table = dict(DEFAULT_UNIT_COSTS)
    if overrides:
        for method, cost in overrides.items():
            if cost < 0:
                raise ValueError(f"unit cost of {method} must not be negative")
            table[method] = int(cost)
    return table


def unit_cost(method: str, table: Mapping[str, int] | None = None) -> int:
    """Units one call of ``method`` (e.g. ``"videos.list"``) costs; unknown methods cost 1."""
    return (table if table is not None else DEFAULT_UNIT_COSTS).get(method, 1)
