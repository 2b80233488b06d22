"""covering indexes for the sessions' outcomes: each session job's video status

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 08:00:00.000000

``sessions list`` and ``sessions show`` count, for every job of a session, whether its video
now has a transcript (or why not): the session's jobs are read from the (session_id, status,
job_type) index, and each job's video from videos. benchmarks/queries (100k videos, 200k jobs,
20 sessions of ~950 jobs) found that reading a job row for its ``entity_id`` and a video row
for its ``transcript_status`` and ``unavailable_reason`` (two row lookups per job, the video's
past a description that may fill pages) cost ~100 ms. With ``entity_id`` in the session index
(which it replaces: the ledger's writes maintain as many indexes as before) and a videos
index keyed on the YouTube id that carries the two columns, the join reads two indexes alone.
Plain CREATE/DROP INDEX on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_processing_jobs_session_status_type_entity', 'processing_jobs',
                    ['session_id', 'status', 'job_type', 'entity_id'], unique=False)
    op.drop_index('ix_processing_jobs_session_status_type', table_name='processing_jobs')
    op.create_index('ix_videos_video_id_status_reason', 'videos',
                    ['youtube_video_id', 'transcript_status', 'unavailable_reason'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_videos_video_id_status_reason', table_name='videos')
    op.create_index('ix_processing_jobs_session_status_type', 'processing_jobs',
                    ['session_id', 'status', 'job_type'], unique=False)
    op.drop_index('ix_processing_jobs_session_status_type_entity',
                  table_name='processing_jobs')
