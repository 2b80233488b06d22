"""benchmarks/run.py's own logic, with fake benchmark modules (no real benchmark runs):
rows from each module, one row for a missing module, one without measure, one that raises;
the --quick budget; the table and bench.json."""

from __future__ import annotations

import io
import json
from types import ModuleType
from typing import Any

import pytest

from benchmarks import report, run


def _module(name: str, **attrs: Any) -> ModuleType:
    module = ModuleType(name)
    for key, value in attrs.items():
        setattr(module, key, value)
    return module


def _good(quick: bool) -> list[dict[str, Any]]:
    return [{"target": "fast thing", "measured": 12 if quick else 9, "unit": " ms",
             "goal": "<= 10", "met": not quick, "detail": "median of 5"},
            {"target": "ratio", "measured": "0.85", "unit": "x", "goal": ">= 0.8",
             "met": 1, "detail": ""}]


def _boom(quick: bool) -> list[dict[str, Any]]:
    raise RuntimeError("the simulator fell over")


FAKES = {
    "benchmarks.good": _module("benchmarks.good", measure=_good),
    "benchmarks.nomeasure": _module("benchmarks.nomeasure"),
    "benchmarks.boom": _module("benchmarks.boom", measure=_boom),
    "benchmarks.odd": _module("benchmarks.odd", measure=lambda quick: [{"nope": 1}, 3]),
}


def _importer(name: str) -> ModuleType:
    if name == "benchmarks.brokenimport":
        raise ModuleNotFoundError("No module named 'numpyy'", name="numpyy")
    if name not in FAKES:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    return FAKES[name]


def _runner(name: str, quick: bool, timeout: float) -> list[dict[str, Any]]:
    return run.measure_module(name, quick, importer=_importer)


def test_each_module_gives_its_rows_or_one_row_saying_why() -> None:
    rows = run.collect(True, ["good", "missing", "nomeasure", "boom", "odd", "brokenimport"],
                       _runner, progress=io.StringIO())
    by = [(r["benchmark"], r["target"], r["measured"], r["met"], r["detail"]) for r in rows]
    assert by[0] == ("good", "fast thing", 12.0, False, "median of 5")
    assert by[1] == ("good", "ratio", 0.85, True, "")
    assert by[2][0] == "missing" and by[2][4] == "not measured (no such module)"
    assert by[3][0] == "nomeasure" and by[3][4] == "not measured (module lacks measure)"
    assert by[4][0] == "boom" and by[4][4] == "error: RuntimeError: the simulator fell over"
    assert [r["benchmark"] for r in rows[5:7]] == ["odd", "odd"]
    assert all(r["detail"].startswith("error: not a target row") for r in rows[5:7])
    assert rows[7]["benchmark"] == "brokenimport" and "cannot import" in rows[7]["detail"]
    assert all(set(r) == {"benchmark", *run.KEYS} for r in rows)
    assert run.summary(rows) == {"targets": 2, "met": 1, "missed": 1, "not measured": 6}


def test_quick_mode_reaches_the_module() -> None:
    assert run.measure_module("good", False, importer=_importer)[0]["measured"] == 9.0


def test_the_budget_keeps_a_share_for_each_module_to_come() -> None:
    now = [0.0]
    timeouts: list[float] = []

    def slow_runner(name: str, quick: bool, timeout: float) -> list[dict[str, Any]]:
        timeouts.append(timeout)
        now[0] += timeout  # each module uses all it is given
        return [{"target": f"{name} target", "measured": 1.0, "unit": "", "goal": "",
                 "met": True, "detail": ""}]

    rows = run.collect(True, ["a", "b", "c", "d"], slow_runner, budget=115.0,
                       progress=io.StringIO(), clock=lambda: now[0])
    share = run.MIN_SHARE_S  # kept for each module still to run
    assert timeouts == [115.0 - 3 * share, share, share, share]
    assert [r["benchmark"] for r in rows] == ["a", "b", "c", "d"]  # labelled by collect

    now[0] = 0.0
    timeouts.clear()
    rows = run.collect(True, ["a", "b"], slow_runner, budget=share, progress=io.StringIO(),
                       clock=lambda: now[0])
    assert timeouts == [share]
    assert rows[-1]["benchmark"] == "b" and rows[-1]["detail"].startswith("not run")


def test_table_cells() -> None:
    rows = run.normalise("m", [
        {"target": "t1", "measured": 1234.5, "unit": " ms", "goal": "<= 300", "met": False},
        {"target": "t2", "measured": 0.853, "unit": "x", "goal": ">= 0.8", "met": True},
        {"target": "t3", "measured": 42.25, "unit": "MB", "goal": "<= 100", "met": True},
        {"target": "t4", "measured": None, "unit": "", "goal": "", "met": None},
    ])
    assert run.table_rows(rows) == [
        ["m", "t1", "1,234 ms", "<= 300", "NO", ""],
        ["m", "t2", "0.853x", ">= 0.8", "yes", ""],
        ["m", "t3", "42.2 MB", "<= 100", "yes", ""],
        ["m", "t4", "-", "-", "-", ""],
    ]
    assert run.normalise("m", "oops")[0]["detail"].startswith("error: measure() returned str")
    assert run.normalise("m", [])[0]["detail"] == "no targets reported"


def test_report_prints_one_table_and_writes_bench_json(tmp_path, monkeypatch,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    monkeypatch.setattr(report, "RESULTS", tmp_path)
    rows = run.collect(True, ["good", "boom"], _runner, progress=io.StringIO())
    path = run.report(rows, quick=True, seconds=12.3)
    out = capsys.readouterr().out
    assert out.count("┏") == 1 and "1 of 2 targets met" in out and "fast thing" in out
    assert "simulator fell over" in out
    assert path == tmp_path / "bench.json"
    data = json.loads(path.read_text())
    assert data["benchmark"] == "bench" and data["quick"] is True
    assert data["summary"] == {"targets": 2, "met": 1, "missed": 1, "not measured": 1}
    assert [r["target"] for r in data["rows"]] == ["fast thing", "ratio", "boom"]
    assert data["machine_info"]["cpus"] >= 1


def test_a_child_writes_its_rows_for_the_parent(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(run.importlib, "import_module", _importer)
    out = tmp_path / "rows.json"
    assert run.main(["--one", "good", "--out", str(out), "--quick"]) == 0
    assert [r["measured"] for r in json.loads(out.read_text())] == [12.0, 0.85]
