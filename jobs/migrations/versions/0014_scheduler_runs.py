"""Scheduler runs: when a run is woken again, and the lease of the worker working it

``definition_runs.wake_at`` (indexed): when a worker should be sent the run again (it waits
for a prerequisite, a child job or deliveries, or its message may be lost);
``lease_owner`` / ``lease_until`` (indexed): the worker working it now, so that a run whose
worker died is resumed by another and never worked by two at once.

Revision ID: 0014_scheduler_runs
Revises: 0013_definitions_store
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_scheduler_runs"
down_revision = "0013_definitions_store"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("definition_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("wake_at", UTC_TS, nullable=True))
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_until", UTC_TS, nullable=True))
        batch_op.create_index("ix_definition_runs_wake_at", ["wake_at"], unique=False)
        batch_op.create_index("ix_definition_runs_lease_until", ["lease_until"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("definition_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_definition_runs_lease_until")
        batch_op.drop_index("ix_definition_runs_wake_at")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("lease_owner")
        batch_op.drop_column("wake_at")
