"""structlog, configured once: JSON lines (or a readable console on a TTY), secrets masked.

The standard library's loggers (googleapiclient, urllib3, huey, alembic) go through the same
processors, so a URL carrying ``key=...`` is masked wherever it comes from.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import threading
import time
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any, Literal, TextIO

import structlog

MASK = "********"
_SECRET_KEYS = re.compile(r"(api_?key|password|passwd|secret|token|authorization|proxy)", re.I)
# key=... in URLs (Google puts the API key there) and user:pass@ in proxy URLs.
_URL_KEY = re.compile(r"([?&](?:key|api_key|access_token)=)[^&\s\"']+", re.I)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@\"']+:[^/\s@\"']+@", re.I)

_NOT_SECRET_KEYS = {"token_count", "next_page_token", "page_token"}


class SecretMasker:
    """A structlog processor replacing known secret values and secret-looking fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def mask_text(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_KEY.sub(lambda m: m.group(1) + MASK, text)
        return _URL_CREDENTIALS.sub(lambda m: m.group(1) + MASK + "@", text)

    def mask_value(self, key: str | None, value: Any) -> Any:
        if key is not None and key not in _NOT_SECRET_KEYS and _SECRET_KEYS.search(key):
            if value is None or value == "":
                return value
            return MASK
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            return {k: self.mask_value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.mask_value(None, v) for v in value)
        if isinstance(value, BaseException):
            return self.mask_text(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> Any:
        for key in list(event_dict):
            event_dict[key] = self.mask_value(key, event_dict[key])
        return event_dict


_masker = SecretMasker()


def configure_logging(
    *,
    level: str = "INFO",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
    file: Path | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Send structlog and stdlib logging to ``file`` (if given) or ``stream`` (default stderr)."""
    global _masker
    _masker = SecretMasker(secrets)
    out: TextIO = stream or sys.stderr
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            file, maxBytes=10_000_000, backupCount=3, encoding="utf-8"
        )
        is_tty = False
    else:
        handler = logging.StreamHandler(out)
        is_tty = bool(getattr(out, "isatty", lambda: False)())
    use_console = fmt == "console" or (fmt == "auto" and is_tty)

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=is_tty)
        if use_console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                _masker,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_tubesensei", False):
            root.removeHandler(old)
            old.close()
    handler._tubesensei = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # googleapiclient logs every request URL (with key=) at INFO; keep it quiet anyway.
    # huey logs every task execution at INFO; the ledger's own events say more.
    for noisy in ("googleapiclient.discovery", "urllib3", "httplib2", "asyncio", "aiosqlite",
                  "huey", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def log_file() -> Path | None:
    """The file our logging writes to, if it writes to one (CLI commands do)."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_tubesensei", False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


class RepeatedErrors:
    """Log a failure that repeats (a step of a loop while a server is down) once, with its
    traceback; then once per ``interval`` seconds with how many times it happened meanwhile;
    and once when it works again. Thousands of identical lines help nobody."""

    def __init__(self, logger: Any, interval: float = 60.0) -> None:
        self.log = logger
        self.interval = interval
        self._state: dict[str, list[float]] = {}  # key -> [last logged (monotonic), count]
        self._lock = threading.Lock()

    def failed(self, key: str, event: str, **fields: Any) -> None:
        now = time.monotonic()
        with self._lock:
            state = self._state.get(key)
            if state is None:
                self._state[key] = [now, 0]
                first = True
            else:
                state[1] += 1
                if now - state[0] < self.interval:
                    return
                first, repeats = False, int(state[1])
                state[0], state[1] = now, 0
        if first:
            self.log.exception(event, **fields)
        else:
            self.log.error(f"{event} (still failing)", repeats=repeats, **fields)

    def succeeded(self, key: str, event: str = "working again", **fields: Any) -> None:
        with self._lock:
            state = self._state.pop(key, None)
        if state is not None:
            self.log.info(event, failure=key, **fields)


class LineBudget:
    """Per-item log lines (a line per job) while they are few enough to read; past that, a
    summary.

    ``allow(kind)`` says whether one more line fits in the budget (a token bucket: ``rate``
    lines a second on average, ``burst`` at once); a line that does not fit is counted
    instead. ``summary()`` (called every few seconds by its owner, and at the end) logs one
    INFO line with what was counted since the last one. At human rates (transcripts: a
    rate limit of 30 a minute) every job keeps its lines; a no-op benchmark at thousands of
    jobs a second logs a summary every ``every`` seconds instead of two lines per job, and at
    DEBUG every line is still there (the caller logs the skipped ones at DEBUG).
    """

    def __init__(self, logger: Any, event: str, *, rate: float = 10.0, burst: float = 50.0,
                 every: float = 10.0) -> None:
        self.log = logger
        self.event = event
        self.rate = rate
        self.burst = burst
        self.every = every
        self._tokens = burst
        self._last = time.monotonic()
        self._next_summary = self._last + every
        self._skipped: dict[str, int] = {}
        self._lock = threading.Lock()

    def allow(self, kind: str) -> bool:
        now = time.monotonic()
        with self._lock:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            self._skipped[kind] = self._skipped.get(kind, 0) + 1
            return False

    def summary(self, *, force: bool = False) -> None:
        """Log what was not logged line by line, if anything was and a summary is due."""
        now = time.monotonic()
        with self._lock:
            if not self._skipped or (not force and now < self._next_summary):
                return
            skipped, self._skipped = self._skipped, {}
            self._next_summary = now + self.every
        self.log.info(self.event, **skipped)
