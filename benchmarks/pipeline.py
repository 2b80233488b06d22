"""Pipeline overhead per transcript: our fetch + clean + store + index against
youtube-transcript-api alone, the same threads, the same simulated YouTube, the same run.

    .venv/bin/python -m benchmarks.pipeline [--quick] [--videos N] [--threads 4] [--profile]

A simulated channel (zero latency, in this process) is discovered once into a SQLite file;
then, alternating for ``--rounds`` rounds:

* **raw library**: ``YouTubeTranscriptApi(...).fetch(video, languages=["en"])`` on
  ``--threads`` threads (one API instance and requests session each), over every public
  video of the channel that has an English track;
* **pipeline**: ``pipeline.transcripts.fetch_transcript`` on the same threads (one
  ``Pipeline`` each, one shared ``Database``) into a fresh copy of the discovered database:
  the same fetch through our client, cleaning, the transcript row, its search passages and
  the FTS index, the video's status;
* **queue** (not in ``--quick``): the same videos as extract jobs through the job system,
  ``run-consumer --workers N --burst`` in a subprocess (ledger, logging, rate limit off),
  timed from the first job's start to the last one's end.

Target (issue 16, item 8): the pipeline at least 0.8x the raw library's transcripts/minute.
The ratio is taken per round (raw and pipeline back to back) and the median reported: the
machine is shared, so absolute figures drift; ratios from one run are what to compare.

Both sides also report the process's CPU time per transcript (every thread, the simulator's
included): the simulator runs in this process, so both sides share one GIL and, once the
threads keep it busy, the ratio is about raw CPU over pipeline CPU. ``--breakdown`` adds one
more pipeline pass that times each stage (CPU of the thread that runs it, and its wall time,
which adds the waits for the GIL, the network and the write lock), beside the raw fetch.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import queue
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.report import print_table, write_results

API_KEY = "AIza-benchmark-key"
TARGET_RATIO = 0.8
TRANSCRIBED_CASES = {"manual_en", "generated_en", "multi_language", "short", "finished_live"}
ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "tubesensei")

Work = Callable[[str], Any]


def run_threads(video_ids: Sequence[str], threads: int, make_worker: Callable[[], Work],
                profiles: list[cProfile.Profile] | None = None) -> tuple[float, int, float]:
    """Work through ``video_ids`` on ``threads`` threads; (seconds, errors, the process's
    CPU seconds meanwhile)."""
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for v in video_ids:
        todo.put(v)
    errors = [0]

    def loop() -> None:
        work = make_worker()
        profile = cProfile.Profile() if profiles is not None else None
        if profile is not None:
            profile.enable()
        try:
            while True:
                try:
                    video_id = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    work(video_id)
                except Exception:  # a benchmark counts, it does not stop
                    errors[0] += 1
        finally:
            if profile is not None and profiles is not None:
                profile.disable()
                profiles.append(profile)

    workers = [threading.Thread(target=loop) for _ in range(threads)]
    started, cpu = time.perf_counter(), time.process_time()
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    return time.perf_counter() - started, errors[0], time.process_time() - cpu


def _settings(base_url: str, db_file: Path) -> Any:
    from tubesensei.config import load_settings

    return load_settings(None, {
        "youtube.api_key": API_KEY, "youtube.api_endpoint": base_url,
        "youtube.web_base_url": base_url, "database.url": f"sqlite:///{db_file}",
    }).settings


def _raw_worker(base_url: str) -> Callable[[], Work]:
    import youtube_transcript_api as yta

    from tubesensei.youtube.http import build_transcript_session

    def make() -> Work:
        api = yta.YouTubeTranscriptApi(http_client=build_transcript_session(base_url))
        return lambda v: api.fetch(v, languages=["en"])
    return make


def _pipeline_worker(settings: Any, db: Any, pipelines: list[Any]) -> Callable[[], Work]:
    from tubesensei.pipeline.context import Pipeline
    from tubesensei.pipeline.transcripts import fetch_transcript

    def make() -> Work:
        p = Pipeline(settings, db)
        pipelines.append(p)
        return lambda v: fetch_transcript(p, v)
    return make


def _pipeline_round(base_url: str, base_db: Path, folder: Path, ids: Sequence[str],
                    threads: int, profiles: list[cProfile.Profile] | None = None
                    ) -> tuple[float, int, int, float]:
    """One pipeline pass into a fresh copy of the discovered database; (s, errors, stored,
    CPU s)."""
    from tubesensei.db.engine import Database

    db_file = folder / "round.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base_db, db_file)
    settings = _settings(base_url, db_file)
    db = Database.from_settings(settings)
    pipelines: list[Any] = []
    try:
        seconds, errors, cpu = run_threads(ids, threads,
                                           _pipeline_worker(settings, db, pipelines), profiles)
    finally:
        for p in pipelines:
            p.close()
        db.dispose()
    with sqlite3.connect(db_file) as conn:
        stored = conn.execute("select count(*) from transcripts").fetchone()[0]
    return seconds, errors, stored, cpu


# The stages of fetch_transcript, each a name its module looks up when it runs:
# (label, module, attribute). The write is what store_transcript spends beyond the others.
STAGES = (
    ("check the video is stored", "tubesensei.db.engine", "Database.query"),
    ("fetch (our client)", "tubesensei.youtube.transcripts", "TranscriptClient.fetch"),
    ("clean", "tubesensei.pipeline.transcripts", "clean_segments"),
    ("pack the row", "tubesensei.pipeline.transcripts", "_transcript_row"),
    ("search passages", "tubesensei.pipeline.transcripts", "chunk_segments"),
    ("store (all)", "tubesensei.pipeline.transcripts", "store_transcript"),
)


@contextmanager
def _timed(totals: dict[str, list[float]], label: str, module: str, attribute: str
           ) -> Iterator[None]:
    """Wrap ``module.attribute`` so that each call adds [its thread's CPU, its wall time]
    to ``totals[label]``; put back on exit."""
    import importlib

    owner: Any = importlib.import_module(module)
    *path, name = attribute.split(".")
    for part in path:
        owner = getattr(owner, part)
    original = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    lock = threading.Lock()

    def timed(*args: Any, **kwargs: Any) -> Any:
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
            with lock:
                total = totals.setdefault(label, [0.0, 0.0])
                total[0] += cpu
                total[1] += wall

    setattr(owner, name, timed)
    try:
        yield
    finally:
        setattr(owner, name, original)


def _breakdown(base_url: str, base_db: Path, folder: Path, ids: Sequence[str], threads: int,
               raw_make: Callable[[], Work]) -> list[dict[str, Any]]:
    """Per transcript, [CPU, wall] ms of each stage in one more pipeline pass, and of the
    raw library's fetch in one more raw pass (same threads)."""
    totals: dict[str, list[float]] = {}

    def raw_timed() -> Work:
        work = raw_make()

        def timed(video_id: str) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return work(video_id)
            finally:
                total = totals.setdefault("raw library fetch", [0.0, 0.0])
                total[0] += time.thread_time() - cpu
                total[1] += time.perf_counter() - wall
        return timed

    run_threads(ids, threads, raw_timed)
    with _timed(totals, "fetch_transcript (all)", "tubesensei.pipeline.transcripts",
                "fetch_transcript"):
        from contextlib import ExitStack

        with ExitStack() as stack:
            for label, module, attribute in STAGES:
                stack.enter_context(_timed(totals, label, module, attribute))
            # The benchmark's worker looks fetch_transcript up when it makes a worker.
            _pipeline_round(base_url, base_db, folder, ids, threads)
    store = totals.get("store (all)", [0.0, 0.0])
    inner = [totals.get(label, [0.0, 0.0]) for label in ("clean", "pack the row",
                                                         "search passages")]
    totals["write transaction (store less the above)"] = [
        store[i] - sum(x[i] for x in inner) for i in (0, 1)]
    order = ["raw library fetch", *(label for label, *_ in STAGES if label != "store (all)"),
             "write transaction (store less the above)", "fetch_transcript (all)"]
    return [{"stage": label, "cpu_ms": round(totals[label][0] / len(ids) * 1000, 2),
             "wall_ms": round(totals[label][1] / len(ids) * 1000, 2)}
            for label in order if label in totals]


def _discover(base_url: str, channel_id: str, db_file: Path) -> None:
    from tubesensei.db.engine import Database
    from tubesensei.db.schema import ensure_schema
    from tubesensei.pipeline.context import Pipeline
    from tubesensei.pipeline.discovery import discover_channel
    from tubesensei.youtube.ids import ChannelRef

    settings = _settings(base_url, db_file)
    ensure_schema(settings.database_url)
    p = Pipeline(settings, Database(settings.database_url))
    try:
        discover_channel(p, ChannelRef("id", channel_id))
    finally:
        p.close()
        p.db.dispose()


def _queue_round(base_url: str, base_db: Path, folder: Path, ids: Sequence[str],
                 threads: int) -> dict[str, Any]:
    """The same videos as extract jobs through ``run-consumer --burst`` (a subprocess)."""
    from tubesensei.config import load_settings
    from tubesensei.jobs.system import JobSystem

    data = folder / "queue"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir()
    shutil.copyfile(base_db, data / "tubesensei.db")
    (data / "bench.toml").write_text("", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("TUBESENSEI_")}
    env.update(TUBESENSEI_CONFIG=str(data / "bench.toml"), TUBESENSEI_DATA_DIR=str(data),
               TUBESENSEI_LOGGING__FORMAT="json", PYTHONPATH=str(ROOT),
               TUBESENSEI_YOUTUBE__API_ENDPOINT=base_url,
               TUBESENSEI_YOUTUBE__WEB_BASE_URL=base_url,
               TUBESENSEI_YOUTUBE__API_KEY=API_KEY,
               TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE="0")
    system = JobSystem(load_settings(environ=env).settings)
    try:
        system.enqueue_videos(list(ids))
    finally:
        close = getattr(system, "close", None)
        if close is not None:
            close()
    with open(data / "consumer.log", "wb") as log:
        proc = subprocess.run([CLI, "run-consumer", "--workers", str(threads), "--burst",
                               "--burst-wait", "0"], env=env, cwd=data,
                              stdout=subprocess.DEVNULL, stderr=log, check=False)
    with sqlite3.connect(data / "tubesensei.db") as conn:
        first, last, done = conn.execute(
            "select min(started_at), max(finished_at), count(*) from processing_jobs "
            "where job_type = 'extract_transcript' and status = 'completed'").fetchone()
    span = ((datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
            if first and last else float("nan"))
    return {"exit_code": proc.returncode, "jobs_completed": done, "span_s": span}


def _per_min(n: int, seconds: float) -> float:
    return n / seconds * 60 if seconds > 0 else 0.0


def run(videos: int, threads: int, rounds: int, with_queue: bool, profile: bool,
        breakdown: bool = False) -> dict[str, Any]:
    from tubesensei.sim import SimConfig, running_simulator

    folder = Path(tempfile.mkdtemp(prefix="tubesensei-bench-pipeline-"))
    try:
        with running_simulator(SimConfig(seed=16, channel_sizes=[videos])) as sim:
            channel = sim.world.channels[0]
            ids = [v.video_id for v in channel.videos if v.case in TRANSCRIBED_CASES]
            base_db = folder / "discovered.db"
            _discover(sim.base_url, channel.channel_id, base_db)
            raw_make = _raw_worker(sim.base_url)
            run_threads(ids, threads, raw_make)  # warms the simulator's response cache
            raw_s: list[float] = []
            pipe_s: list[float] = []
            raw_cpu: list[float] = []
            pipe_cpu: list[float] = []
            ratios: list[float] = []
            stored = errors = 0
            for _ in range(rounds):
                r, raw_errors, r_cpu = run_threads(ids, threads, raw_make)
                p, errors, stored, p_cpu = _pipeline_round(sim.base_url, base_db, folder, ids,
                                                           threads)
                raw_s.append(r)
                pipe_s.append(p)
                raw_cpu.append(r_cpu)
                pipe_cpu.append(p_cpu)
                ratios.append(r / p)
                errors += raw_errors
            stages = None
            if breakdown:
                stages = _breakdown(sim.base_url, base_db, folder, ids, threads, raw_make)
            queue_row = None
            if with_queue:
                r, _, _ = run_threads(ids, threads, raw_make)
                q = _queue_round(sim.base_url, base_db, folder, ids, threads)
                q["raw_per_min"] = round(_per_min(len(ids), r))
                q["per_min"] = round(_per_min(q["jobs_completed"], q["span_s"]))
                q["ratio"] = round(q["per_min"] / q["raw_per_min"], 3)
                queue_row = q
            hot = None
            if profile:
                profiles: list[cProfile.Profile] = []
                _pipeline_round(sim.base_url, base_db, folder, ids, threads, profiles)
                stats = pstats.Stats(profiles[0], stream=(out := io.StringIO()))
                for extra in profiles[1:]:
                    stats.add(extra)
                stats.sort_stats("tottime").print_stats(25)
                hot = out.getvalue()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    raw_rate = _per_min(len(ids), statistics.median(raw_s))
    pipe_rate = _per_min(len(ids), statistics.median(pipe_s))
    return {
        "videos": len(ids), "threads": threads, "rounds": rounds, "stored": stored,
        "errors": errors, "raw_per_min": round(raw_rate), "pipeline_per_min": round(pipe_rate),
        "ratio": round(statistics.median(ratios), 3), "ratios": [round(x, 3) for x in ratios],
        # The extra work per transcript, in one thread's milliseconds.
        "overhead_ms": round((statistics.median(pipe_s) - statistics.median(raw_s))
                             * threads / len(ids) * 1000, 2),
        # The process's CPU per transcript (all threads, the simulator's too).
        "raw_cpu_ms": round(statistics.median(raw_cpu) / len(ids) * 1000, 2),
        "pipeline_cpu_ms": round(statistics.median(pipe_cpu) / len(ids) * 1000, 2),
        "stages": stages, "queue": queue_row, "profile": hot,
    }


def rows_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [{
        "target": "pipeline vs raw library",
        "measured": r["ratio"], "unit": "x", "goal": f">= {TARGET_RATIO}",
        "met": r["ratio"] >= TARGET_RATIO,
        "detail": (f"fetch_transcript {r['pipeline_per_min']:,}/min vs youtube-transcript-api "
                   f"{r['raw_per_min']:,}/min, {r['threads']} threads, {r['videos']} videos, "
                   f"median of {r['rounds']} rounds {r['ratios']}; "
                   f"{r['overhead_ms']} ms extra per transcript per thread; process CPU "
                   f"per transcript {r['pipeline_cpu_ms']} ms vs {r['raw_cpu_ms']} ms"),
    }]
    q = r.get("queue")
    if q:
        rows.append({
            "target": "pipeline through the queue vs raw library",
            "measured": q["ratio"], "unit": "x", "goal": f">= {TARGET_RATIO}",
            "met": q["ratio"] >= TARGET_RATIO,
            "detail": (f"run-consumer --burst {q['per_min']:,}/min ({q['jobs_completed']} "
                       f"jobs) vs raw {q['raw_per_min']:,}/min; ledger and logging belong "
                       "to the job system"),
        })
    return rows


def measure(quick: bool) -> list[dict[str, Any]]:
    """Target rows for benchmarks/run.py (quick: a smaller channel, no queue pass)."""
    r = run(videos=160 if quick else 600, threads=4, rounds=3 if quick else 5,
            with_queue=not quick, profile=False)
    return rows_of(r)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller channel, no queue pass")
    parser.add_argument("--videos", type=int, help="uploads of the simulated channel")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--no-queue", action="store_true", help="skip the run-consumer pass")
    parser.add_argument("--profile", action="store_true",
                        help="one more pipeline pass under cProfile; print the hot spots")
    parser.add_argument("--breakdown", action="store_true",
                        help="one more pass timing each stage (thread CPU and wall time)")
    args = parser.parse_args(argv)
    r = run(videos=args.videos or (160 if args.quick else 600), threads=args.threads,
            rounds=args.rounds or (3 if args.quick else 5),
            with_queue=not (args.quick or args.no_queue), profile=args.profile,
            breakdown=args.breakdown)
    rows = rows_of(r)
    print_table("Pipeline overhead per transcript (issue 16, item 8)",
                ["target", "measured", "goal", "met", "detail"],
                [[x["target"], f"{x['measured']:.2f}{x['unit']}", x["goal"],
                  "yes" if x["met"] else "NO", x["detail"]] for x in rows])
    if r["stages"]:
        print_table(f"Where a transcript's time goes ({r['threads']} threads; per transcript, "
                    "summed over threads; wall = CPU + waits for the GIL, network, lock)",
                    ["stage", "CPU ms", "wall ms"],
                    [[x["stage"], f"{x['cpu_ms']:.2f}", f"{x['wall_ms']:.2f}"]
                     for x in r["stages"]])
    if r["profile"]:
        print(r["profile"])
    path = write_results("pipeline", {**r, "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
