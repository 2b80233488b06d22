from datetime import UTC, date, datetime

import pytest

from tubesensei.youtube.quota import (
    DEFAULT_UNIT_COSTS,
    next_reset,
    quota_day,
    unit_cost,
    unit_costs,
)


@pytest.mark.parametrize(
    ("now", "day", "reset"),
    [
        # Winter (PST, UTC-8): midnight Pacific is 08:00 UTC.
        (datetime(2024, 1, 15, 7, 59, tzinfo=UTC), date(2024, 1, 14),
         datetime(2024, 1, 15, 8, 0, tzinfo=UTC)),
        (datetime(2024, 1, 15, 8, 0, tzinfo=UTC), date(2024, 1, 15),
         datetime(2024, 1, 16, 8, 0, tzinfo=UTC)),
        # Summer (PDT, UTC-7): midnight Pacific is 07:00 UTC.
        (datetime(2024, 7, 4, 6, 59, 59, tzinfo=UTC), date(2024, 7, 3),
         datetime(2024, 7, 4, 7, 0, tzinfo=UTC)),
        (datetime(2024, 7, 4, 7, 0, tzinfo=UTC), date(2024, 7, 4),
         datetime(2024, 7, 5, 7, 0, tzinfo=UTC)),
        # Spring forward: Sunday 10 March 2024 02:00 PST -> 03:00 PDT. A call on Saturday
        # evening resets at Sunday 00:00 PST (08:00 UTC); a call on Sunday resets at
        # Monday 00:00 PDT (07:00 UTC).
        (datetime(2024, 3, 10, 5, 0, tzinfo=UTC), date(2024, 3, 9),
         datetime(2024, 3, 10, 8, 0, tzinfo=UTC)),
        (datetime(2024, 3, 10, 12, 0, tzinfo=UTC), date(2024, 3, 10),
         datetime(2024, 3, 11, 7, 0, tzinfo=UTC)),
        # Fall back: Sunday 3 November 2024 02:00 PDT -> 01:00 PST.
        (datetime(2024, 11, 3, 6, 30, tzinfo=UTC), date(2024, 11, 2),
         datetime(2024, 11, 3, 7, 0, tzinfo=UTC)),
        (datetime(2024, 11, 3, 8, 30, tzinfo=UTC), date(2024, 11, 3),  # 01:30 PDT
         datetime(2024, 11, 4, 8, 0, tzinfo=UTC)),
        (datetime(2024, 11, 3, 9, 30, tzinfo=UTC), date(2024, 11, 3),  # 01:30 PST again
         datetime(2024, 11, 4, 8, 0, tzinfo=UTC)),
        # Year end.
        (datetime(2025, 1, 1, 3, 0, tzinfo=UTC), date(2024, 12, 31),
         datetime(2025, 1, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_quota_day_and_reset(now: datetime, day: date, reset: datetime) -> None:
    assert quota_day(now) == day
    assert next_reset(now) == reset
    assert next_reset(now).utcoffset().total_seconds() == 0
    assert next_reset(now) > now


def test_other_timezones_are_converted() -> None:
    from zoneinfo import ZoneInfo

    tokyo = datetime(2024, 1, 15, 9, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 00:00 UTC
    assert quota_day(tokyo) == date(2024, 1, 14)
    assert next_reset(tokyo) == datetime(2024, 1, 15, 8, 0, tzinfo=UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        quota_day(datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        next_reset(datetime(2024, 1, 1))


def test_unit_costs() -> None:
    assert DEFAULT_UNIT_COSTS == {"channels.list": 1, "playlistItems.list": 1,
                                  "videos.list": 1, "search.list": 100}
    table = unit_costs({"search.list": 50, "captions.list": 50})
    assert table["search.list"] == 50 and table["videos.list"] == 1
    assert unit_cost("search.list") == 100
    assert unit_cost("search.list", table) == 50
    assert unit_cost("unknown.method") == 1
    with pytest.raises(ValueError):
        unit_costs({"videos.list": -1})
