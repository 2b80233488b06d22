"""Helpers for tests that run the job system against the simulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tubesensei.config import Settings, load_settings
from tubesensei.db.engine import create_sync_engine
from tubesensei.db.schema import ensure_schema
from tubesensei.jobs.consumer import Consumer, ConsumerSummary
from tubesensei.jobs.system import JobSystem


def sim_environ(base_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "TUBESENSEI_DATA_DIR": str(data_dir),
        "TUBESENSEI_YOUTUBE__API_ENDPOINT": base_url,
        "TUBESENSEI_YOUTUBE__WEB_BASE_URL": base_url,
        "TUBESENSEI_YOUTUBE__API_KEY": "sim-key-123456",
        "TUBESENSEI_LIMITS__TRANSCRIPTS_PER_MINUTE": "0",
        "TUBESENSEI_LIMITS__RETRY_BASE_SECONDS": "0.05",
        "TUBESENSEI_LIMITS__RETRY_MAX_SECONDS": "0.2",
        "TUBESENSEI_QUEUE__POLL_INTERVAL_SECONDS": "0.2",
        "TUBESENSEI_METRICS__PORT": "0",  # tests run side by side: never a fixed port
    }
    env.update(extra)
    return env


def settings_for(base_url: str, data_dir: Path, **extra: str) -> Settings:
    settings = load_settings(environ=sim_environ(base_url, data_dir, **extra)).settings
    ensure_schema(settings.database_url)
    return settings


def run_burst(system: JobSystem, workers: int = 4, burst_wait: float = 1.0,
              timeout: float = 120.0) -> ConsumerSummary:
    """Run a burst consumer in a thread (no signal handlers) and wait for it."""
    # Periodic tasks off: a run that crosses a minute boundary must not rescan by itself.
    consumer = Consumer(system, workers=workers, burst=True, burst_wait=burst_wait,
                        grace_seconds=5, periodic_tasks=False)
    out: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: out.setdefault("s", consumer.run(False)))
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        consumer.stop()
        thread.join(30)
        raise AssertionError("burst consumer did not finish in time")
    return out["s"]


@contextmanager
def running_consumer(system: JobSystem, **kwargs: Any) -> Iterator[Consumer]:
    kwargs.setdefault("periodic_tasks", False)
    consumer = Consumer(system, **kwargs)
    consumer.start()
    try:
        yield consumer
    finally:
        consumer.shutdown()


def query(settings: Settings, sql: str, **params: Any) -> list[tuple]:
    engine = create_sync_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(settings: Settings, sql: str, **params: Any) -> Any:
    return query(settings, sql, **params)[0][0]
