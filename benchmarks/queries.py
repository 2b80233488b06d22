"""Time every list and search query the CLI and TUI run, on a seeded 100k-video corpus.

    .venv/bin/python -m benchmarks.queries [--runs 100] [--db PATH]

Seeds a temporary SQLite database (100k videos, 50k transcripts with their chunks in the
FTS5 index, 200k processing_jobs rows), then runs each query ``--runs`` times through the
same async Database the CLI uses and prints p50/p99. Targets: p99 < 10 ms for list queries,
< 50 ms for search. ``--db PATH`` keeps the seeded database there (and reuses it next time).
The jobs queries are plain Core selects: the job system's own functions come later.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.report import print_table, summarize_ms, write_results
from benchmarks.seed_corpus import plan, seed
from tubesensei.db.engine import Database, create_sync_engine
from tubesensei.db.models import ACTIVE_JOB_STATUSES, JOB_STATUSES, ProcessingJob
from tubesensei.db.schema import upgrade
from tubesensei.pipeline.channels import list_channels
from tubesensei.pipeline.search import search, search_page
from tubesensei.pipeline.videos import get_transcript, list_videos
from tubesensei.youtube.ids import ChannelRef

LIST_TARGET_MS = 10.0
SEARCH_TARGET_MS = 50.0
PAGE = 50  # rows a table shows


async def _jobs_by_status(db: Database, status: str) -> list[Any]:
    stmt = (select(ProcessingJob).where(ProcessingJob.status == status)
            .order_by(ProcessingJob.created_at.desc(), ProcessingJob.id.desc()).limit(PAGE))
    async with db.read() as s:
        return list((await s.execute(stmt)).scalars())


async def _jobs_by_type(db: Database, job_type: str) -> list[Any]:
    stmt = (select(ProcessingJob).where(ProcessingJob.job_type == job_type)
            .order_by(ProcessingJob.created_at.desc(), ProcessingJob.id.desc()).limit(PAGE))
    async with db.read() as s:
        return list((await s.execute(stmt)).scalars())


async def _jobs_newest(db: Database) -> list[Any]:
    stmt = (select(ProcessingJob)
            .order_by(ProcessingJob.created_at.desc(), ProcessingJob.id.desc()).limit(PAGE))
    async with db.read() as s:
        return list((await s.execute(stmt)).scalars())


async def _jobs_counts(db: Database, *by: Any) -> list[Any]:
    """The obvious GROUP BY: SQLite visits every index entry (~40 ns each)."""
    stmt = select(*by, func.count()).group_by(*by)
    async with db.read() as s:
        return list((await s.execute(stmt)).all())


async def _jobs_counts_derived(db: Database) -> dict[str, int]:
    """Counts by status without visiting every row: the table's count(*) (SQLite counts
    b-tree cells, no row decoding), the statuses other than ``completed`` through index
    ranges, and ``completed`` as the difference. One read transaction: exact."""
    others = [st for st in JOB_STATUSES if st != "completed"]
    async with db.read() as s:
        total = (await s.execute(select(func.count()).select_from(ProcessingJob))).scalar_one()
        counts = dict((await s.execute(
            select(ProcessingJob.status, func.count())
            .where(ProcessingJob.status.in_(others)).group_by(ProcessingJob.status))).all())
    counts["completed"] = total - sum(counts.values())
    return counts


async def _jobs_active_by_queue(db: Database) -> list[Any]:
    """Queue depth (what a queue panel shows): active statuses only, an index range."""
    stmt = (select(ProcessingJob.queue, ProcessingJob.status, func.count())
            .where(ProcessingJob.status.in_(ACTIVE_JOB_STATUSES))
            .group_by(ProcessingJob.queue, ProcessingJob.status))
    async with db.read() as s:
        return list((await s.execute(stmt)).all())


def _queries(report: Any) -> list[tuple[str, str, Callable[[Database], Awaitable[Any]]]]:
    channel = report.channel_ids[7]
    vocab = report.vocabulary
    transcript_video = report.transcript_video_ids[len(report.transcript_video_ids) // 2]
    return [
        ("channels list (with counts)", "list", list_channels),
        ("channels show", "list", lambda db: list_channels(db, ChannelRef("id", channel))),
        ("videos list (newest)", "list", lambda db: list_videos(db, limit=PAGE)),
        ("videos list --channel", "list",
         lambda db: list_videos(db, channel_id=channel, limit=PAGE)),
        ("videos list --status pending", "list",
         lambda db: list_videos(db, status="pending", limit=PAGE)),
        ("videos list --channel --status done", "list",
         lambda db: list_videos(db, channel_id=channel, status="done", limit=PAGE)),
        ("videos list --kind short", "list",
         lambda db: list_videos(db, kind="short", limit=PAGE)),
        ("videos list --status waiting --kind live", "list",
         lambda db: list_videos(db, status="waiting", kind="live", limit=PAGE)),
        ("transcripts show", "list", lambda db: get_transcript(db, transcript_video)),
        ("jobs list (newest)", "list", _jobs_newest),
        ("jobs list --status failed", "list", lambda db: _jobs_by_status(db, "failed")),
        ("jobs list --status pending", "list", lambda db: _jobs_by_status(db, "pending")),
        ("jobs list --type discover_channel", "list",
         lambda db: _jobs_by_type(db, "discover_channel")),
        ("jobs counts by status (GROUP BY all rows)", "list",
         lambda db: _jobs_counts(db, ProcessingJob.status)),
        ("jobs counts by status (total - unfinished)", "list", _jobs_counts_derived),
        ("jobs counts by queue, status (all rows)", "list",
         lambda db: _jobs_counts(db, ProcessingJob.queue, ProcessingJob.status)),
        ("jobs active counts by queue, status", "list", _jobs_active_by_queue),
        (f"search very common word ({vocab[0]!r})", "search", lambda db: search(db, vocab[0])),
        (f"search common word ({vocab[40]!r})", "search", lambda db: search(db, vocab[40])),
        (f"search rare word ({vocab[4000]!r})", "search", lambda db: search(db, vocab[4000])),
        (f"search two words ({vocab[40]} {vocab[300]})", "search",
         lambda db: search(db, f"{vocab[40]} {vocab[300]}")),
        (f'search phrase of common words ("{vocab[60]} {vocab[61]}")', "search",
         lambda db: search(db, f'"{vocab[60]} {vocab[61]}"')),
        (f'search phrase of stopwords ("{vocab[1]} {vocab[2]}")', "search",
         lambda db: search(db, f'"{vocab[1]} {vocab[2]}"')),
        (f"search common word, with total (CLI table) ({vocab[40]!r})", "search",
         lambda db: search_page(db, vocab[40])),
        (f"search common word --channel ({vocab[40]!r})", "search",
         lambda db: search(db, vocab[40], channel_id=channel)),
    ]


async def _time(db: Database, fn: Callable[[Database], Awaitable[Any]], runs: int) -> list[float]:
    for _ in range(3):  # warm the page cache and the statement cache
        await fn(db)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn(db)
        samples.append(time.perf_counter() - started)
    return samples


async def _run_all(url: str, report: Any, runs: int) -> list[dict[str, Any]]:
    db = Database(url)
    results = []
    try:
        for name, group, fn in _queries(report):
            stats = summarize_ms(await _time(db, fn, runs))
            target = LIST_TARGET_MS if group == "list" else SEARCH_TARGET_MS
            results.append({"query": name, "group": group, "target_p99_ms": target,
                            "meets_target": stats["p99_ms"] < target, **stats})
    finally:
        await db.dispose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="timed runs per query (>= 50)")
    parser.add_argument("--db", type=Path, help="keep the seeded database here (reused)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        url = f"sqlite+aiosqlite:///{path}"
        fresh = not path.exists()
        upgrade(url)  # creates a new database, or brings a kept one up to date
        started = time.perf_counter()
        if fresh:
            engine = create_sync_engine(url)
            report = seed(engine)
            engine.dispose()
        else:
            report = plan()
        seed_seconds = round(time.perf_counter() - started, 1)
        # Seeding leaves millions of dead objects; a collection of them landing inside a
        # timed query would add ~70 ms to its p99. Clear them, then keep what is left out
        # of later collections, as a long-running process settles.
        gc.collect()
        gc.freeze()
        results = asyncio.run(_run_all(url, report, args.runs))

    sizes = {"videos": len(report.video_ids), "transcripts": len(report.transcript_video_ids),
             "chunks": report.chunks or None, "words": report.words or None, "jobs": 200_000}
    print(f"seeded {sizes} in {seed_seconds}s" if fresh else f"reused {path}")
    print_table(
        f"query latency over {args.runs} runs (targets: list p99 < {LIST_TARGET_MS:g} ms, "
        f"search p99 < {SEARCH_TARGET_MS:g} ms)",
        ["query", "p50 ms", "p99 ms", "max ms", "target"],
        [(r["query"], f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.2f}",
          ("ok" if r["meets_target"] else "MISS") + f" < {r['target_p99_ms']:g}")
         for r in results],
    )
    path = write_results("queries", {"seed_seconds": seed_seconds if fresh else None,
                                     "seed_detail": report.seconds, "sizes": sizes,
                                     "runs": args.runs, "queries": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
