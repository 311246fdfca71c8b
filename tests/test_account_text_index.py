"""SQLite's full-text (trigram) index of accounts answers the grid's free text, finds the
same accounts as a plain LIKE over the three searched columns, and stays in step with the
accounts table: a renamed debtor is found by the new name, a new account at once."""

from __future__ import annotations

from sqlalchemy import insert, select, text, update

from jobs.models import Account
from jobs.service import JobService
from jobs.sources.accounts import AccountFilter, sqlite_has_trigram

WORDS = ["smith", "SMITH", "o'brien", "mith", "ee", "  Lee ", "%", "_", "1-", "no such name"]


def _like(db, word: str) -> set[int]:
    """What a plain LIKE over the three columns matches (the index must agree with it)."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    where = " OR ".join(
        f"{c} LIKE :p ESCAPE '\\'" for c in ("debtor_name", "account_number", "file_number")
    )
    with db.read() as s:
        return set(s.scalars(text(f"SELECT id FROM accounts WHERE {where}"), {"p": f"%{escaped}%"}))


def _found(service: JobService, word: str) -> set[int]:
    page = service.account_grid("admin", AccountFilter(text=word), page_size=500)
    rows = {r["id"] for r in page.rows}
    page_no = 2
    while len(rows) < page.total:
        more = service.account_grid("admin", AccountFilter(text=word), page_size=500, page=page_no)
        rows |= {r["id"] for r in more.rows}
        page_no += 1
    assert page.total == len(rows)
    return rows


def test_the_grid_text_filter_reads_the_index_and_matches_what_like_matches(sqlite_db):
    assert sqlite_has_trigram()
    with sqlite_db.read() as s:
        assert s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'accounts_fts'"))
        sql = str(
            select(Account.id)
            .where(AccountFilter(text="smith").clause())
            .compile(s.get_bind(), compile_kwargs={"literal_binds": True})
        )
    assert "accounts_fts MATCH" in sql
    service = JobService(sqlite_db)
    for word in WORDS:
        assert _found(service, word) == _like(sqlite_db, word.strip()), word
    assert _found(service, "smith")  # (the seed has Smiths: the comparison is not empty)


def test_renamed_new_and_removed_accounts_are_found_as_they_are_now(sqlite_db):
    service = JobService(sqlite_db)
    with sqlite_db.read() as s:
        first = s.scalar(select(Account).order_by(Account.id).limit(1))
        s.expunge(first)
    assert _found(service, "Quixotica") == set()
    # When a debtor is renamed, the new name finds the account and the old one does not
    with sqlite_db.write_conn() as conn:
        conn.execute(
            update(Account).where(Account.id == first.id).values(debtor_name="Zed Quixotica")
        )
    assert _found(service, "quixotica") == {first.id}
    assert first.id not in _found(service, first.debtor_name)
    # A new account is found at once, by its file number too
    with sqlite_db.write_conn() as conn:
        values = {c.key: getattr(first, c.key) for c in Account.__table__.columns if c.key != "id"}
        values |= {"file_number": "FQX-90210", "account_number": "ACCT-Q-1"}
        values["debtor_name"] = "Amy Quixotica"
        new_id = conn.execute(insert(Account).values(values).returning(Account.id)).scalar()
    assert _found(service, "quixotica") == {first.id, new_id}
    assert _found(service, "fqx-902") == {new_id}
    # An account removed for good is not found
    with sqlite_db.write_conn() as conn:
        conn.execute(text("DELETE FROM accounts WHERE id = :i"), {"i": new_id})
    assert _found(service, "quixotica") == {first.id}
    with sqlite_db.read() as s:
        stale = s.scalar(text("SELECT count(*) FROM accounts_fts WHERE accounts_fts MATCH 'FQX'"))
    assert stale == 0
