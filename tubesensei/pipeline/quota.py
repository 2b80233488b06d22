"""Data API quota accounting: units are counted per call and persisted per quota day.
(What was spent is read by ``queries.state.quota_today``.)"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from tubesensei.db.models import QuotaUsage
from tubesensei.db.upsert import insert_for
from tubesensei.youtube.quota import quota_day


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

    def flush(self, session: Session, now: datetime | None = None) -> int:
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
        session.execute(stmt)
        return units
