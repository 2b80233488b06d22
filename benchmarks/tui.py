"""Time the TUI's database work per refresh, on a 200k-job, 100k-video database.

    .venv/bin/python -m benchmarks.tui [--runs 30] [--db DIR]

Seeds a temporary data folder with benchmarks/seed_corpus.py (bulk Core inserts: 100k
videos, 5k transcripts, 200k processing_jobs) plus a few live consumers and sessions, then
times what the app's async workers ask of its facade (tubesensei/tui/data.py) on an event
loop, exactly as the app calls them. One refresh cycle is the dashboard (it runs on every tab: it feeds the status bar
and the throughput history) plus the visible tab; the cycle timed against the target is
dashboard + the jobs tab, the busiest. The other tabs are timed for reference.
Target: p99 < 50 ms per cycle. ``--db DIR`` keeps the seeded folder there (reused).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from benchmarks.report import print_table, summarize_ms, write_results
from benchmarks.seed_corpus import seed
from tubesensei.config import load_settings
from tubesensei.db.engine import create_sync_engine
from tubesensei.db.models import Consumer, ProcessingJob, ProcessingSession
from tubesensei.db.schema import ensure_schema
from tubesensei.jobs.registry import QUEUES
from tubesensei.queries.jobs import failed_counts
from tubesensei.queries.state import live_counts
from tubesensei.tui.data import JobFilter, TuiData
from tubesensei.tui.throughput import ThroughputHistory

TARGET_MS = 50.0
JOBS = 200_000
VIDEOS = 100_000
SESSIONS = 20


def _extras(engine: Any, jobs: int) -> None:
    """Live consumers and sessions with jobs (the corpus seed has neither)."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(Consumer.__table__), [
            {"worker_id": f"bench:{n}:000000", "host": "bench", "pid": 1000 + n,
             "queues": ["discovery", "transcripts", "batch"],
             "concurrency": {"discovery": 4, "transcripts": 4, "batch": 4}, "threads": 4,
             "inflight": 2, "processed": 5000, "failed": 12, "started_at": now,
             "heartbeat_at": now + timedelta(days=1), "stopped_at": None}
            for n in range(3)])
        conn.execute(insert(ProcessingSession.__table__), [
            {"id": n + 1, "name": f"batch {n}", "session_type": "batch",
             "configuration": {"videos": 500}, "status": "running" if n < 2 else "completed",
             "metrics": {}, "created_at": now, "started_at": now - timedelta(hours=1),
             "completed_at": None if n < 2 else now}
            for n in range(SESSIONS)])
        # 500 jobs per session (10k of the 200k): sessions' reports count them.
        table = ProcessingJob.__table__
        for n in range(SESSIONS):
            first = jobs - (n + 1) * 500
            conn.execute(table.update().where(table.c.id > first, table.c.id <= first + 500)
                         .values(session_id=n + 1))


def _seed(path: Path) -> tuple[Any, float | None]:
    settings = load_settings(environ={"TUBESENSEI_DATA_DIR": str(path)}).settings
    db_file = path / "tubesensei.db"
    fresh = not db_file.exists()
    path.mkdir(parents=True, exist_ok=True)
    ensure_schema(settings.database_url)
    seconds = None
    if fresh:
        started = time.perf_counter()
        engine = create_sync_engine(settings.database_url)
        seed(engine, videos=VIDEOS, transcripts=5_000, jobs=JOBS)
        _extras(engine, JOBS)
        engine.dispose()
        seconds = round(time.perf_counter() - started, 1)
    return settings, seconds


Measure = Callable[[], Awaitable[Any]]


async def _time(fn: Measure, runs: int) -> list[float]:
    for _ in range(3):  # warm the page cache and the statement cache
        await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - started)
    return samples


async def _measure_all(data: TuiData, runs: int) -> list[dict[str, Any]]:
    """Every measurement on one event loop, as the app's async workers run them."""
    newest = JobFilter()
    failed = JobFilter(status="failed")
    history = ThroughputHistory()

    def since(seconds: float) -> datetime:
        return history.bucket_start(datetime.now(UTC) - timedelta(seconds=seconds))

    async def refresh() -> Any:  # what the app's dashboard worker asks every second
        return await data.dashboard(since(history.overlap_seconds + 1))

    async def cycle(flt: JobFilter) -> Any:
        return await refresh(), await data.jobs(flt)

    async def in_thread_stats() -> Any:
        return await asyncio.to_thread(data.system.stats)

    measured: list[tuple[str, str, Measure]] = [
        ("cycle: dashboard + jobs tab", "cycle", lambda: cycle(newest)),
        ("cycle: dashboard + jobs tab (status failed)", "cycle", lambda: cycle(failed)),
        ("  dashboard", "part", refresh),
        ("    queries.state.live_counts", "part", lambda: data.db.query(live_counts, QUEUES)),
        ("    queries.corpus.corpus_totals", "part", data.corpus),
        ("  jobs tab, newest 200", "part", lambda: data.jobs(newest)),
        ("  jobs tab, status failed", "part", lambda: data.jobs(failed)),
        ("  job detail (the selected row)", "part", lambda: data.job(JOBS // 2)),
        ("first dashboard (counts 5 min of history)", "tab",
         lambda: data.dashboard(since(history.window_seconds))),
        ("tab: jobs, entity search (substring)", "tab",
         lambda: data.jobs(JobFilter(entity="v00000123"))),
        ("tab: failures (grouped)", "tab", data.failures),
        ("tab: sessions list (20 sessions, 10k jobs)", "tab", data.sessions),
        ("tab: sessions, the selected one's report (500 jobs)", "tab",
         lambda: data.session(1)),
        ("tab: channels (50)", "tab", data.channels),
        ("retry-all confirmation count", "tab", lambda: data.db.query(failed_counts)),
        ("for reference: JobSystem.stats (tubesensei stats)", "tab", in_thread_stats),
    ]
    results = []
    try:
        for name, group, fn in measured:
            stats = summarize_ms(await _time(fn, runs))
            results.append({"measure": name, "group": group, **stats,
                            "meets_target": stats["p99_ms"] < TARGET_MS
                            if group == "cycle" else None})
    finally:
        await data.aclose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per measurement")
    parser.add_argument("--db", type=Path, help="keep the seeded data folder here (reused)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-tui-") as tmp:
        settings, seed_seconds = _seed(args.db or Path(tmp) / "data")
        data = TuiData.open(settings)
        try:
            results = asyncio.run(_measure_all(data, args.runs))
        finally:
            data.close()

    sizes = {"jobs": JOBS, "videos": VIDEOS, "transcripts": 5_000, "sessions": SESSIONS,
             "live_consumers": 3}
    print(f"seeded {sizes} in {seed_seconds}s" if seed_seconds is not None
          else f"reused {args.db}")
    print_table(
        f"TUI database time per refresh over {args.runs} runs "
        f"(target: a cycle's p99 < {TARGET_MS:g} ms)",
        ["measure", "p50 ms", "p99 ms", "max ms", "target"],
        [(r["measure"], f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.2f}",
          "" if r["meets_target"] is None else ("ok" if r["meets_target"] else "MISS"))
         for r in results],
    )
    path = write_results("tui", {"seed_seconds": seed_seconds, "sizes": sizes,
                                 "runs": args.runs, "target_ms": TARGET_MS,
                                 "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
