"""Paced rate limiting shared by every thread and process on one database.

Huey's built-in limit is a fixed window: a whole minute's calls may fire in its first second.
Here each call reserves the next free slot: slot = max(now, next_at), and next_at moves on by
``60 / per_minute`` seconds plus a random 0–10 % (jitter only ever *adds* time, so no window
of any length ever holds more calls than the limit allows; under a backlog the rate stays
within ~5 % of it). The reservation is one atomic UPDATE ... RETURNING, so no two threads,
processes or machines (PostgreSQL) ever take the same slot.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlalchemy import case, update

from tubesensei.db.engine import Database
from tubesensei.db.models import RateLimit
from tubesensei.db.upsert import insert_for_engine
from tubesensei.queries.state import rate_limit_next

LIMITS = RateLimit.__table__
JITTER = 0.10


class RateLimiter:
    def __init__(self, db: Database, name: str, per_minute: float,
                 rng: random.Random | None = None) -> None:
        self.db = db
        self.name = name
        self.per_minute = per_minute
        self._rng = rng or random.Random()
        self.last_reserved_next = 0.0  # next_at after this process's latest reservation

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    @property
    def interval(self) -> float:
        return 60.0 / self.per_minute

    def next_free(self) -> float:
        """Epoch seconds of the next free slot (a read; 0 when unlimited or never used)."""
        if not self.enabled:
            return 0.0
        return self.db.query(rate_limit_next, self.name)

    def reserve(self) -> float:
        """Take the next slot; returns the epoch time at which the caller may start."""
        if not self.enabled:
            return time.time()
        step = self.interval * (1.0 + self._rng.uniform(0.0, JITTER))
        now = time.time()
        # One atomic UPDATE takes the slot: next_at = max(next_at, now) + step, RETURNING the
        # new value. Two consumers (threads, processes, machines) can never take one slot:
        # the row lock (PostgreSQL) or the write lock (SQLite) serialises them.
        later = case((LIMITS.c.next_at > now, LIMITS.c.next_at), else_=now)
        with self.db.writer.begin() as conn:
            conn.execute(
                insert_for_engine(self.db.engine, LIMITS)
                .values(name=self.name, next_at=0.0, waits=0)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            next_at = conn.execute(
                update(LIMITS)
                .where(LIMITS.c.name == self.name)
                .values(next_at=later + step,
                        waits=LIMITS.c.waits + case((LIMITS.c.next_at > now, 1), else_=0))
                .returning(LIMITS.c.next_at)
            ).scalar_one()
        slot = float(next_at) - step
        self.last_reserved_next = slot + step
        return slot

    def wait(self, checkpoint: Callable[[], None] | None = None) -> float:
        """Reserve a slot and sleep until it (checking in while waiting); returns seconds waited."""
        slot = self.reserve()
        waited = max(0.0, slot - time.time())
        while True:
            remaining = slot - time.time()
            if remaining <= 0:
                return waited
            if checkpoint is not None:
                checkpoint()
            time.sleep(min(remaining, 0.5))
