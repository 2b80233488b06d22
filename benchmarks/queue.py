"""Measure the job system: latency, throughput, end-to-end speed, memory and disk.

    .venv/bin/python -m benchmarks.queue [--quick] [--idle SECONDS] [--only 1,2,...]

Sections (each prints a table; everything goes to benchmarks/results/queue.json):

1. enqueue→start latency from another process into an idle consumer subprocess (4 workers,
   default settings: wake-up pokes, 1 s fallback poll), including samples after idle gaps and
   one after ``--idle`` seconds of idleness, over which the consumer's CPU use is measured
   from /proc/<pid>/stat. Targets: p50 ≤ 10 ms, p99 ≤ 50 ms, idle < 1 % of a core.
2. no-op job throughput: bare SqliteHuey (Huey's own consumer, and a plain dequeue/execute
   loop, 4 threads each) against the full ledger (bulk submit, then our Consumer with 4
   workers in burst mode), same machine, same run. Targets: ≥ 1,000 jobs/s, ledger ≤ 2×
   slower than bare Huey.
3. end-to-end: a simulated channel (1,000 videos, 50 ms latency, no rate limit): the real
   CLI, ``enqueue channel`` then ``run-consumer --burst`` with 1, 2, 4, 8 workers.
4. consumer RSS (8 workers) after 10k and after 100k no-op jobs (target <= 100 MB, growth
   < 5 %; issue 16).
5. ledger + queue file sizes per 10k jobs (database files including -wal), and after two
   rounds of jobs each followed by a prune (target <= 25 MB per 10k jobs; issue 16).
6. bulk work: ``enqueue batch --file`` of 100,000 video ids (the real CLI) while a consumer
   (4 workers) drains no-op jobs; the CLI's time (target <= 10 s), the time until every
   extract job exists (the batch jobs expanded by that consumer), and the consumer's no-op
   rate meanwhile against its rate just before (target >= 50 %; issue 16).

``measure(quick)`` gives the benchmark harness (benchmarks/run.py) the issue-16 target rows:
no-op throughput and its cost against bare SqliteHuey (2), bulk work (6), memory (4) and
files (5); quick sizes finish in well under a minute.

The no-op job type is registered by benchmarks/queue_noop.py in this process and in the
consumer subprocesses it starts; the product code knows nothing about it. Timestamps that
cross processes are wall-clock (time.time, and the ledger's UTC timestamps).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from benchmarks.queue_noop import noop_spec, register
from benchmarks.report import percentile, print_table, write_results
from tubesensei.config import Settings, load_settings
from tubesensei.db.schema import ensure_schema
from tubesensei.jobs.ledger import JOBS
from tubesensei.logging import configure_logging

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CLI = str(Path(sys.executable).parent / "tubesensei")
CLK_TCK = os.sysconf("SC_CLK_TCK")
MB = 1024 * 1024

LATENCY_P50_MS, LATENCY_P99_MS, IDLE_CPU_PCT = 10.0, 50.0, 1.0
THROUGHPUT_MIN, LEDGER_MAX_COST = 2000.0, 2.0
RSS_MAX_MB, RSS_MAX_GROWTH_PCT, RSS_WORKERS = 100.0, 5.0, 8
FILES_MAX_MB_PER_10K = 25.0
BULK_MAX_S, BULK_MIN_RATE = 10.0, 0.5
SUBMIT_CHUNK = 500  # jobs per submit call (discovery submits a page at a time: 50)


# -- plumbing ---------------------------------------------------------------------------


def bench_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a TubeSensei process on ``data_dir``, isolated from any config file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "bench.toml"
    config.write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TUBESENSEI_")}
    env.update(
        TUBESENSEI_CONFIG=str(config),
        TUBESENSEI_DATA_DIR=str(data_dir),
        TUBESENSEI_LOGGING__FORMAT="json",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def settings_for(env: dict[str, str]) -> Settings:
    settings = load_settings(environ=env).settings
    ensure_schema(settings.database_url)
    return settings


def new_system(settings: Settings) -> Any:
    from tubesensei.jobs.system import JobSystem

    return JobSystem(settings)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def ts(dt: datetime | None) -> float:
    """A ledger timestamp (naive UTC, or aware) as epoch seconds."""
    assert dt is not None
    return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()


def file_bytes(path: Path) -> int:
    """A SQLite file with its -wal and -shm companions."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))
               if p.exists())


def table_bytes(db: Path, tables: Sequence[str]) -> int:
    """Bytes of the pages of ``tables`` and their indexes (SQLite's dbstat)."""
    conn = sqlite3.connect(db)
    try:
        marks = ",".join("?" * len(tables))
        names = [r[0] for r in conn.execute(
            f"select name from sqlite_master where tbl_name in ({marks})", list(tables))]
        if not names:
            return 0
        marks = ",".join("?" * len(names))
        return int(conn.execute(f"select coalesce(sum(pgsize), 0) from dbstat where name in "
                                f"({marks})", names).fetchone()[0])
    finally:
        conn.close()


@contextlib.contextmanager
def restored_signals() -> Iterator[None]:
    """Consumers install SIGINT/SIGTERM handlers in the main thread: put ours back after."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)


class ConsumerProcess:
    """A consumer subprocess (benchmarks.queue_noop: run-consumer plus the no-op job type)."""

    def __init__(self, env: dict[str, str], data_dir: Path, workers: int = 4,
                 queues: Sequence[str] = ()) -> None:
        self.data_dir = data_dir
        self.log = open(data_dir / "consumer.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [PY, "-m", "benchmarks.queue_noop", "--workers", str(workers),
             *(arg for q in queues for arg in ("--queue", q))],
            env=env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Ready once its wake-up port file exists (written after the start-up reap)."""
        deadline = time.monotonic() + timeout
        folder = self.data_dir / "run"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"consumer exited with {self.proc.returncode}; "
                                   f"see {self.data_dir / 'consumer.log'}")
            if folder.is_dir() and any(p.name.startswith(f"consumer-{self.pid}-")
                                       and p.name.endswith(".port") for p in folder.iterdir()):
                return
            time.sleep(0.02)
        raise RuntimeError("consumer did not start in time")

    def cpu_seconds(self) -> float:
        """user + system CPU of every thread of the process so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


def wait_job(system: Any, job_id: int, timeout: float = 30.0) -> Any:
    stmt = select(JOBS.c.status, JOBS.c.started_at, JOBS.c.result).where(JOBS.c.id == job_id)
    deadline = time.monotonic() + timeout
    with system.engine.connect() as conn:
        while True:
            row = conn.execute(stmt).first()
            conn.rollback()  # end the read transaction: see the next commit
            if row is not None and row[0] in ("completed", "failed", "cancelled"):
                return row
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} did not finish in {timeout}s (status {row})")
            time.sleep(0.002)


def count_done(system: Any) -> int:
    with system.engine.connect() as conn:
        return int(conn.execute(
            select(func.count()).where(JOBS.c.status == "completed")).scalar_one())


def wait_done(system: Any, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while count_done(system) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count_done(system)} of {n} jobs done after {timeout}s")
        time.sleep(0.05)


def stats_ms(samples: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2)}


# -- 1. latency -----------------------------------------------------------------------


def _sample(system: Any, key: str) -> dict[str, float]:
    t0 = time.time()
    created = system.submit([noop_spec(key)])
    submitted = time.time()
    status, started_at, result = wait_job(system, created[0].job_id)
    if status != "completed":
        raise RuntimeError(f"no-op job ended {status}")
    return {"at": t0, "submit": submitted - t0, "claim": ts(started_at) - t0,
            "start": result["t"] - t0}


def bench_latency(root: Path, samples: int, gaps: Sequence[float], idle: float) -> dict[str, Any]:
    data = root / "latency"
    env = bench_env(data)
    settings = settings_for(env)
    consumer = ConsumerProcess(env, data, workers=4)
    system = None
    try:
        consumer.wait_ready()
        system = new_system(settings)
        for i in range(5):  # warm both ends: connections, statement caches
            _sample(system, f"warmup-{i}")
        phases: dict[str, list[dict[str, float]]] = {"back-to-back (20-80 ms apart)": []}
        rng = random.Random(5)
        for i in range(samples):
            phases["back-to-back (20-80 ms apart)"].append(_sample(system, f"warm-{i}"))
            time.sleep(rng.uniform(0.02, 0.08))
        for gap in gaps:
            name = f"after {gap:g} s idle"
            phases.setdefault(name, [])
            for i in range(3):
                time.sleep(gap)
                phases[name].append(_sample(system, f"gap{gap:g}-{i}"))
        time.sleep(1.0)  # let the last job's housekeeping settle
        cpu0, t0 = consumer.cpu_seconds(), time.monotonic()
        time.sleep(idle)
        cpu1, t1 = consumer.cpu_seconds(), time.monotonic()
        phases[f"after {idle:g} s idle (CPU measured)"] = [_sample(system, "long-idle")]
    finally:
        if system is not None:
            system.close()
        code = consumer.stop()
    rows = []
    everything: list[dict[str, float]] = []
    for name, runs in phases.items():
        everything.extend(runs)
        rows.append({"phase": name, "start": stats_ms([r["start"] for r in runs]),
                     "claim": stats_ms([r["claim"] for r in runs]),
                     "submit": stats_ms([r["submit"] for r in runs]),
                     "samples_ms": [[round(r[k] * 1000, 2) for k in ("submit", "claim", "start")]
                                    + [round(r["at"], 3)] for r in runs]})
    overall = {"phase": "all samples", "start": stats_ms([r["start"] for r in everything]),
               "claim": stats_ms([r["claim"] for r in everything]),
               "submit": stats_ms([r["submit"] for r in everything])}
    cpu_pct = (cpu1 - cpu0) / (t1 - t0) * 100
    return {"phases": rows, "overall": overall,
            "idle": {"seconds": round(t1 - t0, 1), "cpu_seconds": round(cpu1 - cpu0, 3),
                     "cpu_pct_of_core": round(cpu_pct, 3)},
            "consumer_exit_code": code,
            "settings": {"workers": 4,
                         "poll_interval_seconds": settings.queue.poll_interval_seconds},
            "targets": {"p50_ms": LATENCY_P50_MS, "p99_ms": LATENCY_P99_MS,
                        "idle_cpu_pct": IDLE_CPU_PCT},
            "meets_targets": {
                "p50": overall["start"]["p50_ms"] <= LATENCY_P50_MS,
                "p99": overall["start"]["p99_ms"] <= LATENCY_P99_MS,
                "idle_cpu": cpu_pct < IDLE_CPU_PCT}}


def print_latency(r: dict[str, Any]) -> None:
    def row(p: dict[str, Any]) -> list[Any]:
        s, c, sub = p["start"], p["claim"], p["submit"]
        return [p["phase"], s["n"], f"{s['p50_ms']:.2f}", f"{s['p99_ms']:.2f}",
                f"{s['max_ms']:.2f}", f"{c['p50_ms']:.2f}", f"{sub['p50_ms']:.2f}"]

    o = r["overall"]["start"]
    verdict = (f"p50 {'ok' if r['meets_targets']['p50'] else 'MISS'}, "
               f"p99 {'ok' if r['meets_targets']['p99'] else 'MISS'}")
    print_table(
        f"1. enqueue→start latency, submit in this process → no-op task start in an idle "
        f"consumer process (4 workers, fallback poll {r['settings']['poll_interval_seconds']:g}"
        f" s); targets p50 ≤ {LATENCY_P50_MS:g} ms, p99 ≤ {LATENCY_P99_MS:g} ms: {verdict}",
        ["phase", "n", "start p50 ms", "start p99 ms", "start max ms", "claim p50 ms",
         "submit() p50 ms"],
        [*(row(p) for p in r["phases"]), row(r["overall"])],
    )
    idle = r["idle"]
    print_table(
        f"1b. idle consumer CPU (target < {IDLE_CPU_PCT:g} % of a core): "
        f"{'ok' if r['meets_targets']['idle_cpu'] else 'MISS'}",
        ["idle period s", "CPU s (utime+stime)", "% of one core", "p50 all ms"],
        [[idle["seconds"], f"{idle['cpu_seconds']:.2f}", f"{idle['cpu_pct_of_core']:.3f}",
          f"{o['p50_ms']:.2f}"]],
    )


# -- 2. throughput --------------------------------------------------------------------


HUEY_LOG_FORMAT = "[%(asctime)s] %(levelname)s:%(name)s:%(process)d:%(threadName)s:%(message)s"


def bare_huey(data: Path, k: int, *, own_consumer: bool, log_info: bool = False
              ) -> dict[str, Any]:
    """Bare SqliteHuey: one message per enqueue (commit), drained by 4 threads. With
    ``log_info`` Huey logs at INFO to a file (two lines per task), as ``huey_consumer`` does."""
    import logging

    from huey import SqliteHuey

    data.mkdir(parents=True, exist_ok=True)
    huey = SqliteHuey("bare", filename=str(data / "bare.db"), results=False, utc=True, timeout=30)
    lock = threading.Lock()
    done = {"n": 0, "last": 0.0}

    @huey.task()
    def noop(i: int) -> None:
        with lock:
            done["n"] += 1
            done["last"] = time.time()

    t = time.perf_counter()
    for i in range(k):
        noop(i)
    enqueue_s = time.perf_counter() - t
    huey_logger = logging.getLogger("huey")
    saved = (huey_logger.level, huey_logger.propagate)
    handler = None
    if log_info:
        handler = logging.FileHandler(data / "huey.log")
        handler.setFormatter(logging.Formatter(HUEY_LOG_FORMAT))
        huey_logger.addHandler(handler)
        huey_logger.setLevel(logging.INFO)
        huey_logger.propagate = False
    t0 = time.time()
    if own_consumer:
        consumer = huey.create_consumer(workers=4, worker_type="thread", periodic=False,
                                        check_worker_health=False)
        with restored_signals():
            consumer.start()
            while done["n"] < k:
                time.sleep(0.005)
            consumer.stop(graceful=True)
    else:
        def loop() -> None:
            while (task := huey.dequeue()) is not None:
                huey.execute(task)

        threads = [threading.Thread(target=loop) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    if handler is not None:
        huey_logger.removeHandler(handler)
        handler.close()
    huey_logger.setLevel(saved[0])
    huey_logger.propagate = saved[1]
    huey.storage.close()
    assert done["n"] == k, done
    drain_s = done["last"] - t0
    return {"jobs": k, "enqueue_s": round(enqueue_s, 3), "enqueue_per_s": round(k / enqueue_s),
            "drain_s": round(drain_s, 3), "jobs_per_s": round(k / drain_s)}


def ledger_run(data: Path, k: int, sizes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Bulk submit ``k`` no-op jobs, then drain them with Consumer(workers=4, burst)."""
    from tubesensei.jobs.consumer import Consumer

    env = bench_env(data)
    settings = settings_for(env)
    system = new_system(settings)
    db, queue_db = data / "tubesensei.db", data / "queue.db"
    if sizes is not None:
        sizes["empty"] = {"jobs": 0, "db": file_bytes(db), "queue": file_bytes(queue_db)}
    try:
        specs = [noop_spec(f"tp-{i}") for i in range(k)]
        t = time.perf_counter()
        for part in chunks(specs, SUBMIT_CHUNK):
            system.submit(part)
        submit_s = time.perf_counter() - t
        if sizes is not None:
            sizes["queued"] = {"jobs": k, "db": file_bytes(db), "queue": file_bytes(queue_db),
                               "ledger_table": table_bytes(db, ["processing_jobs"]),
                               "queue_table": table_bytes(queue_db, ["task"])}
        consumer = Consumer(system, workers=4, burst=True, burst_wait=0, grace_seconds=5)
        t0 = time.time()
        with restored_signals():
            summary = consumer.run()
        returned = time.time()
        with system.engine.connect() as conn:
            n, first, last = conn.execute(
                select(func.count(), func.min(JOBS.c.started_at), func.max(JOBS.c.finished_at))
                .where(JOBS.c.status == "completed")).one()
    finally:
        system.close()
    if sizes is not None:
        sizes["done"] = {"jobs": k, "db": file_bytes(db), "queue": file_bytes(queue_db),
                         "ledger_table": table_bytes(db, ["processing_jobs"]),
                         "queue_table": table_bytes(queue_db, ["task"])}
    assert n == k, (n, k, summary.outcomes)
    drain_s = ts(last) - t0
    return {"jobs": k, "enqueue_s": round(submit_s, 3), "enqueue_per_s": round(k / submit_s),
            "drain_s": round(drain_s, 3), "jobs_per_s": round(k / drain_s),
            "first_start_after_s": round(ts(first) - t0, 3),
            "steady_jobs_per_s": round(k / (ts(last) - ts(first))),
            "consumer_returned_after_s": round(returned - t0, 3)}


def bench_throughput(root: Path, k: int, reps: int, *, context: bool = True
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bare SqliteHuey's consumer and the ledger, alternating, ``reps`` rounds; with
    ``context`` also a plain dequeue/execute loop and Huey's consumer logging at INFO."""
    names = ["bare_huey_consumer", "bare_loop", "huey_consumer_logging", "ledger"]
    runs: dict[str, list[dict[str, Any]]] = {
        name: [] for name in names if context or name in ("bare_huey_consumer", "ledger")}
    sizes: dict[str, Any] = {}
    for rep in range(reps):
        base = root / f"throughput-{rep}"
        runs["bare_huey_consumer"].append(bare_huey(base / "huey", k, own_consumer=True))
        if context:
            runs["bare_loop"].append(bare_huey(base / "loop", k, own_consumer=False))
            runs["huey_consumer_logging"].append(
                bare_huey(base / "huey-log", k, own_consumer=True, log_info=True))
        runs["ledger"].append(ledger_run(base / "ledger", k, sizes if rep == 0 else None))
    med = {name: statistics.median(r["jobs_per_s"] for r in rs) for name, rs in runs.items()}
    cost = {"vs_huey_consumer": round(med["bare_huey_consumer"] / med["ledger"], 2)}
    if context:
        cost["vs_bare_loop"] = round(med["bare_loop"] / med["ledger"], 2)
    result = {"jobs": k, "reps": reps, "threads": 4, "runs": runs, "median_jobs_per_s": med,
              "ledger_cost_factor": cost,
              "targets": {"jobs_per_s": THROUGHPUT_MIN, "ledger_cost_max": LEDGER_MAX_COST},
              "meets_targets": {"jobs_per_s": med["ledger"] >= THROUGHPUT_MIN,
                                "ledger_cost": cost["vs_huey_consumer"] <= LEDGER_MAX_COST}}
    return result, sizes


def print_throughput(r: dict[str, Any]) -> None:
    labels = {"bare_huey_consumer": "bare SqliteHuey, Huey's consumer (4 threads)",
              "bare_loop": "bare SqliteHuey, dequeue/execute loop (4 threads)",
              "huey_consumer_logging": "SqliteHuey, Huey's consumer, INFO log to a file",
              "ledger": "ledger: bulk submit + Consumer(workers=4, burst)"}
    med = r["median_jobs_per_s"]
    rows = []
    for name, runs in r["runs"].items():
        enq = statistics.median(x["enqueue_per_s"] for x in runs)
        factor = med[name] and med["bare_huey_consumer"] / med[name]
        rows.append([labels[name], f"{enq:,.0f}", f"{med[name]:,.0f}",
                     " / ".join(f"{x['jobs_per_s']:,}" for x in runs), f"{factor:.2f}×"])
    c = r["ledger_cost_factor"]
    verdict = (f"{'ok' if r['meets_targets']['jobs_per_s'] else 'MISS'} ≥ {THROUGHPUT_MIN:,.0f}/s"
               f", {'ok' if r['meets_targets']['ledger_cost'] else 'MISS'} cost "
               f"{c['vs_huey_consumer']:.2f}× ≤ {LEDGER_MAX_COST:g}× (vs the bare loop "
               f"{c['vs_bare_loop']:.2f}×)")
    print_table(
        f"2. no-op throughput, {r['jobs']:,} jobs, median of {r['reps']} run(s): {verdict}",
        ["system", "enqueue jobs/s", "drain jobs/s", "each run", "time vs Huey consumer"],
        rows,
    )
    ledger = r["runs"]["ledger"]
    print(f"   ledger drain detail: first job started "
          f"{statistics.median(x['first_start_after_s'] for x in ledger) * 1000:.0f} ms after "
          f"Consumer.start (start-up reap); steady rate "
          f"{statistics.median(x['steady_jobs_per_s'] for x in ledger):,.0f} jobs/s; burst "
          f"consumer returned {statistics.median(x['consumer_returned_after_s'] for x in ledger):.2f}"
          f" s after start")


# -- 3. end-to-end --------------------------------------------------------------------


def _e2e_counts(settings: Settings) -> dict[str, Any]:
    conn = sqlite3.connect(settings.resolved_data_dir / "tubesensei.db")
    try:
        jobs = {f"{t}:{s}": n for t, s, n in conn.execute(
            "select job_type, status, count(*) from processing_jobs group by 1, 2")}
        videos = dict(conn.execute(
            "select transcript_status, count(*) from videos group by 1").fetchall())
        transcripts = conn.execute("select count(*) from transcripts").fetchone()[0]
        first, last = conn.execute(
            "select min(started_at), max(finished_at) from processing_jobs").fetchone()
    finally:
        conn.close()
    span = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    return {"jobs": jobs, "videos": videos, "transcripts": transcripts, "span_s": span}


def bench_e2e(root: Path, videos: int, workers: Sequence[int], latency_ms: float
              ) -> dict[str, Any]:
    from tubesensei.sim import SimConfig, running_simulator

    rows = []
    with running_simulator(SimConfig(seed=11, channel_sizes=[videos],
                                     latency_ms=latency_ms)) as sim:
        handle = sim.world.channels[0].handle
        for w in workers:
            data = root / f"e2e-{w}"
            env = bench_env(
                data,
                TUBESENSEI_YOUTUBE__API_ENDPOINT=sim.base_url,
                TUBESENSEI_YOUTUBE__WEB_BASE_URL=sim.base_url,
                TUBESENSEI_YOUTUBE__API_KEY="bench-key-123456",
                TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE="0",
            )
            settings = settings_for(env)
            subprocess.run([CLI, "enqueue", "channel", handle], env=env, cwd=data, check=True,
                           capture_output=True)
            sim.reset_stats()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            with open(data / "consumer.log", "wb") as log:
                proc = subprocess.run(
                    [CLI, "run-consumer", "--workers", str(w), "--burst", "--burst-wait", "0"],
                    env=env, cwd=data, stdout=subprocess.PIPE, stderr=log, check=False)
            wall = time.perf_counter() - t0
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            counts = _e2e_counts(settings)
            extracts = sum(n for key, n in counts["jobs"].items()
                           if key.startswith("extract_transcript:"))
            failed = sum(n for key, n in counts["jobs"].items() if key.endswith(":failed"))
            rows.append({
                "workers": w, "exit_code": proc.returncode,
                "summary": proc.stdout.decode().strip().splitlines(),
                "wall_s": round(wall, 2), "span_s": round(counts["span_s"], 2),
                "videos_stored": sum(counts["videos"].values()), "extract_jobs": extracts,
                "transcripts": counts["transcripts"],
                "unavailable": counts["videos"].get("unavailable", 0),
                "failed_jobs": failed, "jobs": counts["jobs"], "videos": counts["videos"],
                "videos_per_min": round(extracts / counts["span_s"] * 60),
                "videos_per_min_wall": round(extracts / wall * 60),
                "consumer_cpu_s": round((after.ru_utime + after.ru_stime)
                                        - (before.ru_utime + before.ru_stime), 2),
                "sim_requests": sim.stats()["requests_total"],
            })
    base = rows[0]["videos_per_min"] if rows else 1
    for r in rows:
        r["speedup"] = round(r["videos_per_min"] / base, 2)
    return {"channel_videos": videos, "latency_ms": latency_ms, "runs": rows}


def print_e2e(r: dict[str, Any]) -> None:
    print_table(
        f"3. end-to-end: `enqueue channel` + `run-consumer --burst`, simulated channel of "
        f"{r['channel_videos']:,} uploads at {r['latency_ms']:g} ms latency, no rate limit",
        ["workers", "videos stored", "transcripts", "unavailable", "failed jobs",
         "wall s", "work span s", "videos/min", "speed-up", "consumer CPU s", "sim requests"],
        [[x["workers"], x["videos_stored"], x["transcripts"], x["unavailable"], x["failed_jobs"],
          f"{x['wall_s']:.1f}", f"{x['span_s']:.1f}", f"{x['videos_per_min']:,}",
          f"{x['speedup']:.2f}×", f"{x['consumer_cpu_s']:.1f}", x["sim_requests"]]
         for x in r["runs"]],
    )


# -- 4. memory ------------------------------------------------------------------------


def bench_rss(root: Path, first: int, total: int, workers: int = RSS_WORKERS
              ) -> dict[str, Any]:
    data = root / "rss"
    env = bench_env(data)
    settings = settings_for(env)
    consumer = ConsumerProcess(env, data, workers=workers)
    system = None
    points = []
    try:
        consumer.wait_ready()
        time.sleep(0.5)
        points.append({"point": "started, idle", "jobs": 0, "rss": consumer.rss_bytes()})
        system = new_system(settings)
        done = 0
        for target in (first, total):
            t = time.perf_counter()
            specs = [noop_spec(f"rss-{i}") for i in range(done, target)]
            for part in chunks(specs, SUBMIT_CHUNK):
                system.submit(part)
            wait_done(system, target, timeout=600)
            elapsed = time.perf_counter() - t
            done = target
            time.sleep(0.5)
            points.append({"point": f"after {target:,} jobs", "jobs": target,
                           "rss": consumer.rss_bytes(),
                           "jobs_per_s": round((target - (points[-1]["jobs"])) / elapsed)})
    finally:
        if system is not None:
            system.close()
        code = consumer.stop()
    first_rss, last_rss = points[1]["rss"], points[-1]["rss"]
    growth = (last_rss - first_rss) / first_rss * 100
    return {"points": points, "growth_pct": round(growth, 2), "consumer_exit_code": code,
            "workers": workers,
            "targets": {"rss_mb": RSS_MAX_MB, "growth_pct": RSS_MAX_GROWTH_PCT},
            "meets_targets": {"rss": last_rss / MB < RSS_MAX_MB,
                              "growth": growth < RSS_MAX_GROWTH_PCT}}


def print_rss(r: dict[str, Any]) -> None:
    m = r["meets_targets"]
    print_table(
        f"4. consumer RSS (subprocess, {r['workers']} workers, jobs submitted in {SUBMIT_CHUNK}s "
        f"while it "
        f"runs): {'ok' if m['rss'] else 'MISS'} < {RSS_MAX_MB:g} MB, "
        f"{'ok' if m['growth'] else 'MISS'} growth {r['growth_pct']:.1f} % < "
        f"{RSS_MAX_GROWTH_PCT:g} %",
        ["point", "jobs done", "RSS MB", "jobs/s (submit+drain)"],
        [[p["point"], f"{p['jobs']:,}", f"{p['rss'] / MB:.1f}",
          f"{p['jobs_per_s']:,}" if "jobs_per_s" in p else ""] for p in r["points"]],
    )


# -- 5. disk --------------------------------------------------------------------------


def file_report(sizes: dict[str, Any]) -> dict[str, Any]:
    jobs = sizes["done"]["jobs"]
    scale = 10_000 / jobs
    per10k = {
        "queued": {"db": round((sizes["queued"]["db"] - sizes["empty"]["db"]) * scale),
                   "queue": round((sizes["queued"]["queue"] - sizes["empty"]["queue"]) * scale),
                   "ledger_table": round(sizes["queued"]["ledger_table"] * scale),
                   "queue_table": round(sizes["queued"]["queue_table"] * scale)},
        "done": {"db": round((sizes["done"]["db"] - sizes["empty"]["db"]) * scale),
                 "queue": round((sizes["done"]["queue"] - sizes["empty"]["queue"]) * scale),
                 "ledger_table": round(sizes["done"]["ledger_table"] * scale),
                 "queue_table": round(sizes["done"]["queue_table"] * scale)},
    }
    return {"measured_jobs": jobs, "bytes": sizes, "per_10k_jobs": per10k}


def print_files(r: dict[str, Any]) -> None:
    b, p = r["bytes"], r["per_10k_jobs"]

    def kb(n: int) -> str:
        return f"{n / 1024:,.0f}"

    rows = [["empty (schema only)", 0, kb(b["empty"]["db"]), kb(b["empty"]["queue"]), "", "",
             "", ""]]
    for state, label in (("queued", f"{r['measured_jobs']:,} jobs queued"),
                         ("done", f"{r['measured_jobs']:,} jobs completed")):
        rows.append([label, f"{r['measured_jobs']:,}", kb(b[state]["db"]), kb(b[state]["queue"]),
                     kb(b[state]["ledger_table"]), kb(b[state]["queue_table"]),
                     kb(p[state]["db"] + p[state]["queue"]),
                     kb(p[state]["ledger_table"] + p[state]["queue_table"])])
    print_table(
        "5. ledger + queue files, KiB (no-op jobs; files include -wal/-shm: 'queued' is measured "
        "with connections open, 'completed' after they closed and the WAL was checkpointed)",
        ["state", "jobs", "tubesensei.db", "queue.db", "processing_jobs pages",
         "task pages", "files growth per 10k", "pages per 10k"],
        rows,
    )


def prune_finished(system: Any) -> int:
    """What the daily prune does once the retention has passed: finished jobs deleted."""
    from sqlalchemy import delete

    with system.engine.begin() as conn:
        return conn.execute(delete(JOBS).where(
            JOBS.c.status.in_(("completed", "failed", "cancelled")))).rowcount


def bench_files(root: Path, k: int, rounds: int = 2) -> dict[str, Any]:
    """``rounds`` times: submit ``k`` no-op jobs, drain them (Consumer, 4 workers, burst),
    prune; the files (with -wal/-shm, connections closed) after each round."""
    from tubesensei.jobs.consumer import Consumer

    data = root / "files"
    env = bench_env(data)
    settings = settings_for(env)
    db, queue_db = data / "tubesensei.db", data / "queue.db"
    empty = file_bytes(db) + file_bytes(queue_db)
    after: list[int] = []
    for n in range(rounds):
        system = new_system(settings)
        try:
            for part in chunks([noop_spec(f"files-{n}-{i}") for i in range(k)], SUBMIT_CHUNK):
                system.submit(part)
            with restored_signals():
                Consumer(system, workers=4, burst=True, burst_wait=0, grace_seconds=5).run()
            prune_finished(system)
        finally:
            system.close()
        after.append(file_bytes(db) + file_bytes(queue_db))
    per10k = (max(after) - empty) * 10_000 / k
    return {"jobs_per_round": k, "rounds": rounds, "empty_bytes": empty,
            "after_each_round_bytes": after, "per_10k_bytes": round(per10k),
            "target_mb": FILES_MAX_MB_PER_10K,
            "meets_target": per10k / MB <= FILES_MAX_MB_PER_10K}


# -- 6. bulk work ---------------------------------------------------------------------


def _completed_noops(conn: sqlite3.Connection) -> int:
    return conn.execute("select count(*) from processing_jobs where job_type = 'bench_noop' "
                        "and status = 'completed'").fetchone()[0]


def _extract_jobs(conn: sqlite3.Connection) -> int:
    return conn.execute("select count(*) from processing_jobs "
                        "where job_type = 'extract_transcript'").fetchone()[0]


def bench_bulk(root: Path, videos: int, backlog: int, idle_s: float = 3.0,
               timeout: float = 600.0) -> dict[str, Any]:
    """``enqueue batch --file`` (the CLI) of ``videos`` ids while a consumer (4 workers,
    queues discovery + batch) drains a backlog of no-op jobs on ``discovery``."""
    from benchmarks.queue_noop import QUEUE_ENV

    data = root / "bulk"
    env = bench_env(data, **{QUEUE_ENV: "discovery"})
    settings = settings_for(env)
    ids_file = data / "ids.txt"
    ids_file.write_text("".join(f"b{i:010d}\n" for i in range(videos)), encoding="utf-8")
    register("discovery")
    system = new_system(settings)
    try:
        for part in chunks([noop_spec(f"bulk-{i}") for i in range(backlog)], 5_000):
            system.submit(part)
    finally:
        system.close()
        register()
    consumer = ConsumerProcess(env, data, workers=4, queues=("discovery", "batch"))
    conn = sqlite3.connect(data / "tubesensei.db", timeout=30)
    try:
        consumer.wait_ready()
        time.sleep(0.5)
        n0, t0 = _completed_noops(conn), time.monotonic()
        time.sleep(idle_s)
        n1, t1 = _completed_noops(conn), time.monotonic()
        idle_rate = (n1 - n0) / (t1 - t0)
        started = time.monotonic()
        cli = subprocess.run([CLI, "enqueue", "batch", "--file", str(ids_file), "--name",
                              "bulk"], env=env, cwd=data, capture_output=True, text=True,
                             check=False)
        cli_s = time.monotonic() - started
        if cli.returncode != 0:
            raise RuntimeError(f"enqueue batch failed: {cli.stderr.strip()}")
        deadline = started + timeout
        while _extract_jobs(conn) < videos:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {_extract_jobs(conn):,} of {videos:,} extract jobs "
                                   f"after {timeout:g} s")
            time.sleep(0.05)
        expanded_s = time.monotonic() - started
        n2 = _completed_noops(conn)
        if n2 >= backlog:
            raise RuntimeError("the no-op backlog ran out during the bulk work: make it bigger")
        busy_rate = (n2 - n1) / (time.monotonic() - t1)
    finally:
        conn.close()
        code = consumer.stop()
    ratio = busy_rate / idle_rate if idle_rate else 0.0
    return {"videos": videos, "cli_s": round(cli_s, 2), "expanded_s": round(expanded_s, 2),
            "idle_rate": round(idle_rate), "busy_rate": round(busy_rate),
            "rate_ratio": round(ratio, 3), "cli_stdout": cli.stdout.strip(),
            "consumer_exit_code": code,
            "targets": {"cli_s": BULK_MAX_S, "rate_ratio": BULK_MIN_RATE},
            "meets_targets": {"cli": cli_s <= BULK_MAX_S, "expanded": expanded_s <= BULK_MAX_S,
                              "rate": ratio >= BULK_MIN_RATE}}


def print_bulk(r: dict[str, Any]) -> None:
    m = r["meets_targets"]
    print_table(
        f"6. bulk: `enqueue batch --file` of {r['videos']:,} ids while a consumer (4 workers) "
        f"drains no-op jobs: CLI {'ok' if m['cli'] else 'MISS'} <= {BULK_MAX_S:g} s, rate "
        f"{'ok' if m['rate'] else 'MISS'} >= {BULK_MIN_RATE:.0%} of idle",
        ["videos", "CLI s", "all extract jobs exist after s", "no-op jobs/s before",
         "no-op jobs/s meanwhile", "ratio"],
        [[f"{r['videos']:,}", f"{r['cli_s']:.2f}", f"{r['expanded_s']:.2f}",
          f"{r['idle_rate']:,}", f"{r['busy_rate']:,}", f"{r['rate_ratio']:.0%}"]],
    )


# -- the benchmark harness's rows -------------------------------------------------------


def measure(quick: bool) -> list[dict[str, Any]]:
    """Issue 16's job-system targets as rows for benchmarks/run.py."""
    register()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="tubesensei-qbench-") as tmp:
        root = Path(tmp)
        configure_logging(level="INFO", fmt="json", file=root / "bench.log")
        # Three alternating rounds even when quick (one round's figure moved by a quarter
        # from run to run on a shared machine, and the ratio with it); the context rows
        # of section 2 are not among the targets.
        tp, _sizes = bench_throughput(root, k=1_500 if quick else 10_000, reps=3,
                                      context=False)
        med, cost = tp["median_jobs_per_s"], tp["ledger_cost_factor"]["vs_huey_consumer"]
        ledger = tp["runs"]["ledger"]
        rows.append({
            "target": "ledger no-op jobs/s", "measured": med["ledger"], "unit": "jobs/s",
            "goal": f">= {THROUGHPUT_MIN:,.0f}", "met": med["ledger"] >= THROUGHPUT_MIN,
            "detail": (f"{tp['jobs']:,} jobs, bulk submit then Consumer(workers=4, burst), "
                       f"median of {tp['reps']}; steady "
                       f"{statistics.median(x['steady_jobs_per_s'] for x in ledger):,.0f}/s "
                       "after the start-up reap")})
        rows.append({
            "target": "ledger cost vs bare SqliteHuey", "measured": cost, "unit": "x",
            "goal": f"<= {LEDGER_MAX_COST:g}", "met": cost <= LEDGER_MAX_COST,
            "detail": (f"bare SqliteHuey (its consumer, 4 threads) "
                       f"{med['bare_huey_consumer']:,.0f}/s, ledger {med['ledger']:,.0f}/s, "
                       f"same run")})
        bulk = bench_bulk(root, videos=10_000 if quick else 100_000,
                          backlog=20_000 if quick else 100_000, idle_s=1.5 if quick else 3.0)
        note = " (quick: 10,000 ids; the target is for 100,000)" if quick else ""
        rows.append({
            "target": "enqueue batch of 100,000 ids (CLI)", "measured": bulk["cli_s"],
            "unit": "s", "goal": f"<= {BULK_MAX_S:g}",
            "met": None if quick else bulk["meets_targets"]["cli"],
            "detail": (f"{bulk['videos']:,} ids from a file{note}; every extract job existed "
                       f"after {bulk['expanded_s']:.1f} s (batch jobs expanded by the busy "
                       "consumer)")})
        rows.append({
            "target": "consumer rate during enqueue batch", "measured": bulk["rate_ratio"],
            "unit": "x idle", "goal": f">= {BULK_MIN_RATE:g}",
            "met": bulk["meets_targets"]["rate"],
            "detail": (f"no-op jobs/s {bulk['idle_rate']:,} before, {bulk['busy_rate']:,} from "
                       "the CLI's start until every extract job existed (4 workers)")})
        rss = bench_rss(root, first=1_000 if quick else 10_000,
                        total=3_000 if quick else 100_000)
        first, last = rss["points"][1], rss["points"][-1]
        rows.append({
            "target": f"consumer RSS, {RSS_WORKERS} workers", "measured": round(last["rss"] / MB, 1),
            "unit": "MB", "goal": f"<= {RSS_MAX_MB:g}", "met": last["rss"] / MB <= RSS_MAX_MB,
            "detail": f"after {last['jobs']:,} no-op jobs"
                      + (" (quick; the target is after 100,000)" if quick else "")})
        rows.append({
            "target": "consumer RSS growth", "measured": rss["growth_pct"], "unit": "%",
            "goal": f"< {RSS_MAX_GROWTH_PCT:g}", "met": rss["meets_targets"]["growth"],
            "detail": (f"{first['rss'] / MB:.1f} MB after {first['jobs']:,} jobs -> "
                       f"{last['rss'] / MB:.1f} MB after {last['jobs']:,}")})
        files = bench_files(root, k=1_000 if quick else 10_000)
        rows.append({
            "target": "queue + ledger files per 10k jobs", "measured":
                round(files["per_10k_bytes"] / MB, 2), "unit": "MB",
            "goal": f"<= {FILES_MAX_MB_PER_10K:g}", "met": files["meets_target"],
            "detail": (f"{files['rounds']} rounds of {files['jobs_per_round']:,} no-op jobs, "
                       "each drained and pruned; largest size after a round, less the empty "
                       "files")})
    return rows


# -- main -----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a check it works")
    parser.add_argument("--idle", type=float, default=None,
                        help="seconds of idleness before the last latency sample "
                             "(default 120, 10 with --quick)")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="sections to run, e.g. 1,3")
    args = parser.parse_args(argv)
    quick = args.quick
    only = {int(s) for s in args.only.split(",") if s.strip()}
    idle = args.idle if args.idle is not None else (10.0 if quick else 120.0)

    register()
    results: dict[str, Any] = {"quick": quick, "cpus": os.cpu_count(),
                               "load_avg_before": os.getloadavg()}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="tubesensei-qbench-") as tmp:
        root = Path(tmp)
        # This process runs consumers too (section 2): its logs go to a file, like
        # run-consumer's stderr would.
        configure_logging(level="INFO", fmt="json", file=root / "bench.log")
        if 1 in only:
            r = bench_latency(root, samples=40 if quick else 300,
                              gaps=(1.5,) if quick else (2.0, 5.0), idle=idle)
            results["latency"] = r
            print_latency(r)
        if 2 in only or 5 in only:
            r, sizes = bench_throughput(root, k=2_000 if quick else 10_000,
                                        reps=1 if quick else 3)
            if 2 in only:
                results["throughput"] = r
                print_throughput(r)
            if 5 in only:
                results["files"] = file_report(sizes)
                print_files(results["files"])
        if 3 in only:
            r = bench_e2e(root, videos=20 if quick else 1_000,
                          workers=(1, 4) if quick else (1, 2, 4, 8), latency_ms=50.0)
            results["end_to_end"] = r
            print_e2e(r)
        if 4 in only:
            r = bench_rss(root, first=1_000 if quick else 10_000,
                          total=5_000 if quick else 100_000)
            results["rss"] = r
            print_rss(r)
        if 5 in only:
            r = bench_files(root, k=2_000 if quick else 10_000)
            results["files_pruned"] = r
            print(f"5b. files after {r['rounds']} rounds of {r['jobs_per_round']:,} jobs, each "
                  f"pruned: {r['per_10k_bytes'] / MB:.2f} MB per 10k jobs "
                  f"({'ok' if r['meets_target'] else 'MISS'} <= {FILES_MAX_MB_PER_10K:g} MB)")
        if 6 in only:
            r = bench_bulk(root, videos=20_000 if quick else 100_000,
                           backlog=30_000 if quick else 100_000)
            results["bulk"] = r
            print_bulk(r)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    results["load_avg_after"] = os.getloadavg()
    path = write_results("queue", results)
    load = "/".join(f"{x:.2f}" for x in results["load_avg_before"])
    print(f"took {results['elapsed_s']} s on {os.cpu_count()} CPUs (load average before: "
          f"{load}); wrote {path}")


if __name__ == "__main__":
    main()
