"""Engine contracts: items with a payload (and maybe no account), a job's plan, the outbox of
deliveries, and the configured account statuses

Revision ID: 0005_engine_contracts
Revises: 0004_chunk_window
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_engine_contracts"
down_revision = "0004_chunk_window"
branch_labels = None
depends_on = None

#: The back office's account statuses: name, active, closed. "Legal review" was retired: it
#: stays on the accounts that have it, but nobody can set it any more.
DEFAULT_STATUSES = [
    ("Open", True, False),
    ("Promise to pay", True, False),
    ("Payment plan", True, False),
    ("Disputed", True, False),
    ("On hold", True, False),
    ("Bankrupt", True, False),
    ("Paid in full", True, False),
    ("Closed", True, True),
    ("Legal review", False, False),
]

UTC_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    statuses = op.create_table(
        "account_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=24), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("closed", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_statuses")),
        sa.UniqueConstraint("name", name=op.f("uq_account_statuses_name")),
    )
    op.bulk_insert(
        statuses,
        [
            {"id": n, "name": name, "active": active, "closed": closed, "position": n}
            for n, (name, active, closed) in enumerate(DEFAULT_STATUSES, start=1)
        ],
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("item_seq", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", UTC_TS, nullable=False),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("sent_at", UTC_TS, nullable=True),
        sa.Column("sent_to", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
    )
    op.create_index("ix_deliveries_state_due", "deliveries", ["state", "due_at"])
    op.create_index(op.f("ix_deliveries_job_id"), "deliveries", ["job_id"])
    op.add_column("jobs", sa.Column("plan", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # job_items is a WITHOUT ROWID table; a batch copy would lose that, so copy by hand.
        op.execute(
            "CREATE TABLE job_items_new (job_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
            "account_id INTEGER, outcome SMALLINT NOT NULL, message TEXT, payload JSON, "
            "CONSTRAINT pk_job_items PRIMARY KEY (job_id, seq), "
            "CONSTRAINT fk_job_items_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id)) "
            "WITHOUT ROWID"
        )
        op.execute(
            "INSERT INTO job_items_new (job_id, seq, account_id, outcome, message) "
            "SELECT job_id, seq, account_id, outcome, message FROM job_items"
        )
        op.execute("DROP TABLE job_items")
        op.execute("ALTER TABLE job_items_new RENAME TO job_items")
    else:
        op.alter_column("job_items", "account_id", existing_type=sa.Integer(), nullable=True)
        op.add_column("job_items", sa.Column("payload", sa.JSON(), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TABLE job_items_old (job_id INTEGER NOT NULL, seq INTEGER NOT NULL, "
            "account_id INTEGER NOT NULL, outcome SMALLINT NOT NULL, message TEXT, "
            "CONSTRAINT pk_job_items PRIMARY KEY (job_id, seq), "
            "CONSTRAINT fk_job_items_job_id_jobs FOREIGN KEY(job_id) REFERENCES jobs (id)) "
            "WITHOUT ROWID"
        )
        op.execute(
            "INSERT INTO job_items_old (job_id, seq, account_id, outcome, message) "
            "SELECT job_id, seq, account_id, outcome, message FROM job_items "
            "WHERE account_id IS NOT NULL"
        )
        op.execute("DROP TABLE job_items")
        op.execute("ALTER TABLE job_items_old RENAME TO job_items")
    else:
        op.execute("DELETE FROM job_items WHERE account_id IS NULL")
        op.drop_column("job_items", "payload")
        op.alter_column("job_items", "account_id", existing_type=sa.Integer(), nullable=False)
    op.drop_column("jobs", "plan")
    op.drop_index(op.f("ix_deliveries_job_id"), table_name="deliveries")
    op.drop_index("ix_deliveries_state_due", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_table("account_statuses")
