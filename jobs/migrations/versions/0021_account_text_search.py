"""The account grid's free text on SQLite: a full-text (trigram) index of the searched columns

The grid's text filter matches a word anywhere in the debtor's name, the account number or
the file number. SQLite has no trigram B-tree: ``LIKE '%smith%'`` over three columns read
every account (0.25–0.35 s at a million). An FTS5 table with the trigram tokenizer over
the same three columns finds the candidates from its index (every trigram of the word in
the row); ``jobs.sources.accounts`` keeps the ``LIKE`` to confirm each one (the same matches
as before). ``detail=none``: the index keeps no positions (a quarter of the size, 33 MB at
a million accounts, and cheaper to keep up), which the confirming ``LIKE`` makes up for.
Triggers keep it in step with ``accounts``; an UPDATE that sets none of the three columns
(Change Status, Assign) fires none; a new account costs 15–50% more to insert (the index's
upkeep). PostgreSQL has its pg_trgm index (0008). On an SQLite without FTS5's trigram
tokenizer nothing is created and the filter keeps its plain ``LIKE``.

Revision ID: 0021_account_text_search
Revises: 0020_last_worked_counts
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import text

revision = "0021_account_text_search"
down_revision = "0020_last_worked_counts"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: The FTS5 table's name; ``jobs.sources.accounts`` uses it.
FTS = "accounts_fts"
COLUMNS = "debtor_name, account_number, file_number"
NEW = "new.id, new.debtor_name, new.account_number, new.file_number"
OLD = "old.id, old.debtor_name, old.account_number, old.file_number"

STATEMENTS = [
    f"CREATE VIRTUAL TABLE {FTS} USING fts5({COLUMNS}, content='accounts', "
    "content_rowid='id', tokenize='trigram case_sensitive 0', detail=none)",
    f"""CREATE TRIGGER {FTS}_insert AFTER INSERT ON accounts BEGIN
      INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES ({NEW});
    END""",
    f"""CREATE TRIGGER {FTS}_delete AFTER DELETE ON accounts BEGIN
      INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) VALUES ('delete', {OLD});
    END""",
    f"""CREATE TRIGGER {FTS}_update AFTER UPDATE OF {COLUMNS} ON accounts BEGIN
      INSERT INTO {FTS}({FTS}, rowid, {COLUMNS}) VALUES ('delete', {OLD});
      INSERT INTO {FTS}(rowid, {COLUMNS}) VALUES ({NEW});
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
        log.warning("No full-text index of accounts (%s); the grid's text filter uses LIKE", error)
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
