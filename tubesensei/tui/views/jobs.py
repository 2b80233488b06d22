"""Jobs: the ledger, newest first, filtered and searched; one job in full; cancel and retry."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Input, Select, Static

from tubesensei.db.models import JOB_STATUSES
from tubesensei.jobs.registry import JOB_TYPES, QUEUES
from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import JobFilter, JobsPage, parse_time
from tubesensei.tui.messages import (
    FailedCounted,
    JobLoaded,
    JobsCancelled,
    JobsLoaded,
    JobsRetried,
    TranscriptRequested,
)
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.job_detail import JobDetail
from tubesensei.tui.widgets.table import fill_table, selected_key, set_columns

ACTIVE = ("pending", "retrying", "running")
SHORT_TYPES = {name: jt.label for name, jt in JOB_TYPES.items()}


def when(row: dict[str, Any], now: datetime) -> str:
    """The moment that matters for the row's status, relative to now."""
    status = row["status"]
    if status == "retrying" and row.get("next_retry_at"):
        return fmt.until(parse_time(row["next_retry_at"]), now)
    if status == "running":
        return fmt.ago(parse_time(row.get("started_at")), now)
    if status in ("completed", "failed", "cancelled"):
        return fmt.ago(parse_time(row.get("finished_at")), now)
    return fmt.ago(parse_time(row.get("created_at")), now)


def job_cells(row: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    status = row["status"]
    error = (row.get("error_class") or "") if status in ("failed", "retrying") else ""
    return (
        str(row["id"]), SHORT_TYPES.get(row["job_type"], row["job_type"]),
        fmt.shorten(row["entity_id"], 11),
        Content.styled(status, fmt.STATUS_STYLE.get(status, "")),
        f"{row['attempts']}/{row['max_attempts']}", when(row, now),
        Content.styled(error, "$error" if status == "failed" else "$warning"),
    )


class JobsView(DataView):
    BINDINGS = [
        Binding("c", "cancel", "Cancel job"),
        Binding("r", "retry", "Retry job"),
        Binding("A", "retry_all", "Retry all failed"),
        Binding("slash", "search", "Search"),
        Binding("s", "cycle_status", "Status filter"),
        Binding("t", "cycle_type", "Type filter"),
        Binding("o", "open_transcript", "Transcript", show=False),
        Binding("escape", "clear_filters", "Clear filters"),
    ]
    FOCUS = "#jobs-table"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filter = JobFilter()
        self.page: JobsPage | None = None
        self.job: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="job-filters"):
            yield Select([(s, s) for s in JOB_STATUSES], prompt="any status", compact=True,
                         id="filter-status")
            yield Select([(SHORT_TYPES[t], t) for t in JOB_TYPES], prompt="any type",
                         compact=True, id="filter-type")
            yield Select([(q, q) for q in QUEUES], prompt="any queue", compact=True,
                         id="filter-queue")
            yield Input(placeholder="/ search entity (video id, @handle…)", compact=True,
                        id="filter-entity")
        yield Static(id="jobs-summary")
        with Horizontal(id="jobs-body"):
            yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="job-detail-pane"):
                yield JobDetail(id="job-detail")

    def on_mount(self) -> None:
        set_columns(self.query_one("#jobs-table", DataTable), [
            ("id", 6), ("type", 10), ("entity", 11), ("status", 9), ("tries", 5), ("when", 11),
            ("error", 10)])

    # -- loading --------------------------------------------------------------------------

    def reload(self, periodic: bool = False) -> None:
        if periodic and self.busy("jobs"):
            return
        self.load_jobs(self.filter)
        if self.job is not None and not self.busy("job"):
            self.load_job(int(self.job["id"]))

    @work(exclusive=True, group="jobs", exit_on_error=False)
    async def load_jobs(self, flt: JobFilter) -> None:
        page = await self.data.jobs(flt)
        self.post_message(JobsLoaded(page))

    @work(exclusive=True, group="job", exit_on_error=False)
    async def load_job(self, job_id: int) -> None:
        job = await self.data.job(job_id)
        self.post_message(JobLoaded(job))

    def on_jobs_loaded(self, message: JobsLoaded) -> None:
        page = message.page
        if page.filter != self.filter:
            return  # the filter changed while it loaded
        self.page = page
        now = self.data.clock()
        table = self.query_one("#jobs-table", DataTable)
        fill_table(table, [(str(r["id"]), job_cells(r, now)) for r in page.rows])
        shown = len(page.rows)
        more = f" (newest {shown}; narrow the filters to see others)" if page.total > shown \
            else ""
        self.query_one("#jobs-summary", Static).update(Content.assemble(
            (f"{fmt.number(page.total)} job{'s' if page.total != 1 else ''}", "bold"),
            f" · {page.filter.describe()}{more}",
            ("  ·  esc clears the filters", "$text-muted") if page.filter != JobFilter() else "",
        ))
        key = selected_key(table)
        if key is None:
            self.job = None
            self.query_one(JobDetail).show(None, now, self.data.tz)
        elif self.job is None or str(self.job["id"]) != key:
            self.load_job(int(key))

    def on_job_loaded(self, message: JobLoaded) -> None:
        key = selected_key(self.query_one("#jobs-table", DataTable))
        if key is not None and key != str(message.job["id"]):
            return
        self.job = message.job
        self.query_one(JobDetail).show(message.job, self.data.clock(), self.data.tz)

    @on(DataTable.RowHighlighted, "#jobs-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key.value is not None and (
                self.job is None or str(self.job["id"]) != event.row_key.value):
            self.load_job(int(event.row_key.value))

    # -- filters --------------------------------------------------------------------------

    def set_filter(self, flt: JobFilter) -> None:
        """Show these jobs (from the failures or sessions views)."""
        self.filter = flt
        for select_id, value in (("#filter-status", flt.status), ("#filter-type", flt.job_type),
                                 ("#filter-queue", flt.queue)):
            select = self.query_one(select_id, Select)
            select.value = value if value is not None else Select.NULL
        self.query_one("#filter-entity", Input).value = flt.entity
        self.reload()

    def _change(self, **changes: Any) -> None:
        new = replace(self.filter, **changes)
        if new != self.filter:
            self.filter = new
            self.reload()

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        value = None if event.value is Select.NULL else event.value
        field = {"filter-status": "status", "filter-type": "job_type",
                 "filter-queue": "queue"}.get(event.select.id or "")
        if field:
            self._change(**{field: value})

    @on(Input.Changed, "#filter-entity")
    def _entity_changed(self, event: Input.Changed) -> None:
        self._change(entity=event.value)

    @on(Input.Submitted, "#filter-entity")
    def _entity_submitted(self) -> None:
        self.query_one("#jobs-table").focus()

    def action_search(self) -> None:
        self.query_one("#filter-entity", Input).focus()

    def action_clear_filters(self) -> None:
        if self.filter != JobFilter():
            self.set_filter(JobFilter())
        self.query_one("#jobs-table").focus()

    def _cycle(self, select_id: str, values: list[str]) -> None:
        select = self.query_one(select_id, Select)
        order: list[Any] = [Select.NULL, *values]
        current = select.value if select.value in order else Select.NULL
        select.value = order[(order.index(current) + 1) % len(order)]

    def action_cycle_status(self) -> None:
        self._cycle("#filter-status", list(JOB_STATUSES))

    def action_cycle_type(self) -> None:
        self._cycle("#filter-type", list(JOB_TYPES))

    # -- actions --------------------------------------------------------------------------

    def _selected_job(self) -> dict[str, Any] | None:
        key = selected_key(self.query_one("#jobs-table", DataTable))
        if key is None or self.page is None:
            self.notify("No job selected.", severity="warning")
            return None
        for row in self.page.rows:
            if str(row["id"]) == key:
                return row
        return None

    def action_cancel(self) -> None:
        row = self._selected_job()
        if row is None:
            return
        if row["status"] not in ACTIVE:
            self.notify(f"Job {row['id']} is {row['status']}: nothing to cancel.",
                        severity="warning")
            return
        from tubesensei.tui.screens.confirm import ConfirmScreen

        job_id = int(row["id"])
        what = f"{SHORT_TYPES.get(row['job_type'], row['job_type'])} {row['entity_id']}"
        stop = ("it stops at its next checkpoint" if row["status"] == "running"
                else "it will not run")

        def chosen(answer: str | None) -> None:
            if answer == "y":
                self.cancel_jobs([job_id])

        self.app.push_screen(ConfirmScreen(
            "Cancel this job?",
            f"Job {job_id} ({what}) is {row['status']}: {stop}. Retry brings it back (r)."),
            chosen)

    @work(group="job-actions", exit_on_error=False)
    async def cancel_jobs(self, job_ids: list[int]) -> None:
        cancelled, requested = await self.data.cancel(job_ids)
        self.post_message(JobsCancelled(cancelled, requested))

    def on_jobs_cancelled(self, message: JobsCancelled) -> None:
        parts = []
        if message.cancelled:
            parts.append(f"cancelled job {', '.join(map(str, message.cancelled))}")
        if message.requested:
            parts.append(f"asked running job {', '.join(map(str, message.requested))} to stop "
                         "at its next checkpoint")
        self.notify("; ".join(parts) or "nothing to cancel (the job had moved on)")
        self.reload()

    def action_retry(self) -> None:
        row = self._selected_job()
        if row is None:
            return
        if row["status"] not in ("failed", "cancelled"):
            self.notify(f"Job {row['id']} is {row['status']}: only failed or cancelled jobs "
                        "are retried.", severity="warning")
            return
        job_id = int(row["id"])
        if row["status"] == "cancelled" or row["attempts"] < row["max_attempts"]:
            self.retry_jobs(job_id=job_id, what=f"job {job_id}")
            return
        from tubesensei.tui.screens.confirm import ConfirmScreen

        def chosen(answer: str | None) -> None:
            if answer == "y":
                self.retry_jobs(job_id=job_id, force=True, what=f"job {job_id}")

        self.app.push_screen(ConfirmScreen(
            "Retry a job that used its attempts?",
            f"Job {job_id} used all {row['max_attempts']} of its attempts. Retry it with "
            "fresh attempts?"), chosen)

    def action_retry_all(self) -> None:
        self.count_failed(self.filter.job_type)

    @work(group="job-actions", exit_on_error=False)
    async def count_failed(self, job_type: str | None) -> None:
        failed, left = await self.data.failed_counts(job_type)
        self.post_message(FailedCounted(job_type, failed, left))

    def on_failed_counted(self, message: FailedCounted) -> None:
        from tubesensei.tui.screens.confirm import ConfirmScreen

        job_type, failed, left = message.job_type, message.failed, message.with_attempts_left
        kind = f"{SHORT_TYPES.get(job_type, job_type)} " if job_type else ""
        if failed == 0:
            self.notify(f"No failed {kind}jobs to retry.")
            return
        what = f"{failed} failed {kind}job{'s' if failed != 1 else ''}"
        choices: list[tuple[str, str]] = []
        if left:
            choices.append(("y", f"Retry {left} with attempts left"))
        if left < failed:
            choices.append(("f", f"Retry all {failed} with fresh attempts"))
        choices.append(("n", "Cancel"))
        body = (f"{what}: {left} still {'have' if left != 1 else 'has'} attempts left, "
                f"{failed - left} used all of theirs.")

        def chosen(answer: str | None) -> None:
            if answer in ("y", "f"):
                self.retry_jobs(job_type=job_type, force=answer == "f", what=what)

        self.app.push_screen(ConfirmScreen(f"Retry {what}?", body, choices), chosen)

    @work(group="job-actions", exit_on_error=False)
    async def retry_jobs(self, *, job_id: int | None = None, job_type: str | None = None,
                   force: bool = False, what: str = "") -> None:
        count = await self.data.retry(job_id=job_id, job_type=job_type, force=force)
        self.post_message(JobsRetried(count, what))

    def on_jobs_retried(self, message: JobsRetried) -> None:
        if message.count:
            self.notify(f"Re-queued {message.count} job{'s' if message.count != 1 else ''}.")
        else:
            self.notify(f"Nothing re-queued ({message.what} changed meanwhile, or another job "
                        "of the same entity is active).", severity="warning")
        self.reload()

    def action_open_transcript(self) -> None:
        row = self._selected_job()
        if row is not None and row["job_type"] == "extract_transcript":
            self.post_message(TranscriptRequested(row["entity_id"]))
