"""A no-op job type for the queue benchmark, registered in a test-only way (no product code).

``register()`` adds the job type ``bench_noop`` (queue ``batch``) to the job-type registry
before a ``JobSystem`` is built; its task returns the wall-clock time it started, which
the ledger stores as the job's result. Run as a module it is a consumer process like
``tubesensei run-consumer`` (same Consumer, logging as JSON lines to stderr) that also serves
the no-op job type:

    TUBESENSEI_DATA_DIR=/tmp/x .venv/bin/python -m benchmarks.queue_noop --workers 4 [--burst]
        [--queue discovery --queue batch]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

NOOP = "bench_noop"
NOOP_QUEUE = "discovery"  # no rate limit, no cap below --workers: the job system alone
# Another queue for the no-op jobs (both sides must agree: the consumer subprocess reads it
# from its environment), e.g. "discovery" while batch jobs fill "batch".
QUEUE_ENV = "BENCH_NOOP_QUEUE"  # not TUBESENSEI_*: the config rejects unknown names


def noop_task(_ctx: Any) -> dict[str, Any]:
    return {"t": time.time()}


def register(queue: str | None = None) -> None:
    """Make ``bench_noop`` a job type: call before building a JobSystem (producer and consumer).
    Its queue: ``queue``, else $BENCH_NOOP_QUEUE, else ``batch``."""
    from tubesensei.jobs import registry, tasks

    queue = queue or os.environ.get(QUEUE_ENV) or NOOP_QUEUE
    registry.JOB_TYPES[NOOP] = registry.JobType(NOOP, queue, "bench_noop", "noop")
    tasks.TASKS[NOOP] = noop_task


def noop_spec(key: str) -> Any:
    from tubesensei.jobs.ledger import JobSpec
    from tubesensei.jobs.registry import JOB_TYPES

    return JobSpec(NOOP, key, JOB_TYPES[NOOP].queue, 0, 1, {})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="a run-consumer that also runs no-op jobs")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--burst-wait", type=float, default=0.0)
    parser.add_argument("--queue", action="append", default=None,
                        help="serve only these queues (repeatable; default: all)")
    args = parser.parse_args(argv)

    register()
    from tubesensei.app import Runtime
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.jobs.registry import QUEUES
    rt = Runtime.load()
    rt.setup_logging(to_stderr=True)
    try:
        consumer = Consumer(rt.jobs(), workers=args.workers, burst=args.burst,
                            burst_wait=args.burst_wait, grace_seconds=5.0,
                            queues=args.queue or QUEUES)
        summary = consumer.run()
    finally:
        rt.close()
    print(f"consumer stopped after {summary.elapsed_s:.1f}s: {summary.outcomes}", file=sys.stderr)


if __name__ == "__main__":
    main()
