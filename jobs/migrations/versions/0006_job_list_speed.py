"""Job list speed: an index per sort key, for admins and for one owner, and a trigram index
for the text filter on PostgreSQL

Revision ID: 0006_job_list_speed
Revises: 0005_engine_contracts
Create Date: 2026-12-03
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0006_job_list_speed"
down_revision = "0005_engine_contracts"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: Sort key → the columns between role scoping and the job id (``submitted`` exists since 0002).
SORTS = {
    "id": [],
    "started": ["started_at"],
    "ended": ["ended_at"],
    "description": ["description"],
    "status": ["status"],
    "action": ["action"],
}
TRIGRAM_INDEX = "ix_jobs_description_trgm"


def upgrade() -> None:
    for name, columns in SORTS.items():
        op.create_index(f"ix_jobs_live_{name}", "jobs", ["deleted_at", *columns, "id"])
        op.create_index(
            f"ix_jobs_owner_live_{name}", "jobs", ["owner_id", "deleted_at", *columns, "id"]
        )
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        # Statistics for the new indexes too: with some indexes analysed and others not,
        # SQLite takes an unanalysed one for "few rows" and sorts every job for one page.
        op.execute("ANALYZE jobs")
    elif dialect == "postgresql" and _trigrams_available():
        op.execute(f"CREATE INDEX {TRIGRAM_INDEX} ON jobs USING gin (description gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension stays: it may have been there before, and other objects may use it.
        op.execute(f"DROP INDEX IF EXISTS {TRIGRAM_INDEX}")
    for name in reversed(SORTS):
        op.drop_index(f"ix_jobs_owner_live_{name}", table_name="jobs")
        op.drop_index(f"ix_jobs_live_{name}", table_name="jobs")


def _trigrams_available() -> bool:
    """Create pg_trgm if it is not there; without it (not installed, or no right to create
    it) the text filter still works, by reading the description index instead."""
    bind = op.get_bind()
    if bind.scalar(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")):
        return True
    try:
        with bind.begin_nested():
            bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except Exception as error:  # noqa: BLE001  (any refusal: go on without the index)
        log.warning("pg_trgm is not available (%s): the job text filter has no index", error)
        return False
    return True
