"""Time every list and search query the CLI and TUI run, on a seeded 100k-video corpus.

    .venv/bin/python -m benchmarks.queries [--runs 100] [--db PATH]

Seeds a temporary SQLite database (100k videos, 50k transcripts with their chunks in the
FTS5 index, 200k processing_jobs rows), then runs each query ``--runs`` times through the
Database the CLI uses, calling the very query functions the CLI and the TUI call
(tubesensei.queries), and prints p50/p99. Targets: p99 < 10 ms for list queries, < 50 ms for
search. ``--db PATH`` keeps the seeded database there (and reuses it next time).
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from benchmarks.report import print_table, summarize_ms, write_results
from benchmarks.seed_corpus import plan, seed
from tubesensei.db.engine import Database, create_sync_engine
from tubesensei.db.models import ProcessingJob
from tubesensei.db.schema import upgrade
from tubesensei.jobs.registry import QUEUES
from tubesensei.queries.corpus import corpus_totals, list_channels, list_videos
from tubesensei.queries.jobs import failure_groups, list_jobs
from tubesensei.queries.search import search, search_page
from tubesensei.queries.sessions import list_sessions
from tubesensei.queries.state import job_counts, live_counts
from tubesensei.queries.transcripts import get_transcript
from tubesensei.youtube.ids import ChannelRef

LIST_TARGET_MS = 10.0
SEARCH_TARGET_MS = 50.0
PAGE = 50  # rows a table shows


def _jobs_counts_group_by(s: Session) -> list[Any]:
    """The obvious GROUP BY over every job (a baseline for live_counts)."""
    stmt = select(ProcessingJob.status, func.count()).group_by(ProcessingJob.status)
    return list(s.execute(stmt).all())


Query = Callable[[Database], Any]


def _queries(report: Any) -> list[tuple[str, str, Query]]:
    """Every read the CLI and the TUI run, through the same functions (tubesensei.queries)."""
    ref = ChannelRef("id", report.channel_ids[7])
    vocab = report.vocabulary
    transcript_video = report.transcript_video_ids[len(report.transcript_video_ids) // 2]
    return [
        ("channels list (with counts)", "list", lambda db: db.query(list_channels)),
        ("channels show", "list", lambda db: db.query(list_channels, ref)),
        ("videos list (newest)", "list", lambda db: db.query(list_videos, limit=PAGE)),
        ("videos list --channel", "list",
         lambda db: db.query(list_videos, channel=ref, limit=PAGE)),
        ("videos list --status pending", "list",
         lambda db: db.query(list_videos, status="pending", limit=PAGE)),
        ("videos list --channel --status done", "list",
         lambda db: db.query(list_videos, channel=ref, status="done", limit=PAGE)),
        ("videos list --kind short", "list",
         lambda db: db.query(list_videos, kind="short", limit=PAGE)),
        ("videos list --status waiting --kind live", "list",
         lambda db: db.query(list_videos, status="waiting", kind="live", limit=PAGE)),
        ("transcripts show", "list", lambda db: db.query(get_transcript, transcript_video)),
        ("corpus totals (dashboard)", "list", lambda db: db.query(corpus_totals)),
        ("jobs list (newest)", "list", lambda db: db.query(list_jobs, limit=PAGE)),
        ("jobs list --status failed", "list",
         lambda db: db.query(list_jobs, status="failed", limit=PAGE)),
        ("jobs list --status pending", "list",
         lambda db: db.query(list_jobs, status="pending", limit=PAGE)),
        ("jobs list --type discover_channel", "list",
         lambda db: db.query(list_jobs, job_type="discover_channel", limit=PAGE)),
        ("jobs failures grouped (TUI)", "list", lambda db: db.query(failure_groups)),
        ("sessions list (TUI)", "list", lambda db: db.query(list_sessions, details=False)),
        ("jobs counts by status (GROUP BY all rows)", "list",
         lambda db: db.query(_jobs_counts_group_by)),
        ("jobs live counts (dashboard)", "list", lambda db: db.query(live_counts, QUEUES)),
        ("jobs counts by queue, type, status (stats)", "list",
         lambda db: db.query(job_counts)),
        (f"search very common word ({vocab[0]!r})", "search",
         lambda db: db.query(search, vocab[0])),
        (f"search common word ({vocab[40]!r})", "search", lambda db: db.query(search, vocab[40])),
        (f"search rare word ({vocab[4000]!r})", "search",
         lambda db: db.query(search, vocab[4000])),
        (f"search two words ({vocab[40]} {vocab[300]})", "search",
         lambda db: db.query(search, f"{vocab[40]} {vocab[300]}")),
        (f'search phrase of common words ("{vocab[60]} {vocab[61]}")', "search",
         lambda db: db.query(search, f'"{vocab[60]} {vocab[61]}"')),
        (f'search phrase of stopwords ("{vocab[1]} {vocab[2]}")', "search",
         lambda db: db.query(search, f'"{vocab[1]} {vocab[2]}"')),
        (f"search common word, with total (CLI table) ({vocab[40]!r})", "search",
         lambda db: db.query(search_page, vocab[40])),
        (f"search common word --channel ({vocab[40]!r})", "search",
         lambda db: db.query(search, vocab[40], channel=ref)),
    ]


def _time(db: Database, fn: Query, runs: int) -> list[float]:
    for _ in range(3):  # warm the page cache and the statement cache
        fn(db)
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(db)
        samples.append(time.perf_counter() - started)
    return samples


def _run_all(url: str, report: Any, runs: int) -> list[dict[str, Any]]:
    db = Database(url)
    results = []
    try:
        for name, group, fn in _queries(report):
            stats = summarize_ms(_time(db, fn, runs))
            target = LIST_TARGET_MS if group == "list" else SEARCH_TARGET_MS
            results.append({"query": name, "group": group, "target_p99_ms": target,
                            "meets_target": stats["p99_ms"] < target, **stats})
    finally:
        db.dispose()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="timed runs per query (>= 50)")
    parser.add_argument("--db", type=Path, help="keep the seeded database here (reused)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
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
        results = _run_all(url, report, args.runs)

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
