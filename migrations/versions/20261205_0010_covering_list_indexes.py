"""covering indexes for the counts and lists the CLI and TUI show

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 18:00:00.000000

benchmarks/queries (100k videos, 200k jobs) found these reading a row per index entry, or
sorting: ``stats``' jobs by (queue, type, status) read every job (0.3-0.8 s), the failures
grouped by (error class, type) looked up every failed job, a session's jobs by status looked
up every job for its type, and ``videos list --status S --kind K`` / ``--channel --status``
filtered a one-column range row by row. Each index below is the one it replaces plus the
columns those queries read, so the ledger's writes maintain as many indexes as before
(``priority`` left ix_processing_jobs_status_queue: nothing reads jobs in priority order
from the ledger); one is new, on videos (written once per discovery and per transcript).
Plain CREATE/DROP INDEX: the same on SQLite and PostgreSQL, no table rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_processing_jobs_status_queue_type', 'processing_jobs',
                    ['status', 'queue', 'job_type', 'error_class'], unique=False)
    op.drop_index('ix_processing_jobs_status_queue', table_name='processing_jobs')
    op.create_index('ix_processing_jobs_session_status_type', 'processing_jobs',
                    ['session_id', 'status', 'job_type'], unique=False)
    op.drop_index('ix_processing_jobs_session_status', table_name='processing_jobs')
    op.create_index('ix_videos_channel_status_published', 'videos',
                    ['channel_id', 'transcript_status', 'published_at'], unique=False)
    op.drop_index('ix_videos_channel_status', table_name='videos')
    op.create_index('ix_videos_status_kind_published', 'videos',
                    ['transcript_status', 'kind', 'published_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_videos_status_kind_published', table_name='videos')
    op.create_index('ix_videos_channel_status', 'videos',
                    ['channel_id', 'transcript_status'], unique=False)
    op.drop_index('ix_videos_channel_status_published', table_name='videos')
    op.create_index('ix_processing_jobs_session_status', 'processing_jobs',
                    ['session_id', 'status'], unique=False)
    op.drop_index('ix_processing_jobs_session_status_type', table_name='processing_jobs')
    op.create_index('ix_processing_jobs_status_queue', 'processing_jobs',
                    ['status', 'queue', 'priority'], unique=False)
    op.drop_index('ix_processing_jobs_status_queue_type', table_name='processing_jobs')
