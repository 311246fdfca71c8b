"""Monitor page indexes led by deleted_at, so a page is an index walk without statistics

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_submitted")
        batch_op.drop_index("ix_jobs_owner_submitted")
        batch_op.drop_index("ix_jobs_deleted_at")
        batch_op.create_index(
            "ix_jobs_live_submitted", ["deleted_at", "submitted_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_jobs_owner_live_submitted",
            ["owner_id", "deleted_at", "submitted_at", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_owner_live_submitted")
        batch_op.drop_index("ix_jobs_live_submitted")
        batch_op.create_index("ix_jobs_deleted_at", ["deleted_at"], unique=False)
        batch_op.create_index(
            "ix_jobs_owner_submitted", ["owner_id", "submitted_at", "id"], unique=False
        )
        batch_op.create_index("ix_jobs_submitted", ["submitted_at", "id"], unique=False)
