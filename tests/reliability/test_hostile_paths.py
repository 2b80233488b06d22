"""Hostile export targets: an export never replaces what it must not (a device, a symbolic
link), never reports success after a failed write, and never leaves a partial file."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e import test_cli_corpus as corpus_tests
from tests.e2e.test_cli_corpus import one_line_error

# The CLI corpus tests' fixtures, shared: one simulated world.
sim = corpus_tests.sim
corpus_file = corpus_tests.corpus_file
env = corpus_tests.env
corpus = corpus_tests.corpus

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")


def export(run_cli, *args: str):
    return run_cli("transcripts", "export", "--format", "jsonl", *args)


def no_partials(folder: Path) -> None:
    assert not [p for p in folder.rglob("*") if ".partial" in p.name]


def test_a_symlink_target_is_refused_unless_in_place(run_cli, corpus, tmp_path: Path) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    one_line_error(export(run_cli, "--out", str(link)), 2, "is a symbolic link")
    assert link.is_symlink() and victim.read_text() == "keep me\n"
    written = export(run_cli, "--out", str(link), "--in-place")
    assert written.exit_code == 0, written.stderr
    assert link.is_symlink()  # written through, not replaced
    lines = victim.read_text().splitlines()
    assert lines and all(json.loads(line)["video"]["id"] for line in lines)
    no_partials(tmp_path)


def test_a_fifo_target_is_refused(run_cli, corpus, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    one_line_error(export(run_cli, "--out", str(fifo)), 2, "is not a regular file")
    assert fifo.exists() and not fifo.is_file()


@needs_root
def test_a_device_is_never_replaced_and_a_full_one_is_a_failure(run_cli, corpus,
                                                                tmp_path: Path) -> None:
    full = tmp_path / "full"
    os.mknod(full, 0o600 | __import__("stat").S_IFCHR, os.makedev(1, 7))  # like /dev/full
    one_line_error(export(run_cli, "--out", str(full)), 2, "is not a regular file")
    assert full.is_char_device()
    into = export(run_cli, "--out", str(full), "--in-place")
    one_line_error(into, 1, "No space left on device")
    assert not into.stderr.startswith("exported") and full.is_char_device()


def test_stdout_on_a_full_device_is_a_failure_not_a_success(tubesensei_exe, corpus) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([*tubesensei_exe, "transcripts", "export", "--format", "jsonl",
                               "--out", "-"], stdout=full, stderr=subprocess.PIPE, text=True,
                              env=dict(os.environ), timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr == "Error: cannot write to standard output: No space left on device\n"


def test_a_reader_that_goes_away_is_fine(tubesensei_exe, corpus) -> None:
    export_proc = subprocess.Popen([*tubesensei_exe, "transcripts", "export", "--format",
                                    "jsonl"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   env=dict(os.environ))
    assert export_proc.stdout is not None
    export_proc.stdout.read(10)
    export_proc.stdout.close()
    _, err = export_proc.communicate(timeout=120)
    assert export_proc.returncode == 0 and err == b""


def test_a_symlink_planted_among_per_video_files_is_replaced_not_followed(
    run_cli, sim, corpus, tmp_path: Path
) -> None:
    ch = sim.world.channels[0]
    first = run_cli("transcripts", "export", "--format", "srt", "--channel", ch.channel_id,
                    "--out", str(tmp_path / "subs"))
    assert first.exit_code == 0, first.stderr
    some = sorted((tmp_path / "subs" / ch.channel_id).glob("*.srt"))[0]
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    some.unlink()
    some.symlink_to(victim)
    again = run_cli("transcripts", "export", "--format", "srt", "--channel", ch.channel_id,
                    "--out", str(tmp_path / "subs"))
    assert again.exit_code == 0, again.stderr
    assert victim.read_text() == "keep me\n"
    assert some.is_file() and not some.is_symlink() and "-->" in some.read_text()
    no_partials(tmp_path / "subs")


@pytest.fixture
def small_disk(tmpfs) -> Path:
    """A 64 KiB tmpfs: a disk that fills up half-way through an export."""
    return tmpfs("64k")


def test_a_full_disk_leaves_no_partial_file_and_no_success_line(run_cli, corpus,
                                                                small_disk: Path) -> None:
    for args in (["--format", "jsonl", "--out", str(small_disk / "c.jsonl")],
                 ["--format", "srt", "--out", str(small_disk / "subs")]):
        result = run_cli("transcripts", "export", *args)
        one_line_error(result, 1, "No space left on device")
        assert not result.stderr.startswith("exported")
        no_partials(small_disk)
    assert not (small_disk / "c.jsonl").exists()


def test_dash_is_stdout(run_cli, corpus) -> None:
    result = export(run_cli, "--out", "-")
    assert result.exit_code == 0 and result.stdout.count("\n") > 10
    assert not Path("-").exists()


@pytest.mark.parametrize("command", [["videos", "list", "--json"],
                                     ["transcripts", "search", "the", "--json"],
                                     ["channels", "list", "--json"],
                                     ["config", "show"]])
def test_any_command_piped_into_a_reader_that_goes_away(tubesensei_exe, corpus,
                                                        command) -> None:
    """`tubesensei ... | head -1`: exit 0, nothing on stderr (no BrokenPipeError)."""
    proc = subprocess.Popen(f"{' '.join(tubesensei_exe)} {' '.join(command)} | head -c 1",
                            shell=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=dict(os.environ), executable="/bin/bash")
    out, err = proc.communicate(timeout=120)
    assert len(out) == 1 and err == b"", err.decode()
    # A reader gone before the first byte (`| true` exits at once): the write fails EPIPE.
    status = subprocess.run(f"set -o pipefail; {' '.join(tubesensei_exe)} "
                            f"{' '.join(command)} | true",
                            shell=True, capture_output=True, env=dict(os.environ),
                            executable="/bin/bash", timeout=120)
    assert status.returncode == 0 and status.stderr == b""
