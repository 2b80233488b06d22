"""kill -9 a consumer at any moment: nothing is lost, nothing is done twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.jobs_helpers import query, scalar, settings_for, sim_environ
from tubesensei.sim import SimConfig, running_simulator


def consumer(exe: list[str], env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*exe, "run-consumer", "--workers", "4", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def assert_the_truth(settings, channel) -> None:
    """The corpus is exactly the simulator's channel: every public video stored, a
    transcript once for each captioned one, and no job left unfinished."""
    public = {v.video_id for v in channel.videos if v.is_public}
    captioned = {v.video_id for v in channel.videos if v.is_public
                 and v.kind not in ("live", "upcoming") and not v.unavailable_reason}
    stored = {r[0] for r in query(settings, "SELECT youtube_video_id FROM videos")}
    done = {r[0] for r in query(settings, "SELECT v.youtube_video_id FROM videos v "
                                          "JOIN transcripts t ON t.video_id = v.id")}
    assert stored == public and done == captioned
    assert scalar(settings, "SELECT count(*) FROM transcripts") == len(captioned)
    assert scalar(settings, "SELECT count(*) FROM processing_jobs "
                            "WHERE status NOT IN ('completed')") == 0


@pytest.mark.slow
@pytest.mark.parametrize("kill_after_done", [0, 12])
def test_kill9_midway_then_restart_ends_identically(
    tubesensei_exe: list[str], tmp_path: Path, kill_after_done: int
) -> None:
    with running_simulator(SimConfig(seed=5, channels=1, videos_per_channel=60,
                                     latency_ms=25)) as sim:
        data = tmp_path / "data"
        env = {**os.environ, **sim_environ(sim.base_url, data)}
        settings = settings_for(sim.base_url, data)
        channel = sim.world.channels[0]
        out = subprocess.run([*tubesensei_exe, "enqueue", "channel", channel.handle], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr

        first = consumer(tubesensei_exe, env)
        if kill_after_done:
            wait_for(lambda: scalar(settings, "SELECT count(*) FROM transcripts") >= kill_after_done)
        else:  # in the middle of discovery: the job is running, nothing stored yet
            wait_for(lambda: scalar(settings, "SELECT count(*) FROM processing_jobs "
                                              "WHERE status='running'") >= 1)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        running = scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='running'")
        assert running >= 1, "the kill should leave running jobs behind"

        second = consumer(tubesensei_exe, env, "--burst", "--burst-wait", "2")
        stdout, stderr = second.communicate(timeout=180)
        assert second.returncode == 0, stderr[-2000:]
        assert "consumer stopped" in stdout

        assert_the_truth(settings, channel)
        # Killed attempts were refunded: nothing looks like it failed.
        assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1


@pytest.mark.slow
def test_repeated_kill9_at_random_moments_ends_at_the_truth(tubesensei_exe: list[str],
                                                          tmp_path: Path) -> None:
    """Five consumers killed with -9 at random moments (discovery, transcripts, commits),
    then one that finishes: the corpus is exactly the simulator's truth, each transcript
    once, no job stuck, no attempt charged for a kill, discovery not paid twice."""
    import random

    rng = random.Random(20261202)
    with running_simulator(SimConfig(seed=8, channels=1, channel_sizes=[250],
                                     latency_ms=10)) as sim:
        data = tmp_path / "data"
        env = {**os.environ, **sim_environ(sim.base_url, data)}
        settings = settings_for(sim.base_url, data)
        channel = sim.world.channels[0]
        assert subprocess.run([*tubesensei_exe, "enqueue", "channel", channel.handle],
                              env=env, capture_output=True, timeout=60).returncode == 0
        for _ in range(5):
            victim = consumer(tubesensei_exe, env)
            time.sleep(rng.uniform(0.8, 3.0))
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
        last = consumer(tubesensei_exe, env, "--burst", "--burst-wait", "2")
        _, stderr = last.communicate(timeout=300)
        assert last.returncode == 0, stderr[-2000:]

        assert_the_truth(settings, channel)
        assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1
        # Discovery resumed where it stopped: each playlist page listed at most twice
        # (once more for a page in flight at a kill), never once per consumer.
        pages = -(-len(channel.videos) // 50)
        assert sim.stats()["requests"]["playlistItems.list"] <= pages + 5


def _channel_queued(sim, exe: list[str], tmp_path: Path):
    """The environment and settings of a data folder with the sim's channel queued."""
    data = tmp_path / "data"
    env = {**os.environ, **sim_environ(sim.base_url, data)}
    subprocess.run([*exe, "enqueue", "channel", sim.world.channels[0].handle],
                   env=env, check=True, capture_output=True, timeout=60)
    return env, settings_for(sim.base_url, data)


def _consumer_running_a_job(exe: list[str], env: dict[str, str], settings, *args: str):
    """A consumer process, once it runs a job."""
    proc = consumer(exe, env, *args)
    wait_for(lambda: scalar(settings, "SELECT count(*) FROM processing_jobs "
                                      "WHERE status='running'") >= 1)
    return proc


@pytest.mark.slow
def test_sigterm_is_graceful_and_a_second_signal_exits_at_once(
    tubesensei_exe: list[str], tmp_path: Path
) -> None:
    with running_simulator(SimConfig(seed=6, channels=1, videos_per_channel=40,
                                     latency_ms=300)) as sim:
        env, settings = _channel_queued(sim, tubesensei_exe, tmp_path)
        proc = _consumer_running_a_job(tubesensei_exe, env, settings, "--grace", "1")
        proc.send_signal(signal.SIGTERM)
        _stdout, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr[-2000:]
        assert "Traceback" not in stderr
        assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status='running'") == 0

        proc = _consumer_running_a_job(tubesensei_exe, env, settings, "--grace", "30")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
        assert proc.returncode == 130 and time.monotonic() - started < 5


def test_sigusr1_prints_every_threads_stack_and_the_consumer_goes_on(
    tubesensei_exe: list[str], tmp_path: Path
) -> None:
    """`kill -USR1` on a consumer that seems stuck shows what each thread waits on."""
    with running_simulator(SimConfig(seed=7, channels=1, videos_per_channel=20,
                                     latency_ms=100)) as sim:
        env, settings = _channel_queued(sim, tubesensei_exe, tmp_path)
        proc = _consumer_running_a_job(tubesensei_exe, env, settings, "--burst",
                                       "--burst-wait", "1")
        proc.send_signal(signal.SIGUSR1)
        _stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr[-2000:]  # it went on to the end of its burst
        # faulthandler's dump: "Thread 0x..." per thread ("Current thread 0x..." for the one
        # that took the signal, if any): the main thread and four workers at least.
        assert stderr.count("hread 0x") >= 5, stderr[-3000:]
        stacks = stderr[stderr.find("hread 0x"):]
        assert "tubesensei/jobs/" in stacks, stacks[:3000]  # the workers' own frames
        assert scalar(settings, "SELECT count(*) FROM processing_jobs "
                                "WHERE status != 'completed'") == 0


@pytest.mark.slow
def test_two_consumer_processes_cooperate(tubesensei_exe: list[str], tmp_path: Path) -> None:
    """Two run-consumer processes on one data folder: every job runs once, no lock errors."""
    with running_simulator(SimConfig(seed=8, channels=2, videos_per_channel=50,
                                     latency_ms=10)) as sim:
        data = tmp_path / "data"
        env = {**os.environ, **sim_environ(sim.base_url, data)}
        settings = settings_for(sim.base_url, data)
        handles = [c.handle for c in sim.world.channels]
        subprocess.run([*tubesensei_exe, "enqueue", "channel", *handles], env=env, check=True,
                       capture_output=True, timeout=60)
        sim.reset_stats()
        procs = [consumer(tubesensei_exe, env, "--burst", "--burst-wait", "2") for _ in range(2)]
        outputs = [p.communicate(timeout=180) for p in procs]
        for p, (_out, err) in zip(procs, outputs, strict=True):
            assert p.returncode == 0, err[-2000:]
            assert "database is locked" not in err and "Traceback" not in err
        # Both did part of the work, and no job ran twice.
        assert all("completed" in out for out, _err in outputs), outputs
        assert scalar(settings, "SELECT max(attempts) FROM processing_jobs") == 1
        assert scalar(settings, "SELECT count(*) FROM processing_jobs "
                                "WHERE status != 'completed'") == 0
        extracts = scalar(settings, "SELECT count(*) FROM processing_jobs "
                                    "WHERE job_type='extract_transcript'")
        assert sim.stats()["requests"].get("player", 0) == extracts
