"""Definitions screens and the batch audit log (issue 12): no schema change; kept empty

Revision ID: 0016_definition_screens
Revises: 0015_definition_steps
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0016_definition_screens"
down_revision = "0015_definition_steps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
