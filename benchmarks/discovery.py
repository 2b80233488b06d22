"""Discovery throughput: resolve a 5,000-video simulated channel, page its uploads and fetch
every video's details at zero latency.

    .venv/bin/python -m benchmarks.discovery [--videos 5000] [--queue-videos 20000]

Three rows: the YouTube layer alone (DataApiClient: channels.list, playlistItems.list pages,
videos.list batches), the whole service (pipeline.discovery.discover_channel, storing
every video into a temporary SQLite database, one transaction per page), and the whole
thing through the queue: the real CLI, ``enqueue channel`` then ``run-consumer --queue
discovery --burst`` (two processes, start-up included) until the channel's videos are stored
and their transcript jobs queued. Targets: at least 30,000 videos a minute (issue 3),
exactly 1 + 2 x ceil(N/50) quota units for N playlist rows (private and deleted rows take
places on the pages too); a 20,000-video channel through the queue in at most 15 s (issue
16). One untimed pass first warms the simulator's response cache, so the figures are our
side's cost, not the fake's. ``measure(quick)`` is the benchmark harness's entry point.
"""

from __future__ import annotations

import argparse
import gc
import math
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import print_table, write_results
from tubesensei.config import load_settings
from tubesensei.db.engine import Database
from tubesensei.db.schema import ensure_schema
from tubesensei.pipeline.context import Pipeline
from tubesensei.pipeline.discovery import discover_channel
from tubesensei.sim import SimConfig, Simulator, running_simulator
from tubesensei.youtube.data_api import DataApiClient
from tubesensei.youtube.ids import ChannelRef

API_KEY = "AIza-benchmark-key"
TARGET_PER_MINUTE = 30_000
QUEUE_TARGET_SECONDS = 15.0
QUEUE_VIDEOS = 20_000


def _client_run(sim: Simulator, handle: str) -> dict[str, Any]:
    units = 0

    def count(_method: str, cost: int) -> None:
        nonlocal units
        units += cost

    client = DataApiClient(API_KEY, sim.base_url, timeout=30.0, on_units=count)
    started = time.perf_counter()
    info = client.resolve_channel(ChannelRef("handle", handle))
    videos = 0
    for page in client.iter_upload_pages(info.uploads_playlist_id or ""):
        videos += len(client.videos_details(e.video_id for e in page.entries))
    return {"path": "DataApiClient", "videos": videos,
            "seconds": time.perf_counter() - started, "units": units}


def _pipeline_run(sim: Simulator, handle: str, folder: Path) -> dict[str, Any]:
    url = f"sqlite:///{folder / 'discovery.db'}"
    ensure_schema(url)
    settings = load_settings(None, {"youtube.api_key": API_KEY,
                                    "youtube.api_endpoint": sim.base_url}).settings
    pipeline = Pipeline(settings, Database(url))
    try:
        started = time.perf_counter()
        result = discover_channel(pipeline, ChannelRef("handle", handle))
        seconds = time.perf_counter() - started
    finally:
        pipeline.close()
        pipeline.db.dispose()
    return {"path": "discover_channel (+ SQLite)", "videos": len(result.new_video_ids),
            "seconds": seconds, "units": result.units}


def _freeze_fake() -> None:
    """Keep the in-process simulator's world and response cache (millions of objects for a
    20,000-video channel) out of this process's garbage collections: a full collection
    then took tens of milliseconds, in the middle of the fake's responses, and made the
    fake, not TubeSensei, the slow side (20k videos: 34 s for the client alone, 5 s frozen)."""
    gc.collect()
    gc.freeze()


def _queue_run(sim: Simulator, handle: str, folder: Path) -> dict[str, Any]:
    """``enqueue channel`` + ``run-consumer --queue discovery --burst``, timed together."""
    from benchmarks.queue import CLI, bench_env

    env = bench_env(folder, TUBESENSEI_YOUTUBE__API_ENDPOINT=sim.base_url,
                    TUBESENSEI_YOUTUBE__WEB_BASE_URL=sim.base_url,
                    TUBESENSEI_YOUTUBE__API_KEY=API_KEY)
    started = time.perf_counter()
    subprocess.run([CLI, "enqueue", "channel", f"@{handle}"], env=env, cwd=folder, check=True,
                   capture_output=True)
    with open(folder / "consumer.log", "wb") as log:
        proc = subprocess.run([CLI, "run-consumer", "--queue", "discovery", "--burst",
                               "--burst-wait", "0", "--no-metrics"], env=env, cwd=folder,
                              stdout=subprocess.PIPE, stderr=log, check=False)
    seconds = time.perf_counter() - started
    conn = sqlite3.connect(folder / "tubesensei.db")
    try:
        videos = conn.execute("select count(*) from videos").fetchone()[0]
        jobs = dict(conn.execute("select job_type || ':' || status, count(*) "
                                 "from processing_jobs group by 1").fetchall())
        span = conn.execute("select (julianday(max(finished_at)) - julianday(min(started_at)))"
                            " * 86400 from processing_jobs where job_type = 'discover_channel'"
                            ).fetchone()[0]
    finally:
        conn.close()
    return {"path": "enqueue channel + run-consumer --burst (CLI)", "videos": videos,
            "seconds": seconds, "job_seconds": round(span or 0.0, 3), "jobs": jobs,
            "exit_code": proc.returncode, "units": None}


def measure_queue(videos: int) -> dict[str, Any]:
    with running_simulator(SimConfig(seed=1, channel_sizes=[videos])) as sim:
        channel = sim.world.channels[0]
        handle = channel.handle.lstrip("@")
        public = sum(1 for v in channel.videos if v.is_public)
        _client_run(sim, handle)  # untimed: warms the simulator's response cache
        _freeze_fake()
        with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
            run = _queue_run(sim, handle, Path(tmp))
    run["public_videos"] = public
    return run


def measure(quick: bool) -> list[dict[str, Any]]:
    """The benchmark harness's row: a 20,000-video channel through the queue (quick: 5,000,
    not judged against the 20,000-video target)."""
    videos = 5_000 if quick else QUEUE_VIDEOS
    run = measure_queue(videos)
    extracts = sum(n for k, n in run["jobs"].items() if k.startswith("extract_transcript:"))
    ok = (run["exit_code"] == 0 and run["videos"] == run["public_videos"]
          and run["jobs"].get("discover_channel:completed") == 1)
    return [{
        "target": f"discovery of a {QUEUE_VIDEOS:,}-video channel through the queue",
        "measured": round(run["seconds"], 2), "unit": "s",
        "goal": f"<= {QUEUE_TARGET_SECONDS:g}",
        "met": None if quick else ok and run["seconds"] <= QUEUE_TARGET_SECONDS,
        "detail": (f"{videos:,}-row channel{' (quick)' if quick else ''}: enqueue channel + "
                   f"run-consumer --burst (CLI, simulator at zero latency): "
                   f"{run['videos']:,} videos stored, {extracts:,} transcript jobs queued; the "
                   f"discovery job itself {run['job_seconds']:.1f} s"
                   + ("" if ok else f"; INCOMPLETE: {run['jobs']}, exit {run['exit_code']}")),
    }]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--videos", type=int, default=5000, help="playlist rows of the channel")
    parser.add_argument("--queue-videos", type=int, default=QUEUE_VIDEOS,
                        help="playlist rows of the channel discovered through the queue "
                             "(0: skip that row)")
    args = parser.parse_args(argv)
    rows_in_playlist = args.videos
    expected_units = 1 + 2 * math.ceil(rows_in_playlist / 50)
    results = []
    with running_simulator(SimConfig(seed=1, channel_sizes=[rows_in_playlist])) as sim:
        channel = sim.world.channels[0]
        public = sum(1 for v in channel.videos if v.is_public)
        handle = channel.handle.lstrip("@")
        _client_run(sim, handle)  # untimed: warms the simulator's response cache
        _freeze_fake()
        results.append(_client_run(sim, handle))
        with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
            results.append(_pipeline_run(sim, handle, Path(tmp)))
    if args.queue_videos:
        run = measure_queue(args.queue_videos)
        run["expected_units"] = None
        run["meets_target"] = run["seconds"] <= QUEUE_TARGET_SECONDS
        run["videos_per_minute"] = round(run["videos"] / run["seconds"] * 60)
    for r in results:
        r["seconds"] = round(r["seconds"], 3)
        r["videos_per_minute"] = round(r["videos"] / r["seconds"] * 60)
        r["expected_units"] = expected_units
        r["meets_target"] = (r["videos_per_minute"] >= TARGET_PER_MINUTE
                             and r["units"] == expected_units and r["videos"] == public)
    print_table(
        f"discovery of a {rows_in_playlist:,}-row uploads playlist ({public:,} public videos), "
        f"zero latency (target >= {TARGET_PER_MINUTE:,} videos/minute)",
        ["path", "videos", "seconds", "videos/minute", "units", "expected units"],
        [(r["path"], f"{r['videos']:,}", f"{r['seconds']:.2f}", f"{r['videos_per_minute']:,}",
          r["units"], r["expected_units"]) for r in results],
    )
    if args.queue_videos:
        print_table(
            f"discovery of a {args.queue_videos:,}-row channel through the queue (target <= "
            f"{QUEUE_TARGET_SECONDS:g} s)",
            ["path", "videos", "seconds", "discovery job s", "videos/minute", "exit"],
            [(run["path"], f"{run['videos']:,}", f"{run['seconds']:.2f}",
              f"{run['job_seconds']:.2f}", f"{run['videos_per_minute']:,}",
              run["exit_code"])],
        )
        results.append(run)
    path = write_results("discovery", {"playlist_rows": rows_in_playlist,
                                       "public_videos": public, "runs": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
