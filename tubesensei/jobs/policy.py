"""The one place that decides what an error means for a job: retry, give up, or pause.

Errors arrive already classified by the YouTube layer (youtube/errors.py); a job checkpoint
may raise one of the control exceptions below. Nothing else in the job system inspects errors.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, TypeVar

from tubesensei.config import LimitSettings
from tubesensei.jobs.diskspace import is_disk_full
from tubesensei.logging import get_logger
from tubesensei.youtube.errors import (
    Blocked,
    ConfigurationError,
    Permanent,
    QuotaExhausted,
    Transient,
    YouTubeError,
)

log = get_logger(__name__)
T = TypeVar("T")


class JobInterrupted(Exception):
    """Raised at a checkpoint: the job must stop now and be put back (shutdown)."""


class JobCancelled(Exception):
    """Raised at a checkpoint: somebody cancelled this job."""


class SoftTimeLimit(Exception):
    """Raised at a checkpoint: the job ran past its soft time limit."""


Action = Literal["retry", "fail", "cancel", "put_back", "pause_queue", "open_breaker"]


@dataclass(frozen=True)
class Decision:
    action: Action
    error_class: str
    message: str
    delay: float = 0.0
    refund_attempt: bool = False
    until: datetime | None = None


def backoff_delay(attempt: int, limits: LimitSettings, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter and a cap: base·2^(attempt-1), ± jitter."""
    base = limits.retry_base_seconds * (2 ** max(0, attempt - 1))
    capped = min(base, limits.retry_max_seconds)
    jitter = (rng or random).uniform(-limits.retry_jitter, limits.retry_jitter)
    return max(0.0, capped * (1 + jitter))


# A person waits for a command that calls YouTube at once (channels add, channels sync): its
# retries of transient failures stop at this much waiting in all.
COMMAND_RETRY_WAIT_SECONDS = 60.0


def _wait(seconds: float) -> None:
    time.sleep(seconds)


class CommandRetry:
    """Retries for a command that calls YouTube at once, as a job's would be: a transient
    failure (youtube/errors.py) is tried again after ``backoff_delay``, up to
    ``limits.max_attempts`` attempts per call, while the command's waits add up to at most
    ``max_wait`` seconds (the last wait is shortened to fit; then the failure stands).
    Anything else (not found, quota, configuration) is raised at once.

    ``attempts`` is how many attempts the last call made (for "failed after N attempts").
    """

    def __init__(self, limits: LimitSettings, max_wait: float = COMMAND_RETRY_WAIT_SECONDS,
                 sleep: Callable[[float], None] | None = None) -> None:
        self.limits = limits
        self.max_wait = max_wait
        self.waited = 0.0
        self.attempts = 0
        self._sleep = sleep or _wait

    def __call__(self, fn: Callable[[], T]) -> T:
        self.attempts = 0
        while True:
            self.attempts += 1
            try:
                return fn()
            except Transient as exc:
                if self.attempts >= self.limits.max_attempts:
                    raise
                delay = backoff_delay(self.attempts, self.limits)
                remaining = self.max_wait - self.waited
                if delay > remaining:
                    if remaining <= 0:
                        raise
                    delay = remaining
                log.info("retrying a transient failure", attempt=self.attempts,
                         delay=round(delay, 3), error=exc.message)
                self._sleep(delay)
                self.waited += delay


def decide(
    exc: BaseException,
    attempts: int,
    max_attempts: int,
    limits: LimitSettings,
    rng: random.Random | None = None,
) -> Decision:
    """What to do with a job whose run raised ``exc`` after ``attempts`` attempts."""
    message = exc.message if isinstance(exc, YouTubeError) else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, JobInterrupted):
        return Decision("put_back", "interrupted", message or "interrupted", refund_attempt=True)
    if isinstance(exc, JobCancelled):
        return Decision("cancel", "cancelled", "cancelled while running")
    if isinstance(exc, QuotaExhausted):
        delay = max(0.0, (exc.resets_at - datetime.now(UTC)).total_seconds())
        return Decision("pause_queue", exc.kind, message, delay=delay, refund_attempt=True,
                        until=exc.resets_at)
    if isinstance(exc, Blocked):
        return Decision("open_breaker", exc.kind, message, refund_attempt=True)
    if is_disk_full(exc):  # no write can succeed: the consumer waits for space (diskspace.py)
        return Decision("put_back", "disk_full", message, refund_attempt=True)
    if _database_unreachable(exc):  # an outage is not the job's fault: the attempt is refunded
        return Decision("retry", "database_unavailable", message,
                        delay=backoff_delay(1, limits, rng), refund_attempt=True)
    if isinstance(exc, Permanent | ConfigurationError):
        return Decision("fail", getattr(exc, "reason", None) or exc.kind, message)
    error_class = exc.kind if isinstance(exc, Transient) else "internal"
    if isinstance(exc, SoftTimeLimit):
        error_class = "timeout"
    if attempts >= max_attempts:
        return Decision("fail", error_class, f"{message} (after {attempts} attempts)")
    return Decision("retry", error_class, message, delay=backoff_delay(attempts, limits, rng))


def _database_unreachable(exc: BaseException) -> bool:
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    return isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)
