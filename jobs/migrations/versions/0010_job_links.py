"""Job links: the job a retry or an undo was made from (issue 10)

Revision ID: 0010_job_links
Revises: 0009_communications
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_job_links"
down_revision = "0009_communications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No foreign key: deleting jobs for good (a TRUNCATE … CASCADE) must not take the
    # retries and undos made from them along.
    op.add_column("jobs", sa.Column("parent_job_id", sa.Integer(), nullable=True))
    op.add_column("jobs", sa.Column("link", sa.String(length=16), nullable=True))
    op.create_index(op.f("ix_jobs_parent_job_id"), "jobs", ["parent_job_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_jobs_parent_job_id"), table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("link")
        batch.drop_column("parent_job_id")
