"""The registry of running consumers (``tubesensei workers``) and live scaling.

Each consumer writes its row at start, refreshes it with every heartbeat (threads, in-flight
jobs, counters) and reads back its ``concurrency``: ``workers scale QUEUE N`` changes that
column and the consumer adapts within one heartbeat, without a restart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from tubesensei.db.engine import Database
from tubesensei.db.models import Consumer as ConsumerRow
from tubesensei.db.upsert import insert_for_engine
from tubesensei.queries.state import consumer_concurrency, live_workers

CONSUMERS = ConsumerRow.__table__


def _now() -> datetime:
    return datetime.now(UTC)


class WorkerRegistry:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = db.engine

    def register(self, worker_id: str, host: str, pid: int, queues: list[str],
                 concurrency: dict[str, int], threads: int) -> None:
        now = _now()
        values = dict(worker_id=worker_id, host=host, pid=pid, queues=queues,
                      concurrency=concurrency, threads=threads, inflight=0, processed=0,
                      failed=0, started_at=now, heartbeat_at=now, stopped_at=None)
        with self.engine.begin() as conn:
            conn.execute(
                insert_for_engine(self.engine, CONSUMERS).values(**values)
                .on_conflict_do_update(index_elements=["worker_id"], set_=values)
            )

    def heartbeat(self, worker_id: str, *, threads: int, inflight: int, processed: int,
                  failed: int) -> None:
        """Record liveness and counters."""
        with self.engine.begin() as conn:
            conn.execute(
                update(CONSUMERS).where(CONSUMERS.c.worker_id == worker_id).values(
                    heartbeat_at=_now(), threads=threads, inflight=inflight,
                    processed=processed, failed=failed,
                )
            )

    def wanted(self, worker_id: str) -> dict[str, int]:
        """The per-queue caps the consumer should run (``workers scale`` changes them)."""
        return self.db.query(consumer_concurrency, worker_id)

    def stopped(self, worker_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(CONSUMERS).where(CONSUMERS.c.worker_id == worker_id)
                         .values(stopped_at=_now(), inflight=0, threads=0))

    def live(self, stale_after: float, now: datetime | None = None) -> list[dict[str, Any]]:
        """Consumers that heartbeat within ``stale_after`` seconds and have not stopped."""
        return self.db.query(live_workers, stale_after, now)

    def scale(self, queue: str, n: int, stale_after: float, worker_id: str | None = None) -> int:
        """Set ``queue``'s concurrency on every live consumer serving it (or one); how many."""
        changed = 0
        for row in self.live(stale_after):
            if worker_id and row["worker_id"] != worker_id:
                continue
            if queue not in row["queues"]:
                continue
            concurrency = dict(row["concurrency"])
            concurrency[queue] = n
            with self.engine.begin() as conn:
                conn.execute(update(CONSUMERS).where(CONSUMERS.c.worker_id == row["worker_id"])
                             .values(concurrency=concurrency))
            changed += 1
        return changed
