"""Account grid preferences and export templates (issue 10)

The account grid's indexes (balance and Last Worked sorts; one pg_trgm index for the free
text on PostgreSQL), and ``account_activity``: each account's newest interaction date, kept
by a trigger on interactions, so that Last Worked (the later of the account's own date and
its newest interaction) filters and sorts from indexes instead of aggregating interactions
per query. A narrow table, because rewriting account rows on every interaction would cost
Add Interaction ten times its own time on PostgreSQL (see benchmarks/README.md).

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
TRIGGER = "tr_interactions_activity"
PG_FUNCTION = "bulkdesk_account_activity"
SEARCH = "(debtor_name || ' ' || account_number || ' ' || file_number)"

SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON interactions
BEGIN
  INSERT INTO account_activity (account_id, last_interaction)
  VALUES (NEW.account_id, NEW.interaction_date)
  ON CONFLICT (account_id) DO UPDATE SET last_interaction = excluded.last_interaction
  WHERE excluded.last_interaction > account_activity.last_interaction;
END
"""
# One set-based upsert per INSERT statement (a transition table), not one per row: a bulk
# job's chunk of 10,000 interactions costs one statement.
PG_TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO account_activity AS x (account_id, last_interaction)
  SELECT account_id, max(interaction_date) FROM new_interactions GROUP BY account_id
  ON CONFLICT (account_id) DO UPDATE SET last_interaction = EXCLUDED.last_interaction
  WHERE EXCLUDED.last_interaction > x.last_interaction;
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
INSERT INTO account_activity (account_id, last_interaction)
SELECT account_id, max(interaction_date) FROM interactions GROUP BY account_id
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
    op.create_table(
        "account_activity",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last_interaction", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_account_activity_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_account_activity")),
    )
    op.create_index(
        "ix_account_activity_last_id", "account_activity", ["last_interaction", "account_id"]
    )
    op.create_index("ix_accounts_balance_id", "accounts", ["current_balance", "id"])
    op.create_index("ix_accounts_last_worked_id", "accounts", ["last_worked", "id"])
    op.execute(BACKFILL)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_TRIGGER)
        op.execute("ANALYZE accounts")
    elif dialect == "postgresql":
        op.execute(PG_TRIGGER_FUNCTION)
        op.execute(PG_TRIGGER)
        if _trigrams_available():
            op.execute(
                f"CREATE INDEX ix_accounts_search_trgm ON accounts "
                f"USING gin ({SEARCH} gin_trgm_ops)"
            )
        op.execute("ANALYZE accounts")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}" + (" ON interactions" * (dialect != "sqlite")))
    if dialect == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {PG_FUNCTION}()")
        op.execute("DROP INDEX IF EXISTS ix_accounts_search_trgm")
    op.drop_index("ix_accounts_last_worked_id", table_name="accounts")
    op.drop_index("ix_accounts_balance_id", table_name="accounts")
    op.drop_index("ix_account_activity_last_id", table_name="account_activity")
    op.drop_table("account_activity")
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
