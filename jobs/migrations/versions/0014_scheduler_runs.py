"""Reserved for the scheduler and runs (issue 12); empty until that work needs a schema change

Revision ID: 0014_scheduler_runs
Revises: 0013_definitions_store
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0014_scheduler_runs"
down_revision = "0013_definitions_store"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
