"""Definitions store: at most one campaign and one file-in definition (a partial unique index)

The definitions service refuses a second one with a message naming the first; this index
keeps the rule when two admins save at the same moment.

Revision ID: 0013_definitions_store
Revises: 0012_definitions
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_definitions_store"
down_revision = "0012_definitions"
branch_labels = None
depends_on = None

_ONE_PER_TRIGGER = "trigger IN ('campaign', 'file_in')"


def upgrade() -> None:
    op.create_index(
        "ix_definitions_single_trigger",
        "definitions",
        ["trigger"],
        unique=True,
        sqlite_where=sa.text(_ONE_PER_TRIGGER),
        postgresql_where=sa.text(_ONE_PER_TRIGGER),
    )


def downgrade() -> None:
    op.drop_index("ix_definitions_single_trigger", table_name="definitions")
