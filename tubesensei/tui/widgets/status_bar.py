"""The line above the footer: who is working and the ledger in numbers, on every tab."""

from __future__ import annotations

from datetime import tzinfo

from textual.content import Content
from textual.widgets import Static

from tubesensei.tui import formatting as fmt
from tubesensei.tui.data import Dashboard
from tubesensei.tui.throughput import ThroughputHistory


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; padding: 0 1; background: $panel; color: $foreground; }
    """

    def show(self, d: Dashboard, history: ThroughputHistory, consumer_label: str | None,
             tz: tzinfo | None) -> None:
        if d.workers:
            threads = sum(w.threads for w in d.workers)
            who = Content.styled(
                f"● {len(d.workers)} consumer{'s' if len(d.workers) != 1 else ''} "
                f"({threads} threads)", "$success")
        else:
            who = Content.styled("○ no consumer", "$warning")
        if consumer_label:
            who = Content.assemble(who, (f" · {consumer_label}", "$text-muted"))
        counts = d.jobs_by_status
        parts: list[Content | str | tuple[str, str]] = [who]
        for status, style in (("pending", ""), ("running", "$accent"), ("retrying", "$warning"),
                              ("failed", "$error"), ("completed", "$success")):
            n = counts.get(status, 0)
            parts += [("  ", ""), (f"{status} ", "$text-muted"),
                      (fmt.number(n), f"bold {style}" if n and style else "bold")]
        parts += [("  ", ""), (f"{fmt.number(history.per_minute(d.at))}/min", "bold"),
                  (f"  updated {fmt.clock_time(d.at, tz)}", "$text-muted")]
        self.update(Content.assemble(*parts))
