"""covering indexes for the backlog's recent rate and jobs lists by type and status

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:00:00.000000

The backlog (``stats``, the TUI's dashboard, run-consumer's live progress, polled every
second) reads the jobs finished in the last ten minutes with the earliest ``started_at``:
under load, thousands of row lookups. ``jobs list --type T --status S`` walked every job of
the type, newest first, looking each one up for its status (a rare status: every job).
Both indexes replace a prefix of themselves, so the ledger's writes maintain as many
indexes as before: (status, finished_at, queue) gains ``started_at``, (job_type, status)
gains ``created_at``. Plain CREATE/DROP INDEX on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_processing_jobs_status_finished_started', 'processing_jobs',
                    ['status', 'finished_at', 'queue', 'started_at'], unique=False)
    op.drop_index('ix_processing_jobs_status_finished', table_name='processing_jobs')
    op.create_index('ix_processing_jobs_type_status_created', 'processing_jobs',
                    ['job_type', 'status', 'created_at'], unique=False)
    op.drop_index('ix_processing_jobs_type_status', table_name='processing_jobs')


def downgrade() -> None:
    op.create_index('ix_processing_jobs_type_status', 'processing_jobs',
                    ['job_type', 'status'], unique=False)
    op.drop_index('ix_processing_jobs_type_status_created', table_name='processing_jobs')
    op.create_index('ix_processing_jobs_status_finished', 'processing_jobs',
                    ['status', 'finished_at', 'queue'], unique=False)
    op.drop_index('ix_processing_jobs_status_finished_started', table_name='processing_jobs')
