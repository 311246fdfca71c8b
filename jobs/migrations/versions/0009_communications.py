"""Email and SMS templates, scheduled sends and approvals (issue 10)

Revision ID: 0009_communications
Revises: 0008_account_grid_exports
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0009_communications"
down_revision = "0008_account_grid_exports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
