"""Shared fixtures: every test gets its own data folder, config folder and working directory."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the user's config, data, proxies or TUBESENSEI_* variables."""
    for name in list(os.environ):
        if name.startswith("TUBESENSEI_") or name.lower() in {
            "http_proxy", "https_proxy", "all_proxy", "no_proxy"
        }:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("TUBESENSEI_DATA_DIR", str(tmp_path / "data"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    yield tmp_path
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_tubesensei", False):
            root.removeHandler(handler)
            handler.close()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Call the CLI's real entry point in-process, as the console script does."""
    from tubesensei.cli import main

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run


@pytest.fixture
def tubesensei_exe() -> list[str]:
    """The installed console script (falls back to `python -m tubesensei`)."""
    exe = Path(sys.executable).with_name("tubesensei")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tubesensei"]
