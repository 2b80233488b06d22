"""`tubesensei demo`: the installed command end to end, its numbers against the database it
kept, bad input, Ctrl-C, and the API key nowhere to be seen."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest

from tubesensei.demo import DEMO_API_KEY
from tubesensei.sim import SimConfig, SimWorld

# What a user may have exported: the demo must use none of it.
USER_KEY = "AIzaUsersOwnRealKey-must-not-leak"


def demo_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "PYTHONIOENCODING": "utf-8",
        "COLUMNS": "100",
        "TUBESENSEI_YOUTUBE__API_KEY": USER_KEY,
        "TUBESENSEI_DATABASE__URL": "postgresql+psycopg://nobody@nowhere.invalid/x",
        "TUBESENSEI_DATA_DIR": str(tmp_path / "users-real-corpus"),
    })
    return env


def table_value(stdout: str, label: str) -> int:
    """The number in the summary row ``label`` (box drawing or ASCII borders)."""
    match = re.search(rf"^[│|]\s+{re.escape(label)}\s+[│|]\s+([\d,]+)\b", stdout, re.M)
    assert match, f"no row {label!r} in:\n{stdout}"
    return int(match.group(1).replace(",", ""))


def query(db: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


def scalar(db: Path, sql: str) -> int:
    return int(query(db, sql)[0][0] or 0)


@pytest.fixture(scope="module")
def kept_demo(tmp_path_factory: pytest.TempPathFactory, tubesensei_exe_module) -> tuple:
    tmp = tmp_path_factory.mktemp("demo")
    data = tmp / "demo-data"
    started = time.monotonic()
    result = subprocess.run(
        [*tubesensei_exe_module, "demo", "--channels", "2", "--videos", "20", "--workers", "4",
         "--keep", "--data-dir", str(data)],
        capture_output=True, text=True, env=demo_env(tmp), cwd=tmp, timeout=120,
    )
    return result, data, time.monotonic() - started, tmp


@pytest.fixture(scope="module")
def tubesensei_exe_module() -> list[str]:
    exe = Path(sys.executable).with_name("tubesensei")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tubesensei"]


def test_demo_exits_0_with_a_summary_and_progress(kept_demo) -> None:
    result, data, elapsed, _ = kept_demo
    assert result.returncode == 0, result.stderr
    assert "TubeSensei demo: summary" in result.stdout
    assert "discovery" in result.stderr and "transcripts" in result.stderr  # the final bars
    assert "@simchannel0" in result.stderr and "@simchannel1" in result.stderr
    assert elapsed < 60
    assert f"Data folder: {data}" in result.stdout


def test_summary_numbers_are_the_databases(kept_demo) -> None:
    result, data, _, _ = kept_demo
    out, db = result.stdout, data / "tubesensei.db"
    assert table_value(out, "channels") == scalar(db, "SELECT count(*) FROM channels") == 2
    assert table_value(out, "videos") == scalar(db, "SELECT count(*) FROM videos")
    for kind in ("video", "short", "live", "upcoming"):
        assert table_value(out, kind) == scalar(
            db, f"SELECT count(*) FROM videos WHERE kind = '{kind}'")
    assert table_value(out, "transcripts stored") == scalar(db, "SELECT count(*) FROM transcripts")
    unavailable = dict(query(db, "SELECT unavailable_reason, count(*) FROM videos "
                                 "WHERE transcript_status = 'unavailable' GROUP BY 1"))
    assert table_value(out, "unavailable") == sum(unavailable.values())
    for reason, n in unavailable.items():
        assert table_value(out, reason) == n
    assert table_value(out, "retries") == scalar(
        db, "SELECT count(*) FROM processing_jobs WHERE attempts > 1")
    assert table_value(out, "failures") == scalar(
        db, "SELECT count(*) FROM processing_jobs WHERE status = 'failed'")
    assert table_value(out, "quota units spent") == scalar(db, "SELECT sum(units) FROM quota_usage")


def test_the_corpus_is_what_the_simulated_world_holds(kept_demo) -> None:
    """Complete and correct: every public video stored, a transcript for every captioned one,
    every miss with the simulator's reason, every job finished."""
    _, data, _, _ = kept_demo
    db = data / "tubesensei.db"
    world = SimWorld(SimConfig(seed=7, channels=2, videos_per_channel=20))
    videos = [v for ch in world.channels for v in ch.videos if v.is_public]
    waiting = {v.video_id for v in videos if v.kind in ("live", "upcoming")}
    reasons = {v.video_id: v.unavailable_reason for v in videos
               if v.unavailable_reason and v.video_id not in waiting}
    assert {r[0] for r in query(db, "SELECT youtube_video_id FROM videos")} == {
        v.video_id for v in videos}
    assert dict(query(db, "SELECT youtube_video_id, unavailable_reason FROM videos "
                          "WHERE transcript_status = 'unavailable'")) == reasons
    done = {r[0] for r in query(db, "SELECT youtube_video_id FROM videos "
                                    "WHERE transcript_status = 'done'")}
    assert done == {v.video_id for v in videos} - waiting - set(reasons)
    assert set(reasons.values()) == {
        "transcripts_disabled", "no_transcript_in_language", "video_unavailable",
        "age_restricted", "unplayable", "po_token_required"}
    assert query(db, "SELECT DISTINCT status FROM processing_jobs") == [("completed",)]


def test_no_key_is_printed_or_stored_and_user_settings_are_ignored(kept_demo) -> None:
    result, data, _, tmp = kept_demo
    for key in (DEMO_API_KEY, USER_KEY):
        assert key not in result.stdout and key not in result.stderr
        for path in data.rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), f"{key} found in {path}"
    assert not (tmp / "users-real-corpus").exists()
    assert "nowhere.invalid" not in result.stdout + result.stderr


def test_the_printed_commands_explore_the_kept_corpus(kept_demo, tubesensei_exe_module) -> None:
    from tubesensei.cli import cli

    result, data, _, tmp = kept_demo
    assert str(data) in result.stdout
    printed = [line.strip() for line in result.stdout.splitlines()
               if line.strip().startswith("TUBESENSEI_DATA_DIR=")]
    assert len(printed) >= 4 and any(" transcripts search " in p for p in printed)
    ran = 0
    for line in printed:
        env_part, _, command = line.partition(" ")
        words = command.split()[1:]
        group: click.Command = cli
        for word in words:  # run the commands this build has (others are added separately)
            if not isinstance(group, click.Group) or word not in group.commands:
                break
            group = group.commands[word]
        if isinstance(group, click.Group) or group is cli:
            continue
        env = {**demo_env(tmp), "TUBESENSEI_DATA_DIR": env_part.split("=", 1)[1]}
        env.pop("TUBESENSEI_DATABASE__URL")
        run = subprocess.run([*tubesensei_exe_module, *words], capture_output=True, text=True,
                             env=env, cwd=tmp, timeout=60)
        assert run.returncode == 0, f"{line}\n{run.stderr}"
        if " search " in line:
            assert "youtu.be/" in run.stdout
        ran += 1
    assert ran >= 1  # at least `jobs list`


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--workers", "0"], "--workers"),
        (["--channels", "-1"], "--channels"),
        (["--videos", "0"], "--videos"),
        (["--seed", "x"], "--seed"),
    ],
)
def test_bad_input_exits_2_with_one_line(run_cli, args: list[str], fragment: str) -> None:
    result = run_cli("demo", *args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and fragment in result.stderr
    assert result.stdout == ""


def test_a_folder_holding_a_corpus_is_refused(run_cli, tmp_path: Path) -> None:
    assert run_cli("--data-dir", str(tmp_path / "corpus"), "init").exit_code == 0
    before = (tmp_path / "corpus" / "tubesensei.db").read_bytes()
    result = run_cli("demo", "--data-dir", str(tmp_path / "corpus"))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "already holds" in result.stderr
    assert (tmp_path / "corpus" / "tubesensei.db").read_bytes() == before


def test_in_process_run_removes_its_throwaway_folder(run_cli, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = run_cli("demo", "--channels", "1", "--videos", "20", "--workers", "2")
    assert result.exit_code == 0, result.stderr
    assert "removed (--keep keeps it to explore)" in result.stdout
    assert "Explore the corpus" not in result.stdout
    assert not list(tmp_path.glob("tubesensei-demo-*"))


def test_ctrl_c_stops_cleanly_with_one_line(tmp_path: Path, tubesensei_exe) -> None:
    proc = subprocess.Popen(
        [*tubesensei_exe, "demo", "--channels", "3", "--videos", "400", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=demo_env(tmp_path),
        cwd=tmp_path,
    )
    folder = None
    assert proc.stdout is not None
    for line in proc.stdout:  # the header names the throw-away folder, then work starts
        if line.startswith("data folder:"):
            folder = Path(line.split(":", 1)[1].strip())
            break
    assert folder is not None and folder.is_dir()
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and err.startswith("Interrupted: demo stopped")
    assert "Traceback" not in out + err and "summary" not in out
    assert not folder.exists()


def test_demo_with_the_dashboard_runs_it_then_reports(monkeypatch, tmp_path) -> None:
    """--tui: the dashboard runs on the main thread while the consumer works; quitting it
    stops the consumer and the summary follows."""
    import time as _time

    import tubesensei.demo as demo
    from tests.jobs_helpers import scalar

    calls = []

    def watch(runtime) -> None:  # stands in for a person watching, then pressing q
        calls.append(runtime.settings.youtube.api_endpoint)
        deadline = _time.monotonic() + 60
        while _time.monotonic() < deadline:
            if scalar(runtime.settings, "SELECT count(*) FROM processing_jobs "
                                        "WHERE status NOT IN ('completed', 'failed')") == 0 \
                    and scalar(runtime.settings, "SELECT count(*) FROM processing_jobs") > 1:
                return
            _time.sleep(0.1)

    monkeypatch.setattr(demo, "_run_tui", watch)
    report = demo.run_demo(demo.DemoOptions(channels=1, videos_per_channel=20, tui=True,
                                            data_dir=tmp_path / "demo"))
    assert calls and calls[0].startswith("http://127.0.0.1:")
    assert report.channels == 1 and report.transcripts > 0 and not report.interrupted
