"""A video's cleaned transcript in timestamped paragraphs (the CLI's rule: formatting.py)."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from tubesensei.formatting import hms
from tubesensei.queries.transcripts import StoredTranscript
from tubesensei.tui import formatting as fmt
from tubesensei.tui.messages import TranscriptLoaded, TranscriptMissing, WorkFailed


class TranscriptScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("q", "app.pop_screen", "Back", show=False),
        Binding("j", "scroll(1)", "Down", show=False),
        Binding("k", "scroll(-1)", "Up", show=False),
    ]

    def __init__(self, video_id: str, at_seconds: float | None = None) -> None:
        super().__init__()
        self.video_id = video_id
        self.at_seconds = at_seconds

    def compose(self) -> ComposeResult:
        yield Static(Content.styled(f"loading the transcript of {self.video_id}…",
                                    "$text-muted"), id="transcript-head")
        yield VerticalScroll(id="transcript-body")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="transcript", exit_on_error=False)
    async def load(self) -> None:
        from tubesensei.queries.corpus import VideoNotInCorpus
        from tubesensei.queries.transcripts import TranscriptNotStored

        data = self.app.data  # type: ignore[attr-defined]
        try:
            transcript = await data.transcript(self.video_id)
        except (TranscriptNotStored, VideoNotInCorpus) as exc:
            self.post_message(TranscriptMissing(str(exc)))
            return
        self.post_message(TranscriptLoaded(transcript))

    def on_transcript_missing(self, message: TranscriptMissing) -> None:
        self.query_one("#transcript-head", Static).update(
            Content.styled(message.why, "$warning"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkFailed(event.worker.name, event.worker.error))

    def on_transcript_loaded(self, message: TranscriptLoaded) -> None:
        t: StoredTranscript = message.transcript
        kind = "auto-generated" if t.is_generated else "manual"
        self.query_one("#transcript-head", Static).update(Content.assemble(
            (t.title or t.video_id, "bold"), "\n",
            (f"{t.channel_title} · {t.language} ({t.language_code}, {kind}) · "
             f"{fmt.number(t.word_count)} words · https://youtu.be/{t.video_id}",
             "$text-muted")))
        body = self.query_one("#transcript-body", VerticalScroll)
        paragraphs = t.paragraphs()
        widgets = [
            Static(Content.assemble((f"[{hms(start)}] ", "$accent"), text),
                   classes="paragraph")
            for start, text in paragraphs
        ]
        body.mount_all(widgets)
        if widgets and self.at_seconds is not None:  # opened from a search hit: show it
            target = max((n for n, (start, _) in enumerate(paragraphs)
                          if start <= self.at_seconds), default=0)
            widgets[target].add_class("-hit")
            self.call_after_refresh(body.scroll_to_widget, widgets[target], top=True,
                                    animate=False)
        body.focus()

    def action_scroll(self, lines: int) -> None:
        self.query_one("#transcript-body", VerticalScroll).scroll_relative(y=lines,
                                                                           animate=False)
