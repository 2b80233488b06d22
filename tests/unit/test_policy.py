"""The one place that decides what an error means for a job (jobs/policy.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from tubesensei.config import LimitSettings
from tubesensei.jobs.policy import (
    CommandRetry,
    JobCancelled,
    JobInterrupted,
    SoftTimeLimit,
    backoff_delay,
    decide,
)
from tubesensei.youtube.errors import (
    Blocked,
    ConfigurationError,
    Permanent,
    QuotaExhausted,
    Transient,
    UnavailableReason,
)

LIMITS = LimitSettings(retry_base_seconds=10, retry_max_seconds=300, retry_jitter=0.1)


def test_backoff_doubles_per_attempt_within_the_jitter() -> None:
    rng = random.Random(1)
    for attempt, base in ((1, 10), (2, 20), (3, 40), (4, 80), (5, 160)):
        for _ in range(50):
            delay = backoff_delay(attempt, LIMITS, rng)
            assert base * 0.9 <= delay <= base * 1.1, (attempt, delay)


def test_backoff_is_capped_and_never_negative() -> None:
    rng = random.Random(2)
    assert all(270 <= backoff_delay(a, LIMITS, rng) <= 330 for a in range(6, 40))
    no_jitter = LimitSettings(retry_base_seconds=1, retry_max_seconds=5, retry_jitter=0)
    assert [backoff_delay(a, no_jitter) for a in (0, 1, 2, 3, 4)] == [1, 1, 2, 4, 5]


def test_jitter_spreads_retries() -> None:
    rng = random.Random(3)
    delays = {round(backoff_delay(3, LIMITS, rng), 3) for _ in range(20)}
    assert len(delays) > 15  # a herd of jobs failing together does not come back together


def test_transient_errors_retry_until_the_attempts_are_used() -> None:
    rng = random.Random(4)
    d = decide(Transient("HTTP 503"), 1, 5, LIMITS, rng)
    assert (d.action, d.error_class, d.refund_attempt) == ("retry", "transient", False)
    assert 9 <= d.delay <= 11 and d.message == "HTTP 503"
    last = decide(Transient("HTTP 503"), 5, 5, LIMITS, rng)
    assert (last.action, last.error_class) == ("fail", "transient")
    assert last.message == "HTTP 503 (after 5 attempts)"


def test_permanent_errors_end_at_once_with_their_reason() -> None:
    d = decide(Permanent(UnavailableReason.TRANSCRIPTS_DISABLED), 1, 5, LIMITS)
    assert (d.action, d.error_class) == ("fail", "transcripts_disabled")
    config = decide(ConfigurationError("API key invalid"), 1, 5, LIMITS)
    assert (config.action, config.error_class, config.message) == (
        "fail", "configuration", "API key invalid")


def test_quota_exhausted_pauses_until_the_reset_and_refunds_the_attempt() -> None:
    resets = datetime.now(UTC) + timedelta(hours=3)
    d = decide(QuotaExhausted(resets), 5, 5, LIMITS)  # even on the last attempt
    assert (d.action, d.error_class, d.until, d.refund_attempt) == (
        "pause_queue", "quota_exhausted", resets, True)
    assert 3 * 3600 - 5 < d.delay <= 3 * 3600
    past = decide(QuotaExhausted(datetime.now(UTC) - timedelta(seconds=5)), 1, 5, LIMITS)
    assert past.delay == 0.0


def test_blocked_opens_the_breaker_without_using_an_attempt() -> None:
    d = decide(Blocked("HTTP 429", retry_after=30), 5, 5, LIMITS)
    assert (d.action, d.error_class, d.refund_attempt) == ("open_breaker", "blocked", True)


def test_checkpoint_exceptions() -> None:
    put_back = decide(JobInterrupted("consumer shutting down"), 3, 5, LIMITS)
    assert (put_back.action, put_back.error_class, put_back.refund_attempt) == (
        "put_back", "interrupted", True)
    assert decide(JobCancelled(), 1, 5, LIMITS).action == "cancel"
    soft = decide(SoftTimeLimit("soft time limit of 120s reached"), 1, 5, LIMITS)
    assert (soft.action, soft.error_class) == ("retry", "timeout")
    assert decide(SoftTimeLimit("x"), 5, 5, LIMITS).action == "fail"


@pytest.mark.parametrize("exc", [KeyError("video"), RuntimeError("boom"), ValueError("bad")])
def test_a_bug_is_internal_and_retried_like_a_transient_error(exc: Exception) -> None:
    d = decide(exc, 1, 3, LIMITS, random.Random(5))
    assert (d.action, d.error_class) == ("retry", "internal")
    assert d.message.startswith(type(exc).__name__ + ": ")
    assert decide(exc, 3, 3, LIMITS).action == "fail"


def test_a_database_outage_retries_without_using_an_attempt() -> None:
    from sqlalchemy.exc import OperationalError

    exc = OperationalError("INSERT ...", {}, Exception("server closed the connection"))
    d = decide(exc, 5, 5, LIMITS, random.Random(6))  # even on the last attempt
    assert (d.action, d.error_class, d.refund_attempt) == ("retry", "database_unavailable", True)
    assert 9 <= d.delay <= 11


# -- a command's retries (channels add / sync call YouTube at once) ---------------------------


class Flaky:
    """Fails with ``errors`` in turn, then answers "ok"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def test_a_command_retries_transient_failures_with_the_jobs_backoff() -> None:
    waits: list[float] = []
    limits = LimitSettings(max_attempts=5, retry_base_seconds=1, retry_jitter=0)
    retry = CommandRetry(limits, max_wait=60, sleep=waits.append)
    assert retry(Flaky(Transient("HTTP 500"), Transient("HTTP 503"))) == "ok"
    assert retry.attempts == 3 and waits == [1, 2]  # backoff_delay(1), backoff_delay(2)
    assert retry(lambda: "ok") == "ok" and retry.attempts == 1


def test_a_command_gives_up_after_max_attempts_or_at_once_when_not_transient() -> None:
    waits: list[float] = []
    retry = CommandRetry(LimitSettings(max_attempts=3, retry_base_seconds=0.5, retry_jitter=0),
                         sleep=waits.append)
    failing = Flaky(*(Transient("HTTP 500") for _ in range(5)))
    with pytest.raises(Transient, match="HTTP 500"):
        retry(failing)
    assert (failing.calls, retry.attempts, waits) == (3, 3, [0.5, 1.0])
    for error in (Permanent("channel_not_found"), ConfigurationError("bad key"),
                  QuotaExhausted(datetime.now(UTC))):
        once = Flaky(error)
        with pytest.raises(type(error)):
            retry(once)
        assert once.calls == 1 and retry.attempts == 1


def test_a_commands_waits_add_up_to_at_most_max_wait() -> None:
    waits: list[float] = []
    limits = LimitSettings(max_attempts=10, retry_base_seconds=4, retry_jitter=0)
    retry = CommandRetry(limits, max_wait=10, sleep=waits.append)
    with pytest.raises(Transient):
        retry(Flaky(*(Transient("down") for _ in range(10))))
    assert waits == [4, 6] and retry.attempts == 3  # 4 + 8 capped to what is left
    # The budget is the command's: the next call gets no more waiting.
    again = Flaky(Transient("down"))
    with pytest.raises(Transient):
        retry(again)
    assert again.calls == 1 and waits == [4, 6]
    # Zero delays (retry_base_seconds = 0) never use the budget up.
    quick = CommandRetry(LimitSettings(max_attempts=4, retry_base_seconds=0), max_wait=0,
                         sleep=waits.append)
    assert quick(Flaky(Transient("a"), Transient("b"))) == "ok" and quick.attempts == 3
