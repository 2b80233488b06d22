"""full-text search on PostgreSQL: a tsvector over transcript passages

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00.000000

SQLite searches transcript_chunks through FTS5 (revision 0001, tokenizer
'porter unicode61 remove_diacritics 2'). PostgreSQL gets the same behaviour from its own
full-text search: a text search configuration ``tubesensei`` that lower-cases, strips accents
(unaccent) and applies the Porter stemmer (snowball's ``porter``, the algorithm FTS5's
porter tokenizer uses), with no stop words (FTS5 has none), indexing the parts of a hyphenated
word but not the compound (FTS5 splits on the hyphen, so a phrase across it still matches);
a generated ``tsv`` column keeps the index current without triggers; GIN indexes it.
On SQLite this revision does nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIG = "tubesensei"
UPGRADE = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE TEXT SEARCH DICTIONARY tubesensei_porter (TEMPLATE = snowball, Language = porter)",
    f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = simple)",
    f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} ALTER MAPPING FOR asciiword, word, numword, "
    "hword_part, hword_asciipart, hword_numpart WITH unaccent, tubesensei_porter",
    f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} DROP MAPPING FOR asciihword, hword, numhword",
    "ALTER TABLE transcript_chunks ADD COLUMN tsv tsvector "
    f"GENERATED ALWAYS AS (to_tsvector('{CONFIG}'::regconfig, text)) STORED",
    "CREATE INDEX ix_transcript_chunks_tsv ON transcript_chunks USING gin (tsv)",
]
DOWNGRADE = [
    "DROP INDEX IF EXISTS ix_transcript_chunks_tsv",
    "ALTER TABLE transcript_chunks DROP COLUMN IF EXISTS tsv",
    f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}",
    "DROP TEXT SEARCH DICTIONARY IF EXISTS tubesensei_porter",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
