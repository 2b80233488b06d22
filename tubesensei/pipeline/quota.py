"""Data API quota accounting: units are counted per call and persisted per quota day."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tubesensei.db.engine import Database
from tubesensei.db.models import QuotaUsage
from tubesensei.db.upsert import insert_for
from tubesensei.youtube.quota import next_reset, quota_day


class QuotaMeter:
    """Collects units as calls happen (from any thread); a transaction persists them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._units = 0
        self._calls = 0
        self.total_units = 0

    def record(self, method: str, units: int) -> None:
        with self._lock:
            self._units += units
            self._calls += 1
            self.total_units += units

    def take(self) -> tuple[int, int]:
        with self._lock:
            taken = (self._units, self._calls)
            self._units = self._calls = 0
            return taken

    async def flush(self, session: AsyncSession, now: datetime | None = None) -> int:
        """Add the units counted so far to today's row, inside the caller's transaction."""
        units, calls = self.take()
        if calls == 0:
            return 0
        now = now or datetime.now(UTC)
        stmt = insert_for(session, QuotaUsage).values(
            day=quota_day(now), units=units, calls=calls, updated_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[QuotaUsage.day],
            set_={
                "units": QuotaUsage.units + units,
                "calls": QuotaUsage.calls + calls,
                "updated_at": now,
            },
        )
        await session.execute(stmt)
        return units


@dataclass(frozen=True)
class QuotaToday:
    day: str
    units: int
    calls: int
    limit: int
    resets_at: datetime

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.units)


async def quota_today(db: Database, limit: int, now: datetime | None = None) -> QuotaToday:
    now = now or datetime.now(UTC)
    day = quota_day(now)
    async with db.read() as s:
        stmt = select(QuotaUsage).where(QuotaUsage.day == day)
        row = (await s.execute(stmt)).scalar_one_or_none()
    return QuotaToday(
        day=day.isoformat(),
        units=row.units if row else 0,
        calls=row.calls if row else 0,
        limit=limit,
        resets_at=next_reset(now),
    )
