"""The ``?`` screen: every key of every tab, read from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from tubesensei.tui.views.base import DataView

KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc", "enter": "enter",
             "ctrl+c": "ctrl+c"}


def _key(binding: Binding) -> str:
    return KEY_NAMES.get(binding.key, binding.key)


def _section(title: str, bindings: list[Binding]) -> list[Content]:
    """One line per description, with every key that does it ("enter, j")."""
    keys: dict[str, list[str]] = {}
    for b in bindings:
        keys.setdefault(b.description, []).append(_key(b))
    lines = [Content.styled(title, "bold $accent")]
    for description, names in keys.items():
        lines.append(Content.assemble((f"  {', '.join(names):<10}", "bold"), description))
    return lines


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Close"), Binding("question_mark", "dismiss"),
                Binding("q", "dismiss", show=False)]

    def __init__(self, current: DataView) -> None:
        super().__init__()
        self.current = current

    def compose(self) -> ComposeResult:
        from tubesensei.tui.app import TABS, TubeSenseiApp

        app_keys = [b for b in TubeSenseiApp.BINDINGS if isinstance(b, Binding)]
        tabs = [Binding(str(n), "", f"{label} tab") for n, (_, label, _) in
                enumerate(TABS, start=1)]
        lines = _section("Everywhere", [*tabs, *[b for b in app_keys if b.show or b.key == "g"],
                                        Binding("tab", "", "next field / table"),
                                        Binding("ctrl+p", "", "commands (themes, screenshot)")])
        for _, label, view in TABS:
            own = [b for b in view.BINDINGS if isinstance(b, Binding)]
            if own:
                title = f"{label}{'  (this tab)' if isinstance(self.current, view) else ''}"
                lines += [Content(""), *_section(title, own)]
        lines += [Content(""), Content.styled(
            "Tables: ↑/↓ move, enter opens. Data refreshes about once a second; everything "
            "runs in background threads.", "$text-muted")]
        with Vertical(id="help-dialog") as dialog:
            dialog.border_title = "Keys"
            dialog.border_subtitle = "esc closes"
            with VerticalScroll():
                yield Static(Content("\n").join(lines))
