"""CLI start-up: the installed ``tubesensei`` console script, timed in fresh subprocesses.

    .venv/bin/python -m benchmarks.startup [--quick] [--runs N]

Seeds a small corpus (2,000 videos, 1,000 transcripts with their search passages, 4,000
jobs) in a temporary data folder, then runs each command ``--runs`` times (interleaved, so a
busy moment of the machine touches them all alike) and reports the median wall time of the
whole process, as a person at a terminal waits for it:

* ``tubesensei --version`` and ``tubesensei --help``: target <= 150 ms;
* ``tubesensei videos list --limit 20`` and ``tubesensei transcripts search WORD`` on the
  small corpus: target <= 300 ms (issue 16, item 7);
* for context, not a target: ``python -c "import click, sqlalchemy.orm, ..."``, the
  libraries a reading command imports, alone.

The subprocesses see a home, config folder and working directory of their own (no user
config is read) and may write bytecode caches, as a pip or pipx install has them; one
warm-up run of each command comes first. ``python -c pass`` is timed alongside as the floor
(the interpreter alone).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.report import print_table, write_results

VERSION_HELP_GOAL_MS = 150.0
COMMAND_GOAL_MS = 300.0
CORPUS = {"channels": 5, "videos": 2_000, "transcripts": 1_000, "jobs": 4_000}
# What a command that reads the database imports from other projects, timed alone: the
# floor under `videos list` and `search` as long as they use them (shown, not a target).
LIBRARIES = "python: import the libraries alone"
LIBRARIES_CODE = ("import click, sqlalchemy.orm, sqlalchemy.dialects.sqlite, structlog, "
                  "rich.table; from pydantic import BaseModel")
# The part of it no reading command can do without, whatever our code does: SQLAlchemy (the
# one data layer), pydantic-settings (the settings) and click (the command line), the
# packages the product is specified with.
REQUIRED = "python: import SQLAlchemy, pydantic-settings and click alone"
REQUIRED_CODE = "import sqlalchemy, pydantic_settings, click"


def console_script() -> list[str]:
    """The installed console script beside this interpreter (else ``python -m tubesensei``)."""
    exe = Path(sys.executable).with_name("tubesensei")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tubesensei"]


def seed_small_corpus(data_dir: Path) -> str:
    """A 2,000-video corpus at the current schema; returns a word to search for."""
    from benchmarks.seed_corpus import seed
    from tubesensei.db.engine import create_sync_engine
    from tubesensei.db.schema import upgrade

    data_dir.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{data_dir / 'tubesensei.db'}"
    upgrade(url)
    engine = create_sync_engine(url)
    try:
        report = seed(engine, **CORPUS)
    finally:
        engine.dispose()
    return report.vocabulary[40]  # a common word: many hits, a full first page


def _environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TUBESENSEI_") and k not in ("PYTHONDONTWRITEBYTECODE",
                                                            "COLUMNS", "LINES")}
    home = root / "home"
    (home / ".config").mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"),
               TUBESENSEI_DATA_DIR=str(root / "data"))
    return env


def _time_once(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=120)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[-4:])}: exit {result.returncode}: "
                           f"{result.stderr.decode(errors='replace').strip()[:300]}")
    return elapsed


def run(runs: int = 15) -> dict[str, Any]:
    """Time each command ``runs`` times; medians and spreads in ms."""
    exe = console_script()
    root = Path(tempfile.mkdtemp(prefix="tubesensei-startup-"))
    try:
        started = time.perf_counter()
        word = seed_small_corpus(root / "data")
        seed_seconds = time.perf_counter() - started
        env = _environment(root)
        work = root / "work"
        work.mkdir()
        commands: dict[str, list[str]] = {
            "python -c pass": [sys.executable, "-c", "pass"],
            LIBRARIES: [sys.executable, "-c", LIBRARIES_CODE],
            REQUIRED: [sys.executable, "-c", REQUIRED_CODE],
            "tubesensei --version": [*exe, "--version"],
            "tubesensei --help": [*exe, "--help"],
            "tubesensei videos list --limit 20": [*exe, "videos", "list", "--limit", "20"],
            f"tubesensei transcripts search {word}": [*exe, "transcripts", "search", word],
        }
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for argv in commands.values():  # warm-up: bytecode caches, the page cache
            _time_once(argv, env, work)
        for _ in range(runs):
            for name, argv in commands.items():
                samples[name].append(_time_once(argv, env, work))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    timings = {name: {"median_ms": round(statistics.median(s) * 1000, 1),
                      "min_ms": round(min(s) * 1000, 1), "max_ms": round(max(s) * 1000, 1),
                      "runs": len(s)} for name, s in samples.items()}
    return {"console_script": " ".join(exe), "runs": runs, "corpus": CORPUS,
            "seed_seconds": round(seed_seconds, 2), "search_word": word, "timings": timings}


def rows_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    timings = r["timings"]
    floor = timings["python -c pass"]["median_ms"]
    rows = []
    for name, t in timings.items():
        if name == "python -c pass":
            continue
        if name == LIBRARIES:
            rows.append({
                "target": "start-up floor: click, SQLAlchemy ORM, pydantic, structlog, rich",
                "measured": t["median_ms"], "unit": " ms", "goal": "(context)", "met": None,
                "detail": (f"python -c 'import ...' alone, median of {t['runs']}: what "
                           "a reading command imports from other projects"),
            })
            continue
        if name == REQUIRED:
            rows.append({
                "target": "start-up floor: SQLAlchemy, pydantic-settings, click alone",
                "measured": t["median_ms"], "unit": " ms", "goal": "(context)", "met": None,
                "detail": (f"python -c 'import ...' alone, median of {t['runs']}: the "
                           f"specified packages every reading command needs; "
                           f"{t['median_ms'] / COMMAND_GOAL_MS:.0%} of the "
                           f"{COMMAND_GOAL_MS:g} ms goal"),
            })
            continue
        goal = VERSION_HELP_GOAL_MS if name.endswith(("--version", "--help")) \
            else COMMAND_GOAL_MS
        rows.append({
            "target": f"start-up: {name}",
            "measured": t["median_ms"], "unit": " ms", "goal": f"<= {goal:g}",
            "met": t["median_ms"] <= goal,
            "detail": (f"median of {t['runs']} (min {t['min_ms']:.0f}, max {t['max_ms']:.0f}); "
                       f"python alone {floor:.0f} ms"),
        })
    return rows


def measure(quick: bool) -> list[dict[str, Any]]:
    """Target rows for benchmarks/run.py (quick: 3 runs of each command, else 15)."""
    return rows_of(run(runs=3 if quick else 15))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 runs of each command")
    parser.add_argument("--runs", type=int, help="runs of each command (default 15)")
    args = parser.parse_args(argv)
    r = run(runs=args.runs or (5 if args.quick else 15))
    rows = rows_of(r)
    print_table(f"CLI start-up, {r['console_script']} (issue 16, item 7)",
                ["target", "measured", "goal", "met", "detail"],
                [[x["target"], f"{x['measured']:g}{x['unit']}", x["goal"],
                  {True: "yes", False: "NO"}.get(x["met"], "-"), x["detail"]] for x in rows],
                left=("target", "detail"))
    path = write_results("startup", {**r, "rows": rows})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
