"""Huey messages for ledger jobs: scheduled retries come out when due, whatever the host's
time zone (Huey works in naive UTC; a stored time in another convention fires early or late
by the host's offset)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tubesensei.config import load_settings
from tubesensei.jobs.queues import build_queue_app
from tubesensei.jobs.registry import JOB_TYPES


@pytest.fixture
def queues(tmp_path: Path):
    settings = load_settings(environ={"TUBESENSEI_DATA_DIR": str(tmp_path)}).settings
    app = build_queue_app(settings, {name: (lambda job_id: job_id) for name in JOB_TYPES})
    yield app
    app.close()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_scheduled_messages_are_due_at_their_time_in_any_zone(queues, monkeypatch, zone) -> None:
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        now = datetime.now(UTC)
        queues.enqueue_many([("extract_transcript", 1, 0, now + timedelta(seconds=0.5)),
                             ("extract_transcript", 2, 0, now + timedelta(hours=1)),
                             ("extract_transcript", 3, 5, None)])
        huey = queues.hueys["transcripts"]
        assert queues.queue_sizes()["transcripts"] == {"queued": 1, "scheduled": 2}
        assert huey.read_schedule() == []  # nothing is due yet
        time.sleep(0.7)
        due = huey.read_schedule()
        assert [t.args for t in due] == [(1,)]  # the one due now, not the one in an hour
        assert queues.messages("transcripts") == {2, 3}
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_messages_go_to_their_types_queue_with_their_priority(queues) -> None:
    ids = queues.enqueue_many([("discover_channel", 10, 0, None),
                               ("batch_process", 11, 0, None),
                               ("extract_transcript", 12, 0, None),
                               ("extract_transcript", 13, 9, None)])
    assert len(set(ids)) == 4
    assert {q: s["queued"] for q, s in queues.queue_sizes().items()} == {
        "discovery": 1, "transcripts": 2, "batch": 1}
    first = queues.hueys["transcripts"].dequeue()
    assert first.args == (13,) and first.name == JOB_TYPES["extract_transcript"].task
