"""Shared fixtures: every test gets its own data folder, config folder and working directory."""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# The test servers (tests/server), read before any test runs: every test then runs without
# TUBESENSEI_* variables (the product would refuse these as unknown settings).
# Under pytest-xdist the workers start after the controller has read them: it hands them
# on in _SERVERS_ENV (a name the product does not read).
_SERVERS_ENV = "TESTS_TUBESENSEI_SERVERS"
TEST_SERVERS = {k: v for k, v in os.environ.items() if k.startswith("TUBESENSEI_TEST_")}
if TEST_SERVERS:
    os.environ[_SERVERS_ENV] = json.dumps(TEST_SERVERS)
else:
    TEST_SERVERS = json.loads(os.environ.get(_SERVERS_ENV) or "{}")
for _name in TEST_SERVERS:  # gone before any fixture, of any scope, runs the product
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test sees the user's config, data, proxies or TUBESENSEI_* variables."""
    for name in list(os.environ):
        if name.startswith("TUBESENSEI_") or name.lower() in {
            "http_proxy", "https_proxy", "all_proxy", "no_proxy"
        }:
            monkeypatch.delenv(name, raising=False)
    # A terminal's size is not the tests' business (xdist workers get COLUMNS=80): output
    # is piped; a test that wants a width sets COLUMNS itself.
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
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


# -- server tests (tests/server): say how many were skipped and why, in one line ------------

_server_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "server test: " in reason:
            _server_skips.append(reason.split("server test: ", 1)[1])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _server_skips:
        why = "; ".join(sorted(set(_server_skips)))
        terminalreporter.write_line(
            f"{len(_server_skips)} server tests (PostgreSQL + Redis) skipped: {why}. "
            "Set TUBESENSEI_TEST_DATABASE_URL and TUBESENSEI_TEST_REDIS_URL to run them."
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under xdist (make test), the server tests share one worker: one of them restarts
    PostgreSQL and Redis, which the others must not see mid-test."""
    for item in items:
        if item.nodeid.startswith("tests/server/"):
            item.add_marker(pytest.mark.xdist_group("servers"))
