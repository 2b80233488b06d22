"""TubeSensei on PostgreSQL + Redis, with consumers as separate processes ("machines": each
its own data folder), against the simulator. Servers: see conftest.py."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from itertools import pairwise
from pathlib import Path

import pytest

from tests.jobs_helpers import run_burst, settings_for, sim_environ
from tests.server.conftest import RedisQueue
from tubesensei.config import Settings
from tubesensei.jobs.system import JobSystem
from tubesensei.sim import SimConfig, running_simulator
from tubesensei.youtube.ids import parse_channel_ref

pytestmark = pytest.mark.server


def truth(sim) -> dict[str, str]:
    """What the corpus must say about every public video: done, unavailable or waiting."""
    out = {}
    for v in sim.world.videos:
        if not v.is_public:
            continue
        if v.kind in ("live", "upcoming"):
            out[v.video_id] = "waiting"
        else:
            out[v.video_id] = "unavailable" if v.unavailable_reason else "done"
    return out


def corpus_state(settings: Settings) -> dict[str, str]:
    from sqlalchemy import select

    from tubesensei.db.engine import Database
    from tubesensei.db.models import Video

    db = Database(settings.database_url)
    try:
        with db.read() as s:
            return dict(s.execute(select(Video.youtube_video_id, Video.transcript_status)).all())
    finally:
        db.dispose()


def sql(settings: Settings, statement: str) -> list[tuple]:
    from sqlalchemy import text

    from tubesensei.db.engine import create_sync_engine

    engine = create_sync_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(statement))]
    finally:
        engine.dispose()


def machine_env(sim, data: Path, server_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**os.environ, **sim_environ(sim.base_url, data), **server_env, **extra}


def consumer(exe: list[str], env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*exe, "run-consumer", "--workers", "4", "--no-metrics", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(predicate, timeout: float = 90.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached within {timeout}s")


def finished(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # What it was doing: every thread's stack (SIGUSR1), with the end of its log.
        proc.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"consumer still running after {timeout} s:\n{err[-8000:]}") from None
    assert proc.returncode == 0, err[-3000:]
    return out


# -- one machine ----------------------------------------------------------------------------


def test_init_and_the_same_migrations_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from tubesensei.db.engine import create_sync_engine
    from tubesensei.db.models import Base
    from tubesensei.db.schema import downgrade, ensure_schema, schema_state, upgrade

    state = ensure_schema(pg_url)
    assert state.up_to_date and state.current == state.head
    engine = create_sync_engine(pg_url)
    skip = {"transcript_chunks_fts"}
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_name": lambda n, t, p: not (t == "table" and n in skip),
            "include_object": lambda o, n, t, r, c: not (t == "column" and n == "tsv")
            and not (t == "index" and n == "ix_transcript_chunks_tsv"),
        })
        assert compare_metadata(ctx, Base.metadata) == []
    engine.dispose()
    downgrade(pg_url, "base")
    upgrade(pg_url)
    assert schema_state(pg_url).up_to_date


def test_the_pipeline_end_to_end(server_env: dict[str, str], tmp_path: Path) -> None:
    """Discovery, transcripts, search, stats, export and the TUI's reads, all on the servers."""
    with running_simulator(SimConfig(seed=31, channels=2, videos_per_channel=40)) as sim:
        settings = settings_for(sim.base_url, tmp_path / "d", **server_env)
        system = JobSystem(settings)
        try:
            system.enqueue_channels([parse_channel_ref(c.handle) for c in sim.world.channels])
            summary = run_burst(system, workers=4)
            assert summary.outcomes.get("failed", 0) == 0
            assert corpus_state(settings) == truth(sim)
            stats = system.stats()
            done = sum(1 for s in truth(sim).values() if s == "done")
            assert stats["jobs_by_status"]["failed"] == 0
            assert stats["jobs"]["extract_transcript"]["completed"] == done + sum(
                1 for s in truth(sim).values() if s == "unavailable")
            assert stats["queues"]["transcripts"]["queued_messages"] == 0

            from tubesensei.queries.search import search_page

            word = sim.world.videos_by_case("manual_en")[0].spoken_lines()[0].split()[-1]
            word = word.strip('".,!?')  # a word, not a half-open phrase
            hits, total = system.db.query(search_page, word.strip(".,!?"), limit=5)
            assert hits and total >= len(hits)
            assert all(h.link.startswith("https://youtu.be/") for h in hits)

            from tubesensei.tui.data import TuiData

            async def dashboard():
                data = TuiData(system)
                try:
                    return await data.dashboard()
                finally:
                    await data.aclose()

            d = asyncio.run(dashboard())  # psycopg's async mode, the same read queries
            assert d.corpus.transcripts == done and d.jobs_by_status["failed"] == 0
        finally:
            system.close()


def test_a_job_enqueued_elsewhere_wakes_an_idle_consumer_at_once(
    server_env: dict[str, str], tubesensei_exe: list[str], tmp_path: Path
) -> None:
    """Wake-ups cross machines through Redis: with a 30 s fallback poll, the job starts in
    well under a second."""
    with running_simulator(SimConfig(seed=32, channels=1, videos_per_channel=10)) as sim:
        env = machine_env(sim, tmp_path / "a", server_env,
                          TUBESENSEI_QUEUE__POLL_INTERVAL_SECONDS="30")
        settings = settings_for(sim.base_url, tmp_path / "b", **server_env)
        proc = consumer(tubesensei_exe, env)
        try:
            wait_for(lambda: sql(settings, "SELECT count(*) FROM consumers "
                                           "WHERE stopped_at IS NULL")[0][0] == 1,
                     what="the consumer registered")
            time.sleep(1.5)  # idle: its workers sleep on the 30 s poll
            video = sim.world.videos_by_case("manual_en")[0].video_id
            system = JobSystem(settings)
            try:
                queued = time.time()
                system.enqueue_videos([video])
                wait_for(lambda: sql(settings, "SELECT started_at FROM processing_jobs")[0][0]
                         is not None, timeout=10, what="the job started")
            finally:
                system.close()
            started = sql(settings, "SELECT started_at FROM processing_jobs")[0][0]
            assert started.timestamp() - queued < 1.0
        finally:
            proc.send_signal(signal.SIGTERM)
            finished(proc, 60)


# -- two machines ---------------------------------------------------------------------------


def test_two_machines_share_the_work_each_job_once_and_the_rate_limit(
    server_env: dict[str, str], tubesensei_exe: list[str], tmp_path: Path
) -> None:
    with running_simulator(SimConfig(seed=33, channels=3, videos_per_channel=30,
                                     latency_ms=20)) as sim:
        extra = {"TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "300"}  # a slot every 0.2 s
        settings = settings_for(sim.base_url, tmp_path / "a", **server_env, **extra)
        a = machine_env(sim, tmp_path / "a", server_env, **extra)
        b = machine_env(sim, tmp_path / "b", server_env, **extra)
        subprocess.run([*tubesensei_exe, "enqueue", "channel",
                        *(c.handle for c in sim.world.channels)], env=a, check=True,
                       capture_output=True)
        first = consumer(tubesensei_exe, a, "--burst", "--burst-wait", "3")
        second = consumer(tubesensei_exe, b, "--burst", "--burst-wait", "3")
        finished(first)
        finished(second)
        assert corpus_state(settings) == truth(sim)
        (claims,) = sql(settings, "SELECT max(attempts), count(*) FROM processing_jobs "
                                  "WHERE status = 'completed'")
        assert claims[0] == 1  # no job ran twice
        workers = sql(settings, "SELECT DISTINCT split_part(worker_id, ':', 2) "
                                "FROM processing_jobs")
        assert len(workers) == 2  # both machines worked
        assert sql(settings, "SELECT count(*) - count(DISTINCT video_id) "
                             "FROM transcripts")[0][0] == 0
        # The rate limit held across both: transcript fetches, as YouTube saw them begin.
        starts = sorted(e["t"] - e["ms"] / 1000 for e in sim.stats()["request_log"]
                        if e["endpoint"] == "watch")
        gaps = [b - a for a, b in pairwise(starts)]
        assert len(starts) >= 40
        assert sorted(gaps)[len(gaps) // 2] >= 0.17, gaps  # the median: a slot
        assert starts[-1] - starts[0] >= (len(starts) - 1) * 0.2 - 1.0


def test_kill9_of_one_machine_and_the_other_finishes_everything(
    server_env: dict[str, str], tubesensei_exe: list[str], tmp_path: Path
) -> None:
    with running_simulator(SimConfig(seed=34, channels=2, videos_per_channel=40,
                                     latency_ms=40)) as sim:
        settings = settings_for(sim.base_url, tmp_path / "a", **server_env)
        a = machine_env(sim, tmp_path / "a", server_env)
        b = machine_env(sim, tmp_path / "b", server_env)
        subprocess.run([*tubesensei_exe, "enqueue", "channel",
                        *(c.handle for c in sim.world.channels)], env=a, check=True,
                       capture_output=True)
        victim = consumer(tubesensei_exe, a)
        survivor = consumer(tubesensei_exe, b, "--burst", "--burst-wait", "5")
        wait_for(lambda: sql(settings, "SELECT count(*) FROM transcripts")[0][0] >= 10,
                 what="ten transcripts")
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=30)
        out = finished(survivor, 240)
        assert "consumer stopped" in out
        assert corpus_state(settings) == truth(sim)
        assert sql(settings, "SELECT count(*) FROM processing_jobs "
                             "WHERE status IN ('running', 'pending', 'failed')")[0][0] == 0
        assert sql(settings, "SELECT count(*) - count(DISTINCT video_id) "
                             "FROM transcripts")[0][0] == 0


# -- outages --------------------------------------------------------------------------------

PG_RESTART = ["pg_ctlcluster", "--skip-systemctl-redirect", "{version}", "main", "restart"]
REDIS_START = ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port",
               "6379", "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
               "--logfile", "/var/log/redis/ci.log"]


def _restartable(pg_url: str, redis: RedisQueue) -> str | None:
    """Why the local servers cannot be restarted from here (None: they can)."""
    if os.geteuid() != 0:
        return "restarting the servers needs root"
    if not (shutil.which("pg_ctlcluster") and shutil.which("redis-server")
            and Path("/etc/postgresql").is_dir()):
        return "pg_ctlcluster or redis-server not installed"
    if "127.0.0.1" not in pg_url and "localhost" not in pg_url:
        return "the test PostgreSQL is not this machine's"
    if ":6379" not in redis.url or "127.0.0.1" not in redis.url:
        return "the test Redis is not this machine's 127.0.0.1:6379"
    return None


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run([p.format(version=version) for p in PG_RESTART], check=True,
                   capture_output=True, timeout=120)


def _restart_redis() -> None:
    subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                   capture_output=True, timeout=30)
    time.sleep(1.0)  # an outage, not just a blink
    subprocess.run(REDIS_START, check=True, capture_output=True, timeout=30)
    import redis

    wait_for(lambda: _pings(redis), timeout=30, what="Redis back")


def _pings(redis) -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379).ping())
    except redis.RedisError:
        return False


def test_a_consumer_survives_postgresql_and_redis_restarts(
    pg_url: str, redis_queue: RedisQueue, server_env: dict[str, str],
    tubesensei_exe: list[str], tmp_path: Path
) -> None:
    """Mid-run, PostgreSQL restarts (every connection dropped), then Redis restarts (and,
    keeping nothing on disk, loses every queued message): the consumer rides both out and
    finishes the work, nothing lost, nothing done twice."""
    why = _restartable(pg_url, redis_queue)
    if why is not None:
        pytest.skip(f"server test: {why}")
    with running_simulator(SimConfig(seed=35, channels=2, videos_per_channel=40,
                                     latency_ms=40)) as sim:
        settings = settings_for(sim.base_url, tmp_path / "a", **server_env)
        env = machine_env(sim, tmp_path / "a", server_env)
        subprocess.run([*tubesensei_exe, "enqueue", "channel",
                        *(c.handle for c in sim.world.channels)], env=env, check=True,
                       capture_output=True)
        proc = consumer(tubesensei_exe, env, "--burst", "--burst-wait", "10")
        try:
            wait_for(lambda: sql(settings, "SELECT count(*) FROM transcripts")[0][0] >= 5,
                     what="five transcripts")
            _restart_postgres()
            wait_for(lambda: sql(settings, "SELECT count(*) FROM transcripts")[0][0] >= 15,
                     what="work going on after the PostgreSQL restart")
            _restart_redis()
            out = finished(proc, 300)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "consumer stopped" in out
        assert corpus_state(settings) == truth(sim)
        assert sql(settings, "SELECT count(*) FROM processing_jobs "
                             "WHERE status IN ('running', 'pending', 'failed')")[0][0] == 0
        assert sql(settings, "SELECT count(*) - count(DISTINCT video_id) "
                             "FROM transcripts")[0][0] == 0
