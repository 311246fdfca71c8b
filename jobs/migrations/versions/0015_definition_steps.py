"""Definition step types (issue 12): no schema change; kept empty

Revision ID: 0015_definition_steps
Revises: 0014_scheduler_runs
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0015_definition_steps"
down_revision = "0014_scheduler_runs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
