"""Account grid preferences and export templates (issue 10)

The account grid's indexes (a page in each sort order is one index walk; pg_trgm for the
free text on PostgreSQL), and ``accounts.last_worked`` kept up to date by the database: an
interaction newer than it moves it forward, so Last Worked (the later of the account's own
date and its newest interaction) is one indexed column instead of a per-query aggregate.

Revision ID: 0008_account_grid_exports
Revises: 0007_imports_payments
Create Date: 2026-12-03
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0008_account_grid_exports"
down_revision = "0007_imports_payments"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

UTC_TS = sa.DateTime(timezone=True)
#: Composite sort indexes: PostgreSQL's single-column indexes do not end in the id.
SORTS = (
    "status",
    "client_id",
    "portfolio_id",
    "collector_id",
    "debtor_name",
    "account_number",
    "state",
)
TRIGRAMS = ("debtor_name", "account_number", "file_number")
TRIGGER = "tr_interactions_last_worked"
PG_FUNCTION = "bulkdesk_last_worked"

SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON interactions
BEGIN
  UPDATE accounts SET last_worked = NEW.interaction_date
  WHERE id = NEW.account_id
    AND (last_worked IS NULL OR last_worked < NEW.interaction_date);
END
"""
# One set-based UPDATE per INSERT statement (a transition table), not one per row: a bulk
# job's chunk of 10,000 interactions costs one statement.
PG_TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE accounts AS a SET last_worked = n.newest
  FROM (SELECT account_id, max(interaction_date) AS newest
        FROM new_interactions GROUP BY account_id) AS n
  WHERE a.id = n.account_id AND (a.last_worked IS NULL OR a.last_worked < n.newest);
  RETURN NULL;
END
$$
"""
PG_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON interactions
REFERENCING NEW TABLE AS new_interactions
FOR EACH STATEMENT EXECUTE FUNCTION {PG_FUNCTION}()
"""
BACKFILL = """
UPDATE accounts SET last_worked = (
  SELECT max(i.interaction_date) FROM interactions AS i WHERE i.account_id = accounts.id)
WHERE EXISTS (
  SELECT 1 FROM interactions AS i WHERE i.account_id = accounts.id
    AND (accounts.last_worked IS NULL OR i.interaction_date > accounts.last_worked))
"""


def upgrade() -> None:
    op.create_table(
        "account_grid_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("page_size", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_account_grid_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_account_grid_preferences")),
    )
    op.create_table(
        "export_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("unmasked", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC_TS, nullable=False),
        sa.Column("updated_at", UTC_TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_export_templates_created_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_export_templates_name")),
    )
    op.create_index("ix_accounts_balance_id", "accounts", ["current_balance", "id"])
    op.create_index("ix_accounts_last_worked_id", "accounts", ["last_worked", "id"])
    for name in SORTS:
        op.create_index(f"ix_accounts_{name}_id", "accounts", [name, "id"])
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL)
    if dialect == "sqlite":
        op.execute(SQLITE_TRIGGER)
        op.execute("ANALYZE accounts")
    elif dialect == "postgresql":
        op.execute(PG_TRIGGER_FUNCTION)
        op.execute(PG_TRIGGER)
        if _trigrams_available():
            for name in TRIGRAMS:
                op.execute(
                    f"CREATE INDEX ix_accounts_{name}_trgm ON accounts "
                    f"USING gin ({name} gin_trgm_ops)"
                )
        op.execute("ANALYZE accounts")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}" + (" ON interactions" * (dialect != "sqlite")))
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        for name in TRIGRAMS:
            op.execute(f"DROP INDEX IF EXISTS ix_accounts_{name}_trgm")
    for name in reversed(SORTS):
        op.drop_index(f"ix_accounts_{name}_id", table_name="accounts")
    op.drop_index("ix_accounts_last_worked_id", table_name="accounts")
    op.drop_index("ix_accounts_balance_id", table_name="accounts")
    op.drop_table("export_templates")
    op.drop_table("account_grid_preferences")


def _trigrams_available() -> bool:
    """pg_trgm (created by 0006 when it could be); without it the free text still works."""
    bind = op.get_bind()
    if bind.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception as error:  # noqa: BLE001  (any refusal: go on without the index)
        log.warning("pg_trgm is not available (%s): the account text filter has no index", error)
        return False
    return True
