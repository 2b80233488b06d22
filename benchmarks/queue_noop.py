"""A no-op job type for the queue benchmark, registered in a test-only way (no product code).

``register()`` adds the job type ``bench_noop`` (queue ``batch``) to the job-type registry
before a ``JobSystem`` is built; its task returns the wall-clock time it started, which
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
    from tubesensei.jobs import registry, tasks

    registry.JOB_TYPES[NOOP] = registry.JobType(NOOP, NOOP_QUEUE, "bench_noop", "noop")
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
    rt = Runtime.load()
    rt.setup_logging(to_stderr=True)
    try:
        consumer = Consumer(rt.jobs(), workers=args.workers, burst=args.burst,
                            burst_wait=args.burst_wait, grace_seconds=5.0)
        summary = consumer.run()
    finally:
        rt.close()
    print(f"consumer stopped after {summary.elapsed_s:.1f}s: {summary.outcomes}", file=sys.stderr)


if __name__ == "__main__":
    main()
