"""transcripts: raw segments packed (compact, compressed), cleaned segments as timings over the text

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 10:00:00.000000

A transcript stored its segments three times over: the raw ones as JSON, the cleaned ones as
JSON, and the cleaned text (plus the search passages). Now:

* ``segments`` (the raw segments, which ``transcripts reclean`` rebuilds from) is compact
  JSON compressed with zlib, in a BLOB/bytea (tubesensei/db/packed.py); ``segment_count``
  says how many without unpacking them;
* ``cleaned_segments`` is gone: ``cleaned_timing`` keeps ``[start, duration, characters]``
  per cleaned segment, and their texts are cut back out of ``text`` (joined by " " or a
  paragraph break), so nothing is stored twice.

Every existing row is converted (in batches; both dialects). A row whose cleaned segments do
not add up to its text (edited by hand) gets ``cleaning_version`` 0, so the next
``transcripts reclean`` rebuilds it from its raw segments. Plain ALTER TABLE (add, drop and
rename columns), not a batch rebuild: rebuilding ``transcripts`` would cascade-delete its
search passages. SQLite keeps the freed pages for new rows; ``VACUUM`` gives them back to
the file system.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 200


# The format of tubesensei/db/packed.py at this revision (copied: a migration must not
# change when the code does).
def _pack(value: Any) -> bytes:
    return zlib.compress(json.dumps(value, separators=(",", ":"),
                                    ensure_ascii=False).encode("utf-8"), 6)


def _unpack(data: Any) -> Any:
    if data is None:
        return None
    if isinstance(data, list | dict):  # psycopg decodes json columns itself
        return data
    if isinstance(data, str):
        return json.loads(data)
    data = bytes(data)
    return json.loads(data if data[:1] in (b"[", b"{") else zlib.decompress(data))


def _timing(segments: Sequence[Sequence[Any]]) -> list[Any]:
    flat: list[Any] = []
    for start, duration, text in segments:
        flat += (start, duration, len(text))
    return flat


def _split(text: str, timing: Sequence[Any]) -> list[list[Any]]:
    out: list[list[Any]] = []
    pos = 0
    for i in range(0, len(timing) - 2, 3):
        end = pos + int(timing[i + 2])
        out.append([timing[i], timing[i + 1], text[pos:end]])
        pos = end + (2 if text.startswith("\n\n", end) else 1)
    return out


def _batches(conn: sa.Connection, columns: str) -> Any:
    last = 0
    while True:
        rows = conn.execute(sa.text(
            f"SELECT id, {columns} FROM transcripts WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH}).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def upgrade() -> None:
    op.add_column('transcripts', sa.Column('raw_packed', sa.LargeBinary(), nullable=True))
    op.add_column('transcripts', sa.Column('segment_count', sa.Integer(), nullable=False,
                                           server_default=sa.text('0')))
    op.add_column('transcripts', sa.Column('cleaned_timing', sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    update = sa.text(
        "UPDATE transcripts SET raw_packed = :raw, segment_count = :n, cleaned_timing = :timing,"
        " cleaning_version = CASE WHEN :same THEN cleaning_version ELSE 0 END WHERE id = :id"
    ).bindparams(sa.bindparam("raw", type_=sa.LargeBinary()),
                 sa.bindparam("timing", type_=sa.LargeBinary()),
                 sa.bindparam("same", type_=sa.Boolean()))
    for rows in _batches(conn, "segments, cleaned_segments, text"):
        params = []
        for pk, segments, cleaned, text in rows:
            raw = _unpack(segments) or []
            cleaned = _unpack(cleaned) or []
            timing = _timing(cleaned)
            same = _split(text or "", timing) == [list(s) for s in cleaned]
            params.append({"id": pk, "raw": _pack(raw), "n": len(raw),
                           "timing": _pack(timing), "same": same})
        conn.execute(update, params)
    op.drop_column('transcripts', 'cleaned_segments')
    op.drop_column('transcripts', 'segments')
    op.alter_column('transcripts', 'raw_packed', new_column_name='segments')


def downgrade() -> None:
    op.add_column('transcripts', sa.Column('raw_json', sa.JSON(), nullable=True))
    op.add_column('transcripts', sa.Column('cleaned_segments', sa.JSON(), nullable=True))
    conn = op.get_bind()
    update = sa.text(
        "UPDATE transcripts SET raw_json = :raw, cleaned_segments = :cleaned WHERE id = :id"
    ).bindparams(sa.bindparam("raw", type_=sa.JSON()), sa.bindparam("cleaned", type_=sa.JSON()))
    for rows in _batches(conn, "segments, cleaned_timing, text"):
        conn.execute(update, [
            {"id": pk, "raw": _unpack(segments) or [],
             "cleaned": _split(text or "", _unpack(timing) or [])}
            for pk, segments, timing, text in rows])
    op.drop_column('transcripts', 'cleaned_timing')
    op.drop_column('transcripts', 'segment_count')
    op.drop_column('transcripts', 'segments')
    op.alter_column('transcripts', 'raw_json', new_column_name='segments')
