"""Wake idle consumers the moment work is committed, instead of waiting for their next poll.

Each running consumer listens on a UDP port on 127.0.0.1 and writes it to
``<data>/run/consumer-<pid>-<port>.port``. Whoever queues work sends one datagram to every listed
port (a few microseconds each); a port file whose process is gone is removed. Polling stays
as the fallback (another machine's consumers, a lost datagram), so a poke is an optimisation,
never a requirement.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path

PREFIX = "consumer-"
SUFFIX = ".port"


def run_dir(data_dir: Path) -> Path:
    return data_dir / "run"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def poke(data_dir: Path) -> int:
    """Wake every consumer serving this data folder; returns how many were poked."""
    folder = run_dir(data_dir)
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return 0
    sent = 0
    sock: socket.socket | None = None
    try:
        for entry in entries:
            name = entry.name
            if not (name.startswith(PREFIX) and name.endswith(SUFFIX)):
                continue
            try:
                pid = int(name[len(PREFIX) : -len(SUFFIX)].split("-")[0])
                port = int(entry.read_text().strip())
            except (ValueError, OSError):
                continue
            if not _pid_alive(pid):
                with contextlib.suppress(OSError):
                    entry.unlink()
                continue
            if sock is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.sendto(b"!", ("127.0.0.1", port))
                sent += 1
    finally:
        if sock is not None:
            sock.close()
    return sent


class WakeListener:
    """A consumer's end: calls ``on_wake`` for each datagram, from its own thread."""

    def __init__(self, data_dir: Path, on_wake: Callable[[], None]) -> None:
        self.folder = run_dir(data_dir)
        self.on_wake = on_wake
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.5)
        self.port = self._sock.getsockname()[1]
        self.path = self.folder / f"{PREFIX}{os.getpid()}-{self.port}{SUFFIX}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tubesensei-wake", daemon=True)

    def start(self) -> WakeListener:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(self.port))
        tmp.replace(self.path)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sock.recv(64)
            except TimeoutError:
                continue
            except OSError:
                return
            self.on_wake()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.path.unlink()
        self._sock.close()
        self._thread.join(timeout=2)
