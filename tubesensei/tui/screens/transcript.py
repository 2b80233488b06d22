"""A video's cleaned transcript in timestamped blocks (about 30 s each)."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from tubesensei.pipeline.cleaning import PARAGRAPH_PAUSE_SECONDS
from tubesensei.pipeline.videos import StoredTranscript
from tubesensei.tui import formatting as fmt
from tubesensei.tui.messages import TranscriptLoaded, TranscriptMissing, WorkFailed

BLOCK_SECONDS = 30.0  # a timestamp at least this often
LONGEST_BLOCK_SECONDS = 45.0
SENTENCE_END = (".", "?", "!", "…", '."', '?"', '!"')


def blocks(segments: list[list[Any]]) -> list[tuple[float, str]]:
    """The cleaned segments as readable blocks with their start: a new block after a long
    pause, or once a block has run 30 s and a sentence ends (45 s at most)."""
    out: list[tuple[float, list[str]]] = []
    previous_end = None
    for start, duration, text in segments:
        start = float(start)
        if out:
            block_start, words = out[-1]
            ran = start - block_start
            pause = previous_end is not None and start - previous_end >= PARAGRAPH_PAUSE_SECONDS
            ended = bool(words) and words[-1].rstrip().endswith(SENTENCE_END)
            if pause or ran >= LONGEST_BLOCK_SECONDS or (ran >= BLOCK_SECONDS and ended):
                out.append((start, []))
        else:
            out.append((start, []))
        out[-1][1].append(str(text))
        previous_end = start + float(duration or 0)
    return [(start, " ".join(words)) for start, words in out]


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

    @work(thread=True, exclusive=True, group="transcript", exit_on_error=False)
    def load(self) -> None:
        from tubesensei.pipeline.transcripts import VideoNotInCorpus
        from tubesensei.pipeline.videos import TranscriptNotStored

        data = self.app.data  # type: ignore[attr-defined]
        try:
            transcript = data.transcript(self.video_id)
        except (TranscriptNotStored, VideoNotInCorpus) as exc:
            self.post_message(TranscriptMissing(str(exc)))
            return
        if not get_current_worker().is_cancelled:
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
        paragraphs = blocks(t.segments) if t.segments else t.paragraphs()
        widgets = [
            Static(Content.assemble((f"[{fmt.timestamp(start)}] ", "$accent"), text),
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
