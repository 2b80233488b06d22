"""Channels: videos discovered vs transcripts vs unavailable; rescan, pause, add."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Static

from tubesensei.queries.corpus import ChannelSummary
from tubesensei.tui import formatting as fmt
from tubesensei.tui.messages import ChannelQueued, ChannelsLoaded, ChannelStatusChanged
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.table import fill_table, selected_key, set_columns
from tubesensei.youtube.ids import ChannelRef


class ChannelsView(DataView):
    BINDINGS = [
        Binding("a", "add", "Add channel"),
        Binding("r", "rescan", "Rescan"),
        Binding("R", "rescan(True)", "Full rescan"),
        Binding("p", "toggle_pause", "Pause/resume"),
    ]
    FOCUS = "#channels-table"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels: list[ChannelSummary] = []

    def compose(self) -> ComposeResult:
        yield Static(id="channels-summary")
        yield DataTable(id="channels-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="channel-error")

    def on_mount(self) -> None:
        set_columns(self.query_one("#channels-table", DataTable), [
            ("channel", 18), ("status", 6), ("videos", 6), ("transcripts", 11),
            ("unavailable", 11), ("pending", 7), ("failed", 6), ("last scan", 11),
            ("handle", 24)])

    def reload(self, periodic: bool = False) -> None:
        if not (periodic and self.busy("channels")):
            self.load_channels()

    @work(exclusive=True, group="channels", exit_on_error=False)
    async def load_channels(self) -> None:
        channels = await self.data.channels()
        self.post_message(ChannelsLoaded(channels))

    def on_channels_loaded(self, message: ChannelsLoaded) -> None:
        self.channels = message.channels
        now = self.data.clock()
        fill_table(self.query_one("#channels-table", DataTable), [
            (c.youtube_channel_id, (
                fmt.shorten(c.title or c.youtube_channel_id, 18),
                Content.styled(c.status, fmt.STATUS_STYLE.get(c.status, "")),
                fmt.number(c.videos).rjust(6),
                Content.styled(fmt.number(c.transcripts).rjust(11), "$success"),
                fmt.number(c.unavailable).rjust(11), fmt.number(c.pending).rjust(7),
                Content.styled(fmt.number(c.failed).rjust(6), "$error" if c.failed else ""),
                fmt.ago(c.last_discovered_at, now),
                f"@{c.handle}" if c.handle else c.youtube_channel_id,
            ))
            for c in message.channels
        ])
        if message.channels:
            videos = sum(c.videos for c in message.channels)
            done = sum(c.transcripts for c in message.channels)
            summary = Content.assemble(
                (f"{len(message.channels)} channels", "bold"),
                f" · {fmt.number(videos)} videos · {fmt.number(done)} transcripts")
        else:
            summary = Content.styled("No channels yet: press a to add one.", "$text-muted")
        self.query_one("#channels-summary", Static).update(summary)
        self._show_error()

    def _show_error(self) -> None:
        channel = self._selected(quiet=True)
        box = self.query_one("#channel-error", Static)
        if channel is not None and channel.last_error:
            box.update(Content.assemble(("last error: ", "$error"),
                                        fmt.shorten(channel.last_error, 200)))
        else:
            box.update("")

    def on_data_table_row_highlighted(self) -> None:
        self._show_error()

    def _selected(self, quiet: bool = False) -> ChannelSummary | None:
        key = selected_key(self.query_one("#channels-table", DataTable))
        found = next((c for c in self.channels if c.youtube_channel_id == key), None)
        if found is None and not quiet:
            self.notify("No channel selected.", severity="warning")
        return found

    # -- actions --------------------------------------------------------------------------

    def action_add(self) -> None:
        from tubesensei.tui.screens.add_channel import AddChannelScreen

        def added(ref: ChannelRef | None) -> None:
            if ref is not None:
                self.queue_discovery(ref, rescan=False)

        self.app.push_screen(AddChannelScreen(), added)

    def action_rescan(self, full: bool = False) -> None:
        channel = self._selected()
        if channel is not None:
            self.queue_discovery(ChannelRef("id", channel.youtube_channel_id), rescan=True,
                                 full=full)

    @work(group="channel-actions", exit_on_error=False)
    async def queue_discovery(self, ref: ChannelRef, *, rescan: bool, full: bool = False) -> None:
        created = await self.data.enqueue_channel(ref, full=full)
        self.post_message(ChannelQueued(created, rescan))

    def on_channel_queued(self, message: ChannelQueued) -> None:
        c = message.created
        what = "rescan" if message.rescan else "discovery"
        if c.created:
            self.notify(f"Queued {what} of {c.spec.entity_id} (job {c.job_id}).")
        else:
            self.notify(f"{c.spec.entity_id}: a discovery job is already {c.status} "
                        f"(job {c.job_id}).", severity="warning")
        self.tui.load_dashboard()

    def action_toggle_pause(self) -> None:
        channel = self._selected()
        if channel is not None:
            self.set_paused(channel.youtube_channel_id, channel.status != "paused")

    @work(group="channel-actions", exit_on_error=False)
    async def set_paused(self, youtube_channel_id: str, paused: bool) -> None:
        status = await self.data.set_channel_paused(youtube_channel_id, paused)
        self.post_message(ChannelStatusChanged(youtube_channel_id, status))

    def on_channel_status_changed(self, message: ChannelStatusChanged) -> None:
        verb = "paused (rescans skip it)" if message.status == "paused" else message.status
        self.notify(f"Channel {message.youtube_channel_id} {verb}.")
        self.reload()
