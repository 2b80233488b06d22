"""Add a channel: any reference form; the parser's error shows under the input."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Static

from tubesensei.youtube.ids import ChannelRef, InvalidReference, parse_channel_ref

EXAMPLES = "@handle · UC… id · youtube.com/@handle · /channel/UC… · /c/name · a video URL"


class ChannelReference(Validator):
    """Valid when the channel reference parser reads it; its one-line message otherwise."""

    def validate(self, value: str) -> ValidationResult:
        try:
            parse_channel_ref(value)
        except InvalidReference as exc:
            return self.failure(str(exc))
        return self.success()


class AddChannelScreen(ModalScreen[ChannelRef | None]):
    """Dismissed with the parsed reference (queued for discovery by the caller), or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog") as dialog:
            dialog.border_title = "Add a channel"
            yield Static(Content.styled(EXAMPLES, "$text-muted"))
            yield Input(placeholder="channel reference", id="channel-ref",
                        validators=[ChannelReference()], validate_on=["submitted"])
            yield Static(id="channel-ref-error")
            yield Static(Content.styled("enter: queue its discovery · esc: cancel",
                                        "$text-muted"))

    @on(Input.Changed, "#channel-ref")
    def _clear_error(self) -> None:
        self.query_one("#channel-ref-error", Static).update("")

    @on(Input.Submitted, "#channel-ref")
    def _submitted(self, event: Input.Submitted) -> None:
        result = event.validation_result
        if result is not None and not result.is_valid:
            message = "; ".join(result.failure_descriptions) or "not a channel reference"
            self.query_one("#channel-ref-error", Static).update(
                Content.styled(message, "$error"))
            return
        self.dismiss(parse_channel_ref(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)
