"""channels: where an unfinished full scan stopped, so a resumed discovery goes on from there

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 10:00:00.000000

A full scan stores the uploads playlist's next page token with each page it commits (in the
same transaction as the page's videos). A discovery killed half-way resumes at that page
instead of paying for every page again; a finished full scan clears it. Plain nullable
columns: ALTER TABLE on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tubesensei.db.models

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('channels', sa.Column('scan_page_token', sa.String(length=256), nullable=True))
    op.add_column('channels', sa.Column('scan_pages', sa.Integer(), nullable=True))
    op.add_column('channels', sa.Column('scan_resumable_at',
                                        tubesensei.db.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN, not a batch rebuild (which would cascade-delete the channel's videos).
    op.drop_column('channels', 'scan_resumable_at')
    op.drop_column('channels', 'scan_pages')
    op.drop_column('channels', 'scan_page_token')
