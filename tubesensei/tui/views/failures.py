"""Failures: failed jobs grouped by error class and type, with the newest message of each."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import JobFilter, parse_time
from tubesensei.tui.messages import FailureGroupChosen, FailuresLoaded
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.table import fill_table, selected_key, set_columns

UNKNOWN = "(none)"


def group_key(group: dict[str, Any]) -> str:
    return f"{group['error_class'] or UNKNOWN}|{group['job_type']}"


class FailuresView(DataView):
    BINDINGS = [Binding("enter", "open_group", "Show these jobs", show=False),
                Binding("j", "open_group", "Show these jobs")]
    FOCUS = "#failures-table"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.groups: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static(id="failures-summary")
        yield DataTable(id="failures-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="failure-message")

    def on_mount(self) -> None:
        set_columns(self.query_one("#failures-table", DataTable), [
            ("error class", 14), ("job type", 18), ("jobs", 6), ("newest", 12),
            ("newest message", 100)])

    def reload(self, periodic: bool = False) -> None:
        if not (periodic and self.busy("failures")):
            self.load_failures()

    @work(exclusive=True, group="failures", exit_on_error=False)
    async def load_failures(self) -> None:
        groups = await self.data.failures()
        self.post_message(FailuresLoaded(groups))

    def on_failures_loaded(self, message: FailuresLoaded) -> None:
        self.groups = message.groups
        now = self.data.clock()
        fill_table(self.query_one("#failures-table", DataTable), [
            (group_key(g), (
                Content.styled(g["error_class"] or UNKNOWN, "$error"), g["job_type"],
                Content.styled(fmt.number(g["count"]).rjust(6), "bold"),
                fmt.ago(parse_time(g["latest_at"]), now),
                fmt.shorten(g["latest_error"], 90),
            ))
            for g in message.groups
        ])
        total = sum(g["count"] for g in message.groups)
        summary = (Content.assemble((f"{fmt.number(total)} failed jobs", "bold"),
                                    f" in {len(message.groups)} groups · enter shows a group's "
                                    "jobs (retry them there)")
                   if total else Content.styled("No failed jobs.", "$success"))
        self.query_one("#failures-summary", Static).update(summary)
        self._show_message()

    @on(DataTable.RowHighlighted, "#failures-table")
    def _show_message(self) -> None:
        group = self._selected()
        box = self.query_one("#failure-message", Static)
        if group is None:
            box.update("")
            return
        box.update(Content.assemble(
            (f"newest: job {group['latest_id']} ({group['latest_entity']})\n", "$text-muted"),
            group["latest_error"] or "(no message)"))

    def _selected(self) -> dict[str, Any] | None:
        key = selected_key(self.query_one("#failures-table", DataTable))
        return next((g for g in self.groups if group_key(g) == key), None)

    @on(DataTable.RowSelected, "#failures-table")
    def action_open_group(self) -> None:
        group = self._selected()
        if group is None:
            return
        self.post_message(FailureGroupChosen(JobFilter(
            status="failed", job_type=group["job_type"], error_class=group["error_class"])))
