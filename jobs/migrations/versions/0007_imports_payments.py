"""Payments and CSV import tasks (issue 11)

Revision ID: 0007_imports_payments
Revises: 0006_job_list_speed
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_imports_payments"
down_revision = "0006_job_list_speed"
branch_labels = None
depends_on = None

UTC_TS = sa.DateTime(timezone=True)

#: A staged file row's values, typed (``jobs.imports.specs`` maps each import's headings here).
ROW_FIELDS = [
    ("account_ref", sa.Integer()),
    ("file_number", sa.String(length=20)),
    ("ssn", sa.String(length=11)),
    ("first_name", sa.String(length=64)),
    ("last_name", sa.String(length=64)),
    ("birth_date", sa.Date()),
    ("client", sa.String(length=16)),
    ("portfolio", sa.String(length=128)),
    ("account_number", sa.String(length=32)),
    ("email", sa.String(length=254)),
    ("phone", sa.String(length=20)),
    ("state", sa.String(length=2)),
    ("account_status", sa.String(length=24)),
    ("balance", sa.Numeric(precision=12, scale=2)),
    ("creditor", sa.String(length=128)),
    ("collector", sa.String(length=128)),
    ("interaction_type", sa.String(length=32)),
    ("outcome", sa.String(length=64)),
    ("note", sa.Text()),
    ("interaction_date", sa.Date()),
    ("amount", sa.Numeric(precision=12, scale=2)),
    ("paid_on", sa.Date()),
    ("payment_status", sa.String(length=16)),
]


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("collector_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["collector_id"], ["collectors.id"], name=op.f("fk_payments_collector_id_collectors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_account_id"), "payments", ["account_id"])
    op.create_index(op.f("ix_payments_collector_id"), "payments", ["collector_id"])
    op.create_index(op.f("ix_payments_job_id"), "payments", ["job_id"])
    op.create_table(
        "import_tasks",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("import_type", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("encoding", sa.String(length=16), nullable=False),
        sa.Column("delimiter", sa.String(length=16), nullable=False),
        sa.Column("headings", sa.JSON(), nullable=False),
        sa.Column("match_by", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("imported", sa.Integer(), nullable=False),
        sa.Column("invalid", sa.Integer(), nullable=False),
        sa.Column("no_match", sa.Integer(), nullable=False),
        sa.Column("ambiguous", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_import_tasks_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_import_tasks")),
    )
    op.create_table(
        "import_rows",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.Column("match_count", sa.Integer(), nullable=True),
        sa.Column("matched_account_id", sa.Integer(), nullable=True),
        *[sa.Column(name, kind, nullable=True) for name, kind in ROW_FIELDS],
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_import_rows_job_id_jobs")),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_import_rows")),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_import_rows_job_status", "import_rows", ["job_id", "status", "seq"])
    op.create_table(
        "import_matches",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_import_matches_job_id_jobs")
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", "account_id", name=op.f("pk_import_matches")),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "task_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_task_views_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_views")),
        sa.UniqueConstraint("user_id", "name", name="uq_task_views_user_name"),
    )


def downgrade() -> None:
    op.drop_table("task_views")
    op.drop_table("import_matches")
    op.drop_index("ix_import_rows_job_status", table_name="import_rows")
    op.drop_table("import_rows")
    op.drop_table("import_tasks")
    op.drop_index(op.f("ix_payments_job_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_collector_id"), table_name="payments")
    op.drop_index(op.f("ix_payments_account_id"), table_name="payments")
    op.drop_table("payments")
