"""A question with a few answers, each on a key (``y``/``n`` and friends)."""

from __future__ import annotations

from collections.abc import Sequence

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[str | None]):
    """Dismissed with the chosen answer's key, or None (escape)."""

    BINDINGS = [Binding("escape", "choose('')", "Cancel")]

    def __init__(self, title: str, body: str,
                 choices: Sequence[tuple[str, str]] = (("y", "Yes"), ("n", "No"))) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = self.title_text
            yield Static(Content(self.body), id="dialog-body")
            with Vertical(id="dialog-buttons"):
                for n, (key, label) in enumerate(self.choices):
                    yield Button(Content(f"{label} [{key}]"), id=f"choice-{key}",
                                 variant="primary" if n == 0 else "default", compact=True)

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_key(self, event: events.Key) -> None:
        if any(event.key == k for k, _ in self.choices):
            event.stop()
            self.action_choose(event.key)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.action_choose((event.button.id or "").removeprefix("choice-"))

    def action_choose(self, key: str) -> None:
        self.dismiss(None if key in ("", "n") else key)
