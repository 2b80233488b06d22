"""Time every list and search query the CLI and TUI run, on a seeded 100k-video corpus.

    .venv/bin/python -m benchmarks.queries [--runs 100] [--db PATH] [--quick]

Seeds a temporary SQLite database (100k videos, 50k transcripts with their chunks in the
FTS5 index, 200k processing_jobs rows of which 20k in 20 batch sessions), then runs each
query ``--runs`` times through the Database the CLI uses, calling the very query functions
the CLI and the TUI call (tubesensei.queries), and prints p50/p99. Searches run as the TUI
runs them (search_page: a page of 50 and the total). Targets (issue 16): p99 <= 10 ms for
every list and count, <= 50 ms for any search. ``--db PATH`` keeps the seeded database there
(and reuses it next time). ``--quick``: 20k videos / 10k transcripts / 40k jobs, 30 runs.
``measure(quick)`` gives benchmarks/run.py the two target rows.
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.orm import Session

from benchmarks.report import print_table, summarize_ms, write_results
from benchmarks.seed_corpus import plan, seed
from tubesensei.db.engine import Database, create_sync_engine, refresh_stale_statistics
from tubesensei.db.models import ProcessingJob, ProcessingSession
from tubesensei.db.schema import upgrade
from tubesensei.jobs.registry import QUEUES
from tubesensei.queries.corpus import corpus_totals, list_channels, list_videos
from tubesensei.queries.jobs import failure_groups, list_jobs
from tubesensei.queries.search import search_page
from tubesensei.queries.sessions import list_sessions, session_report
from tubesensei.queries.state import job_counts, live_counts
from tubesensei.queries.transcripts import get_transcript
from tubesensei.youtube.ids import ChannelRef

LIST_TARGET_MS = 10.0
SEARCH_TARGET_MS = 50.0
PAGE = 50  # rows a table shows (and the TUI's page of search hits)
FULL = {"channels": 50, "videos": 100_000, "transcripts": 50_000, "jobs": 200_000,
        "sessions": 20}
QUICK = {"channels": 50, "videos": 20_000, "transcripts": 10_000, "jobs": 40_000,
         "sessions": 20}


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
        ("sessions list (CLI, with outcomes)", "list", lambda db: db.query(list_sessions)),
        ("sessions show", "list", lambda db: db.query(session_report, 7)),
        ("jobs counts by status (GROUP BY all rows)", "reference",
         lambda db: db.query(_jobs_counts_group_by)),
        ("jobs live counts (dashboard)", "list", lambda db: db.query(live_counts, QUEUES)),
        ("jobs counts by queue, type, status (stats)", "list",
         lambda db: db.query(job_counts)),
        (f"search very common word ({vocab[0]!r})", "search", _search(vocab[0])),
        (f"search common word ({vocab[40]!r})", "search", _search(vocab[40])),
        (f"search rare word ({vocab[4000]!r})", "search", _search(vocab[4000])),
        (f"search two words ({vocab[40]} {vocab[300]})", "search",
         _search(f"{vocab[40]} {vocab[300]}")),
        (f"search two very common words ({vocab[0]} {vocab[1]})", "search",
         _search(f"{vocab[0]} {vocab[1]}")),
        (f'search phrase of common words ("{vocab[60]} {vocab[61]}")', "search",
         _search(f'"{vocab[60]} {vocab[61]}"')),
        (f'search phrase of stopwords ("{vocab[1]} {vocab[2]}")', "search",
         _search(f'"{vocab[1]} {vocab[2]}"')),
        (f'search phrase of stopwords ("{vocab[3]} {vocab[0]}")', "search",
         _search(f'"{vocab[3]} {vocab[0]}"')),
        (f"search common word --channel ({vocab[40]!r})", "search",
         _search(vocab[40], channel=ref)),
        (f"search very common word --channel ({vocab[0]!r})", "search",
         _search(vocab[0], channel=ref)),
        (f"search very common word, CLI page of 20 ({vocab[0]!r})", "search",
         _search(vocab[0], limit=20)),
    ]


def _search(query: str, **kwargs: Any) -> Query:
    """A search as the TUI runs it: a page of hits and the total (search_page)."""
    kwargs.setdefault("limit", PAGE)
    return lambda db: db.query(search_page, query, **kwargs)


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
    db = Database(url, reader=True)  # as the reading commands and the TUI open it
    results = []
    try:
        for name, group, fn in _queries(report):
            stats = summarize_ms(_time(db, fn, runs))
            target = {"list": LIST_TARGET_MS, "search": SEARCH_TARGET_MS}.get(group)
            results.append({"query": name, "group": group, "target_p99_ms": target,
                            "meets_target": None if target is None
                            else stats["p99_ms"] <= target, **stats})
    finally:
        db.dispose()
    return results


def _prepare(path: Path, sizes: dict[str, int]) -> tuple[Any, float | None]:
    """Seed a new database at ``path`` (or bring a kept one up to date): the plan, and the
    seconds seeding took (None when reused)."""
    url = f"sqlite:///{path}"
    fresh = not path.exists()
    upgrade(url)  # creates a new database, or brings a kept one up to date
    started = time.perf_counter()
    if fresh:
        engine = create_sync_engine(url)
        counts = {k: v for k, v in sizes.items() if k != "sessions"}
        report = seed(engine, **counts)
        _add_sessions(engine, sizes["sessions"])
        engine.dispose()
    else:
        report = plan(channels=sizes["channels"], videos=sizes["videos"],
                      transcripts=sizes["transcripts"])
    seconds = round(time.perf_counter() - started, 1) if fresh else None
    # The planner's statistics as a consumer leaves them (it takes them when it starts and
    # again when a table's size has moved twofold): a database people use has them, and
    # without them SQLite ignores some indexes (the sessions list read every video row).
    engine = create_sync_engine(url)
    refresh_stale_statistics(engine)
    engine.dispose()
    # Seeding leaves millions of dead objects; a collection of them landing inside a
    # timed query would add ~70 ms to its p99. Clear them, then keep what is left out
    # of later collections, as a long-running process settles.
    gc.collect()
    gc.freeze()
    return report, seconds


def _add_sessions(engine: Engine, sessions: int) -> None:
    """Batch sessions holding one extract job in ten between them (as `enqueue batch`
    makes them): what the sessions list and report read."""
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(ProcessingSession.__table__), [
            {"id": n, "name": f"batch {n}", "session_type": "batch", "metrics": {},
             "configuration": {}, "status": "completed" if n < sessions else "running",
             "created_at": now, "started_at": now,
             "completed_at": now if n < sessions else None}
            for n in range(1, sessions + 1)])
        jobs = ProcessingJob.__table__
        conn.execute(update(jobs).where(jobs.c.job_type == "extract_transcript",
                                        jobs.c.id % 10 == 3)
                     .values(session_id=(jobs.c.id / 10) % sessions + 1))


def _worst(results: list[dict[str, Any]], group: str) -> list[dict[str, Any]]:
    return sorted((r for r in results if r["group"] == group), key=lambda r: -r["p99_ms"])


def measure(quick: bool) -> list[dict[str, Any]]:
    """The two targets of issue 16 (items 1 and 2) as rows for benchmarks/run.py."""
    sizes = QUICK if quick else FULL
    runs = 30 if quick else 100
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
        report, seeded = _prepare(Path(tmp) / "bench.db", sizes)
        results = _run_all(f"sqlite:///{Path(tmp) / 'bench.db'}", report, runs)
    where = (f"{sizes['videos'] // 1000}k videos, {sizes['transcripts'] // 1000}k transcripts "
             f"({report.chunks:,} passages), {sizes['jobs'] // 1000}k jobs, {runs} runs each"
             + (" (quick)" if quick else "") + f"; seeded in {seeded}s")
    rows = []
    for group, target, goal, what in (
        ("search", "search p99 (any query)", SEARCH_TARGET_MS,
         "searches as the TUI runs them (50 hits and the total)"),
        ("list", "lists and counts p99 (CLI, TUI)", LIST_TARGET_MS,
         "every list and count the CLI and TUI show"),
    ):
        worst = _worst(results, group)
        misses = [r for r in worst if r["p99_ms"] > goal]
        rows.append({
            "target": target, "measured": worst[0]["p99_ms"], "unit": "ms",
            "goal": f"<= {goal:g}", "met": not misses,
            "detail": (f"worst of {len(worst)} {what}: "
                       + ", ".join(f"{r['query']} {r['p99_ms']:.1f}" for r in worst[:3])
                       + (f"; {len(misses)} over the goal" if misses else "")
                       + f"; {where}"),
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="timed runs per query (>= 50)")
    parser.add_argument("--db", type=Path, help="keep the seeded database here (reused)")
    parser.add_argument("--quick", action="store_true",
                        help="20k videos / 10k transcripts / 40k jobs")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
        path = args.db or Path(tmp) / "bench.db"
        fresh = not path.exists()
        report, seed_seconds = _prepare(path, sizes)
        results = _run_all(f"sqlite:///{path}", report, args.runs)

    shown = {"videos": len(report.video_ids), "transcripts": len(report.transcript_video_ids),
             "chunks": report.chunks or None, "words": report.words or None,
             "jobs": sizes["jobs"], "sessions": sizes["sessions"]}
    print(f"seeded {shown} in {seed_seconds}s" if fresh else f"reused {path}")
    print_table(
        f"query latency over {args.runs} runs (targets: list p99 <= {LIST_TARGET_MS:g} ms, "
        f"search p99 <= {SEARCH_TARGET_MS:g} ms)",
        ["query", "p50 ms", "p99 ms", "max ms", "target"],
        [(r["query"], f"{r['p50_ms']:.2f}", f"{r['p99_ms']:.2f}", f"{r['max_ms']:.2f}",
          "reference" if r["target_p99_ms"] is None else
          ("ok" if r["meets_target"] else "MISS") + f" <= {r['target_p99_ms']:g}")
         for r in results],
    )
    path = write_results("queries", {"seed_seconds": seed_seconds,
                                     "seed_detail": report.seconds, "sizes": shown,
                                     "runs": args.runs, "queries": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
