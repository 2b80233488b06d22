"""Queue pauses and the circuit breaker, kept in the database so every consumer obeys them.

- A person pauses a queue (``queues pause``) until they resume it.
- The Data API quota pauses ``discovery`` until midnight Pacific; it resumes by itself.
- YouTube blocking us opens the ``transcripts`` breaker for a cool-down that doubles each time
  it re-opens (``limits.blocked_cooldown_seconds`` up to ``..._max_seconds``). When the
  cool-down ends, exactly one consumer thread wins the half-open probe (compare-and-set); the
  probe's success closes the breaker, another block re-opens it for longer.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tubesensei.db.engine import Database
from tubesensei.db.models import QueueState
from tubesensei.db.upsert import insert_for_engine
from tubesensei.jobs.registry import QUEUES
from tubesensei.queries.state import QueueStatus, queue_statuses

STATE = QueueState.__table__
# Resuming a queue by hand releases the jobs that wait for what paused it.
RELEASES: dict[str, tuple[str, ...]] = {
    "discovery": ("quota_exhausted",),
    "transcripts": ("blocked",),
    "batch": (),
}


def _now() -> datetime:
    return datetime.now(UTC)


class QueueControl:
    """Writes the queues' pauses and breakers (what they are now: ``statuses()``)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = db.engine

    def _ensure(self, conn: Any, queue: str) -> None:
        stmt = insert_for_engine(self.engine, STATE).values(
            queue=queue, paused=False, breaker_state="closed", breaker_opens=0, updated_at=_now()
        ).on_conflict_do_nothing(index_elements=["queue"])
        conn.execute(stmt)

    def statuses(self) -> dict[str, QueueStatus]:
        return self.db.query(queue_statuses, QUEUES)

    def _set(self, queue: str, **values: Any) -> None:
        values["updated_at"] = _now()
        with self.engine.begin() as conn:
            self._ensure(conn, queue)
            conn.execute(update(STATE).where(STATE.c.queue == queue).values(**values))

    def pause(self, queue: str) -> None:
        self._set(queue, paused=True)

    def resume(self, queue: str) -> None:
        """Lift a person's pause and any automatic pause; close the breaker."""
        self._set(queue, paused=False, paused_until=None, pause_reason=None,
                  breaker_state="closed", breaker_until=None, breaker_opens=0, breaker_reason=None)

    def pause_until(self, queue: str, until: datetime, reason: str) -> None:
        self._set(queue, paused_until=until, pause_reason=reason)

    def open_breaker(self, queue: str, base: float, cap: float, reason: str) -> datetime:
        """Open (or re-open) the breaker; the cool-down doubles with each consecutive open."""
        now = _now()
        with self.engine.begin() as conn:
            self._ensure(conn, queue)
            # FOR UPDATE: consumers on other machines (PostgreSQL) wait here, then see it open.
            row = conn.execute(select(STATE).where(STATE.c.queue == queue)
                               .with_for_update()).one()
            if row.breaker_state == "open" and row.breaker_until and row.breaker_until > now:
                return row.breaker_until  # another thread already opened it for this block
            opens = row.breaker_opens + 1
            cooldown = min(cap, base * (2 ** (opens - 1)))
            until = now + timedelta(seconds=cooldown)
            conn.execute(
                update(STATE).where(STATE.c.queue == queue).values(
                    breaker_state="open", breaker_until=until, breaker_opens=opens,
                    breaker_reason=reason, updated_at=now,
                )
            )
        return until

    def try_probe(self, queue: str, stale_after: float) -> bool:
        """open (cool-down over) → half_open, for exactly one caller. A half-open probe whose
        consumer went silent for ``stale_after`` seconds can be taken over."""
        now = _now()
        stale = now - timedelta(seconds=stale_after)
        with self.engine.begin() as conn:
            done = conn.execute(
                update(STATE)
                .where(
                    STATE.c.queue == queue,
                    ((STATE.c.breaker_state == "open") & (STATE.c.breaker_until <= now))
                    | ((STATE.c.breaker_state == "half_open") & (STATE.c.updated_at < stale)),
                )
                .values(breaker_state="half_open", updated_at=now)
            ).rowcount
        return done == 1

    def reopen_for_probe(self, queue: str) -> None:
        """The probe ended without an answer (shutdown): let the next thread probe at once."""
        with self.engine.begin() as conn:
            conn.execute(
                update(STATE)
                .where(STATE.c.queue == queue, STATE.c.breaker_state == "half_open")
                .values(breaker_state="open", breaker_until=_now(), updated_at=_now())
            )

    def probe_succeeded(self, queue: str) -> None:
        """A job of the queue finished without being blocked: close the breaker."""
        with self.engine.begin() as conn:
            conn.execute(
                update(STATE)
                .where(STATE.c.queue == queue, STATE.c.breaker_state != "closed")
                .values(breaker_state="closed", breaker_until=None, breaker_opens=0,
                        breaker_reason=None, updated_at=_now())
            )
