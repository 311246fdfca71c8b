"""Payments and CSV import tasks (issue 11)

Revision ID: 0007_imports_payments
Revises: 0006_job_list_speed
Create Date: 2026-12-03
"""

from __future__ import annotations

revision = "0007_imports_payments"
down_revision = "0006_job_list_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
