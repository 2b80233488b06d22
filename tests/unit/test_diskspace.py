"""Recognising a full disk, and the consumer's waiting on one (jobs/diskspace.py)."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy.exc import OperationalError

from tubesensei.config import LimitSettings
from tubesensei.jobs import diskspace
from tubesensei.jobs.diskspace import DiskSpace, is_disk_full
from tubesensei.jobs.policy import decide


class PgDiskFull(Exception):
    sqlstate = "53100"


def wrapped(orig: BaseException) -> OperationalError:
    return OperationalError("INSERT ...", {}, orig)


@pytest.mark.parametrize("exc", [
    sqlite3.OperationalError("database or disk is full"),
    wrapped(sqlite3.OperationalError("database or disk is full")),
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
    PgDiskFull("could not extend file"),
    RuntimeError("outer"),  # with a full-disk cause, below
])
def test_full_disks_are_recognised(exc: BaseException) -> None:
    if isinstance(exc, RuntimeError):
        exc.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert is_disk_full(exc)


@pytest.mark.parametrize("exc", [
    sqlite3.OperationalError("database is locked"),
    wrapped(sqlite3.OperationalError("unable to open database file")),
    OSError(errno.EACCES, "Permission denied"),
    None,
])
def test_other_errors_are_not(exc: BaseException | None) -> None:
    assert not is_disk_full(exc)


def test_the_policy_puts_the_job_back_with_its_attempt_refunded() -> None:
    d = decide(wrapped(sqlite3.OperationalError("database or disk is full")), 5, 5,
               LimitSettings())
    assert (d.action, d.error_class, d.refund_attempt) == ("put_back", "disk_full", True)


def test_waiting_for_space(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    fail = [True]

    def probe() -> None:
        writes.append(1)
        if fail[0]:
            raise wrapped(sqlite3.OperationalError("database or disk is full"))

    disk = DiskSpace(tmp_path, probe)
    assert not disk.full and not disk.due_for_probe()
    job = SimpleNamespace(id=7)
    disk.noticed(OSError(errno.ENOSPC, "No space left on device"), job)
    disk.noticed(OSError(errno.ENOSPC, "again"), SimpleNamespace(id=8))
    assert disk.full and set(disk.stranded) == {7, 8}
    assert disk.reason == "[Errno 28] No space left on device"
    monkeypatch.setattr(diskspace, "PROBE_SECONDS", 0.0)
    disk._next_probe = 0.0
    assert disk.due_for_probe()
    monkeypatch.setattr(diskspace, "MIN_FREE_BYTES", 1 << 60)  # more than any disk has
    assert not disk.has_space() and writes == []  # not even tried
    monkeypatch.setattr(diskspace, "MIN_FREE_BYTES", 0)
    assert not disk.has_space() and writes == [1]  # the write still fails
    fail[0] = False
    assert disk.has_space()
    disk._next_report = 0.0
    disk.report_if_due()  # one line a minute (no error)
    assert set(disk.take_stranded()) == {7, 8} and disk.stranded == {}
    disk.recovered(2)
    assert not disk.full


def test_a_server_database_is_probed_by_the_write_alone() -> None:
    disk = DiskSpace(None, lambda: None)
    disk.noticed(RuntimeError("could not extend file \"base/1/2\": No space left on device"))
    assert disk.full and disk.has_space()
