"""videos: the transcript tracks YouTube offers, recorded at every transcript fetch

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00.000000

``available_languages`` (JSON: [{language_code, language, is_generated, is_translatable}])
and ``languages_checked_at`` let ``videos show`` say which languages a video has, and a
``no_transcript_in_language`` miss which ones were there. Both are NULL until the next fetch.
Plain nullable columns, added and dropped with ALTER TABLE on SQLite and PostgreSQL alike
(no table rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tubesensei.db.models

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('videos', sa.Column('available_languages', sa.JSON(), nullable=True))
    op.add_column('videos', sa.Column('languages_checked_at',
                                      tubesensei.db.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+), not batch mode: rebuilding videos
    # would drop the table, and with foreign keys on that deletes every transcript.
    op.drop_column('videos', 'languages_checked_at')
    op.drop_column('videos', 'available_languages')
