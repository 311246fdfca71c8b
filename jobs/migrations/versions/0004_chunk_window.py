"""Chunks by job and state, for admitting a job's next planned chunk into its window

Revision ID: 0004_chunk_window
Revises: 0003_logins
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0004_chunk_window"
down_revision = "0003_logins"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_job_chunks_job_id")
        batch_op.create_index(
            "ix_job_chunks_job_state", ["job_id", "state", "seq_lo"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("job_chunks", schema=None) as batch_op:
        batch_op.drop_index("ix_job_chunks_job_state")
        batch_op.create_index("ix_job_chunks_job_id", ["job_id"], unique=False)
