"""Bulk throughput: Bulkdesk's chunked bulk job against the raw limit and the naive design.

For N seeded accounts, side by side in one run, on each backend:

1. raw limit — the same interaction rows written by one set-based ``INSERT … SELECT`` in one
   transaction (no job, no items, no outcomes: what the database alone can do);
2. Bulkdesk — ``JobService.submit_bulk_interaction`` on a selection matching all N accounts
   (``min_balance >= 0``), wall clock from the submit call to the poll that sees the final
   status, item outcomes and counters included;
3. naive — one dramatiq message per account (on a sample), an actor inserting one interaction
   row per message in its own transaction, on the same broker and database.

Backends: ``sqlite`` is the embedded default (SQLite file in WAL mode, dramatiq's in-process
StubBroker with worker threads in this process); ``postgres`` is PostgreSQL + Redis with two
``dramatiq jobs.worker.actors benchmarks.naive_actor`` worker processes started here and stopped at
the end.

Run from the repository root::

    .venv/bin/python -m benchmarks.bulk_throughput --accounts 100000
    .venv/bin/python -m benchmarks.bulk_throughput              # 1,000,000 accounts
    .venv/bin/python -m benchmarks.bulk_throughput --reuse --backends postgres

Results are printed as a table and written as JSON to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
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

from sqlalchemy import create_engine, func, insert, literal, not_, select, text  # noqa: E402

from jobs.actions.add_interaction import CLOSED_STATUSES  # noqa: E402
from jobs.db import Database, upgrade  # noqa: E402
from jobs.models import Account, Interaction, Job, JobChunk, utcnow  # noqa: E402
from jobs.sources.accounts import AccountFilter  # noqa: E402
from jobs.status import JobStatus  # noqa: E402

VAR = ROOT / "var" / "bench"
RESULTS = ROOT / "benchmarks" / "results"
PG_ADMIN_URL = os.environ.get(
    "BULKDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BULKDESK_BENCH_REDIS", "redis://127.0.0.1:6379/14")
#: Every seeded account has a balance >= 0: this filter selects all N accounts.
SELECTION = {"min_balance": 0}
PARAMETERS = {
    "interaction_type": "Note",
    "outcome": "Information only",
    "note": "Bulk throughput benchmark",
    "interaction_date": "2026-11-02",
}
USER = "admin"
JOB_TABLES = ("audit_events", "interactions", "job_items", "job_chunks", "jobs")
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
        db = Database(url)
        with db.engine.connect() as conn:
            have = conn.scalar(select(func.count()).select_from(Account))
        db.dispose()
        if have == accounts and info.get("accounts") == accounts:
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
    db.dispose()
    sidecar.write_text(json.dumps({"accounts": accounts, "seconds": seconds}))
    log(f"{backend}: seeded in {seconds:.1f} s")
    return url, {"seconds": seconds, "reused": False}


def clear_jobs(db: Database) -> None:
    """Remove every job, item, chunk, audit event and interaction: each measurement starts equal.

    ``accounts.last_worked`` is left as the previous measurement set it; rewriting a date costs
    the same whatever it held.
    """
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


def workable_where() -> Any:
    """The accounts the add-interaction action writes a row for (not locked, not closed)."""
    return (
        AccountFilter.from_dict(SELECTION).clause()
        & not_(Account.locked)
        & Account.status.not_in(CLOSED_STATUSES)
    )


def count(db: Database, model: Any, *where: Any) -> int:
    with db.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(model).where(*where)) or 0


# -- (1) the raw limit ------------------------------------------------------------------------


def measure_raw(db: Database, accounts: int) -> dict[str, Any]:
    """One ``INSERT … SELECT`` of the same interaction rows, in one transaction."""
    when = dt.date.fromisoformat(PARAMETERS["interaction_date"])
    rows = select(
        Account.id,
        literal(PARAMETERS["interaction_type"]),
        literal(PARAMETERS["outcome"]),
        literal(PARAMETERS["note"]),
        literal(when),
        literal(1),
        literal(utcnow(), Interaction.__table__.c.created_at.type),
    ).where(workable_where())
    stmt = insert(Interaction).from_select(
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
    t0 = time.perf_counter()
    with db.write_conn() as conn:
        conn.execute(stmt)
    seconds = time.perf_counter() - t0
    written = count(db, Interaction)
    return {
        "items": accounts,
        "rows_written": written,
        "seconds": seconds,
        "items_per_s": accounts / seconds,
    }


def measure_raw_best(db: Database, accounts: int, runs: int) -> dict[str, Any]:
    """The best of ``runs`` raw measurements (the highest limit: the strictest ratio)."""
    tries = []
    for i in range(runs):
        if i:
            clear_jobs(db)
        tries.append(measure_raw(db, accounts))
    best = min(tries, key=lambda r: r["seconds"])
    return {**best, "runs_s": [round(r["seconds"], 3) for r in tries]}


# -- (2) Bulkdesk's bulk job ------------------------------------------------------------------


def measure_bulk(db: Database, accounts: int, poll: float) -> dict[str, Any]:
    """Submit through the service, poll until the job's status is final."""
    from jobs.service import JobService

    service = JobService(db)
    t0 = time.perf_counter()
    summary = service.submit_bulk_interaction(
        USER,
        description=f"Benchmark: note on {accounts:,} accounts",
        account_filter=SELECTION,
        **PARAMETERS,
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
    written = count(db, Interaction, Interaction.job_id == summary.id)
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
        "rows_written": written,
        "chunks": chunks,
        "chunk_attempts": attempts,
        "queued_to_started_s": (job.started_at - job.submitted_at).total_seconds(),
        "started_to_ended_s": (job.ended_at - job.started_at).total_seconds(),
    }
    if (
        detail.total != accounts
        or detail.ok + detail.exceptions != accounts
        or written != detail.ok
    ):
        raise SystemExit(f"bulk job {summary.id} did not do the whole work: {result}")
    return result


# -- (3) the naive design ---------------------------------------------------------------------


def measure_naive(db: Database, sample: int, poll: float) -> dict[str, Any]:
    """One message per account for the first ``sample`` accounts, until every row is in."""
    from benchmarks.naive_actor import naive_add_interaction

    with db.engine.connect() as conn:
        ids = conn.scalars(
            select(Account.id)
            .where(AccountFilter.from_dict(SELECTION).clause())
            .order_by(Account.id)
            .limit(sample)
        ).all()
        expected = conn.scalar(
            select(func.count()).select_from(Account).where(workable_where(), Account.id <= ids[-1])
        )
    t0 = time.perf_counter()
    for account_id in ids:
        naive_add_interaction.send(account_id, PARAMETERS, 1)
    t_sent = time.perf_counter()
    while count(db, Interaction) < expected:
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


def profile_statements(db: Database, accounts: int, chunk_size: int) -> dict[str, Any]:
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
        key = phase[0] + ": " + " ".join(statement.split())[:90]
        stats[key][0] += 1
        stats[key][1] += time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())

    class QuietService(JobService):
        def _wake(self, job_id: int) -> None:  # the steps run here, not on a worker
            pass

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        steps = {}
        t0 = time.perf_counter()
        job = QuietService(db).submit_bulk_interaction(
            USER, description="Benchmark profile", account_filter=SELECTION, **PARAMETERS
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
    return {
        "chunks": len(chunk_ids),
        "total_s": total,
        "items_per_s": accounts / total,
        "steps_s": steps,
        "chunk_commit_and_python_s": steps["chunk"] - chunk_sql,
        "statements": [
            {"statement": k, "count": c, "seconds": s} for k, c, s in statements if s >= 0.005
        ],
    }


def format_profile(backend: str, prof: dict[str, Any]) -> str:
    lines = [
        f"{backend}: where the time goes (synchronous, one thread, no broker): "
        f"{prof['total_s']:.2f} s = {prof['items_per_s']:,.0f} items/s over "
        f"{prof['chunks']} chunks"
    ]
    lines += [f"  {k:<28} {v:8.3f} s" for k, v in prof["steps_s"].items()]
    lines.append(f"  {'chunk commit + Python':<28} {prof['chunk_commit_and_python_s']:8.3f} s")
    lines += [
        f"  {st['seconds']:8.3f} s {st['count']:5d}x  {st['statement']}"
        for st in prof["statements"]
    ]
    return "\n".join(lines)


# -- backends ---------------------------------------------------------------------------------


def run_sqlite(args: argparse.Namespace) -> dict[str, Any]:
    from benchmarks import naive_actor
    from jobs import runtime
    from jobs.config import Settings
    from jobs.worker import actors as actors_mod
    from jobs.worker import broker as broker_mod

    url, seeded = prepare_database("sqlite", args.accounts, args.reuse)
    db = Database(url)
    settings = Settings(database_url=url, chunk_size=args.chunk_size, worker_threads=args.threads)
    runtime.configure(settings, db=db)
    out: dict[str, Any] = {
        "backend": "sqlite",
        "label": "SQLite + in-process StubBroker",
        "seed": seeded,
        "accounts": args.accounts,
    }
    clear_jobs(db)
    log("sqlite: (1) raw INSERT … SELECT …")
    out["raw"] = measure_raw_best(db, args.accounts, args.raw_runs)
    clear_jobs(db)
    broker = broker_mod.make_broker(settings)
    actors_mod.use(broker)
    naive_actor.bind(broker)
    worker = broker_mod.start_in_process_worker(broker, args.threads)
    try:
        log(f"sqlite: (2) bulk job, chunk size {args.chunk_size}, {args.threads} threads …")
        out["bulk"] = measure_bulk(db, args.accounts, args.poll)
        clear_jobs(db)
        log(f"sqlite: (3) naive, {args.naive_sample:,} messages …")
        out["naive"] = measure_naive(db, args.naive_sample, args.poll)
    finally:
        worker.stop()
        broker.close()
    clear_jobs(db)
    if args.profile:
        log("sqlite: profiling the statements …")
        out["profile"] = profile_statements(db, args.accounts, args.chunk_size)
        clear_jobs(db)
    db.dispose()
    return out


def start_workers(url: str, args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    """Two ``dramatiq`` worker processes on Redis, ready when this returns."""
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": url,
        "BULKDESK_BROKER_URL": REDIS_URL,
        "BULKDESK_CHUNK_SIZE": str(args.chunk_size),
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
    from jobs.config import Settings
    from jobs.worker import actors as actors_mod
    from jobs.worker import broker as broker_mod

    url, seeded = prepare_database("postgres", args.accounts, args.reuse)
    db = Database(url)
    settings = Settings(database_url=url, broker_url=REDIS_URL, chunk_size=args.chunk_size)
    runtime.configure(settings, db=db)
    out: dict[str, Any] = {
        "backend": "postgres",
        "label": f"PostgreSQL + Redis, {args.workers} worker processes",
        "seed": seeded,
        "accounts": args.accounts,
    }
    clear_jobs(db)
    log("postgres: (1) raw INSERT … SELECT …")
    out["raw"] = measure_raw_best(db, args.accounts, args.raw_runs)
    clear_jobs(db)
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
        log(f"postgres: (2) bulk job, chunk size {args.chunk_size} …")
        out["bulk"] = measure_bulk(db, args.accounts, args.poll)
        clear_jobs(db)
        log(f"postgres: (3) naive, {args.naive_sample:,} messages …")
        out["naive"] = measure_naive(db, args.naive_sample, args.poll)
    finally:
        stop_workers(procs)
        broker.close()
        redis.Redis.from_url(REDIS_URL).flushdb()
    clear_jobs(db)
    if args.profile:
        log("postgres: profiling the statements …")
        out["profile"] = profile_statements(db, args.accounts, args.chunk_size)
        clear_jobs(db)
    db.dispose()
    return out


# -- report -----------------------------------------------------------------------------------


def table(runs: list[dict[str, Any]], args: argparse.Namespace) -> str:
    head = (
        f"{'backend':<34} {'N':>10} {'(1) raw/s':>12} {'(2) bulk/s':>12} "
        f"{'(3) naive/s':>12} {'(2)/(1)':>8} {'(2)/(3)':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in runs:
        raw, bulk, naive = (
            r["raw"]["items_per_s"],
            r["bulk"]["items_per_s"],
            r["naive"]["items_per_s"],
        )
        r["ratio_bulk_raw"], r["ratio_bulk_naive"] = bulk / raw, bulk / naive
        lines.append(
            f"{r['label']:<34} {r['accounts']:>10,} {raw:>12,.0f} {bulk:>12,.0f} "
            f"{naive:>12,.0f} {bulk / raw:>8.2f} {bulk / naive:>8.1f}"
        )
    lines.append("")
    lines.append(
        f"chunk size {args.chunk_size}; {args.threads} worker threads "
        f"(per process); naive sample {args.naive_sample:,} messages; "
        f"targets (2)/(1) >= 0.4, (2)/(3) >= 100"
    )
    for r in runs:
        b = r["bulk"]
        seed = r["seed"]
        lines.append(
            f"{r['backend']}: seed {seed['seconds']:.1f} s"
            f"{' (earlier run, reused)' if seed['reused'] else ''}; "
            f"(1) best {r['raw']['seconds']:.2f} s of {r['raw']['runs_s']} for "
            f"{r['raw']['rows_written']:,} rows; "
            f"(2) {b['seconds']:.2f} s = submit call {b['submit_call_s']:.2f} s, "
            f"queued→started {b['queued_to_started_s']:.2f} s, started→ended "
            f"{b['started_to_ended_s']:.2f} s; {b['chunks']} chunks, ok {b['ok']:,}, "
            f"exceptions {b['exceptions']:,}; "
            f"(3) {r['naive']['seconds']:.2f} s for {r['naive']['items']:,} messages "
            f"(sending {r['naive']['send_s']:.2f} s); 1-min load average before/after "
            f"{r['loadavg_before_after']}"
        )
    for r in runs:
        if "profile" in r:
            lines += ["", format_profile(r["backend"], r["profile"])]
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
        "--naive-sample",
        type=int,
        default=100_000,
        help="messages for the one-message-per-account design (default 100,000)",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=10_000,
        help="items per chunk for the bulk job (default 10,000)",
    )
    parser.add_argument(
        "--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="worker threads: in-process (sqlite) / per worker process (postgres)",
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
        help="raw INSERT … SELECT runs; the best counts (default 2)",
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
