"""Account grid preferences and export templates (issue 10)

Revision ID: 0008_account_grid_exports
Revises: 0007_imports_payments
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0008_account_grid_exports"
down_revision = "0007_imports_payments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
