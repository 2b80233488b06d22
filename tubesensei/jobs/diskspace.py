"""A full disk, noticed once and waited out: what a consumer does when the database (or the
queue file) cannot grow.

Every write fails while the disk is full, so retrying jobs or logging each failure only
spins: the consumer stops taking work instead, remembers the jobs it could not put back,
says so in one line a minute and probes for space. In service mode it resumes by itself
when space returns (and puts those jobs back); in ``--burst`` mode it stops, exit 1.
"""

from __future__ import annotations

import errno
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tubesensei.logging import get_logger

log = get_logger("tubesensei.consumer")

# Free space a SQLite data folder needs before work resumes (a page of transcripts and the
# write-ahead log that carries it).
MIN_FREE_BYTES = 16 * 1024 * 1024
PROBE_SECONDS = 5.0
REPORT_SECONDS = 60.0

_FULL_TEXT = ("database or disk is full", "no space left on device", "disk quota exceeded",
              "could not extend file", "could not write to file")


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or what it wraps) says the disk is full: SQLite's SQLITE_FULL,
    ENOSPC/EDQUOT, PostgreSQL's disk_full (53100)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(exc, "sqlstate", None) == "53100":
            return True
        text = str(exc).lower()
        if any(marker in text for marker in _FULL_TEXT):
            return True
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return False


class DiskSpace:
    """The consumer's view of the disk: full since when, the jobs it holds, the probe."""

    def __init__(self, data_dir: Path | None, write_probe: Callable[[], Any]) -> None:
        self.data_dir = data_dir  # None: the database is on a server (PostgreSQL)
        self._write_probe = write_probe
        self._lock = threading.Lock()
        self.full_since: float | None = None
        self.stranded: dict[int, Any] = {}  # jobs left running in the ledger, to put back
        self._next_probe = 0.0
        self._next_report = 0.0
        self.reason = ""

    @property
    def full(self) -> bool:
        return self.full_since is not None

    def noticed(self, exc: BaseException, job: Any = None) -> None:
        """A write failed for want of space (``job``: one whose outcome could not be
        recorded, left running in the ledger)."""
        with self._lock:
            if job is not None:
                self.stranded[job.id] = job
            if self.full_since is not None:
                return
            self.full_since = time.monotonic()
            self._next_probe = self.full_since + PROBE_SECONDS
            self._next_report = self.full_since + REPORT_SECONDS
            self.reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines()
                           or ["disk full"])[0][:200]
        log.error("the disk is full: no new work until there is space again",
                  where=str(self.data_dir) if self.data_dir else "the database server",
                  error=self.reason)

    def due_for_probe(self) -> bool:
        return self.full and time.monotonic() >= self._next_probe

    def has_space(self) -> bool:
        """The probe: enough free space in the data folder, and a write that succeeds."""
        self._next_probe = time.monotonic() + PROBE_SECONDS
        if self.data_dir is not None:
            try:
                if shutil.disk_usage(self.data_dir).free < MIN_FREE_BYTES:
                    return False
            except OSError:
                return False
        try:
            self._write_probe()
        except Exception as exc:
            if not is_disk_full(exc):
                log.warning("disk space probe failed", error=str(exc)[:200])
            return False
        return True

    def report_if_due(self) -> None:
        """One line a minute while full."""
        now = time.monotonic()
        if not self.full or now < self._next_report:
            return
        self._next_report = now + REPORT_SECONDS
        log.error("the disk is still full: waiting for space",
                  full_for_s=round(now - (self.full_since or now)),
                  jobs_to_put_back=len(self.stranded))

    def take_stranded(self) -> dict[int, Any]:
        with self._lock:
            jobs, self.stranded = self.stranded, {}
            return jobs

    def recovered(self, put_back: int) -> None:
        with self._lock:
            since, self.full_since = self.full_since, None
        log.info("disk space is back: resuming work",
                 full_for_s=round(time.monotonic() - (since or time.monotonic())),
                 jobs_put_back=put_back)
