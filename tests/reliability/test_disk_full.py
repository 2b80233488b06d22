"""A full disk: the consumer notices, stops taking work, says so once (then once a minute),
and either stops with exit 1 (--burst) or waits and resumes by itself when space returns.
Nothing is lost. The data folder lives on a small tmpfs (root), a real full disk."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.jobs_helpers import scalar, settings_for, sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.fixture
def small_disk(tmpfs) -> Path:
    return tmpfs("2m")


@pytest.fixture
def world():
    with running_simulator(SimConfig(seed=9, channels=0, channel_sizes=[400])) as sim:
        yield sim


def enqueued(tubesensei_exe: list[str], world, data: Path) -> dict[str, str]:
    """The environment for ``data``, with the world's channel queued for discovery."""
    env = {**os.environ, **sim_environ(world.base_url, data),
           "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "0"}
    channel = world.world.channels[0].handle
    assert subprocess.run([*tubesensei_exe, "enqueue", "channel", channel], env=env,
                          capture_output=True, timeout=60).returncode == 0
    return env


def events(stderr: str) -> Counter[str]:
    import json

    out: Counter[str] = Counter()
    for line in stderr.splitlines():
        try:
            out[json.loads(line)["event"]] += 1
        except (ValueError, KeyError):
            out[line[:80]] += 1
    return out


def test_burst_on_a_full_disk_stops_with_one_line_and_loses_nothing(
    tubesensei_exe, world, small_disk: Path
) -> None:
    data = small_disk / "data"
    env = enqueued(tubesensei_exe, world, data)
    done = subprocess.run([*tubesensei_exe, "run-consumer", "--burst", "--workers", "4",
                           "--no-metrics"], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith("Error: stopped: the disk is full")
    seen = events(done.stderr)
    assert seen["the disk is full: no new work until there is space again"] == 1
    assert len(done.stderr.splitlines()) < 60, seen  # no spinning, no flood
    assert "Traceback" not in done.stderr and "Unhandled" not in done.stderr

    # Space comes back: a second run finishes everything; every job ran to an end once.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    again = subprocess.run([*tubesensei_exe, "run-consumer", "--burst", "--burst-wait", "1",
                            "--workers", "4", "--no-metrics"], env=env, capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    settings = settings_for(world.base_url, data)
    assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status NOT IN "
                            "('completed')") == 0
    assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status IN "
                            "('pending', 'queued', 'failed')") == 0
    assert scalar(settings, "SELECT count(*) FROM (SELECT video_id FROM transcripts "
                            "GROUP BY video_id HAVING count(*) > 1)") == 0


def test_a_service_waits_for_space_and_resumes_by_itself(tubesensei_exe, world,
                                                         small_disk: Path) -> None:
    data = small_disk / "data"
    env = enqueued(tubesensei_exe, world, data)
    log_file = small_disk.parent / "consumer.log"  # a file: a full pipe would block it
    consumer = subprocess.Popen([*tubesensei_exe, "run-consumer", "--workers", "4",
                                 "--no-metrics"], env=env, stdout=subprocess.DEVNULL,
                                stderr=log_file.open("w"), text=True)
    settings = settings_for(world.base_url, data)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            df = os.statvfs(small_disk)
            if df.f_bavail * df.f_frsize < 64 * 1024:
                break
            time.sleep(0.5)
        time.sleep(6)  # full for a while: the consumer must wait, not spin or exit
        assert consumer.poll() is None
        subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            left = scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status "
                                    "!= 'completed'")
            if left == 0:
                break
            time.sleep(1)
        stuck = scalar(settings, "SELECT group_concat(id || ':' || status) FROM "
                                 "processing_jobs WHERE status != 'completed'")
    finally:
        consumer.send_signal(2)
        consumer.wait(timeout=60)
    err = log_file.read_text()
    assert left == 0, (stuck, events(err))
    assert consumer.returncode == 0, err[-2000:]
    seen = events(err)
    assert seen["the disk is full: no new work until there is space again"] == 1
    assert seen["disk space is back: resuming work"] == 1
    assert seen["housekeeping step failed"] == 0 and "Traceback" not in err
    assert scalar(settings, "SELECT count(*) FROM videos WHERE transcript_status IN "
                            "('pending', 'queued', 'failed')") == 0
