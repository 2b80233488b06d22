"""The one place that decides what an error means for a job: retry, give up, or pause.

Errors arrive already classified by the YouTube layer (youtube/errors.py); a job checkpoint
may raise one of the control exceptions below. Nothing else in the job system inspects errors.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from tubesensei.config import LimitSettings
from tubesensei.jobs.diskspace import is_disk_full
from tubesensei.youtube.errors import (
    Blocked,
    ConfigurationError,
    Permanent,
    QuotaExhausted,
    Transient,
    YouTubeError,
)


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
