"""indexes for the live dashboard: completions by time, videos by status and reason

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:00:00.000000

benchmarks/tui found the dashboard's refresh spending most of its time in two places:
"completed in the last minute/hour" read every completed job through
(status, created_at) — SQLite prefers the equality on status over the range on
finished_at — and "unavailable videos by reason" looked up every unavailable row. With
(status, finished_at, queue) both windows and the per-queue completions are short covering
ranges; it replaces (finished_at), whose only users (stats, prune) filter on status too, so
the ledger's writes maintain no more indexes than before. (transcript_status,
unavailable_reason) answers the corpus totals from the index alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('processing_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_processing_jobs_status_finished',
                              ['status', 'finished_at', 'queue'], unique=False)
        batch_op.drop_index('ix_processing_jobs_finished_at')

    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_status_reason', ['transcript_status',
                                                          'unavailable_reason'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.drop_index('ix_videos_status_reason')

    with op.batch_alter_table('processing_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_processing_jobs_finished_at', ['finished_at'], unique=False)
        batch_op.drop_index('ix_processing_jobs_status_finished')
