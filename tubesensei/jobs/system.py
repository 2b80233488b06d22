"""The job system of one process: ledger, Huey queues, and how work gets submitted.

``submit`` is the only way work enters the system: ledger rows first (one transaction), then
the Huey messages (one transaction per queue), then a poke to wake idle consumers. A crash
between the two leaves rows without messages; the reaper re-queues those.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from tubesensei.config import Settings
from tubesensei.db.engine import create_sync_engine
from tubesensei.jobs.ledger import Created, JobSpec, Ledger
from tubesensei.jobs.queues import JOB_TYPES, TASK_NAMES, QueueApp, build_queue_app
from tubesensei.jobs.wakeup import poke
from tubesensei.logging import get_logger

log = get_logger(__name__)

# Priorities: bigger runs first within a queue.
PRIORITY_NEW_CHANNEL = 10
PRIORITY_USER_VIDEO = 5
PRIORITY_DEFAULT = 0
PRIORITY_RESCAN = -5


def make_worker_id() -> str:
    """host:pid:random — the reaper reads host and pid to recover a dead process's jobs."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobSystem:
    def __init__(self, settings: Settings, pool_size: int = 8) -> None:
        self.settings = settings
        self.engine = create_sync_engine(
            settings.database_url, settings.database.busy_timeout_ms, pool_size=pool_size
        )
        self.ledger = Ledger(self.engine)
        self._run: Callable[[str, int], Any] | None = None
        self.queues: QueueApp = build_queue_app(
            settings, {job_type: self._handler(job_type) for job_type in JOB_TYPES}
        )

    # Huey calls these with the job id; a consumer installs the function that runs jobs.
    def _handler(self, job_type: str) -> Callable[[int], Any]:
        def handler(job_id: int) -> Any:
            if self._run is None:
                raise RuntimeError("no executor installed: this process does not run jobs")
            return self._run(job_type, int(job_id))

        handler.__name__ = TASK_NAMES[job_type]
        return handler

    def install_executor(self, run: Callable[[str, int], Any] | None) -> None:
        self._run = run

    def submit(self, specs: Sequence[JobSpec]) -> list[Created]:
        """Create jobs (deduplicated against active ones) and queue a message for each new one."""
        created = self.ledger.create_many(specs)
        fresh = [c for c in created if c.created]
        self.send([(c.spec.job_type, c.job_id, c.spec.priority, None) for c in fresh])
        return created

    def send(self, messages: Sequence[tuple[str, int, int, datetime | None]]) -> None:
        """Queue Huey messages for existing ledger rows and wake the consumers."""
        if not messages:
            return
        task_ids = self.queues.enqueue_many(messages)
        self.ledger.set_task_ids(zip([m[1] for m in messages], task_ids, strict=True))
        self.wake()

    def wake(self) -> None:
        if self.settings.queue.backend == "sqlite":
            poke(self.settings.resolved_data_dir)

    def close(self) -> None:
        for huey in self.queues.hueys.values():
            storage = huey.storage
            close = getattr(storage, "close", None)
            if close is not None:
                close()
        self.engine.dispose()


def extract_spec(video_id: str, settings: Settings, priority: int = PRIORITY_DEFAULT,
                 session_id: int | None = None) -> JobSpec:
    return JobSpec("extract_transcript", video_id, JOB_TYPES["extract_transcript"], priority,
                   settings.limits.max_attempts, {}, session_id)


def discovery_spec(ref_text: str, settings: Settings, priority: int = PRIORITY_NEW_CHANNEL,
                   mode: str = "auto") -> JobSpec:
    return JobSpec("discover_channel", ref_text, JOB_TYPES["discover_channel"], priority,
                   settings.limits.max_attempts, {"mode": mode})
