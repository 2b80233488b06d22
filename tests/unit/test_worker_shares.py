"""A background queue (batch) gives way to the others: after each of its jobs it rests while
other queues have jobs running, so it keeps to its share of the consumer's time."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from tubesensei.jobs import worker
from tubesensei.jobs.registry import BATCH, DISCOVERY, QUEUE_SHARES, TRANSCRIPTS
from tubesensei.jobs.worker import WorkerPool


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(worker.time, "monotonic", c)
    return c


def pool(poll: float = 5.0) -> WorkerPool:
    system = SimpleNamespace(settings=SimpleNamespace(queue=SimpleNamespace(
        poll_interval_seconds=poll)))
    executor = SimpleNamespace(disk=None, limiter=SimpleNamespace(enabled=False))
    return WorkerPool(system, executor, [DISCOVERY, BATCH], threads=4,  # type: ignore[arg-type]
                      max_threads=8)


def may_take(p: WorkerPool, queue: str) -> bool:
    return p._may_take(queue, datetime.now(UTC))


def test_batch_rests_while_other_queues_work(clock: Clock) -> None:
    p = pool()
    share = QUEUE_SHARES[BATCH]
    p._running[DISCOVERY] = 2  # other jobs are running
    p._rest(BATCH, 0.3)  # a batch job took 0.3 s
    rest = 0.3 * (1 / share - 1)
    assert not may_take(p, BATCH)
    assert may_take(p, DISCOVERY)  # only the background queue waits
    # an idle thread sleeps no longer than the rest, then looks again
    assert p._idle_wait() == pytest.approx(rest)
    clock.now += rest - 0.01
    assert not may_take(p, BATCH)
    clock.now += 0.02
    assert may_take(p, BATCH)
    assert p._idle_wait() == 5.0  # the rest is over: back to the ordinary poll
    # the batch thread's share of the time: 0.3 s of work in every 0.3 + rest
    assert 0.3 / (0.3 + rest) == pytest.approx(share)


def test_batch_runs_flat_out_when_nothing_else_runs(clock: Clock) -> None:
    p = pool()
    p._rest(BATCH, 0.3)
    assert may_take(p, BATCH)
    # a rest that was set while others worked ends as soon as a batch job ends alone
    p._running[DISCOVERY] = 1
    p._rest(BATCH, 0.3)
    assert not may_take(p, BATCH)
    p._running[DISCOVERY] = 0
    clock.now += 0.7
    p._running[BATCH] = 0
    p._rest(BATCH, 0.1)
    assert may_take(p, BATCH)


def test_other_queues_never_rest(clock: Clock) -> None:
    p = pool()
    p._running[BATCH] = 1
    p._rest(DISCOVERY, 5.0)
    assert may_take(p, DISCOVERY)
    assert p._idle_wait() == 5.0
    assert TRANSCRIPTS not in QUEUE_SHARES and DISCOVERY not in QUEUE_SHARES
