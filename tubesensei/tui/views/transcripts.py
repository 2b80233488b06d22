"""Transcripts: search the corpus; enter opens a hit's transcript at its second."""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from tubesensei.formatting import hms
from tubesensei.queries.search import HIGHLIGHT_END, HIGHLIGHT_START, BadQuery, SearchHit
from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import SearchResults
from tubesensei.tui.messages import SearchCompleted, TranscriptRequested
from tubesensei.tui.views.base import DataView
from tubesensei.tui.widgets.table import fill_table, selected_key, set_columns

HINT = 'words are ANDed · "a phrase" · -exclude'


def highlighted(snippet: str) -> Content:
    """The snippet with its matches marked (the search marks them with \\x02…\\x03)."""
    parts: list[tuple[str, str] | str] = []
    rest = " ".join(snippet.split())
    while HIGHLIGHT_START in rest:
        before, _, tail = rest.partition(HIGHLIGHT_START)
        match, _, rest = tail.partition(HIGHLIGHT_END)
        parts += [before, (match, "bold reverse")]
    parts.append(rest)
    return Content.assemble(*parts)


def hit_key(n: int, hit: SearchHit) -> str:
    return f"{n}:{hit.video_id}:{hit.start_s}"


class TranscriptsView(DataView):
    LIVE = False
    BINDINGS = [Binding("slash", "search", "Search"),
                Binding("enter", "open", "Open transcript", show=False)]
    FOCUS = "#search-input"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.results: SearchResults | None = None

    def compose(self) -> ComposeResult:
        yield Input(placeholder=f"search transcripts: {HINT}", id="search-input")
        yield Static(Content.styled("Type a query and press enter.", "$text-muted"),
                     id="search-summary")
        yield DataTable(id="hits-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        set_columns(self.query_one("#hits-table", DataTable), [
            ("video", 30), ("channel", 16), ("at", 7), ("snippet", 160)])

    def reload(self, periodic: bool = False) -> None:
        """Nothing to refresh on its own: a search runs when asked."""

    def action_search(self) -> None:
        self.query_one("#search-input", Input).focus()

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.query_one("#search-summary", Static).update(
                Content.styled("searching…", "$text-muted"))
            self.run_search(event.value)

    @work(exclusive=True, group="search", exit_on_error=False)
    async def run_search(self, query: str) -> None:
        try:
            results = await self.data.search(query)
        except BadQuery as exc:
            results = SearchResults(query, [], 0, error=str(exc))
        self.post_message(SearchCompleted(results))

    def on_search_completed(self, message: SearchCompleted) -> None:
        r = message.results
        self.results = r
        table = self.query_one("#hits-table", DataTable)
        fill_table(table, [
            (hit_key(n, h), (fmt.shorten(h.title, 34), fmt.shorten(h.channel_title, 18),
                             hms(h.start_s), highlighted(h.snippet)))
            for n, h in enumerate(r.hits)
        ])
        summary = self.query_one("#search-summary", Static)
        if r.error:
            summary.update(Content.styled(r.error, "$error"))
        elif not r.hits:
            summary.update(Content.assemble("No transcript matches ", (r.query, "bold"), "."))
        else:
            capped = getattr(r.total, "capped", False)  # "10,000+": counting stopped there
            count = r.total.text() if capped else fmt.number(r.total)
            shown = (f" · {len(r.hits)} shown" if capped
                     else f" · best {len(r.hits)} shown" if r.total > len(r.hits) else "")
            summary.update(Content.assemble(
                (f"{count} matches", "bold"), f" for {r.query}{shown}",
                ("  ·  enter opens the transcript at that point", "$text-muted")))
        if r.hits:
            table.move_cursor(row=0)
            table.focus()

    @on(DataTable.RowSelected, "#hits-table")
    def action_open(self) -> None:
        if self.results is None:
            return
        key = selected_key(self.query_one("#hits-table", DataTable))
        for n, hit in enumerate(self.results.hits):
            if hit_key(n, hit) == key:
                self.post_message(TranscriptRequested(hit.video_id, hit.start_s))
                return
