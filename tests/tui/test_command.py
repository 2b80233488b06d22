"""``tubesensei tui`` as a command: textual stays out of headless code; the options; the
consumer it runs with --with-consumer starts in a thread and stops when the app quits."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import pytest


def test_headless_code_never_imports_textual() -> None:
    code = (
        "import sys\n"
        "import tubesensei.cli, tubesensei.jobs.tasks, tubesensei.jobs.consumer\n"
        "import tubesensei.tui.data\n"  # the facade is headless too: the benchmark uses it
        "loaded = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(loaded))\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, f"textual imported by headless code: {result.stdout}"


def test_tui_help_and_bad_options(run_cli) -> None:
    result = run_cli("tui", "--help")
    assert result.exit_code == 0 and "--with-consumer" in result.stdout
    result = run_cli("tui", "--workers", "2")
    assert result.exit_code == 2 and "--with-consumer" in result.stderr
    result = run_cli("tui", "--theme", "no-such-theme")
    assert result.exit_code == 2 and "unknown theme" in result.stderr


def test_with_consumer_runs_it_beside_the_app_and_stops_it(run_cli, monkeypatch) -> None:
    from tubesensei.jobs.consumer import Consumer
    from tubesensei.tui.app import TubeSenseiApp

    seen: dict[str, Any] = {}
    started = threading.Event()
    real_start = Consumer.start

    def start(self: Consumer) -> None:
        real_start(self)
        seen["consumer"] = self
        started.set()

    def run(self: TubeSenseiApp) -> None:  # instead of taking over the terminal
        assert started.wait(20), "the consumer did not start"
        seen["label"] = self.consumer_label
        seen["thread"] = next(t for t in threading.enumerate()
                              if t.name == "tubesensei-consumer")

    monkeypatch.setattr(Consumer, "start", start)
    monkeypatch.setattr(TubeSenseiApp, "run", run)
    result = run_cli("tui", "--with-consumer", "--workers", "2")
    assert result.exit_code == 0, result.stderr
    assert seen["label"] == "2 threads here"
    assert not seen["thread"].is_alive()  # stopped and joined when the app quit
    assert "stopping the consumer" in result.stderr


@pytest.mark.parametrize("theme", ["textual-light", None])
def test_theme_option_reaches_the_app(run_cli, monkeypatch, theme) -> None:
    from tubesensei.tui.app import TubeSenseiApp

    seen: dict[str, Any] = {}
    monkeypatch.setattr(TubeSenseiApp, "run", lambda self: seen.setdefault("theme", self.theme))
    args = ["tui"] + (["--theme", theme] if theme else [])
    assert run_cli(*args).exit_code == 0
    assert seen["theme"] == (theme or "textual-dark")
