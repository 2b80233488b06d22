"""Scale-out: the job system on PostgreSQL + Redis with several consumer processes, beside
SQLite, in one run.

    .venv/bin/python -m benchmarks.scaleout [--jobs 5000] [--quick]
        [--pg postgresql+psycopg://postgres@127.0.0.1/postgres] [--redis redis://127.0.0.1:6379/0]

1. no-op throughput: ``--jobs`` no-op jobs submitted in bulk (their queue paused) to N idle
   consumer processes (4 workers each; PostgreSQL + Redis: each its own data folder, a
   "machine"; SQLite: one data folder shared), N = 1, 2, 4; the queue is resumed and jobs/s
   are timed from the resume to the last completion.
   Target (PostgreSQL + Redis, 2 processes): >= 1,000 jobs/s.
2. enqueue -> start latency into one idle consumer process, from this process: p50/p99.
   Targets: p50 <= 10 ms, p99 <= 50 ms.
3. end to end: a simulated channel (50 ms latency, no rate limit), ``run-consumer --burst``
   on 1 and 2 "machines" (PostgreSQL + Redis): videos per minute.

Each PostgreSQL run gets a database of its own (created, dropped after) and each Redis run a
queue prefix of its own. Results: a table per section, and benchmarks/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from benchmarks.queue import PY, ROOT, bench_env, settings_for, stats_ms, ts
from benchmarks.queue_noop import noop_spec, register
from benchmarks.report import print_table, write_results
from tubesensei.jobs.ledger import JOBS

CLI = str(Path(PY).parent / "tubesensei")
THROUGHPUT_MIN = 1000.0
LATENCY_P50_MS, LATENCY_P99_MS = 10.0, 50.0


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"tubesensei_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def drop_prefix(redis_url: str, prefix: str) -> None:
    import redis

    conn = redis.Redis.from_url(redis_url)
    keys = list(conn.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        conn.delete(*keys)
    conn.close()


class Backend:
    """Where the runs of one kind live: SQLite (a data folder) or PostgreSQL + Redis."""

    def __init__(self, kind: str, root: Path, pg_admin: str | None, redis_url: str | None):
        self.kind, self.root, self.pg_admin, self.redis_url = kind, root, pg_admin, redis_url

    @contextmanager
    def deployment(self, name: str) -> Iterator[dict[str, str]]:
        """Settings (env) of a fresh deployment; machines add their own data folder."""
        if self.kind == "sqlite":
            yield {"TUBESENSEI_DATA_DIR": str(self.root / name / "shared")}
            return
        assert self.pg_admin and self.redis_url
        prefix = f"b{uuid.uuid4().hex[:8]}"
        with postgres_database(self.pg_admin) as url:
            try:
                yield {"TUBESENSEI_DATABASE__URL": url, "TUBESENSEI_QUEUE__BACKEND": "redis",
                       "TUBESENSEI_QUEUE__URL": self.redis_url,
                       "TUBESENSEI_QUEUE__PREFIX": prefix}
            finally:
                drop_prefix(self.redis_url, prefix)

    def machine_dir(self, deployment: dict[str, str], name: str, n: int) -> Path:
        if self.kind == "sqlite":
            return Path(deployment["TUBESENSEI_DATA_DIR"])
        return self.root / name / f"machine{n}"


def start_consumers(backend: Backend, dep: dict[str, str], name: str, count: int,
                    settings: Any, *args: str) -> list[subprocess.Popen[bytes]]:
    procs = []
    for n in range(count):
        data = backend.machine_dir(dep, name, n)
        env = bench_env(data, **{**dep, "TUBESENSEI_DATA_DIR": str(data)})
        log = open(data / f"consumer{n}.log", "wb")  # noqa: SIM115 - the process owns it
        procs.append(subprocess.Popen([PY, "-m", "benchmarks.queue_noop", "--workers", "4",
                                       *args], env=env, cwd=ROOT, stdout=log,
                                      stderr=subprocess.STDOUT))
    wait_registered(settings, count)
    return procs


def wait_registered(settings: Any, count: int, timeout: float = 60.0) -> None:
    engine = create_engine(settings.database_url.replace("sqlite+aiosqlite", "sqlite"),
                           poolclass=NullPool)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                live = conn.execute(text("SELECT count(*) FROM consumers "
                                         "WHERE stopped_at IS NULL")).scalar_one()
            if live >= count:
                time.sleep(0.5)  # the start-up reap has run
                return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise RuntimeError("consumers did not start")


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()


def system_for(env: dict[str, str]) -> tuple[Any, Any]:
    from tubesensei.jobs.system import JobSystem

    settings = settings_for(env)
    return settings, JobSystem(settings)


# -- 1. throughput ------------------------------------------------------------------------


def throughput(backend: Backend, processes: int, jobs: int) -> dict[str, Any]:
    name = f"thr-{backend.kind}-{processes}"
    with backend.deployment(name) as dep:
        env = bench_env(backend.machine_dir(dep, name, 0), **dep)
        settings, system = system_for(env)
        procs = start_consumers(backend, dep, name, processes, settings)
        try:
            # Submitted while the queue is paused, then released: the drain alone is timed
            # (the submitter shares this machine's two cores with the consumers).
            system.pause_queue("batch")
            t0 = time.time()
            for i in range(0, jobs, 500):
                system.submit([noop_spec(f"j{n}") for n in range(i, min(jobs, i + 500))])
            submitted = time.time()
            time.sleep(1.5)  # every consumer has seen the pause
            started = time.time()
            system.resume_queue("batch")
            deadline = time.monotonic() + 600
            while True:
                with system.engine.connect() as conn:
                    done, last = conn.execute(
                        select(func.count(), func.max(JOBS.c.finished_at))
                        .where(JOBS.c.status == "completed")).one()
                if done >= jobs:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{done} of {jobs} done")
                time.sleep(0.05)
            with system.engine.connect() as conn:
                workers = conn.execute(select(func.count(func.distinct(JOBS.c.worker_id)))
                                       ).scalar_one()
        finally:
            stop(procs)
            system.close()
    wall = ts(last) - started
    return {"backend": backend.kind, "processes": processes, "jobs": jobs,
            "submit_s": round(submitted - t0, 2), "wall_s": round(wall, 2),
            "jobs_per_s": round(jobs / wall), "processes_that_ran_jobs": workers}


# -- 2. latency ---------------------------------------------------------------------------


def latency(backend: Backend, samples: int) -> dict[str, Any]:
    name = f"lat-{backend.kind}"
    with backend.deployment(name) as dep:
        env = bench_env(backend.machine_dir(dep, name, 0), **dep)
        settings, system = system_for(env)
        procs = start_consumers(backend, dep, name, 1, settings)
        starts = []
        try:
            for i in range(samples + 5):
                t0 = time.time()
                (created,) = system.submit([noop_spec(f"l{i}")])
                result = None
                deadline = time.monotonic() + 30
                while result is None and time.monotonic() < deadline:
                    with system.engine.connect() as conn:
                        result = conn.execute(select(JOBS.c.result).where(
                            JOBS.c.id == created.job_id, JOBS.c.status == "completed")).scalar()
                    if result is None:
                        time.sleep(0.001)
                if result is None:
                    raise RuntimeError("a no-op job did not run")
                if i >= 5:  # the first ones warm both ends
                    starts.append(result["t"] - t0)
                time.sleep(0.03)
        finally:
            stop(procs)
            system.close()
    return {"backend": backend.kind, **stats_ms(starts)}


# -- 3. end to end ------------------------------------------------------------------------


def end_to_end(backend: Backend, machines: int, videos: int) -> dict[str, Any]:
    from tubesensei.sim import SimConfig, running_simulator

    name = f"e2e-{backend.kind}-{machines}"
    with running_simulator(SimConfig(seed=3, channel_sizes=[videos], latency_ms=50)) as sim, \
            backend.deployment(name) as dep:
        base = {**dep, "TUBESENSEI_YOUTUBE__API_KEY": "bench",
                "TUBESENSEI_YOUTUBE__API_ENDPOINT": sim.base_url,
                "TUBESENSEI_YOUTUBE__WEB_BASE_URL": sim.base_url,
                "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "0",
                "TUBESENSEI_LIMITS__RETRY_BASE_SECONDS": "0.2"}
        first = bench_env(backend.machine_dir(dep, name, 0), **base)
        settings = settings_for(first)
        subprocess.run([CLI, "enqueue", "channel", sim.world.channels[0].handle], env=first,
                       check=True, capture_output=True)
        started = time.monotonic()
        procs = []
        for n in range(machines):
            data = backend.machine_dir(dep, name, n)
            env = bench_env(data, **{**base, "TUBESENSEI_DATA_DIR": str(data)})
            procs.append(subprocess.Popen([CLI, "run-consumer", "--workers", "4", "--burst",
                                           "--burst-wait", "2", "--no-metrics"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for p in procs:
            p.wait(900)
        wall = time.monotonic() - started
        engine = create_engine(settings.database_url, poolclass=NullPool)
        with engine.connect() as conn:
            ended = conn.execute(text("SELECT count(*) FROM videos WHERE transcript_status "
                                      "IN ('done', 'unavailable', 'failed')")).scalar_one()
        engine.dispose()
    return {"backend": backend.kind, "machines": machines, "videos": ended,
            "wall_s": round(wall, 1), "videos_per_minute": round(ended / wall * 60)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000, help="no-op jobs per throughput run")
    parser.add_argument("--samples", type=int, default=200, help="latency samples")
    parser.add_argument("--videos", type=int, default=400, help="uploads of the e2e channel")
    parser.add_argument("--quick", action="store_true", help="small sizes: a check it works")
    parser.add_argument("--pg", default=os.environ.get(
        "TUBESENSEI_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/postgres"))
    parser.add_argument("--redis", default=os.environ.get(
        "TUBESENSEI_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args(argv)
    if args.quick:
        args.jobs, args.samples, args.videos = 500, 30, 60
    register()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tubesensei-scaleout-") as tmp:
        root = Path(tmp)
        backends = [Backend("sqlite", root, None, None),
                    Backend("postgres+redis", root, args.pg, args.redis)]
        thr = [throughput(b, n, args.jobs) for b in backends for n in (1, 2, 4)]
        lat = [latency(b, args.samples) for b in backends]
        e2e = [end_to_end(backends[1], m, args.videos) for m in (1, 2)]
    two = next(r for r in thr if r["backend"] != "sqlite" and r["processes"] == 2)
    server_lat = next(r for r in lat if r["backend"] != "sqlite")
    meets = {"throughput_2_processes": two["jobs_per_s"] >= THROUGHPUT_MIN,
             "latency_p50": server_lat["p50_ms"] <= LATENCY_P50_MS,
             "latency_p99": server_lat["p99_ms"] <= LATENCY_P99_MS}
    print_table(f"1. no-op throughput, {args.jobs:,} jobs, 4 workers per process (target: "
                f"PostgreSQL + Redis with 2 processes >= {THROUGHPUT_MIN:,.0f}/s: "
                f"{'ok' if meets['throughput_2_processes'] else 'MISS'})",
                ["backend", "processes", "jobs/s", "drain s", "submit s", "processes that ran"],
                [(r["backend"], r["processes"], f"{r['jobs_per_s']:,}", r["wall_s"],
                  r["submit_s"], r["processes_that_ran_jobs"]) for r in thr])
    print_table(f"2. enqueue -> start latency into an idle consumer process, {args.samples} "
                f"samples (targets p50 <= {LATENCY_P50_MS:g} ms, p99 <= {LATENCY_P99_MS:g} ms)",
                ["backend", "p50 ms", "p99 ms", "max ms"],
                [(r["backend"], r["p50_ms"], r["p99_ms"], r["max_ms"]) for r in lat])
    print_table(f"3. end to end, a {args.videos}-upload channel at 50 ms latency",
                ["backend", "machines", "videos", "wall s", "videos/min"],
                [(r["backend"], r["machines"], r["videos"], r["wall_s"],
                  f"{r['videos_per_minute']:,}") for r in e2e])
    ratio = statistics.mean(r["jobs_per_s"] for r in thr if r["backend"] == "sqlite")
    path = write_results("scaleout", {"throughput": thr, "latency": lat, "end_to_end": e2e,
                                      "meets_targets": meets, "quick": args.quick,
                                      "sqlite_mean_jobs_per_s": round(ratio),
                                      "elapsed_s": round(time.monotonic() - started, 1)})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
