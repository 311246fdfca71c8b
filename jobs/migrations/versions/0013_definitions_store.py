"""Reserved for the definitions store (issue 12); empty until that work needs a schema change

Revision ID: 0013_definitions_store
Revises: 0012_definitions
Create Date: 2026-12-04
"""

from __future__ import annotations

revision = "0013_definitions_store"
down_revision = "0012_definitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
