"""Job list text filter on SQLite: a full-text (trigram) index of job descriptions

SQLite's ``LIKE '%word%'`` over a million descriptions reads every entry of the description
index (100–140 ms for a rare word). An FTS5 table with the trigram tokenizer answers the same
``LIKE`` from its index; triggers keep it in step with ``jobs``. PostgreSQL already has its
pg_trgm index (0006). On a SQLite without FTS5's trigram tokenizer (before 3.34) nothing is
created and the filter keeps its plain ``LIKE``.

Revision ID: 0011_job_text_search
Revises: 0010_job_links
Create Date: 2026-12-03
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0011_job_text_search"
down_revision = "0010_job_links"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: The FTS5 table's name; ``jobs.reports.queries`` looks for it.
FTS = "jobs_fts"

STATEMENTS = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5(description, content='jobs', content_rowid='id', "
    "tokenize='trigram case_sensitive 0')",
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON jobs BEGIN
      INSERT INTO {FTS}(rowid, description) VALUES (new.id, new.description);
    END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON jobs BEGIN
      INSERT INTO {FTS}({FTS}, rowid, description) VALUES ('delete', old.id, old.description);
    END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF description ON jobs BEGIN
      INSERT INTO {FTS}({FTS}, rowid, description) VALUES ('delete', old.id, old.description);
      INSERT INTO {FTS}(rowid, description) VALUES (new.id, new.description);
    END""",
    f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    try:
        bind.execute(
            text("CREATE VIRTUAL TABLE temp.bulkdesk_fts_probe USING fts5(x, tokenize='trigram')")
        )
        bind.execute(text("DROP TABLE temp.bulkdesk_fts_probe"))
    except Exception as error:  # an SQLite without FTS5 or its trigram tokenizer
        log.warning("No full-text index of job descriptions (%s); the text filter uses LIKE", error)
        return
    for statement in STATEMENTS:
        bind.execute(text(statement))


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    for trigger in ("insert", "delete", "update"):
        bind.execute(text(f"DROP TRIGGER IF EXISTS {FTS}_{trigger}"))
    bind.execute(text(f"DROP TABLE IF EXISTS {FTS}"))
