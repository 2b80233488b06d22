"""Refreshing a DataTable in place, once a second, without losing the cursor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.widgets import DataTable

Row = tuple[str, Sequence[Any]]


def selected_key(table: DataTable[Any]) -> str | None:
    """The key of the row under the cursor (None for an empty table)."""
    if table.row_count == 0:
        return None
    row_key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
    return row_key.value


def fill_table(table: DataTable[Any], rows: Sequence[Row]) -> None:
    """Show ``rows`` (key, cells). Same rows in the same order: only changed cells are
    redrawn; otherwise the table is rebuilt and the cursor stays on the same key."""
    keys = [key for key, _ in rows]
    current = [key.value for key in table.rows]
    if keys == current:
        columns = list(table.columns)
        for key, cells in rows:
            old = table.get_row(key)
            for column, new, before in zip(columns, cells, old, strict=False):
                if new != before:
                    table.update_cell(key, column, new)
        return
    keep = selected_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if keep is not None and keep in keys:
        table.move_cursor(row=keys.index(keep), animate=False, scroll=True)


def set_columns(table: DataTable[Any], columns: Sequence[tuple[str, int]]) -> None:
    """Fixed widths: the columns stay still while the numbers change every second (and
    Textual cannot measure styled Content cells for automatic widths)."""
    for label, width in columns:
        table.add_column(label, width=width, key=label)
