"""Schedule Emails throughput: messages written to the outbox per second, three ways.

For N seeded accounts (all of them selected), on SQLite or PostgreSQL:

1. raw limit — one ``INSERT INTO deliveries … SELECT`` of every workable account with a valid
   email address, its subject built by SQL string concatenation (no escaping, no items, no
   outcomes: what the database alone can do);
2. Bulkdesk — a Schedule Emails job, started and its chunks worked in this process
   (``execution.start`` and ``process_chunk``, default chunk size, by ``--threads`` threads
   at once as a worker's threads would; 1 by default): snapshot, exceptions,
   rendering (text and escaped HTML) and the outbox rows, item outcomes and counters;
3. naive — one transaction per account (render, insert its delivery, commit), on a sample,
   extrapolated.

Nothing is sent (sending is the ``deliver`` actor's, one SMTP transaction per message in any
design). Run from the repository root::

    .venv/bin/python -m benchmarks.comms_throughput --accounts 100000
    .venv/bin/python -m benchmarks.comms_throughput --accounts 100000 --database postgresql+psycopg://postgres@127.0.0.1/bench
    # a database already holding 1,000,000 accounts (jobs and deliveries are emptied):
    .venv/bin/python -m benchmarks.comms_throughput --accounts 1000000 --keep --database URL
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, insert, literal, select  # noqa: E402

from jobs import runtime  # noqa: E402
from jobs.actions import get_action  # noqa: E402
from jobs.comms.action import valid_email  # noqa: E402
from jobs.config import Settings  # noqa: E402
from jobs.db import Database, json_object, upgrade  # noqa: E402
from jobs.engine import execution  # noqa: E402
from jobs.models import (  # noqa: E402
    Account,
    AccountStatus,
    AuditEvent,
    Delivery,
    Job,
    JobChunk,
    JobItem,
    utcnow,
)
from jobs.seed import seed  # noqa: E402
from jobs.service import JobService  # noqa: E402


def _clear(db: Database) -> None:
    with db.write_conn() as conn:
        for model in (Delivery, AuditEvent, JobItem, JobChunk, Job):
            conn.execute(delete(model))


def raw(db: Database) -> tuple[float, int]:
    now = utcnow()
    with db.write_conn() as conn:
        closed = list(conn.scalars(select(AccountStatus.name).where(AccountStatus.closed)))
        subject = literal("Your account ") + Account.file_number
        rows = select(
            literal(0),
            Account.id,
            literal("email"),
            json_object("to", Account.email, "subject", subject, "body", Account.debtor_name),
            literal(0),
            literal(0),
            literal(now, Delivery.__table__.c.due_at.type),
            literal(now, Delivery.__table__.c.created_at.type),
        ).where(~Account.locked, Account.status.not_in(closed), valid_email(Account.email))
        started = time.perf_counter()
        result = conn.execute(
            insert(Delivery).from_select(
                [
                    "job_id",
                    "item_seq",
                    "kind",
                    "payload",
                    "state",
                    "attempts",
                    "due_at",
                    "created_at",
                ],
                rows,
            )
        )
        elapsed = time.perf_counter() - started
        del result  # PostgreSQL's driver may not give INSERT … SELECT's row count: count them
        count = conn.scalar(select(func.count()).select_from(Delivery)) or 0
    return elapsed, int(count)


def bulkdesk(db: Database, chunk_size: int, threads: int = 1) -> tuple[float, int]:
    service = JobService(db)
    job = service.submit_to_accounts(
        "alice",
        "send_email",
        description="Benchmark reminders",
        account_filter={"min_balance": 0},
        template="Payment reminder",
        send_date=dt.date.today().isoformat(),
    )
    started = time.perf_counter()
    chunks = execution.start(db, job.id, chunk_size).chunks

    def work(chunk: int) -> None:
        worker = f"bench-{threading.get_ident()}"
        execution.claim(db, chunk, worker, 600)
        execution.process_chunk(db, chunk, worker)

    # As a worker's threads work a job's chunks: each in its own transaction, at once.
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, chunks))
    elapsed = time.perf_counter() - started
    with db.read() as s:
        sent = s.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.item_seq.is_not(None))
        )
    return elapsed, int(sent or 0)


def naive(db: Database, sample: int) -> tuple[float, int]:
    """One transaction per account: read it, render its message, insert its delivery."""
    action = get_action("send_email")
    with db.read() as s:
        from jobs.comms import store

        message = store.find(s, "email", "Payment reminder").frozen()
        ids = list(s.scalars(select(Account.id).order_by(Account.id).limit(sample)))
    from jobs.comms.action import _message_columns

    account = Account.__table__.alias("a")
    started = time.perf_counter()
    for account_id in ids:
        with db.write_conn() as conn:
            row = conn.execute(
                _message_columns(account, account.c.email).where(account.c.id == account_id)
            ).one()
            rendered = action.render(row, message, dt.date.today())
            conn.execute(
                insert(Delivery).values(
                    kind="email",
                    payload=action.payload(rendered),
                    state=0,
                    attempts=0,
                    due_at=utcnow(),
                    created_at=utcnow(),
                )
            )
    return time.perf_counter() - started, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--database", default="", help="A fresh database URL; default SQLite.")
    parser.add_argument("--naive-sample", type=int, default=2_000)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="Threads working the job's chunks at once (a worker's default is 4; SQLite "
        "takes one writer at a time).",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Reuse the database's accounts when it has --accounts of them (no reseeding).",
    )
    args = parser.parse_args()
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/comms.db"
    upgrade(url)
    db = Database(url)
    settings = Settings(database_url=url)
    runtime.configure(settings, db=db)
    with db.read() as s:
        have = s.scalar(select(func.count()).select_from(Account))
    if not (args.keep and have == args.accounts):
        seed(db, accounts=args.accounts, reset=True)
    _clear(db)
    load = os.getloadavg()
    print(
        f"{args.accounts:,} accounts on {db.engine.dialect.name}, {args.threads} thread(s); "
        f"load {load[0]:.1f}"
    )

    seconds, count = raw(db)
    print(
        f"raw INSERT … SELECT     {count:>9,} messages {seconds:7.2f} s {count / seconds:>10,.0f}/s"
    )
    raw_rate = count / seconds
    _clear(db)
    seconds, count = bulkdesk(db, settings.chunk_size, args.threads)
    rate = count / seconds
    print(
        f"Bulkdesk job            {count:>9,} messages {seconds:7.2f} s {rate:>10,.0f}/s"
        f"  ({rate / raw_rate:.2f}× raw)"
    )
    _clear(db)
    seconds, count = naive(db, args.naive_sample)
    naive_rate = count / seconds
    print(
        f"naive, one txn each     {count:>9,} messages {seconds:7.2f} s {naive_rate:>10,.0f}/s"
        f"  (Bulkdesk {rate / naive_rate:.0f}× it)"
    )
    _clear(db)
    db.dispose()
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
