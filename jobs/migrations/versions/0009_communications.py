"""Email and SMS templates, scheduled sends and approvals (issue 10)

Revision ID: 0009_communications
Revises: 0008_account_grid_exports
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_communications"
down_revision = "0008_account_grid_exports"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)


def _template_table(name: str, *extra: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        *extra,
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f(f"fk_{name}_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("name", name=op.f(f"uq_{name}_name")),
    )


def upgrade() -> None:
    _template_table("email_templates", sa.Column("subject", sa.String(length=200), nullable=False))
    _template_table("sms_templates")
    # A scheduled job (a send date) is not started before this time, even when Queued.
    op.add_column("jobs", sa.Column("not_before", UTC_TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("not_before")
    op.drop_table("sms_templates")
    op.drop_table("email_templates")
