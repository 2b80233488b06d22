"""What every benchmark shares: percentiles, a printed table, a JSON file in results/."""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 100 runs is the 99th slowest, not an interpolation)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def summarize_ms(samples: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "runs": len(ms),
        "p50_ms": round(statistics.median(ms), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "max_ms": round(max(ms), 3),
    }


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                left: Collection[str] = ()) -> None:
    """A table: the first column and those named in ``left`` flush left, numbers right."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i == 0 or name in left else "right")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    Console(soft_wrap=False, width=160).print(table)


def write_results(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {
        "benchmark": name,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        **payload,
    }
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path
