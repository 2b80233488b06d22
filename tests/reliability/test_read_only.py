"""A data folder that cannot be written (a read-only mount, a backup): the commands that only
read still answer; the others say in one line why they cannot run (exit 2). Unusable data
folders (a file, /proc) are one line too."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e import test_cli_corpus as corpus_tests
from tests.e2e.test_cli_corpus import ok, one_line_error

sim = corpus_tests.sim
corpus_file = corpus_tests.corpus_file
env = corpus_tests.env


@pytest.fixture
def read_only_corpus(corpus_file: Path, env: Path, tmp_path: Path, monkeypatch):
    """A data folder with the CLI corpus, then bind-mounted read-only over itself."""
    if os.geteuid() != 0:
        pytest.skip("a read-only bind mount needs root")
    env.mkdir()
    shutil.copy(corpus_file, env / "tubesensei.db")
    subprocess.run(["sqlite3", str(env / "queue.db"), "VACUUM"], check=False)
    if subprocess.run(["mount", "--bind", str(env), str(env)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        done = subprocess.run(["mount", "-o", "remount,bind,ro", str(env)], capture_output=True)
        if done.returncode:
            pytest.skip("cannot remount read-only here")
        yield env
    finally:
        subprocess.run(["umount", str(env)], check=True)


READERS = [
    ["videos", "list"],
    ["videos", "list", "--json"],
    ["channels", "list"],
    ["transcripts", "search", "the"],
    ["jobs", "list"],
    ["sessions", "list"],
    ["stats"],
    ["stats", "--json"],
    ["workers"],
    ["db", "current"],
    ["config", "show"],
]


@pytest.mark.parametrize("command", READERS, ids=lambda c: " ".join(c))
def test_read_only_commands_work_on_a_read_only_folder(run_cli, read_only_corpus,
                                                       command) -> None:
    ok(run_cli(*command))
    assert sorted(p.name for p in read_only_corpus.iterdir()) == ["queue.db", "tubesensei.db"]


def test_show_and_export_read_too(run_cli, sim, read_only_corpus, tmp_path: Path) -> None:
    video = sim.world.find("manual_en")
    assert "[0:" in ok(run_cli("transcripts", "show", video.video_id))
    assert video.video_id in ok(run_cli("videos", "show", video.video_id))
    out = run_cli("transcripts", "export", "--format", "jsonl", "--out",
                  str(tmp_path / "c.jsonl"))
    assert out.exit_code == 0 and (tmp_path / "c.jsonl").stat().st_size > 0


WRITERS = [
    ["enqueue", "channel", "@somechannel"],
    ["channels", "pause", "UC" + "a" * 22],
    ["transcripts", "reclean"],
    ["queues", "pause", "transcripts"],
    ["init"],
    ["db", "upgrade"],
]


@pytest.mark.parametrize("command", WRITERS, ids=lambda c: " ".join(c))
def test_writing_commands_say_why_in_one_line(run_cli, read_only_corpus, command) -> None:
    one_line_error(run_cli(*command), 2, "read-only file system")


@pytest.mark.parametrize(("folder", "fragment"), [
    ("/etc/passwd", "is a file, not a folder"),
    ("/proc/tubesensei-nothing", "No such file or directory"),
])
def test_unusable_data_folders_are_one_line(run_cli, monkeypatch, folder, fragment) -> None:
    monkeypatch.setenv("TUBESENSEI_DATA_DIR", folder)
    for command in (["stats"], ["videos", "list"], ["enqueue", "channel", "@somechannel"]):
        one_line_error(run_cli(*command), 2, fragment)
