"""indexes for lists shown newest first: videos by kind, jobs by status and by type

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 16:40:00.000000

benchmarks/queries found these lists sorting every matching row (USE TEMP B-TREE FOR ORDER
BY): videos --kind (ix_videos_kind had no published_at), jobs --status / --type (no
created_at in the index). ix_videos_kind is a prefix of its replacement, so it goes.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_kind_published', ['kind', 'published_at'], unique=False)
        batch_op.drop_index('ix_videos_kind')

    with op.batch_alter_table('processing_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_processing_jobs_status_created', ['status', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_processing_jobs_type_created', ['job_type', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('processing_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_processing_jobs_type_created')
        batch_op.drop_index('ix_processing_jobs_status_created')

    with op.batch_alter_table('videos', schema=None) as batch_op:
        batch_op.create_index('ix_videos_kind', ['kind'], unique=False)
        batch_op.drop_index('ix_videos_kind_published')
