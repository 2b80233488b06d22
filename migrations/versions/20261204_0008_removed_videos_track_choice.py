"""videos: when a reconcile found a video gone or private; transcripts: the rule that chose the track

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00.000000

A video YouTube no longer lists (deleted, or made private) is marked, never deleted: its
transcript stays in the corpus. ``missing_since`` is when a scan first found it missing,
``missing_reason`` says how (``gone`` or ``private``); both are cleared when it comes back.
``transcripts.chosen_by`` records which rule of the transcript choice picked the track
(``manual``, ``generated``, their ``_regional`` forms, or ``translation``).
``channels.discovery_job_id`` is the discovery job that last claimed the channel: a second
job for the same channel (queued as @handle and as UC…) joins it while it runs instead of
repeating it. Plain nullable columns: ALTER TABLE on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tubesensei.db.models

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('videos', sa.Column('missing_since',
                                      tubesensei.db.models.UTCDateTime(), nullable=True))
    op.add_column('videos', sa.Column('missing_reason', sa.String(length=16), nullable=True))
    op.add_column('transcripts', sa.Column('chosen_by', sa.String(length=24), nullable=True))
    op.add_column('channels', sa.Column('discovery_job_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN, not a batch rebuild (which would cascade-delete dependent rows).
    op.drop_column('channels', 'discovery_job_id')
    op.drop_column('transcripts', 'chosen_by')
    op.drop_column('videos', 'missing_reason')
    op.drop_column('videos', 'missing_since')
