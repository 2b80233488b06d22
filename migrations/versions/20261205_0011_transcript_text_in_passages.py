"""transcripts: the cleaned text is held once, by its search passages

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:00:00.000000

``transcripts.text`` repeated what ``transcript_chunks`` (the search passages) hold: the same
cleaned segments, joined by spaces, with paragraph breaks. Now the passages hold it alone and
``paragraph_breaks`` (packed JSON: the cleaned segments a break follows) lets
``Transcript.text`` put the text back together (tubesensei/db/packed.py ``join_passages``).

Every stored transcript is checked first: when its passages do not give back its text (a row
edited by hand), the passages are rebuilt from the text, one per paragraph at the start of
its first old passage, and ``cleaning_version`` is set to 0 so the next ``transcripts
reclean`` rebuilds the whole transcript from its raw segments. Plain ALTER TABLE (no batch
rebuild, which would cascade-delete the passages); the FTS5 triggers keep the search index in
step with rebuilt passages.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200


# tubesensei/db/packed.py at this revision (copied: a migration must not change when the code
# does).
def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8"), 6)


def _unpack(data: Any) -> Any:
    if data is None:
        return None
    data = bytes(data)
    return json.loads(data if data[:1] in (b"[", b"{") else zlib.decompress(data))


def _breaks(text: str, timing: Sequence[Any]) -> list[int]:
    breaks: list[int] = []
    pos = 0
    for n, i in enumerate(range(0, len(timing) - 2, 3)):
        pos += int(timing[i + 2])
        if text.startswith("\n\n", pos):
            breaks.append(n)
            pos += 2
        else:
            pos += 1
    return breaks


def _join(passages: Sequence[str], timing: Sequence[Any], breaks: Sequence[int]) -> str:
    joined = " ".join(passages)
    if not breaks:
        return joined
    ends: list[int] = []
    pos = 0
    for i in range(0, len(timing) - 2, 3):
        pos += int(timing[i + 2])
        ends.append(pos)
        pos += 1
    parts: list[str] = []
    last = 0
    for n in breaks:
        if n < len(ends) and joined[ends[n]:ends[n] + 1] == " ":
            parts.append(joined[last:ends[n]])
            last = ends[n] + 1
    parts.append(joined[last:])
    return "\n\n".join(parts)


def _passages(conn: sa.Connection, pks: list[int]) -> dict[int, list[tuple[float, str]]]:
    out: dict[int, list[tuple[float, str]]] = {pk: [] for pk in pks}
    rows = conn.execute(sa.text(
        "SELECT transcript_id, start_s, text FROM transcript_chunks "
        "WHERE transcript_id IN :pks ORDER BY transcript_id, seq"
    ).bindparams(sa.bindparam("pks", expanding=True)), {"pks": pks})
    for pk, start, text in rows:
        out[pk].append((start, text))
    return out


def upgrade() -> None:
    op.add_column('transcripts', sa.Column('paragraph_breaks', sa.LargeBinary(),
                                           nullable=True))
    conn = op.get_bind()
    set_breaks = sa.text(
        "UPDATE transcripts SET paragraph_breaks = :breaks WHERE id = :id"
    ).bindparams(sa.bindparam("breaks", type_=sa.LargeBinary()))
    set_rebuilt = sa.text(
        "UPDATE transcripts SET paragraph_breaks = :breaks, cleaned_timing = :timing, "
        "cleaning_version = 0 WHERE id = :id"
    ).bindparams(sa.bindparam("breaks", type_=sa.LargeBinary()),
                 sa.bindparam("timing", type_=sa.LargeBinary()))
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, text, cleaned_timing FROM transcripts WHERE id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        last = rows[-1][0]
        passages = _passages(conn, [r[0] for r in rows])
        for pk, text, timing_blob in rows:
            text = text or ""
            timing = _unpack(timing_blob) or []
            breaks = _breaks(text, timing)
            old = passages[pk]
            if _join([t for _, t in old], timing, breaks) == text:
                conn.execute(set_breaks, {"id": pk, "breaks": _pack(breaks)})
                continue
            # Passages that do not give the text back: one per paragraph, rebuilt from it.
            start = old[0][0] if old else 0.0
            paragraphs = [p for p in text.split("\n\n") if p] or ([text] if text else [])
            timing = [x for p in paragraphs for x in (start, 0.0, len(p))]
            breaks = list(range(len(paragraphs) - 1))
            conn.execute(sa.text("DELETE FROM transcript_chunks WHERE transcript_id = :id"),
                         {"id": pk})
            if paragraphs:
                conn.execute(sa.text(
                    "INSERT INTO transcript_chunks (transcript_id, seq, start_s, text) "
                    "VALUES (:id, :seq, :start, :text)"),
                    [{"id": pk, "seq": i, "start": start, "text": p}
                     for i, p in enumerate(paragraphs)])
            conn.execute(set_rebuilt, {"id": pk, "breaks": _pack(breaks),
                                       "timing": _pack(timing)})
    op.drop_column('transcripts', 'text')


def downgrade() -> None:
    op.add_column('transcripts', sa.Column('text', sa.Text(), nullable=False,
                                           server_default=''))
    conn = op.get_bind()
    set_text = sa.text("UPDATE transcripts SET text = :text WHERE id = :id")
    last = 0
    while True:
        rows = conn.execute(sa.text(
            "SELECT id, cleaned_timing, paragraph_breaks FROM transcripts WHERE id > :last "
            "ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).all()
        if not rows:
            break
        last = rows[-1][0]
        passages = _passages(conn, [r[0] for r in rows])
        conn.execute(set_text, [
            {"id": pk, "text": _join([t for _, t in passages[pk]], _unpack(timing) or [],
                                     _unpack(breaks) or [])}
            for pk, timing, breaks in rows])
    op.drop_column('transcripts', 'paragraph_breaks')
