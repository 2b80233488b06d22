"""Fixed-width text tables for panels without a cursor (the dashboard's queues, workers).

A Static showing one Content is cheaper than a DataTable, keeps its columns still while the
numbers change every second, and can size a column to the space left (the sparklines).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content

Column = tuple[str, int, str]  # label, width, "left" | "right"
GAP = "  "


def _cell(value: Content | str, width: int, align: str) -> Content:
    content = value if isinstance(value, Content) else Content(value)
    content = content.truncate(width, ellipsis=True)
    return content.right(width) if align == "right" else content.extend_right(
        width - content.cell_length)


def text_table(columns: Sequence[Column], rows: Sequence[Sequence[Content | str]]) -> Content:
    header = Content(GAP).join(
        _cell(Content.styled(label, "bold $text-muted"), width, align)
        for label, width, align in columns)
    lines = [header]
    for row in rows:
        lines.append(Content(GAP).join(
            _cell(value, width, align) for value, (_, width, align) in zip(row, columns,
                                                                              strict=False)))
    return Content("\n").join(lines)


def width_of(columns: Sequence[Column]) -> int:
    return sum(width for _, width, _ in columns) + len(GAP) * (len(columns) - 1)
