"""Discovery throughput: resolve a 5,000-video simulated channel, page its uploads and fetch
every video's details at zero latency.

    .venv/bin/python -m benchmarks.discovery [--videos 5000]

Two rows: the YouTube layer alone (DataApiClient: channels.list, playlistItems.list pages,
videos.list batches), and the whole service (pipeline.discovery.discover_channel, storing
every video into a temporary SQLite database, one transaction per page). Target (issue 3):
at least 30,000 videos a minute, and exactly 1 + 2 x ceil(N/50) quota units for N playlist
rows (private and deleted rows take places on the pages too). One untimed pass first warms
the simulator's response cache, so the figures are our side's cost, not the fake's.
"""

from __future__ import annotations

import argparse
import math
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--videos", type=int, default=5000, help="playlist rows of the channel")
    args = parser.parse_args(argv)
    rows_in_playlist = args.videos
    expected_units = 1 + 2 * math.ceil(rows_in_playlist / 50)
    results = []
    with running_simulator(SimConfig(seed=1, channel_sizes=[rows_in_playlist])) as sim:
        channel = sim.world.channels[0]
        public = sum(1 for v in channel.videos if v.is_public)
        handle = channel.handle.lstrip("@")
        _client_run(sim, handle)  # untimed: warms the simulator's response cache
        results.append(_client_run(sim, handle))
        with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
            results.append(_pipeline_run(sim, handle, Path(tmp)))
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
    path = write_results("discovery", {"playlist_rows": rows_in_playlist,
                                       "public_videos": public, "runs": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
