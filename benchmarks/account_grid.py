"""The account grid and exports over 1,000,000 accounts, on SQLite and PostgreSQL.

Times the grid's own code path (``JobService.account_grid``: the count and one page of 25,
as the Accounts page reads them) for the first page, filters, a sort on each core column
both ways, and the select-all count (``count_targets`` of a filter less exclusions); then an
Export Accounts job over every account (start, chunks, the streaming ``finalize``) next to a
plain ``COPY … TO STDOUT (FORMAT csv)`` (PostgreSQL) and ``pandas.read_sql`` +
``DataFrame.to_csv`` of the same columns and rows; and what keeping Last Worked on write
costs and saves (``--last-worked``).

Each timing is the median of ``--repeat`` runs after one warm-up run.

Run from the repository root (``--seed`` fills the database first: ``bulkdesk seed
--large``; a database seeded before migration 0008 is upgraded by ``bulkdesk db upgrade``)::

    .venv/bin/python -m benchmarks.account_grid --url sqlite:///var/grid-1m.db --seed
    .venv/bin/python -m benchmarks.account_grid \\
        --url postgresql+psycopg://postgres@127.0.0.1:5432/grid_1m --seed
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from jobs import runtime
from jobs.config import Settings
from jobs.db import Database, upgrade
from jobs.engine import execution
from jobs.exports import writer
from jobs.grid.columns import CORE
from jobs.seed import has_data, seed
from jobs.service import JobService
from jobs.sources.accounts import AccountFilter, AccountSelection

USER = "admin"
EXPORT_COLUMNS = [
    "file_number",
    "client",
    "portfolio",
    "account_number",
    "debtor",
    "status",
    "current_balance",
    "assigned_to",
    "ssn",
    "email",
]
FILTERS = {
    "filter: status Open": {"status": "Open"},
    "filter: client 2 (Northwind Bank)": {"client_id": 2},
    "filter: state TX + status Open": {"state": "TX", "status": "Open"},
    "filter: text 'smith'": {"text": "smith"},
    "filter: balance 1,000–2,000": {"min_balance": 1000, "max_balance": 2000},
    "filter: last worked 2026-10-01…15": {"worked_from": "2026-10-01", "worked_to": "2026-10-15"},
    "filter: collector 3, sorted by balance ↓": {"collector_id": 3},
}


def timed(fn: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs after a warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def grid_rows(svc: JobService, repeat: int) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = []
    everything = AccountFilter()
    out.append(("first page", timed(lambda: svc.account_grid(USER, everything), repeat)))
    for label, criteria in FILTERS.items():
        flt = AccountFilter.from_dict(criteria)
        sort = "current_balance" if "sorted by balance" in label else "file_number"
        out.append(
            (
                label,
                timed(
                    lambda flt=flt, sort=sort: svc.account_grid(
                        USER, flt, sort=sort, descending=sort != "file_number"
                    ),
                    repeat,
                ),
            )
        )
    for key in CORE:
        for descending in (False, True):
            out.append(
                (
                    f"sort: {key} {'↓' if descending else '↑'}",
                    timed(
                        lambda key=key, descending=descending: svc.account_grid(
                            USER, everything, sort=key, descending=descending
                        ),
                        repeat,
                    ),
                )
            )
    out.append(
        (
            "sort: assigned_to ↑, page 2,000",
            timed(
                lambda: svc.account_grid(USER, everything, sort="assigned_to", page=2000), repeat
            ),
        )
    )
    excluded = tuple(range(1, 5001, 50))
    for label, selection in (
        (
            "select-all count: every account less 100",
            AccountSelection(all_accounts=True, excluded_ids=excluded),
        ),
        (
            "select-all count: status Open less 100",
            AccountSelection(filter=AccountFilter(status="Open"), excluded_ids=excluded),
        ),
        (
            "select-all count: TX + Open less 100",
            AccountSelection(
                filter=AccountFilter(state="TX", status="Open"), excluded_ids=excluded
            ),
        ),
    ):
        out.append((label, timed(lambda s=selection: svc.count_targets(USER, s), repeat)))
    return out


def export_rows(db: Database, svc: JobService, limit: int | None) -> list[tuple[str, float, str]]:
    """Rows per second of an export job, its finalize alone, and the plain tools."""
    out: list[tuple[str, float, str]] = []
    selection = (
        AccountSelection(all_accounts=True)
        if limit is None
        else AccountSelection(filter=AccountFilter(), account_ids=tuple(range(1, limit + 1)))
    )
    with tempfile.TemporaryDirectory() as folder:
        os.environ["BULKDESK_EXPORT_DIR"] = folder
        job = svc.submit(
            USER, "export_accounts", selection, {"columns": ",".join(EXPORT_COLUMNS)}, "Bench"
        )
        start = time.perf_counter()
        started = execution.start(db, job.id, chunk_size=10_000)
        pending = list(started.chunks)
        while pending:
            for chunk_id in pending:
                execution.claim(db, chunk_id, "bench", 600)
                execution.process_chunk(db, chunk_id, "bench")
            with db.read() as s:
                pending = list(
                    s.scalars(
                        text("SELECT id FROM job_chunks WHERE job_id = :j AND state != 2"),
                        {"j": job.id},
                    )
                )
        whole = time.perf_counter() - start
        rows = svc.job(USER, job.id).summary.ok
        size = svc.export_file(USER, job.id).stat().st_size
        out.append(
            (
                "Export Accounts job (start, chunks, finalize)",
                rows / whole,
                f"{rows:,} rows, {size / 1e6:,.0f} MB in {whole:.1f} s",
            )
        )
        path = Path(folder) / "finalize.csv"
        with db.read() as s:
            start = time.perf_counter()
            written, _ = writer.write_csv(s.connection(), job.id, EXPORT_COLUMNS, [], path)
            took = time.perf_counter() - start
        out.append(("its finalize alone (stream + mask + csv)", written / took, f"{took:.1f} s"))
        query = writer.rows_select(job.id, EXPORT_COLUMNS)
        if not db.is_sqlite:
            sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
            raw = db.engine.raw_connection()
            try:
                start = time.perf_counter()
                with raw.cursor() as cur, open(Path(folder) / "copy.csv", "wb") as f:
                    with cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv, HEADER)") as copy:
                        for data in copy:
                            f.write(data)
                took = time.perf_counter() - start
            finally:
                raw.close()
            out.append(("plain COPY … TO STDOUT (no masking)", written / took, f"{took:.1f} s"))
        import pandas as pd

        start = time.perf_counter()
        with db.engine.connect() as conn:
            first = True
            for frame in pd.read_sql(query, conn, chunksize=50_000):
                frame.to_csv(
                    Path(folder) / "pandas.csv",
                    mode="w" if first else "a",
                    header=first,
                    index=False,
                )
                first = False
        took = time.perf_counter() - start
        out.append(("pandas.read_sql + to_csv (no masking)", written / took, f"{took:.1f} s"))
    return out


def add_interactions(db: Database) -> int:
    """Recent work, once: one interaction on each of 40% of the accounts (400,000 at a
    million), dated 2026-09-15…2026-11-28 by account, so that some are later than the
    account's own date (the seed's run to 2026-10-31) and some earlier; inserted in two
    statements. Returns how many interactions there are."""
    with db.engine.begin() as conn:
        if not conn.scalar(text("SELECT count(*) FROM interactions")):
            day = (
                "date('2026-09-15', '+' || (id % 75) || ' days')"
                if db.is_sqlite
                else "DATE '2026-09-15' + (id % 75)::int"
            )
            for shift in (0, 1):
                conn.execute(
                    text(
                        "INSERT INTO interactions (account_id, type, outcome, note, "
                        f"interaction_date, created_at) SELECT id, 'Call', 'No answer', '', "
                        f"{day}, :t FROM accounts WHERE id % 5 IN (0, 2) AND id % 2 = :s"
                    ),
                    {"t": "2026-11-28 12:00:00", "s": shift},
                )
            conn.execute(text("ANALYZE"))
        return int(conn.scalar(text("SELECT count(*) FROM interactions")) or 0)


def last_worked_rows(db: Database, svc: JobService, repeat: int) -> list[tuple[str, float]]:
    """Last Worked kept on write (``account_activity``): the queries it saves, and its cost
    on interactions, next to rewriting account rows (what a trigger on ``accounts`` did)."""
    out: list[tuple[str, float]] = []
    per_query = (
        "SELECT a.id FROM accounts a LEFT JOIN (SELECT account_id, max(interaction_date) "
        "AS newest FROM interactions GROUP BY account_id) n ON n.account_id = a.id "
        "ORDER BY COALESCE(CASE WHEN n.newest > a.last_worked THEN n.newest "
        "ELSE a.last_worked END, n.newest) DESC, a.id LIMIT 25"
    )
    everything = AccountFilter()
    with db.engine.connect() as conn:
        out.append(
            (
                "Last Worked ↓, aggregated per query (25 ids)",
                timed(lambda: conn.execute(text(per_query)).all(), max(1, repeat // 3)),
            )
        )
    out.append(
        (
            "Last Worked ↓, kept on write (grid page)",
            timed(
                lambda: svc.account_grid(USER, everything, sort="last_worked", descending=True),
                repeat,
            ),
        )
    )
    out.append(
        (
            "Last Worked ↑, kept on write (grid page)",
            timed(lambda: svc.account_grid(USER, everything, sort="last_worked"), repeat),
        )
    )
    insert = (
        "INSERT INTO interactions (account_id, type, outcome, note, interaction_date, "
        "created_at) SELECT id, 'Note', 'Information only', '', :d, :t FROM accounts "
        "WHERE id <= 100000"
    )
    rewrite = "UPDATE accounts SET last_worked = :d WHERE id <= 100000"
    params = {"d": "2026-11-30", "t": "2026-11-30 12:00:00"}
    drop = "DROP TRIGGER tr_interactions_activity" + ("" if db.is_sqlite else " ON interactions")
    for label, statements in (
        ("with account_activity kept", [insert]),
        ("no Last Worked kept", [drop, insert]),
        ("rewriting accounts.last_worked instead", [drop, insert, rewrite]),
    ):
        with db.engine.connect() as conn:
            trans = conn.begin()
            start = time.perf_counter()
            for sql in statements:
                conn.execute(text(sql), params)
            took = (time.perf_counter() - start) * 1000
            trans.rollback()
        out.append((f"100,000 interactions, {label}", took))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="The database (SQLite or PostgreSQL).")
    parser.add_argument("--seed", action="store_true", help="Seed 1,000,000 accounts if empty.")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--export-rows", type=int, default=None, help="Export fewer accounts.")
    parser.add_argument("--no-export", action="store_true")
    parser.add_argument("--last-worked", action="store_true", help="Also time Last Worked.")
    parser.add_argument(
        "--vacuum",
        action="store_true",
        help="VACUUM (ANALYZE) first, as autovacuum does after bulk writes (PostgreSQL's "
        "counts read indexes alone only where its visibility map says so).",
    )
    args = parser.parse_args()
    upgrade(args.url)
    db = Database(args.url)
    runtime.configure(Settings(database_url=args.url), db=db)
    if args.seed and not has_data(db):
        seed(db, accounts=1_000_000)
    if args.last_worked:
        print(f"{add_interactions(db):,} interactions")
    if args.vacuum and not db.is_sqlite:  # (SQLite has no visibility map to set)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)")
    svc = JobService(db)
    with db.read() as s:
        accounts = s.scalar(text("SELECT count(*) FROM accounts"))
    print(f"{db} — {accounts:,} accounts; load: {os.getloadavg()}")
    for label, ms in grid_rows(svc, args.repeat):
        flag = "" if ms < 300 else "   (over 300 ms)"
        print(f"  {label:48s} {ms:8.1f} ms{flag}")
    if not args.no_export:
        for label, rate, note in export_rows(db, svc, args.export_rows):
            print(f"  {label:48s} {rate:10,.0f} rows/s  ({note})")
    if args.last_worked:  # last: its writes (rolled back) leave work for VACUUM
        for label, ms in last_worked_rows(db, svc, args.repeat):
            print(f"  {label:48s} {ms:8.1f} ms")
    print(f"load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
