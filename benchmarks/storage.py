"""Where a stored transcript's bytes go, and how many there are now against migration 0008's
format (issue 16, item 5: the database held 222 MB for 4,387 transcripts, ~50 KB each).

    .venv/bin/python -m benchmarks.storage [--quick] [--videos N]

A simulated channel is discovered and every transcript there is fetched through the pipeline
into a SQLite file (the current format). A copy is migrated down to revision 0008 (raw and
cleaned segments as JSON, as stored before), both are VACUUMed, and SQLite's ``dbstat``
virtual table says how many bytes each table and index holds; the transcripts table is split
by column (``length()`` of each). Target: the corpus at most half of 0008's, with the raw
segments (what ``transcripts reclean`` needs) kept exactly. (0008 stored the raw segments,
the cleaned segments and the cleaned text as JSON and text, and the text again in the search
passages; now the raw segments are packed, the cleaned ones are timings and the text lives
in the passages only: migrations 0009 and 0011.)

The simulator's speech comes from a small vocabulary, so its text compresses better than real
speech does; the raw segments' repetition (rolling captions repeat each line) is real.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.report import print_table, write_results

TARGET_RATIO = 0.5
CORPUS_TABLES = ("transcripts", "transcript_chunks", "transcript_chunks_fts")


def build_corpus(videos: int, db_file: Path) -> int:
    """Discover a simulated channel and store every transcript it has; how many stored."""
    from benchmarks.pipeline import TRANSCRIBED_CASES, _discover, _settings
    from tubesensei.db.engine import Database
    from tubesensei.pipeline.context import Pipeline
    from tubesensei.pipeline.transcripts import fetch_transcript
    from tubesensei.sim import SimConfig, running_simulator

    with running_simulator(SimConfig(seed=5, channel_sizes=[videos])) as sim:
        channel = sim.world.channels[0]
        _discover(sim.base_url, channel.channel_id, db_file)
        settings = _settings(sim.base_url, db_file)
        p = Pipeline(settings, Database(settings.database_url))
        try:
            for v in channel.videos:
                if v.case in TRANSCRIBED_CASES:
                    fetch_transcript(p, v.video_id)
        finally:
            p.close()
            p.db.dispose()
    with sqlite3.connect(db_file) as conn:
        return int(conn.execute("SELECT count(*) FROM transcripts").fetchone()[0])


def _vacuum(db_file: Path) -> None:
    conn = sqlite3.connect(db_file, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    finally:
        conn.close()


def breakdown(db_file: Path) -> dict[str, Any]:
    """Bytes per table/index (dbstat, pages in use) and per transcripts column."""
    _vacuum(db_file)
    conn = sqlite3.connect(db_file)
    try:
        tables = dict(conn.execute(
            "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall())
        count = conn.execute("SELECT count(*) FROM transcripts").fetchone()[0] or 1
        names = [r[1] for r in conn.execute("PRAGMA table_info(transcripts)")]
        column_bytes = {c: conn.execute(
            f"SELECT coalesce(sum(length(CAST({c} AS BLOB))), 0) FROM transcripts"
        ).fetchone()[0] for c in ("segments", "cleaned_segments", "cleaned_timing",
                                  "paragraph_breaks", "text") if c in names}
        chunk_text = conn.execute(
            "SELECT coalesce(sum(length(CAST(text AS BLOB))), 0) FROM transcript_chunks"
        ).fetchone()[0]
    finally:
        conn.close()
    corpus = {name: size for name, size in tables.items()
              if name.startswith(CORPUS_TABLES) or name.startswith("ix_transcript")}
    return {
        "transcripts": count, "file_bytes": db_file.stat().st_size,
        "corpus_bytes": sum(corpus.values()), "tables": tables,
        "per_transcript": {name: round(size / count) for name, size in corpus.items()},
        "columns_per_transcript": {c: round(b / count) for c, b in column_bytes.items()},
        "chunk_text_per_transcript": round(chunk_text / count),
    }


def run(videos: int) -> dict[str, Any]:
    from tubesensei.db.schema import downgrade

    folder = Path(tempfile.mkdtemp(prefix="tubesensei-bench-storage-"))
    try:
        now_file = folder / "now.db"
        stored = build_corpus(videos, now_file)
        _vacuum(now_file)
        old_file = folder / "0008.db"
        shutil.copyfile(now_file, old_file)
        downgrade(f"sqlite:///{old_file}", "0008")
        before, after = breakdown(old_file), breakdown(now_file)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"videos": videos, "stored": stored, "before_0008": before, "after": after,
            "ratio": round(after["corpus_bytes"] / before["corpus_bytes"], 3)}


def _kb(n: float) -> str:
    return f"{n / 1000:.1f} KB"


def rows_of(r: dict[str, Any]) -> list[dict[str, Any]]:
    before, after = r["before_0008"], r["after"]
    n = after["transcripts"]
    b_cols, a_cols = before["columns_per_transcript"], after["columns_per_transcript"]
    detail = (
        f"{n} transcripts; per transcript {_kb(before['corpus_bytes'] / n)} -> "
        f"{_kb(after['corpus_bytes'] / n)}: raw segments {_kb(b_cols.get('segments', 0))} -> "
        f"{_kb(a_cols.get('segments', 0))}, cleaned segments "
        f"{_kb(b_cols.get('cleaned_segments', 0))} -> {_kb(a_cols.get('cleaned_timing', 0))} "
        f"(timings), text {_kb(b_cols.get('text', 0))} -> held by the passages alone, "
        f"search passages "
        f"{_kb(after['per_transcript'].get('transcript_chunks', 0))}, FTS index "
        f"{_kb(sum(v for k, v in after['per_transcript'].items() if k.startswith('transcript_chunks_fts')))}"
    )
    return [{"target": "transcript storage vs 0008's", "measured": r["ratio"], "unit": "x",
             "goal": f"<= {TARGET_RATIO}", "met": r["ratio"] <= TARGET_RATIO,
             "detail": detail}]


def measure(quick: bool) -> list[dict[str, Any]]:
    """Target rows for benchmarks/run.py (quick: a smaller channel)."""
    return rows_of(run(videos=120 if quick else 400))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller channel")
    parser.add_argument("--videos", type=int, help="uploads of the simulated channel")
    args = parser.parse_args(argv)
    r = run(videos=args.videos or (120 if args.quick else 400))
    for label, b in (("0008 (before)", r["before_0008"]), ("now", r["after"])):
        n = b["transcripts"]
        rows = [[name, f"{size:,}", f"{size / n:,.0f}"] for name, size in b["tables"].items()
                if size >= 8192]
        rows += [[f"  column {c}", f"{v * n:,}", f"{v:,}"]
                 for c, v in b["columns_per_transcript"].items()]
        rows.append(["  passage text", f"{b['chunk_text_per_transcript'] * n:,}",
                     f"{b['chunk_text_per_transcript']:,}"])
        print_table(f"{label}: {n} transcripts, file {b['file_bytes']:,} bytes",
                    ["table / index (dbstat)", "bytes", "per transcript"], rows)
    targets = rows_of(r)
    print_table("Transcript storage (issue 16, item 5)",
                ["target", "measured", "goal", "met", "detail"],
                [[x["target"], f"{x['measured']:.2f}{x['unit']}", x["goal"],
                  "yes" if x["met"] else "NO", x["detail"]] for x in targets])
    path = write_results("storage", {**r, "rows": targets})
    print(f"results: {path}")


if __name__ == "__main__":
    main()
