"""Fixtures and helpers of the import tests: an imports folder per test, files written in a
given encoding, an import run to its end on the in-process worker, and the shared
PostgreSQL database put back as it was (accounts, payments) after each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, delete, func, select, text, update

from jobs.db import Database
from jobs.models import Account, Payment, TaskView
from jobs.service import JobService
from tests.helpers import wait_for

_ACCOUNT_COLUMNS = (
    "debtor_name ssn birth_date account_number email phone state status current_balance "
    "creditor collector_id locked"
).split()


@pytest.fixture(name="imports_home")
def imports_home_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "imports"
    monkeypatch.setenv("BULKDESK_IMPORTS_DIR", str(home))
    return home


@pytest.fixture(name="importing")
def importing_fixture(db: Database, imports_home: Path, stub_worker: Any) -> Iterator[Database]:
    """The seeded database with a worker running; accounts, payments and saved views are
    put back afterwards (the PostgreSQL database is shared by the session's tests)."""
    a = Account.__table__
    with db.read() as s:
        last_id = s.scalar(select(func.max(a.c.id)))
        before = [
            dict(r._mapping) for r in s.execute(select(a.c.id, *(a.c[c] for c in _ACCOUNT_COLUMNS)))
        ]
    yield db
    with db.write_conn() as conn:
        conn.execute(delete(Payment).where(Payment.job_id.is_not(None)))
        conn.execute(delete(TaskView))
        conn.execute(text("DELETE FROM interactions WHERE job_id IS NOT NULL"))
        conn.execute(text("DELETE FROM group_members WHERE account_id > :n"), {"n": last_id})
        conn.execute(delete(a).where(a.c.id > last_id))
        stmt = (
            update(a)
            .where(a.c.id == bindparam("_id"))
            .values({c: bindparam(f"_{c}") for c in _ACCOUNT_COLUMNS})
        )
        conn.execute(stmt, [{f"_{k}": v for k, v in row.items()} for row in before])


def write(folder: Path, name: str, content: str, encoding: str = "utf-8") -> Path:
    """A file as a spreadsheet program would save it (``newline=""``: the rows' own ends)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode(encoding))
    return path


def run_import(service: JobService, user: str, kind: str, path: Path, **options: Any) -> Any:
    """Submit an import, wait for its end; its task detail."""
    job = service.submit_import(user, kind, str(path), **options)
    wait_for(service, user, job.id, timeout=120)
    return service.import_task(user, job.id)


def messages(service: JobService, user: str, job_id: int, status: str | None = None) -> list[dict]:
    _, page = service.import_messages(user, job_id, status=status, page_size=500)
    return page.rows


def account(db: Database, account_id: int) -> dict[str, Any]:
    with db.read() as s:
        row = s.execute(select(Account.__table__).where(Account.id == account_id)).one()
    return dict(row._mapping)


def accounts_where(db: Database, **equal: Any) -> list[dict[str, Any]]:
    a = Account.__table__
    with db.read() as s:
        rows = s.execute(select(a).where(*(a.c[k] == v for k, v in equal.items())).order_by(a.c.id))
        return [dict(r._mapping) for r in rows]
