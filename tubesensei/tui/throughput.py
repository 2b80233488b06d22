"""The dashboard's throughput history: jobs completed per time bucket, per queue.

The app keeps it (the ledger has no such table); each refresh recounts the completions of
the last few buckets from the ledger (a short covering-index range) and replaces those
buckets. Recounting an overlap rather than adding differences means a job whose commit
lands a moment after its finish time is still counted, and pruning old jobs never makes a
count go negative. The first refresh counts the whole window, so the sparkline shows the
last minutes at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime


class ThroughputHistory:
    def __init__(self, bucket_seconds: int = 10, buckets: int = 30,
                 overlap_seconds: int = 30) -> None:
        self.bucket_seconds = bucket_seconds
        self.buckets = buckets
        self.overlap_seconds = overlap_seconds
        self._counts: dict[str, dict[int, int]] = {}
        self._last_at: datetime | None = None

    @property
    def window_seconds(self) -> int:
        return self.bucket_seconds * self.buckets

    def _bucket(self, at: datetime) -> int:
        return int(at.timestamp() // self.bucket_seconds)

    def bucket_start(self, at: datetime) -> datetime:
        """The start of ``at``'s bucket (recounts start on a bucket boundary)."""
        return datetime.fromtimestamp(self._bucket(at) * self.bucket_seconds, at.tzinfo)

    def recount_seconds(self, now: datetime) -> float:
        """How far back the next refresh must recount: everything the first time, then
        the time since the last refresh plus an overlap."""
        if self._last_at is None:
            return self.window_seconds
        since_last = (now - self._last_at).total_seconds()
        return min(self.window_seconds, max(0.0, since_last) + self.overlap_seconds)

    def replace_from(self, now: datetime, since: datetime,
                     completions: Iterable[tuple[str, datetime]]) -> None:
        """Every bucket from ``since`` (a bucket boundary) on is recounted from
        ``completions`` (queue, finished at)."""
        first = self._bucket(since)
        for per_queue in self._counts.values():
            for b in [b for b in per_queue if b >= first]:
                del per_queue[b]
        for queue, at in completions:
            b = self._bucket(at)
            if b >= first:
                per_queue = self._counts.setdefault(queue, {})
                per_queue[b] = per_queue.get(b, 0) + 1
        oldest = self._bucket(now) - self.buckets
        for per_queue in self._counts.values():
            for b in [b for b in per_queue if b <= oldest]:
                del per_queue[b]
        self._last_at = now

    def series(self, now: datetime, queue: str | None = None) -> list[int]:
        """Completed per bucket, oldest first, ending with the bucket of ``now``."""
        last = self._bucket(now)
        queues = [queue] if queue is not None else list(self._counts)
        return [
            sum(self._counts.get(q, {}).get(b, 0) for q in queues)
            for b in range(last - self.buckets + 1, last + 1)
        ]

    def per_minute(self, now: datetime, queue: str | None = None) -> float:
        """Completions per minute over the last minute's buckets."""
        n = max(1, 60 // self.bucket_seconds)
        return sum(self.series(now, queue)[-n:]) * 60 / (n * self.bucket_seconds)
