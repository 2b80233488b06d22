"""No slowdown as the corpus grows: two consumers on one data folder work through a
channel's transcripts while the corpus grows, and the lists people look at meanwhile.

    .venv/bin/python -m benchmarks.growth [--quick] [--videos 10000] [--latency-ms 30]

A simulated channel of ``--videos`` videos (in this process, ``--latency-ms`` on every
request; no rate limit) is queued with ``enqueue channel``; then two ``run-consumer
--workers 4 --burst`` processes share the data folder (8 workers) until every job has
ended. Meanwhile, every ``--every`` seconds, this process times what a person watching
would run:

* ``jobs list`` (a page of 20, newest first) and ``stats`` (queues, jobs by status,
  throughput, backlog): the queries themselves, in this process, as the TUI runs them
  (``Database.query(list_jobs)``; ``JobSystem.stats_and_backlog()``);
* the same two as commands (``tubesensei jobs list`` / ``tubesensei stats``): wall time of
  the whole process, start-up included (item 7 measures start-up alone), for context.

Targets (issue 16, item 6): extract throughput in the last tenth of the jobs within 20% of
the first tenth (ratio >= 0.8; jobs/s of a tenth: its jobs over the time from its first
job's end to its last's); ``jobs list`` and ``stats`` under this load <= 300 ms (p99 of
the in-process queries). Results: a table, and benchmarks/results/growth.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.queue import CLI, PY, ROOT, bench_env, settings_for
from benchmarks.report import percentile, print_table, write_results
from benchmarks.scaleout import stop

RATIO_GOAL = 0.8
LIST_GOAL_MS = 300.0
CONSUMERS, WORKERS = 2, 4


def _extract_ends(db: Path) -> list[float]:
    """End times (unix seconds) of the ended extract jobs, in order."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT (julianday(finished_at) - 2440587.5) * 86400.0 FROM processing_jobs "
            "WHERE job_type = 'extract_transcript' AND finished_at IS NOT NULL "
            "ORDER BY finished_at").fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def tenth_rates(ends: list[float]) -> list[float]:
    """Jobs/s of each tenth of the jobs, by their end times (first tenth first)."""
    n = len(ends)
    rates = []
    for k in range(10):
        part = ends[k * n // 10:(k + 1) * n // 10]
        span = part[-1] - part[0] if len(part) > 1 else 0.0
        rates.append((len(part) - 1) / span if span > 0 else 0.0)
    return rates


QUERIES = ("jobs list (query)", "stats (query)")
COMMANDS = {"tubesensei jobs list (command)": [CLI, "jobs", "list", "--limit", "20"],
            "tubesensei stats (command)": [CLI, "stats"]}


def _timed(samples: dict[str, list[float]], name: str, fn: Any) -> None:
    started = time.perf_counter()
    fn()
    samples[name].append((time.perf_counter() - started) * 1000)


def watch(every: float, stop_file: Path) -> dict[str, list[float]]:
    """The watcher process: times the queries and the commands every ``every`` seconds
    until ``stop_file`` exists. A process of its own, as the TUI is: in this one the
    simulator serves eight workers and would hold the GIL over the queries' timings."""
    from tubesensei.db.engine import Database
    from tubesensei.jobs.system import JobSystem
    from tubesensei.queries.jobs import list_jobs

    env = dict(os.environ)
    settings = settings_for(env)
    db, system = Database(settings.database_url), JobSystem(settings)
    samples: dict[str, list[float]] = {name: [] for name in (*QUERIES, *COMMANDS)}
    try:
        while not stop_file.exists():
            time.sleep(every)
            _timed(samples, QUERIES[0], lambda: db.query(list_jobs, limit=20))
            _timed(samples, QUERIES[1], system.stats_and_backlog)
            for name, argv in COMMANDS.items():
                _timed(samples, name, lambda a=argv: subprocess.run(
                    a, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    check=True))
    finally:
        system.close()
        db.dispose()
    return samples


def run(videos: int, latency_ms: float, every: float) -> dict[str, Any]:
    from tubesensei.sim import SimConfig, running_simulator

    config = SimConfig(seed=7, channel_sizes=[videos], latency_ms=latency_ms)
    with running_simulator(config) as sim, tempfile.TemporaryDirectory(
            prefix="tubesensei-growth-") as tmp:
        folder = Path(tmp)
        env = bench_env(folder, TUBESENSEI_YOUTUBE__API_KEY="AIza-benchmark-key",
                        TUBESENSEI_YOUTUBE__API_ENDPOINT=sim.base_url,
                        TUBESENSEI_YOUTUBE__WEB_BASE_URL=sim.base_url,
                        TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE="0")
        subprocess.run([CLI, "enqueue", "channel", sim.world.channels[0].handle], env=env,
                       cwd=folder, check=True, capture_output=True)
        stop_file = folder / "stop-watching"
        watcher = subprocess.Popen(
            [PY, "-m", "benchmarks.growth", "--watch", str(stop_file), "--every", str(every)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE)
        started = time.monotonic()
        procs = [subprocess.Popen(
            [CLI, "run-consumer", "--workers", str(WORKERS), "--burst", "--burst-wait", "3",
             "--no-metrics"], env=env, cwd=folder, stdout=subprocess.DEVNULL,
            stderr=open(folder / f"consumer{n}.log", "wb"))  # noqa: SIM115 - the child's
            for n in range(CONSUMERS)]
        try:
            for p in procs:
                p.wait(3600)
        finally:
            stop(procs)
            stop_file.touch()
            watched, _ = watcher.communicate(timeout=120)
        wall = time.monotonic() - started
        db = folder / "tubesensei.db"
        ends = _extract_ends(db)
        db_bytes = sum(f.stat().st_size for f in folder.glob("tubesensei.db*"))
        exits = [p.returncode for p in procs]
    rates = tenth_rates(ends)
    return {"videos": videos, "latency_ms": latency_ms, "consumers": CONSUMERS,
            "workers": CONSUMERS * WORKERS, "extract_jobs_ended": len(ends),
            "wall_s": round(wall, 1), "tenth_rates": [round(r, 2) for r in rates],
            "ratio_last_first": round(rates[-1] / rates[0], 3) if rates[0] else None,
            "database_mb": round(db_bytes / 1e6, 1), "exit_codes": exits,
            "samples_ms": {k: [round(v, 2) for v in vs] for k, vs in json.loads(watched).items()}}


def _p99(samples: list[float]) -> float | None:
    return round(percentile(samples, 99), 1) if samples else None


def rows_of(r: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    size = f"{r['videos']:,}-video channel{' (quick)' if quick else ''}"
    ok = r["exit_codes"] == [0] * CONSUMERS and r["extract_jobs_ended"] > 0
    rates = r["tenth_rates"]
    rows = [{
        "target": "throughput, last tenth of the jobs vs the first (two consumers)",
        "measured": r["ratio_last_first"], "unit": "x", "goal": f">= {RATIO_GOAL:g}",
        "met": None if (quick or not ok or r["ratio_last_first"] is None)
        else r["ratio_last_first"] >= RATIO_GOAL,
        "detail": (f"{size}, {r['latency_ms']:g} ms latency, {r['consumers']} consumers x "
                   f"{WORKERS} workers: {r['extract_jobs_ended']:,} extract jobs in "
                   f"{r['wall_s']:g} s, jobs/s by tenth {', '.join(f'{x:g}' for x in rates)}; "
                   f"database {r['database_mb']:g} MB at the end"
                   + ("" if ok else f"; consumers exited {r['exit_codes']}")),
    }]
    samples = r["samples_ms"]
    for name in ("jobs list", "stats"):
        query, command = samples[f"{name} (query)"], samples[f"tubesensei {name} (command)"]
        p99 = _p99(query)
        rows.append({
            "target": f"{name} under that load", "measured": p99, "unit": "ms",
            "goal": f"<= {LIST_GOAL_MS:g}",
            "met": None if (quick or p99 is None) else p99 <= LIST_GOAL_MS,
            "detail": (f"p99 of {len(query)} runs of the query in-process (median "
                       f"{statistics.median(query):.1f} ms); the command, start-up included: "
                       f"median {statistics.median(command):.0f} ms, p99 {_p99(command)} ms"
                       if query and command else "no sample taken"),
        })
    return rows


def measure(quick: bool) -> list[dict[str, Any]]:
    """The harness's rows: a 10,000-video channel (quick: 500, not judged)."""
    r = run(500 if quick else 10_000, 30.0, 1.0 if quick else 3.0)
    write_results("growth", r)
    return rows_of(r, quick)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=3.0,
                        help="seconds between two looks at jobs list and stats")
    parser.add_argument("--quick", action="store_true", help="500 videos, a look every second")
    parser.add_argument("--watch", type=Path, help=argparse.SUPPRESS)  # the watcher process
    args = parser.parse_args(argv)
    if args.watch:
        print(json.dumps(watch(args.every, args.watch)))
        return
    videos, every = (500, 1.0) if args.quick else (args.videos, args.every)
    r = run(videos, args.latency_ms, every)
    rows = rows_of(r, args.quick)
    print_table("no slowdown as the corpus grows (issue 16, item 6)",
                ["target", "measured", "goal", "met", "detail"],
                [(x["target"], f"{x['measured']} {x['unit']}", x["goal"],
                  {True: "yes", False: "NO", None: "-"}[x["met"]], x["detail"]) for x in rows])
    print(f"wrote {write_results('growth', r)}")


if __name__ == "__main__":
    main()
