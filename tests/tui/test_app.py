"""The TUI driven by key presses (Pilot) against a data folder seeded through the real job
system and the simulator. Every action is checked in the ledger, not only on the screen."""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.widgets import DataTable, Input, ProgressBar, Static

from tests.jobs_helpers import scalar
from tests.tui.conftest import Seeded, wait_until
from tubesensei.jobs.system import JobSystem

SIZE = (120, 36)


def text(widget: Any) -> str:
    """The plain text a Static shows."""
    content = widget.content
    return content.plain if hasattr(content, "plain") else str(content)


def rows(table: DataTable) -> list[list[str]]:
    return [[str(cell).strip() for cell in table.get_row(key)] for key in table.rows]


def queue_line(app: Any, queue: str) -> list[str]:
    for line in text(app.query_one("#queues", Static)).splitlines():
        if line.startswith(queue):
            return line.split()
    raise AssertionError(f"no row for {queue}")


async def jobs_shown(pilot: Any, n: int | None = None) -> DataTable:
    table = pilot.app.query_one("#jobs-table", DataTable)
    await wait_until(pilot, lambda: table.row_count if n is None else table.row_count == n,
                     what=f"{n} job rows")
    return table


async def choose_status(pilot: Any, status: str) -> None:
    """Cycle the status filter with `s` until it shows ``status``."""
    from textual.widgets import Select

    select = pilot.app.query_one("#filter-status", Select)
    for _ in range(8):
        if select.value == status:
            return
        await pilot.press("s")
    raise AssertionError(f"status filter never reached {status}")


def status_of(settings: Any, job_id: int) -> str:
    return scalar(settings, "SELECT status FROM processing_jobs WHERE id = :i", i=job_id)


# -- dashboard ------------------------------------------------------------------------------


async def test_dashboard_shows_queues_limits_workers_and_corpus(make_app, seeded_settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "transcripts" in text(app.query_one("#queues")))
        failed = scalar(seeded_settings, "SELECT count(*) FROM processing_jobs WHERE "
                                         "status='failed' AND queue='transcripts'")
        assert failed == 2
        assert queue_line(app, "transcripts")[5] == "2"  # queue state pending retry running failed
        limits = text(app.query_one("#limits"))
        assert "30/min" not in limits or "rate limit" in limits
        assert "units today" in limits and "resets in" in limits
        assert "none paused, breaker closed" in limits
        corpus = text(app.query_one("#corpus"))
        videos = scalar(seeded_settings, "SELECT count(*) FROM videos")
        done = scalar(seeded_settings, "SELECT count(*) FROM videos WHERE transcript_status='done'")
        assert f"videos {videos}" in corpus and f"transcripts {done}" in corpus
        assert "channels 1" in corpus and "transcripts disabled 1" in corpus
        assert "No consumer is running" in text(app.query_one("#workers"))
        status = text(app.query_one("#status"))
        assert "no consumer" in status and "failed 2" in status


async def test_dashboard_follows_jobs_changing_underneath(make_app, seeded_settings) -> None:
    app = make_app(refresh_interval=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "transcripts" in text(app.query_one("#queues")))
        before = int(queue_line(app, "transcripts")[2])
        system = JobSystem(seeded_settings)
        try:  # another process queues three videos …
            created = system.enqueue_videos(["AAAAAAAAAA1", "AAAAAAAAAA2", "AAAAAAAAAA3"])
        finally:
            system.close()
        await wait_until(pilot, lambda: int(queue_line(app, "transcripts")[2]) == before + 3,
                         what="pending +3 on the dashboard")
        assert f"pending {before + 3}" in text(app.query_one("#status"))
        # A backlog, and no consumer to work it off: no ETA is made up.
        assert queue_line(app, "transcripts")[6] == "–"
        assert "backlog 3 jobs · ETA – (no consumer running)" in text(app.query_one("#queues"))
        system = JobSystem(seeded_settings)
        try:  # … and cancels one of them
            system.ledger.cancel([created[0].job_id])
        finally:
            system.close()
        await wait_until(pilot, lambda: int(queue_line(app, "transcripts")[2]) == before + 2,
                         what="pending back to +2")


# -- jobs -----------------------------------------------------------------------------------


async def test_jobs_filter_search_and_detail(make_app, seeded: Seeded) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await jobs_shown(pilot)
        await choose_status(pilot, "failed")
        table = await jobs_shown(pilot, 2)
        assert {r[3] for r in rows(table)} == {"failed"}
        assert {r[2] for r in rows(table)} == set(seeded.failed_videos)
        detail = app.query_one("#job-detail")
        await wait_until(pilot, lambda: "error class" in text(detail))
        shown = text(detail)
        assert "transient" in shown and "attempts    1 of 1" in shown and "worker" in shown
        assert "1 of 1" in shown
        await pilot.press("slash")
        await pilot.press(*seeded.failed_videos[1][:8])
        table = await jobs_shown(pilot, 1)
        assert rows(table)[0][2] == seeded.failed_videos[1]
        await pilot.press("escape")  # clears every filter
        await wait_until(pilot, lambda: table.row_count > 2)
        assert "all jobs" in text(app.query_one("#jobs-summary"))


async def test_cancel_a_queued_job(make_app, seeded_settings) -> None:
    system = JobSystem(seeded_settings)
    try:
        (job,) = system.enqueue_videos(["BBBBBBBBBB1"])
    finally:
        system.close()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        table = await jobs_shown(pilot)
        assert rows(table)[0][0] == str(job.job_id)  # newest first, the cursor on it
        await pilot.press("c")  # cancelling cannot be taken back by accident: it asks
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        body = text(app.screen.query_one("#dialog-body"))
        assert f"Job {job.job_id}" in body and "BBBBBBBBBB1" in body and "pending" in body
        await pilot.press("n")  # changed my mind: nothing happens
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "ConfirmScreen")
        await pilot.pause(0.3)
        assert status_of(seeded_settings, job.job_id) == "pending"
        await pilot.press("c")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_until(pilot, lambda: status_of(seeded_settings, job.job_id) == "cancelled",
                         what="job cancelled in the ledger")
        await wait_until(pilot, lambda: rows(table)[0][3] == "cancelled")
        await pilot.press("c")  # nothing left to cancel: a warning, no change
        await pilot.pause(0.2)
        assert status_of(seeded_settings, job.job_id) == "cancelled"
        assert app.screen.__class__.__name__ != "ConfirmScreen"
        await pilot.press("r")  # a cancelled job comes back: pending again, with a message
        await wait_until(pilot, lambda: status_of(seeded_settings, job.job_id) == "pending",
                         what="cancelled -> pending in the ledger")
        await wait_until(pilot, lambda: rows(table)[0][3] == "pending")
        assert scalar(seeded_settings, "SELECT attempts FROM processing_jobs WHERE id=:i",
                      i=job.job_id) == 0  # it never ran: it still has all its attempts


async def test_retry_a_failed_job_that_used_its_attempts(make_app, seeded_settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await jobs_shown(pilot)
        await choose_status(pilot, "failed")
        table = await jobs_shown(pilot, 2)
        job_id = int(rows(table)[0][0])
        await pilot.press("r")  # its one attempt is used: the app asks first
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("y")
        await wait_until(pilot, lambda: status_of(seeded_settings, job_id) == "pending",
                         what="failed -> pending in the ledger")
        assert scalar(seeded_settings, "SELECT attempts FROM processing_jobs WHERE id=:i",
                      i=job_id) == 0
        await jobs_shown(pilot, 1)  # the failed filter now shows only the other one


async def test_retry_all_failed_asks_first(make_app, seeded_settings) -> None:
    failed = "SELECT count(*) FROM processing_jobs WHERE status='failed'"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await jobs_shown(pilot)
        await pilot.press("A")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        body = text(app.screen.query_one("#dialog-body"))
        assert "2 failed jobs" in body and "0 still have attempts left" in body
        await pilot.pause(0.6)  # refreshes go on under the dialog
        assert app.screen.__class__.__name__ == "ConfirmScreen"
        await pilot.press("n")  # changed my mind
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "ConfirmScreen")
        assert scalar(seeded_settings, failed) == 2
        await pilot.press("A")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.press("f")  # all of them, with fresh attempts
        await wait_until(pilot, lambda: scalar(seeded_settings, failed) == 0,
                         what="every failed job re-queued")
        assert scalar(seeded_settings, "SELECT count(*) FROM processing_jobs WHERE "
                                        "status='pending' AND job_type='extract_transcript'") == 2


# -- failures -------------------------------------------------------------------------------


async def test_failures_grouped_and_drilled_into(make_app, seeded: Seeded) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3")
        table = app.query_one("#failures-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        (group,) = rows(table)
        assert group[:3] == ["transient", "extract_transcript", "2"]
        assert "newest: job" in text(app.query_one("#failure-message"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "jobs")
        jobs = await jobs_shown(pilot, 2)
        assert {r[2] for r in rows(jobs)} == set(seeded.failed_videos)
        assert "error transient" in text(app.query_one("#jobs-summary"))


# -- sessions -------------------------------------------------------------------------------


async def test_sessions_show_progress_and_their_jobs(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await wait_until(pilot, lambda: app.query("SessionCard"))
        card = app.query_one("SessionCard")
        assert "seed batch" in text(card.query_one(".session-title"))
        assert card.query_one(ProgressBar).percentage == 1.0
        assert "completed 3" in text(card.query_one(".session-counts"))
        # The report is loaded by its own worker once the card is selected.
        report = await wait_until(pilot, lambda: text(app.query_one("#session-report")),
                                  what="the session report")
        assert "jobs finished  3 of 3 (100%)" in report
        # Jobs completed and transcripts obtained: two numbers, each with its own name.
        assert "jobs completed 3 of 3" in report and "transcripts    3 of 3 videos" in report
        assert "no transcript  0" in report and "success rate   100% of finished jobs" in report
        await pilot.press("j")
        await wait_until(pilot, lambda: app.query_one("#tabs").active == "jobs")
        table = await jobs_shown(pilot, 4)  # three transcripts and the batch job
        assert sorted(r[1] for r in rows(table)) == ["batch", "transcript", "transcript",
                                                      "transcript"]


# -- channels -------------------------------------------------------------------------------


async def test_pause_and_resume_a_channel(make_app, seeded: Seeded, seeded_settings) -> None:
    status = "SELECT status FROM channels WHERE youtube_channel_id = :c"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        table = app.query_one("#channels-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("p")
        await wait_until(pilot, lambda: scalar(seeded_settings, status,
                                               c=seeded.channel_id) == "paused")
        await wait_until(pilot, lambda: rows(table)[0][1] == "paused")
        await pilot.press("p")
        await wait_until(pilot, lambda: scalar(seeded_settings, status,
                                               c=seeded.channel_id) == "active")


async def test_rescan_queues_a_discovery_job(make_app, seeded: Seeded, seeded_settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        table = app.query_one("#channels-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)
        await pilot.press("r")
        await wait_until(pilot, lambda: scalar(
            seeded_settings, "SELECT count(*) FROM processing_jobs WHERE job_type="
            "'discover_channel' AND status='pending' AND entity_id=:c", c=seeded.channel_id),
            what="a pending rescan")


async def test_add_channel_shows_the_parser_error_then_queues(make_app, seeded_settings) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await pilot.press("a")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "AddChannelScreen")
        await pilot.press(*"not a channel", "enter")
        error = app.screen.query_one("#channel-ref-error", Static)
        await wait_until(pilot, lambda: text(error))
        assert "space" in text(error)
        assert app.screen.__class__.__name__ == "AddChannelScreen"  # still open
        app.screen.query_one("#channel-ref", Input).value = ""
        await pilot.press(*"https://www.youtube.com/@BrandNewChannel", "enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "AddChannelScreen")
        await wait_until(pilot, lambda: scalar(
            seeded_settings, "SELECT count(*) FROM processing_jobs WHERE "
            "job_type='discover_channel' AND entity_id='@brandnewchannel' AND "
            "status='pending'"), what="a discovery job for the new channel")


# -- transcripts ----------------------------------------------------------------------------


async def test_search_and_open_a_transcript(make_app, seeded: Seeded) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await pilot.press(*seeded.search_word, "enter")
        table = app.query_one("#hits-table", DataTable)
        await wait_until(pilot, lambda: table.row_count)
        assert "matches" in text(app.query_one("#search-summary"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TranscriptScreen")
        await wait_until(pilot, lambda: app.screen.query(".paragraph"))
        paragraphs = [text(p) for p in app.screen.query(".paragraph")]
        assert re.match(r"\[\d+:\d\d\] \w", paragraphs[0]), paragraphs[0]
        assert any(seeded.search_word in p.lower() for p in paragraphs)
        assert "youtu.be/" in text(app.screen.query_one("#transcript-head"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "TranscriptScreen")


async def test_a_query_without_words_is_explained_inline(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await pilot.press(*'"..."', "enter")
        summary = app.query_one("#search-summary")
        await wait_until(pilot, lambda: "no words" in text(summary))


async def test_a_missing_transcript_says_why(make_app, seeded: Seeded) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await jobs_shown(pilot)
        await choose_status(pilot, "failed")
        await jobs_shown(pilot, 2)
        await pilot.press("o")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "TranscriptScreen")
        head = app.screen.query_one("#transcript-head")
        await wait_until(pilot, lambda: "not in the corpus" in text(head))


# -- help, errors ---------------------------------------------------------------------------


async def test_help_lists_every_tab_and_its_keys(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ == "HelpScreen")
        shown = text(app.screen.query_one("Static"))
        for words in ("Dashboard tab", "Retry all failed", "Add channel", "Pause/resume",
                      "Session's jobs", "Show these jobs", "Search"):
            assert words in shown
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen.__class__.__name__ != "HelpScreen")


async def test_a_failing_worker_is_shown_and_the_app_keeps_going(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        real = app.data.failures

        def broken() -> Any:
            raise RuntimeError("database is locked")

        app.data.failures = broken
        await pilot.press("3")
        await wait_until(pilot, lambda: any("database is locked" in str(n.message)
                                            for n in app._notifications), what="notification")
        app.data.failures = real
        await pilot.press("g")
        table = app.query_one("#failures-table", DataTable)
        await wait_until(pilot, lambda: table.row_count == 1)


@pytest.mark.parametrize("size", [(80, 24), (120, 36), (200, 60)])
async def test_every_tab_renders_at_any_size(make_app, size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await wait_until(pilot, lambda: "transcripts" in text(app.query_one("#queues")))
        for key in "123456":
            await pilot.press(key)
            await pilot.pause(0.1)
        assert app.is_running


async def test_keys_typed_into_a_field_stay_in_the_field(make_app) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await pilot.press(*"q1 2?")
        assert app.query_one("#search-input", Input).value == "q1 2?"
        assert app.is_running and app.query_one("#tabs").active == "transcripts"
        assert app.screen.__class__.__name__ != "HelpScreen"
