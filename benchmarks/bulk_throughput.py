"""Bulk throughput: Bulkdesk's chunked bulk jobs against the raw limit and the naive design.

For N seeded accounts, side by side in one run, on each backend and for each action
(Add Interaction, Change Status):

1. raw limit — the same change made by one set-based statement in one transaction (no job, no
   items, no outcomes: what the database alone can do):

   - Add Interaction: ``INSERT INTO interactions … SELECT`` over the workable accounts (not
     locked, status not closed);
   - Change Status: ``UPDATE accounts SET status = :to WHERE`` workable ``AND status != :to``;

2. Bulkdesk — ``JobService.submit_to_accounts(user, action, account_filter={"min_balance": 0},
   …)`` on all N accounts, wall clock from the submit call to the poll that sees the final
   status, item outcomes, payloads (Change Status: the status before and after of every item),
   counters and audit included, checked afterwards;
3. naive — one dramatiq message per account (on a sample), an actor making the change on that
   one account in its own transaction, on the same broker and database.

Every measurement starts from the same data: jobs, items, chunks, audit events, deliveries and
interactions are deleted, account statuses are put back as seeded (from the
``bench_original_status`` table this benchmark keeps next to the seeded accounts), then
``VACUUM`` (SQLite) / ``VACUUM ANALYZE`` (PostgreSQL).

Backends: ``sqlite`` is the embedded default (SQLite file in WAL mode, dramatiq's in-process
StubBroker with worker threads in this process); ``postgres`` is PostgreSQL + Redis with
``--workers`` (2) ``dramatiq jobs.worker.actors benchmarks.naive_actor`` worker processes started
here and stopped at the end.

The bulk job runs with the product's default settings (``jobs.config.Settings``: chunk size,
chunks in flight, lease) unless ``--chunk-size`` says otherwise.

Run from the repository root::

    .venv/bin/python -m benchmarks.bulk_throughput --accounts 100000
    .venv/bin/python -m benchmarks.bulk_throughput --reuse          # 1,000,000 accounts
    .venv/bin/python -m benchmarks.bulk_throughput --reuse --backends postgres \\
        --actions change_status --naive-sample 0 --profile

Results are printed as a table and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import (  # noqa: E402
    ColumnElement,
    Executable,
    create_engine,
    func,
    insert,
    inspect,
    literal,
    not_,
    select,
    text,
    update,
)

from jobs.actions.base import closed_statuses  # noqa: E402
from jobs.config import Settings  # noqa: E402
from jobs.db import Database, upgrade  # noqa: E402
from jobs.models import (  # noqa: E402
    Account,
    Collector,
    Interaction,
    ItemOutcome,
    Job,
    JobChunk,
    JobItem,
    User,
    utcnow,
)
from jobs.sources.accounts import AccountFilter  # noqa: E402
from jobs.status import JobStatus  # noqa: E402

VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "benchmarks" / "results"
#: Job completion emails (written as files: no SMTP server) go here, not to ``var/outbox``.
OUTBOX = VAR / "outbox"
PG_ADMIN_URL = os.environ.get(
    "BULKDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BULKDESK_BENCH_REDIS", "redis://127.0.0.1:6379/14")
#: Every seeded account has a balance >= 0: this filter selects all N accounts.
SELECTION = {"min_balance": 0}
USER = "admin"
#: The product's defaults (what a deployment runs with unless it sets BULKDESK_* variables).
DEFAULTS = {f.name: f.default for f in dataclasses.fields(Settings) if f.name != "database_url"}
JOB_TABLES = ("audit_events", "deliveries", "interactions", "job_items", "job_chunks", "jobs")
#: Seeded statuses, kept once per database so Change Status runs can be undone exactly.
ORIGINAL = "bench_original_status"
FINAL = {
    JobStatus.COMPLETED,
    JobStatus.COMPLETED_WITH_EXCEPTIONS,
    JobStatus.STOPPED,
    JobStatus.FAILED,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# -- databases --------------------------------------------------------------------------------


def prepare_database(backend: str, accounts: int, reuse: bool) -> tuple[str, dict[str, Any]]:
    """A database seeded with ``accounts`` accounts; reused when asked and already seeded.

    Returns:
      Its URL, and how it was seeded (seconds, reused or not).
    """
    from jobs.seed import seed

    VAR.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        path = VAR / f"bulk_{accounts}.db"
        url = f"sqlite:///{path}"
        sidecar = VAR / f"bulk_{accounts}.db.seed.json"
        exists = path.exists()
    else:
        name = f"bulkdesk_bench_{accounts}"
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        sidecar = VAR / f"pg_{name}.seed.json"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = bool(
                conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    if reuse and exists and sidecar.exists():
        info = json.loads(sidecar.read_text())
        upgrade(url)  # a database seeded before a migration: bring its schema to head
        db = Database(url)
        with db.engine.connect() as conn:
            have = conn.scalar(select(func.count()).select_from(Account))
        ready = have == accounts and info.get("accounts") == accounts and keep_statuses(db)
        db.dispose()
        if ready:
            log(
                f"{backend}: reusing seeded database ({accounts:,} accounts, seeded earlier "
                f"in {info['seconds']:.1f} s)"
            )
            return url, {"seconds": info["seconds"], "reused": True}
    upgrade(url)
    db = Database(url)
    log(f"{backend}: seeding {accounts:,} accounts …")
    t0 = time.perf_counter()
    seed(db, accounts=accounts, reset=True)
    seconds = time.perf_counter() - t0
    keep_statuses(db, fresh=True)
    db.dispose()
    sidecar.write_text(json.dumps({"accounts": accounts, "seconds": seconds}))
    log(f"{backend}: seeded in {seconds:.1f} s")
    return url, {"seconds": seconds, "reused": False}


def keep_statuses(db: Database, fresh: bool = False) -> bool:
    """Keep every account's seeded status in ``bench_original_status`` (once per database).

    ``fresh``: the accounts were just seeded (replace what was kept). An older seeded database
    without the table gets it only if no account carries the benchmark's target status yet
    (none does as seeded); otherwise it is re-seeded.

    Returns:
      Whether the seeded statuses are kept.
    """
    with db.engine.begin() as conn:
        if inspect(conn).has_table(ORIGINAL) and not fresh:
            return True
        if not fresh and conn.scalar(
            select(func.count()).select_from(Account).where(Account.status == ChangeStatus.TO)
        ):
            return False
        conn.execute(text(f"DROP TABLE IF EXISTS {ORIGINAL}"))
        conn.execute(
            text(f"CREATE TABLE {ORIGINAL} (id INTEGER PRIMARY KEY, status VARCHAR(24) NOT NULL)")
        )
        conn.execute(text(f"INSERT INTO {ORIGINAL} (id, status) SELECT id, status FROM accounts"))
    return True


def restore_statuses(db: Database) -> int:
    """Put back the seeded status of every account a Change Status measurement changed."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            sql = (
                f"UPDATE accounts SET status = (SELECT o.status FROM {ORIGINAL} o "
                "WHERE o.id = accounts.id) WHERE status = :to"
            )
        else:
            sql = (
                f"UPDATE accounts AS a SET status = o.status FROM {ORIGINAL} o "
                "WHERE o.id = a.id AND a.status = :to"
            )
        restored = conn.execute(text(sql), {"to": ChangeStatus.TO}).rowcount
        left = conn.scalar(
            text(
                f"SELECT count(*) FROM accounts a JOIN {ORIGINAL} o ON o.id = a.id "
                "WHERE o.status != a.status"
            )
        )
    if left:
        raise SystemExit(f"{left} account statuses differ from the seeded ones after restoring")
    return restored


def reset(db: Database) -> None:
    """Every measurement starts equal: no jobs, items, chunks, audit events, deliveries or
    interactions, every account in its seeded status, the files / tables vacuumed."""
    restore_statuses(db)
    restore_collectors(db)
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in JOB_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
        else:
            conn.execute(text(f"TRUNCATE {', '.join(JOB_TABLES)} RESTART IDENTITY CASCADE"))
    if db.is_sqlite:
        # Rebuild the file: pages freed by the deletes would otherwise be reused in a
        # scattered order, and the next measurement would not start equal.
        raw = db.engine.raw_connection()  # autocommit (isolation_level None): VACUUM may run
        try:
            raw.driver_connection.execute("VACUUM")
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    else:
        # Dead tuples of the previous measurement would slow the next one down.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE accounts, interactions, job_items, job_chunks, jobs"))


def count(db: Database, model: Any, *where: Any) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where)) or 0


def workable(closed: list[str]) -> ColumnElement[bool]:
    """The selected accounts a bulk action changes: not locked, status not closed."""
    return (
        AccountFilter.from_dict(SELECTION).clause()
        & not_(Account.locked)
        & Account.status.not_in(closed)
    )


# -- the two actions, as the three designs do them -------------------------------------------


class AddInteraction:
    name = "add_interaction"
    label = "Add Interaction"
    PARAMETERS = {
        "interaction_type": "Note",
        "outcome": "Information only",
        "note": "Bulk throughput benchmark",
        "interaction_date": "2026-11-02",
    }
    what_raw = "INSERT INTO interactions … SELECT"

    @classmethod
    def where(cls, closed: list[str]) -> ColumnElement[bool]:
        return workable(closed)

    @classmethod
    def raw_statement(cls, closed: list[str], user_id: int) -> Executable:
        p = cls.PARAMETERS
        rows = select(
            Account.id,
            literal(p["interaction_type"]),
            literal(p["outcome"]),
            literal(p["note"]),
            literal(dt.date.fromisoformat(p["interaction_date"])),
            literal(user_id),
            literal(utcnow(), Interaction.__table__.c.created_at.type),
        ).where(cls.where(closed))
        return insert(Interaction).from_select(
            [
                "account_id",
                "type",
                "outcome",
                "note",
                "interaction_date",
                "created_by_id",
                "created_at",
            ],
            rows,
        )

    @classmethod
    def written(cls, db: Database, job_id: int | None = None) -> int:
        """Rows the measurement wrote (all of them, or one job's)."""
        where = [] if job_id is None else [Interaction.job_id == job_id]
        return count(db, Interaction, *where)

    @classmethod
    def naive_send(cls, account_id: int, user_id: int) -> None:
        from benchmarks.naive_actor import naive_add_interaction

        naive_add_interaction.send(account_id, cls.PARAMETERS, user_id)

    @classmethod
    def naive_done(cls, db: Database, last_id: int) -> int:
        return count(db, Interaction)

    @classmethod
    def check_job(cls, db: Database, job_id: int, ok: int) -> str | None:
        written = cls.written(db, job_id)
        return None if written == ok else f"{written:,} interactions for {ok:,} ok items"


class ChangeStatus:
    name = "change_status"
    label = "Change Status"
    #: No seeded account has it, so every workable account changes.
    TO = "On hold"
    PARAMETERS = {"to": TO}
    what_raw = "UPDATE accounts SET status = :to"

    @classmethod
    def where(cls, closed: list[str]) -> ColumnElement[bool]:
        return workable(closed) & (Account.status != cls.TO)

    @classmethod
    def raw_statement(cls, closed: list[str], user_id: int) -> Executable:
        return update(Account).where(cls.where(closed)).values(status=cls.TO)

    @classmethod
    def written(cls, db: Database, job_id: int | None = None) -> int:
        return count(db, Account, Account.status == cls.TO)

    @classmethod
    def naive_send(cls, account_id: int, user_id: int) -> None:
        from benchmarks.naive_actor import naive_change_status

        naive_change_status.send(account_id, cls.TO)

    @classmethod
    def naive_done(cls, db: Database, last_id: int) -> int:
        return count(db, Account, Account.status == cls.TO, Account.id <= last_id)

    @classmethod
    def check_job(cls, db: Database, job_id: int, ok: int) -> str | None:
        changed = cls.written(db, job_id)
        if changed != ok:
            return f"{changed:,} accounts {cls.TO} for {ok:,} ok items"
        # Each ok item keeps the status before and after (the job's audit of the change).
        with db.engine.connect() as conn:
            missing = conn.scalar(
                select(func.count())
                .select_from(JobItem)
                .where(
                    JobItem.job_id == job_id,
                    JobItem.outcome == ItemOutcome.OK,
                    JobItem.payload.is_(None),
                )
            )
        return f"{missing:,} ok items without a before/after payload" if missing else None


class Assign:
    name = "assign"
    label = "Assign To Collector"
    #: A collector no seeded account has (made here), so every workable account changes.
    COLLECTOR = "Benchmark Collector"
    COLLECTOR_ID = 0  # set by keep_collectors
    PARAMETERS = {"assign_to": COLLECTOR, "credit_payments": "No"}
    what_raw = "UPDATE accounts SET collector_id = :c"

    @classmethod
    def collector_id(cls, db: Database) -> int:
        with db.engine.begin() as conn:
            found = conn.scalar(select(Collector.id).where(Collector.name == cls.COLLECTOR))
            if found is None:
                conn.execute(insert(Collector).values(name=cls.COLLECTOR, active=True))
                found = conn.scalar(select(Collector.id).where(Collector.name == cls.COLLECTOR))
        return found

    @classmethod
    def where(cls, closed: list[str]) -> ColumnElement[bool]:
        return workable(closed)

    @classmethod
    def raw_statement(cls, closed: list[str], user_id: int) -> Executable:
        target = select(Collector.id).where(Collector.name == cls.COLLECTOR).scalar_subquery()
        return update(Account).where(cls.where(closed)).values(collector_id=target)

    @classmethod
    def written(cls, db: Database, job_id: int | None = None) -> int:
        return count(db, Account, Account.collector_id == cls.collector_id(db))

    @classmethod
    def naive_send(cls, account_id: int, user_id: int) -> None:
        from benchmarks.naive_actor import naive_assign

        naive_assign.send(account_id, cls.COLLECTOR_ID)

    @classmethod
    def naive_done(cls, db: Database, last_id: int) -> int:
        return count(db, Account, Account.collector_id == cls.COLLECTOR_ID, Account.id <= last_id)

    @classmethod
    def check_job(cls, db: Database, job_id: int, ok: int) -> str | None:
        changed = cls.written(db, job_id)
        return None if changed == ok else f"{changed:,} accounts assigned for {ok:,} ok items"


ACTIONS = {a.name: a for a in (AddInteraction, ChangeStatus, Assign)}
ORIGINAL_COLLECTOR = "bench_original_collector"


def keep_collectors(db: Database) -> None:
    """Keep every account's seeded collector (once: before any Assign measurement)."""
    Assign.COLLECTOR_ID = Assign.collector_id(db)
    with db.engine.begin() as conn:
        if inspect(conn).has_table(ORIGINAL_COLLECTOR):
            return
        conn.execute(
            text(
                f"CREATE TABLE {ORIGINAL_COLLECTOR} (id INTEGER PRIMARY KEY, collector_id INTEGER)"
            )
        )
        conn.execute(
            text(
                f"INSERT INTO {ORIGINAL_COLLECTOR} (id, collector_id) "
                "SELECT id, collector_id FROM accounts"
            )
        )


def restore_collectors(db: Database) -> None:
    """Put back the seeded collector of every account an Assign measurement changed."""
    keep_collectors(db)
    with db.engine.begin() as conn:
        if db.is_sqlite:
            sql = (
                f"UPDATE accounts SET collector_id = (SELECT o.collector_id FROM "
                f"{ORIGINAL_COLLECTOR} o WHERE o.id = accounts.id) WHERE collector_id = :c"
            )
        else:
            sql = (
                "UPDATE accounts AS a SET collector_id = o.collector_id "
                f"FROM {ORIGINAL_COLLECTOR} o WHERE o.id = a.id AND a.collector_id = :c"
            )
        conn.execute(text(sql), {"c": Assign.COLLECTOR_ID})


# -- (1) the raw limit ------------------------------------------------------------------------


def measure_raw(db: Database, action: Any, accounts: int) -> dict[str, Any]:
    """The action's one set-based statement, in one transaction."""
    with db.engine.connect() as conn:
        closed = closed_statuses(conn)
        user_id = conn.scalar(select(User.id).where(User.username == USER))
    stmt = action.raw_statement(closed, user_id)
    t0 = time.perf_counter()
    with db.write_conn() as conn:
        rowcount = conn.execute(stmt).rowcount
    seconds = time.perf_counter() - t0
    return {
        "items": accounts,
        "rows_written": action.written(db),
        "rowcount": rowcount,
        "seconds": seconds,
        "items_per_s": accounts / seconds,
    }


def best_of(runs: int, db: Database, measure: Any, *args: Any) -> dict[str, Any]:
    """The best of ``runs`` measurements, each from a reset database (for (1): the highest
    limit, the strictest ratio; for (2): the least disturbed by other work on the machine)."""
    tries = []
    for _ in range(runs):
        reset(db)
        tries.append(measure(db, *args))
    best = min(tries, key=lambda r: r["seconds"])
    return {**best, "runs_s": [round(r["seconds"], 3) for r in tries]}


# -- (2) Bulkdesk's bulk job ------------------------------------------------------------------


def measure_bulk(db: Database, action: Any, accounts: int, poll: float) -> dict[str, Any]:
    """Submit through the service, poll until the job's status is final."""
    from jobs.service import JobService

    service = JobService(db)
    t0 = time.perf_counter()
    summary = service.submit_to_accounts(
        USER,
        action.name,
        description=f"Benchmark: {action.label} on {accounts:,} accounts",
        account_filter=SELECTION,
        **action.PARAMETERS,
    )
    t_submitted = time.perf_counter()
    polls = 0
    while True:
        polls += 1
        with db.engine.connect() as conn:
            status = conn.scalar(select(Job.status).where(Job.id == summary.id))
        if JobStatus(status) in FINAL:
            break
        time.sleep(poll)
    seconds = time.perf_counter() - t0
    detail = service.job(USER, summary.id).summary
    with db.engine.connect() as conn:
        job = conn.execute(
            select(Job.submitted_at, Job.started_at, Job.ended_at).where(Job.id == summary.id)
        ).one()
        chunks = conn.scalar(
            select(func.count()).select_from(JobChunk).where(JobChunk.job_id == summary.id)
        )
        attempts = conn.scalar(
            select(func.sum(JobChunk.attempts)).where(JobChunk.job_id == summary.id)
        )
    result = {
        "items": accounts,
        "job_id": summary.id,
        "status": JobStatus(status).label,
        "seconds": seconds,
        "items_per_s": accounts / seconds,
        "submit_call_s": t_submitted - t0,
        "polls": polls,
        "poll_interval_s": poll,
        "total": detail.total,
        "ok": detail.ok,
        "exceptions": detail.exceptions,
        "not_processed": detail.not_processed,
        "rows_written": action.written(db, summary.id),
        "chunks": chunks,
        "chunk_attempts": attempts,
        "queued_to_started_s": (job.started_at - job.submitted_at).total_seconds(),
        "started_to_ended_s": (job.ended_at - job.started_at).total_seconds(),
    }
    wrong = (
        "not every item has an outcome"
        if detail.total != accounts or detail.ok + detail.exceptions != accounts
        else action.check_job(db, summary.id, detail.ok)
    )
    if wrong:
        raise SystemExit(f"bulk job {summary.id} did not do the whole work ({wrong}): {result}")
    return result


# -- (3) the naive design ---------------------------------------------------------------------


def measure_naive(db: Database, action: Any, sample: int, poll: float) -> dict[str, Any]:
    """One message per account for the first ``sample`` accounts, until every change is in."""
    with db.engine.connect() as conn:
        closed = closed_statuses(conn)
        user_id = conn.scalar(select(User.id).where(User.username == USER))
        ids = conn.scalars(
            select(Account.id)
            .where(AccountFilter.from_dict(SELECTION).clause())
            .order_by(Account.id)
            .limit(sample)
        ).all()
        expected = conn.scalar(
            select(func.count())
            .select_from(Account)
            .where(action.where(closed), Account.id <= ids[-1])
        )
    t0 = time.perf_counter()
    for account_id in ids:
        action.naive_send(account_id, user_id)
    t_sent = time.perf_counter()
    while action.naive_done(db, ids[-1]) < expected:
        time.sleep(poll)
    seconds = time.perf_counter() - t0
    return {
        "items": len(ids),
        "rows_written": expected,
        "seconds": seconds,
        "items_per_s": len(ids) / seconds,
        "send_s": t_sent - t0,
    }


# -- where the time goes ---------------------------------------------------------------------


def profile_statements(db: Database, action: Any, accounts: int, chunk_size: int) -> dict[str, Any]:
    """Run a bulk job's steps synchronously in this thread (no broker) and time every statement.

    The job is submitted through the service (its wake-up message suppressed), then
    ``execution.start``, ``claim`` and ``process_chunk`` run one after the other, exactly as a
    worker runs them. Statement times come from SQLAlchemy's cursor events; what is left of a
    step's time is commit and Python.
    """
    from collections import defaultdict

    from sqlalchemy import event

    from jobs.engine import execution
    from jobs.service import JobService

    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    phase = ["submit"]

    def before(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        conn.info["bench_t0"] = time.perf_counter()

    def after(conn, cursor, statement, params, context, many):  # type: ignore[no-untyped-def]
        key = phase[0] + ": " + " ".join(statement.split())[:110]
        stats[key][0] += 1
        stats[key][1] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())

    class QuietService(JobService):
        def _wake(self, job_id: int, heard: bool) -> None:  # the steps run here, not on a worker
            pass

    reset(db)
    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        steps = {}
        t0 = time.perf_counter()
        job = QuietService(db).submit_to_accounts(
            USER,
            action.name,
            description="Benchmark profile",
            account_filter=SELECTION,
            **action.PARAMETERS,
        )
        steps["submit"] = time.perf_counter() - t0
        phase[0] = "start"
        t = time.perf_counter()
        chunk_ids = execution.start(db, job.id, chunk_size).chunks
        steps["start (snapshot + plan)"] = time.perf_counter() - t
        steps["claim"] = steps["chunk"] = 0.0
        for chunk_id in chunk_ids:
            phase[0] = "claim"
            t = time.perf_counter()
            execution.claim(db, chunk_id, "profile", 60)
            t1 = time.perf_counter()
            phase[0] = "chunk"
            execution.process_chunk(db, chunk_id, "profile")
            steps["chunk"] += time.perf_counter() - t1
            steps["claim"] += t1 - t
        total = time.perf_counter() - t0
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    statements = sorted(((k, c, s) for k, (c, s) in stats.items()), key=lambda x: -x[2])
    chunk_sql = sum(s for k, _, s in statements if k.startswith("chunk:"))
    chunks = len(chunk_ids)
    return {
        "action": action.name,
        "chunks": chunks,
        "chunk_size": chunk_size,
        "total_s": total,
        "items_per_s": accounts / total,
        "steps_s": steps,
        "chunk_commit_and_python_s": steps["chunk"] - chunk_sql,
        "chunk_commit_and_python_ms_per_chunk": 1000 * (steps["chunk"] - chunk_sql) / chunks,
        "statements": [
            {
                "statement": k,
                "count": c,
                "seconds": s,
                "ms_per_chunk": 1000 * s / chunks if k.startswith(("chunk:", "claim:")) else None,
            }
            for k, c, s in statements
            if s >= 0.005
        ],
    }


def format_profile(backend: str, prof: dict[str, Any]) -> str:
    lines = [
        f"{backend} {prof['action']}: where the time goes (synchronous, one thread, no broker): "
        f"{prof['total_s']:.2f} s = {prof['items_per_s']:,.0f} items/s over "
        f"{prof['chunks']} chunks of {prof['chunk_size']:,}"
    ]
    lines += [f"  {k:<28} {v:8.3f} s" for k, v in prof["steps_s"].items()]
    lines.append(
        f"  {'chunk commit + Python':<28} {prof['chunk_commit_and_python_s']:8.3f} s "
        f"({prof['chunk_commit_and_python_ms_per_chunk']:.1f} ms/chunk)"
    )
    for st in prof["statements"]:
        per = f"{st['ms_per_chunk']:7.1f} ms/chunk" if st["ms_per_chunk"] is not None else " " * 15
        lines.append(f"  {st['seconds']:8.3f} s {st['count']:5d}x {per}  {st['statement']}")
    return "\n".join(lines)


# -- backends ---------------------------------------------------------------------------------


def measure_actions(
    backend: str, db: Database, args: argparse.Namespace, out: dict[str, Any], part: str
) -> None:
    """Measure ``part`` ("raw", or "bulk" and "naive") of every action into ``out``."""
    for name in args.actions:
        action = ACTIONS[name]
        row = out["actions"].setdefault(name, {"label": action.label})
        load = os.getloadavg()[0]
        if part == "raw" and args.raw_runs:
            log(f"{backend} {name}: (1) raw {action.what_raw}, best of {args.raw_runs} …")
            row["raw"] = best_of(args.raw_runs, db, measure_raw, action, args.accounts)
        elif part == "bulk" and args.bulk_runs:
            log(
                f"{backend} {name}: (2) bulk job, chunk size {args.chunk_size:,}, best of "
                f"{args.bulk_runs} …"
            )
            row["bulk"] = best_of(
                args.bulk_runs, db, measure_bulk, action, args.accounts, args.poll
            )
            if args.naive_sample:
                log(f"{backend} {name}: (3) naive, {args.naive_sample:,} messages …")
                reset(db)
                row["naive"] = measure_naive(db, action, args.naive_sample, args.poll)
        row.setdefault("loadavg", []).append([round(load, 2), round(os.getloadavg()[0], 2)])
    reset(db)


def profile_actions(backend: str, db: Database, args: argparse.Namespace, out: dict) -> None:
    if not args.profile:
        return
    for name in args.actions:
        log(f"{backend} {name}: profiling the statements …")
        out["actions"][name]["profile"] = profile_statements(
            db, ACTIONS[name], args.accounts, args.chunk_size
        )
    reset(db)


def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks import naive_actor
    from jobs import runtime
    from jobs.worker import actors as actors_mod
    from jobs.worker import broker as broker_mod

    url, seeded = prepare_database("sqlite", args.accounts, args.reuse)
    db = Database(url)
    settings = Settings(
        database_url=url,
        chunk_size=args.chunk_size,
        worker_threads=args.threads,
        outbox_dir=str(OUTBOX),
    )
    runtime.configure(settings, db=db)
    out: dict[str, Any] = {
        "backend": "sqlite",
        "label": "SQLite + in-process StubBroker",
        "seed": seeded,
        "accounts": args.accounts,
        "actions": {},
    }
    measure_actions("sqlite", db, args, out, "raw")
    broker = broker_mod.make_broker(settings)
    actors_mod.use(broker)
    naive_actor.bind(broker)
    worker = broker_mod.start_in_process_worker(broker, args.threads)
    try:
        measure_actions("sqlite", db, args, out, "bulk")
    finally:
        worker.stop()
        broker.close()
    profile_actions("sqlite", db, args, out)
    db.dispose()
    return out


def start_workers(url: str, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """``--workers`` ``dramatiq`` worker processes on Redis, ready when this returns."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("BULKDESK_")},
        "BULKDESK_DATABASE_URL": url,
        "BULKDESK_BROKER_URL": REDIS_URL,
        "BULKDESK_CHUNK_SIZE": str(args.chunk_size),
        "BULKDESK_OUTBOX_DIR": str(OUTBOX),
        "PYTHONPATH": str(ROOT),
    }
    dramatiq_bin = str(Path(sys.executable).parent / "dramatiq")
    procs, logs = [], []
    for i in range(args.workers):
        path = VAR / f"worker_{i}.log"
        logs.append(path)
        with path.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [
                        dramatiq_bin,
                        "--processes",
                        "1",
                        "--threads",
                        str(args.threads),
                        "jobs.worker.actors",
                        "benchmarks.naive_actor",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + 60
    while not all("is ready for action" in p.read_text(errors="replace") for p in logs):
        if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
            stop_workers(procs)
            raise SystemExit(f"dramatiq workers did not start; see {VAR}/worker_*.log")
        time.sleep(0.2)
    return procs


def stop_workers(procs: list[subprocess.Popen[bytes]]) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def run_postgres(args: argparse.Namespace) -> dict[str, Any]:
    import redis

    from jobs import runtime
    from jobs.worker import actors as actors_mod
    from jobs.worker import broker as broker_mod

    url, seeded = prepare_database("postgres", args.accounts, args.reuse)
    db = Database(url)
    settings = Settings(
        database_url=url, broker_url=REDIS_URL, chunk_size=args.chunk_size, outbox_dir=str(OUTBOX)
    )
    runtime.configure(settings, db=db)
    out: dict[str, Any] = {
        "backend": "postgres",
        "label": f"PostgreSQL + Redis, {args.workers} worker processes",
        "seed": seeded,
        "accounts": args.accounts,
        "actions": {},
    }
    measure_actions("postgres", db, args, out, "raw")
    redis.Redis.from_url(REDIS_URL).flushdb()
    broker = broker_mod.make_broker(settings)
    actors_mod.use(broker)
    from benchmarks import naive_actor

    naive_actor.bind(broker)
    log(
        f"postgres: starting {args.workers} dramatiq worker processes "
        f"({args.threads} threads each) …"
    )
    procs = start_workers(url, args)
    try:
        measure_actions("postgres", db, args, out, "bulk")
    finally:
        stop_workers(procs)
        broker.close()
        redis.Redis.from_url(REDIS_URL).flushdb()
    profile_actions("postgres", db, args, out)
    db.dispose()
    return out


# -- report -----------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = (
        f"{'backend':<32} {'action':<16} {'N':>10} {'(1) raw s':>10} {'(2) bulk s':>11} "
        f"{'(2)/(1)':>8} {'(3) naive/s':>12} {'(2)/(3)':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        for a in r["actions"].values():
            if "raw" not in a or "bulk" not in a:
                continue
            raw, bulk = a["raw"], a["bulk"]
            a["ratio_bulk_raw"] = bulk["items_per_s"] / raw["items_per_s"]
            naive = a.get("naive")
            if naive:
                a["ratio_bulk_naive"] = bulk["items_per_s"] / naive["items_per_s"]
            lines.append(
                f"{r['label']:<32} {a['label']:<16} {r['accounts']:>10,} {raw['seconds']:>10.2f} "
                f"{bulk['seconds']:>11.2f} {a['ratio_bulk_raw']:>8.2f} "
                + (
                    f"{naive['items_per_s']:>12,.0f} {a['ratio_bulk_naive']:>8.1f}"
                    if naive
                    else f"{'—':>12} {'—':>8}"
                )
            )
    lines.append("")
    default = " (product default)" if args.chunk_size == DEFAULTS["chunk_size"] else ""
    lines.append(
        f"chunk size {args.chunk_size:,}{default}, chunks in flight "
        f"{DEFAULTS['chunks_in_flight']}; {args.threads} worker threads (per process); naive "
        f"sample {args.naive_sample:,} messages; (2)/(3) = bulk items/s ÷ naive items/s on the "
        "sample; targets (2)/(1) >= 0.4, (2)/(3) >= 100"
    )
    for r in runs:
        seed = r["seed"]
        lines.append(
            f"{r['backend']}: seed {seed['seconds']:.1f} s"
            f"{' (earlier run, reused)' if seed['reused'] else ''}"
        )
        for name, a in r["actions"].items():
            if "raw" not in a or "bulk" not in a:
                continue
            b = a["bulk"]
            naive = a.get("naive")
            lines.append(
                f"  {name}: (1) {a['raw']['runs_s']} s for {a['raw']['rows_written']:,} rows; "
                f"(2) {b['runs_s']} s, best = submit call {b['submit_call_s']:.2f} s + "
                f"queued→started {b['queued_to_started_s']:.2f} s + started→ended "
                f"{b['started_to_ended_s']:.2f} s; {b['chunks']} chunks, ok {b['ok']:,}, "
                f"exceptions {b['exceptions']:,}"
                + (
                    f"; (3) {naive['seconds']:.2f} s for {naive['items']:,} messages "
                    f"(sending {naive['send_s']:.2f} s)"
                    if naive
                    else ""
                )
                + f"; 1-min load average before/after {a['loadavg']}"
            )
    for r in runs:
        for a in r["actions"].values():
            if "profile" in a:
                lines += ["", format_profile(r["backend"], a["profile"])]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--accounts",
        type=int,
        default=1_000_000,
        help="accounts seeded and targeted (default 1,000,000)",
    )
    parser.add_argument(
        "--actions",
        default=",".join(ACTIONS),
        help=f"comma-separated: {', '.join(ACTIONS)} (default all)",
    )
    parser.add_argument(
        "--naive-sample",
        type=int,
        default=100_000,
        help="messages for the one-message-per-account design (default 100,000; 0: skip)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULTS["chunk_size"],
        help=f"items per chunk (default: the product's, {DEFAULTS['chunk_size']:,})",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=DEFAULTS["worker_threads"],
        help="worker threads: in-process (sqlite) / per worker process (postgres); default "
        f"{DEFAULTS['worker_threads']}",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="dramatiq worker processes for the postgres run (default 2)",
    )
    parser.add_argument(
        "--poll", type=float, default=0.05, help="seconds between status polls (default 0.05)"
    )
    parser.add_argument(
        "--raw-runs",
        type=int,
        default=2,
        help="runs of the raw statement; the best counts (default 2; 0: skip)",
    )
    parser.add_argument(
        "--bulk-runs",
        type=int,
        default=2,
        help="runs of the bulk job (and the naive sample); the best counts (default 2; 0: skip)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also time every statement of a job run synchronously",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a database seeded by an earlier run with the same N",
    )
    args = parser.parse_args(argv)
    args.naive_sample = min(args.naive_sample, args.accounts)
    args.actions = [a.strip() for a in args.actions.split(",") if a.strip()]
    if set(args.actions) - set(ACTIONS):
        parser.error(f"unknown action(s): {', '.join(sorted(set(args.actions) - set(ACTIONS)))}")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - {"sqlite", "postgres"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    runs = []
    for backend in backends:
        load_before = os.getloadavg()
        run = run_sqlite(args) if backend == "sqlite" else run_postgres(args)
        # Other work on the machine slows every measurement down: keep it with the figures.
        run["loadavg_before_after"] = [round(load_before[0], 2), round(os.getloadavg()[0], 2)]
        runs.append(run)
    report = table(runs, args)
    print()
    print(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"bulk_throughput_{args.accounts}_{stamp}.json"
    path.write_text(
        json.dumps(
            {
                "when": stamp,
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "platform": platform.platform(),
                },
                "defaults": DEFAULTS,
                "args": vars(args),
                "runs": runs,
                "table": report,
            },
            indent=2,
            default=str,
        )
    )
    print(f"\nresults written to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
