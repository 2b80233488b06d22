"""Damaged files in the data folder: a corrupt database is one line and stays untouched; a
queue file deleted under a running consumer is opened again and nothing is lost."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.test_cli_corpus import one_line_error
from tests.jobs_helpers import scalar, settings_for, sim_environ
from tubesensei.sim import SimConfig, running_simulator


@pytest.mark.parametrize("content", [os.urandom(8192), b"SQLite format 3\x00" + os.urandom(5000)],
                         ids=["noise", "damaged-header"])
@pytest.mark.parametrize("command", [["stats"], ["videos", "list"], ["init"],
                                     ["enqueue", "channel", "@somechannel"],
                                     ["run-consumer", "--burst", "--no-metrics"]],
                         ids=lambda c: " ".join(c))
def test_a_corrupt_database_is_one_line_and_stays_untouched(run_cli, tmp_path: Path, content,
                                                            command) -> None:
    data = tmp_path / "data"
    data.mkdir()
    db = data / "tubesensei.db"
    db.write_bytes(content)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    one_line_error(run_cli(*command), 1, "cannot open the database")
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not (data / "tubesensei.db-wal").exists()


def test_a_queue_file_deleted_mid_run_is_opened_again(tubesensei_exe, tmp_path: Path) -> None:
    with running_simulator(SimConfig(seed=4, channels=1, videos_per_channel=40)) as sim:
        data = tmp_path / "data"
        env = {**os.environ, **sim_environ(sim.base_url, data)}
        settings = settings_for(sim.base_url, data)
        log = tmp_path / "consumer.log"
        consumer = subprocess.Popen([*tubesensei_exe, "run-consumer", "--workers", "2",
                                     "--no-metrics"], env=env, stdout=subprocess.DEVNULL,
                                    stderr=log.open("w"))
        try:
            deadline = time.monotonic() + 30
            while "consumer started" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            for path in data.glob("queue.db*"):
                path.unlink()
            assert subprocess.run([*tubesensei_exe, "enqueue", "channel",
                                   sim.world.channels[0].handle], env=env,
                                  capture_output=True, timeout=60).returncode == 0
            started = time.monotonic()
            while time.monotonic() - started < 60:
                if scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status "
                                    "!= 'completed'") == 0 and scalar(
                        settings, "SELECT count(*) FROM processing_jobs") > 1:
                    break
                time.sleep(0.2)
            took = time.monotonic() - started
        finally:
            consumer.send_signal(2)
            consumer.wait(timeout=60)
        text = log.read_text()
        assert "the queue file was deleted or replaced" in text
        # Found at once (within a second), not by the reaper half a minute later.
        assert took < 20, (took, text[-2000:])
        assert scalar(settings, "SELECT count(*) FROM processing_jobs WHERE status "
                                "!= 'completed'") == 0
        assert consumer.returncode == 0
