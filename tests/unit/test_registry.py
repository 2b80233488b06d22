"""The job-type registry is the one list of job types: everything else derives from it."""

from __future__ import annotations

from tubesensei.commands.common import JOB_TYPE_CHOICE, QUEUE_CHOICE
from tubesensei.config import LimitSettings
from tubesensei.jobs import tasks
from tubesensei.jobs.registry import JOB_TYPES, QUEUES, TRANSCRIPTS


def test_every_job_type_has_its_task_and_a_known_queue() -> None:
    assert set(tasks.TASKS) == set(JOB_TYPES)
    for name, jt in JOB_TYPES.items():
        assert jt.name == name and jt.queue in QUEUES
        assert tasks.TASKS[name].__name__ == jt.task  # Huey registers it under this name
        assert jt.label and jt.label != name


def test_cli_choices_are_the_registrys() -> None:
    assert tuple(JOB_TYPE_CHOICE.choices) == tuple(JOB_TYPES)
    assert "batch_process" in JOB_TYPE_CHOICE.choices
    assert tuple(QUEUE_CHOICE.choices) == QUEUES


def test_time_limits_by_type() -> None:
    limits = LimitSettings(soft_time_limit_seconds=100, hard_time_limit_seconds=200,
                           transcript_soft_time_limit_seconds=10,
                           transcript_hard_time_limit_seconds=20)
    assert JOB_TYPES["extract_transcript"].time_limits(limits) == (10, 20)
    assert JOB_TYPES["extract_transcript"].queue == TRANSCRIPTS
    assert JOB_TYPES["discover_channel"].time_limits(limits) == (100, 200)
    assert JOB_TYPES["discover_channel"].priority > JOB_TYPES["sync_channels"].priority


def test_the_tui_filters_and_labels_come_from_the_registry() -> None:
    from tubesensei.tui.views.jobs import SHORT_TYPES

    assert {name: jt.label for name, jt in JOB_TYPES.items()} == SHORT_TYPES
