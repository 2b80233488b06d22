"""Every benchmark's targets in one table: target / measured / goal / met.

    make bench                       # .venv/bin/python -m benchmarks.run
    make bench BENCH_ARGS=--quick    # small sizes: under two minutes in all
    .venv/bin/python -m benchmarks.run --only startup,queries

Each benchmark module (benchmarks/<name>.py) exposes ``measure(quick: bool) -> list[dict]``,
one dict per target: ``{"target", "measured" (float or None), "unit", "goal" (e.g.
"<= 150"), "met" (bool or None), "detail"}``. Each module runs in a subprocess of its own
(a fresh interpreter: one benchmark's memory, threads or imports do not colour the next one's
figures) with a time limit; its own output goes to benchmarks/results/bench.log. A module
that is missing or has no ``measure`` yet shows a row saying so; one that fails or times out
shows the error in its row, and the run goes on. The table is printed once at the end and
written to benchmarks/results/bench.json.

``--quick`` gives the whole run a budget of two minutes: a module gets what is left of it
less 15 s for each module still to run (a slow one cannot starve the rest), and one that
would start with nothing left shows "not run" instead.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from benchmarks.report import RESULTS, print_table, write_results

MODULES = ("startup", "queries", "queue", "discovery", "pipeline", "storage", "growth")
QUICK_BUDGET_S = 110.0  # the modules of a --quick run: room left for start-up, the table
FULL_TIMEOUT_S = 1800.0  # one module of the full run
MIN_SHARE_S = 12.0  # --quick: kept for each module still to run (the quickest take 3-12 s)
KEYS = ("target", "measured", "unit", "goal", "met", "detail")

Importer = Callable[[str], ModuleType]


def _row(benchmark: str, target: str, detail: str, **values: Any) -> dict[str, Any]:
    return {"benchmark": benchmark, "target": target, "measured": None, "unit": "",
            "goal": "", "met": None, "detail": detail, **values}


def measure_module(name: str, quick: bool,
                   importer: Importer | None = None) -> list[dict[str, Any]]:
    """The target rows of benchmarks.<name>: its own, or one row saying why there are none."""
    qualified = f"benchmarks.{name}"
    try:
        module = (importer or importlib.import_module)(qualified)
    except ModuleNotFoundError as exc:
        if exc.name in (qualified, "benchmarks"):
            return [_row(name, name, "not measured (no such module)")]
        return [_row(name, name, f"error: cannot import: {type(exc).__name__}: {exc}")]
    except Exception as exc:
        return [_row(name, name, f"error: cannot import: {type(exc).__name__}: {exc}")]
    measure = getattr(module, "measure", None)
    if not callable(measure):
        return [_row(name, name, "not measured (module lacks measure)")]
    try:
        result = measure(quick)
    except Exception as exc:
        return [_row(name, name, f"error: {type(exc).__name__}: {exc}")]
    return normalise(name, result)


def normalise(name: str, result: Any) -> list[dict[str, Any]]:
    """Rows as the table wants them: every key there, numbers as floats, JSON-safe."""
    if not isinstance(result, Sequence) or isinstance(result, str | bytes):
        return [_row(name, name, f"error: measure() returned {type(result).__name__}, "
                                 "not a list of rows")]
    rows = []
    for item in result:
        if not isinstance(item, dict) or "target" not in item:
            rows.append(_row(name, name, f"error: not a target row: {item!r}"[:300]))
            continue
        measured = item.get("measured")
        try:
            measured = None if measured is None else float(measured)
        except (TypeError, ValueError):
            measured = None
        met = item.get("met")
        rows.append(_row(name, str(item["target"]), str(item.get("detail") or ""),
                         measured=measured, unit=str(item.get("unit") or ""),
                         goal=str(item.get("goal") or ""),
                         met=None if met is None else bool(met)))
    return rows or [_row(name, name, "no targets reported")]


def run_module(name: str, quick: bool, timeout: float, log: TextIO) -> list[dict[str, Any]]:
    """benchmarks.<name>'s rows, measured in a subprocess (``--one``) within ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="tubesensei-bench-") as tmp:
        out = Path(tmp) / "rows.json"
        argv = [sys.executable, "-m", "benchmarks.run", "--one", name, "--out", str(out)]
        if quick:
            argv.append("--quick")
        log.write(f"\n===== {name} ({'quick' if quick else 'full'}) =====\n")
        log.flush()
        # A session of its own: a timeout ends the module and whatever it started.
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                cwd=Path(__file__).resolve().parent.parent,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return [_row(name, name, f"error: timed out after {timeout:.0f} s")]
        except BaseException:  # Ctrl-C: stop the module too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        if out.exists():
            return json.loads(out.read_text(encoding="utf-8"))
        return [_row(name, name, f"error: exit {proc.returncode} before reporting "
                                 f"(see {log.name})")]


def collect(quick: bool, modules: Sequence[str],
            runner: Callable[[str, bool, float], list[dict[str, Any]]], *,
            budget: float | None = None, progress: TextIO | None = None,
            clock: Callable[[], float] = time.monotonic) -> list[dict[str, Any]]:
    """Every module's rows, one module after another (``runner(name, quick, timeout)``).
    ``budget`` (seconds, the whole run): each module gets what is left; a module with
    nothing left is not run."""
    progress = progress or sys.stdout
    started = clock()
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(modules, 1):
        timeout = FULL_TIMEOUT_S
        if budget is not None:
            left = budget - (clock() - started)
            # What is left, less a share kept for each module still to come (a slow module
            # does not starve the rest), or all of it for the last module.
            timeout = max(min(left, MIN_SHARE_S), left - MIN_SHARE_S * (len(modules) - i))
            if timeout < 5:
                rows.append(_row(name, name, f"not run: the {budget:.0f} s budget of "
                                             "--quick was spent"))
                continue
        print(f"[{i}/{len(modules)}] {name} ...", end=" ", file=progress, flush=True)
        t0 = clock()
        found = runner(name, quick, timeout)
        for row in found:
            row.setdefault("benchmark", name)
        rows.extend(found)
        print(f"{clock() - t0:.1f} s, {len(found)} row(s)", file=progress, flush=True)
    return rows


def met_cell(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def measured_cell(row: dict[str, Any]) -> str:
    value, unit = row["measured"], row["unit"]
    if value is None:
        return "-"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}"
    sep = "" if unit in ("", "x", "%") or unit.startswith(" ") else " "
    return f"{text}{sep}{unit}"


def table_rows(rows: Sequence[dict[str, Any]]) -> list[list[str]]:
    return [[r["benchmark"], r["target"], measured_cell(r), r["goal"] or "-", met_cell(r["met"]),
             r["detail"]] for r in rows]


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    return {"targets": sum(r["met"] is not None for r in rows),
            "met": sum(r["met"] is True for r in rows),
            "missed": sum(r["met"] is False for r in rows),
            "not measured": sum(r["met"] is None for r in rows)}


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform()}
    with contextlib.suppress(OSError, ValueError, IndexError):
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        info["ram_gb"] = round(int(meminfo[0].split()[1]) / 1024 / 1024, 1)
    with contextlib.suppress(OSError):
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return info


def report(rows: list[dict[str, Any]], quick: bool, seconds: float) -> Path:
    counts = summary(rows)
    print_table(f"TubeSensei benchmarks ({'--quick' if quick else 'full run'}, "
                f"{seconds:.0f} s): {counts['met']} of {counts['targets']} targets met",
                ["benchmark", "target", "measured", "goal", "met", "detail"], table_rows(rows),
                left=("target", "detail"))
    return write_results("bench", {"quick": quick, "seconds": round(seconds, 1),
                                   "machine_info": machine(), "summary": counts,
                                   "rows": rows})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: the whole run within two minutes")
    parser.add_argument("--only", help="comma-separated modules (default: all)")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child: measure this module
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        rows = measure_module(args.one, args.quick)
        if args.out:
            args.out.write_text(json.dumps(rows, default=str), encoding="utf-8")
        return 0
    modules = [m.strip() for m in args.only.split(",")] if args.only else list(MODULES)
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / "bench.log"
    started = time.monotonic()
    with log_path.open("w", encoding="utf-8") as log:
        print(f"benchmarks' own output: {log_path}")
        rows = collect(args.quick, modules,
                       runner=lambda name, quick, timeout: run_module(name, quick, timeout, log),
                       budget=QUICK_BUDGET_S if args.quick else None)
    path = report(rows, args.quick, time.monotonic() - started)
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
