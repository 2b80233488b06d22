"""A no-op job type for the queue benchmark, registered in a test-only way (no product code).

``register()`` adds the job type ``bench_noop`` (queue ``batch``) to the job system's
tables before a ``JobSystem`` is built; its task returns the wall-clock time it started, which
the ledger stores as the job's result. Run as a module it is a consumer process like
``tubesensei run-consumer`` (same Consumer, logging as JSON lines to stderr) that also serves
the no-op job type:

    TUBESENSEI_DATA_DIR=/tmp/x .venv/bin/python -m benchmarks.queue_noop --workers 4 [--burst]
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

NOOP = "bench_noop"
NOOP_QUEUE = "batch"  # no rate limit on it: a no-op measures the job system alone


def noop_task(_ctx: Any) -> dict[str, Any]:
    return {"t": time.time()}


def register() -> None:
    """Make ``bench_noop`` a job type: call before building a JobSystem (producer and consumer)."""
    from tubesensei.jobs import queues, tasks

    queues.JOB_TYPES[NOOP] = NOOP_QUEUE
    queues.TASK_NAMES[NOOP] = "bench_noop"
    tasks.TASKS[NOOP] = noop_task


def noop_spec(key: str) -> Any:
    from tubesensei.jobs.ledger import JobSpec

    return JobSpec(NOOP, key, NOOP_QUEUE, 0, 1, {})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a run-consumer that also runs no-op jobs")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--burst-wait", type=float, default=0.0)
    args = parser.parse_args(argv)

    register()
    from tubesensei.app import Runtime
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.jobs.system import JobSystem

    rt = Runtime.load()
    rt.setup_logging(to_stderr=True)
    rt.ensure_schema()
    system = JobSystem(rt.settings)
    try:
        consumer = Consumer(system, workers=args.workers, burst=args.burst,
                            burst_wait=args.burst_wait, grace_seconds=5.0)
        summary = consumer.run()
    finally:
        system.close()
    print(f"consumer stopped after {summary.elapsed_s:.1f}s: {summary.outcomes}", file=sys.stderr)


if __name__ == "__main__":
    main()
