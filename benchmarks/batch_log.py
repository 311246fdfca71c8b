"""Batch audit log with many runs among many jobs: how long a week's search takes, and its
plans on PostgreSQL.

Fills a fresh PostgreSQL database (``BULKDESK_BENCH_PG`` names the server, default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``; dropped afterwards unless ``--keep``)
with the demo users, ``--definitions`` definitions (30) run hourly for ``--days`` days (180:
129,600 runs) and ``--other-jobs`` other jobs (1,000,000) submitted in between, so that the
runs are a small part of a big ``jobs`` table, as on a server that has run bulk jobs for
months. Rows are written set-based (``generate_series``), then ``VACUUM ANALYZE``.

Then it times ``jobs.definitions.batch_log.search`` for one week (first page, last page,
sorted by process, status Error, a process name), best and median of ``--repeat``, and
prints each statement's ``EXPLAIN (ANALYZE, BUFFERS)`` with ``--plans``: the plan should
read the week's runs by ``ix_definition_runs_due`` and the jobs by primary key, never scan
``jobs``.

Run from the repository root::

    .venv/bin/python -m benchmarks.batch_log --plans
    .venv/bin/python -m benchmarks.batch_log --other-jobs 0          # runs only
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid

from sqlalchemy import create_engine, event, insert, select, text

from jobs.db import Database, upgrade
from jobs.definitions import batch_log
from jobs.models import Definition, User
from jobs.seed import seed

START = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def fill(db: Database, definitions: int, days: int, other_jobs: int) -> tuple[int, list[int]]:
    """The definitions and their hourly runs, with the other jobs interleaved by hour."""
    hours = days * 24
    with db.write_conn() as conn:
        owner = conn.scalar(select(User.id).where(User.username == "admin"))
        ids = list(
            conn.scalars(
                insert(Definition).returning(Definition.id, sort_by_parameter_order=True),
                [
                    {
                        "name": f"Load {i:02d}",
                        "trigger": "scheduled",
                        "schedule": "hourly",
                        "schedule_options": {"minute": 0},
                        "owner_id": owner,
                    }
                    for i in range(definitions)
                ],
            )
        )
    per_hour = definitions + -(-other_jobs // hours)
    first = min(ids)
    # One statement per 30 days: position < definitions in an hour is a run of definition
    # (first + position); the rest are ordinary finished jobs.
    step = 30 * 24 * per_hour
    total = hours * per_hour
    for lo in range(0, total, step):
        hi = min(lo + step, total) - 1
        with db.write_conn() as conn:
            conn.execute(
                text(
                    """
                    INSERT INTO jobs (action, description, parameters, selection, owner_id,
                        status, submitted_at, started_at, ended_at, total, ok, exceptions,
                        not_processed, chunks_left)
                    SELECT CASE WHEN g % :per_hour < :defs THEN 'definition_run'
                                ELSE 'add_interaction' END,
                           CASE WHEN g % :per_hour < :defs THEN 'Load run'
                                ELSE 'Bulk job ' || g END,
                           CASE WHEN g % :per_hour < :defs
                                THEN json_build_object('definition_id', :first + g % :per_hour)
                                ELSE '{}'::json END,
                           '{}'::json, :owner,
                           (ARRAY[2,2,2,2,2,2,4,6,3])[1 + g % 9],
                           :start + (g / :per_hour) * interval '1 hour'
                                  + (g % :per_hour) * interval '1 second',
                           :start + (g / :per_hour) * interval '1 hour',
                           :start + (g / :per_hour) * interval '1 hour' + interval '30 s',
                           0, 0, 0, 0, 0
                    FROM generate_series(CAST(:lo AS bigint), CAST(:hi AS bigint)) AS g
                    WHERE g % :per_hour < :defs OR g % :per_hour - :defs
                          < :other * 1.0 / :hours
                    """
                ),
                {
                    "per_hour": per_hour,
                    "defs": definitions,
                    "first": first,
                    "owner": owner,
                    "start": START,
                    "lo": lo,
                    "hi": hi,
                    "other": other_jobs,
                    "hours": hours,
                },
            )
    with db.write_conn() as conn:
        conn.execute(
            text(
                """
                INSERT INTO definition_runs (job_id, definition_id, due_at, business_day,
                    fired_by, late, detail)
                SELECT id, (parameters->>'definition_id')::int,
                       date_trunc('hour', submitted_at), (submitted_at AT TIME ZONE 'UTC')::date,
                       'schedule', false, '{}'::json
                FROM jobs WHERE action = 'definition_run'
                """
            )
        )
    engine = create_engine(db.engine.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    with db.read() as s:
        runs = s.scalar(text("SELECT count(*) FROM definition_runs"))
    return runs, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--definitions", type=int, default=30)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--other-jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN ANALYZE")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--reuse", default="", help="time a database kept earlier (its URL)")
    args = parser.parse_args()
    if args.reuse:
        measure(Database(args.reuse), args)
        return

    server = os.environ.get(
        "BULKDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"bulkdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        db = Database(url)
        seed(db, accounts=100)
        t0 = time.perf_counter()
        fill(db, args.definitions, args.days, args.other_jobs)
        print(f"written in {time.perf_counter() - t0:.0f} s")
        measure(db, args)
        db.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            print(f"kept {url}")
        admin.dispose()


def measure(db: Database, args: argparse.Namespace) -> None:
    """Time the week's searches (and print their plans with ``--plans``)."""
    with db.read() as s:
        runs = s.scalar(text("SELECT count(*) FROM definition_runs"))
        jobs = s.scalar(text("SELECT count(*) FROM jobs"))
    print(f"{runs:,} runs among {jobs:,} jobs")
    with open("/proc/loadavg") as f:
        print(f"load average (1 min): {f.read().split()[0]}")
    week = {"since": dt.date(2026, 10, 1), "until": dt.date(2026, 10, 7), "tz": "UTC"}
    per_week = args.definitions * 24 * 7
    cases = {
        "first page": {},
        "last page": {"page": -(-per_week // 25)},
        "by process": {"sort": "process", "descending": False},
        "status Error": {"status": ["Error"]},
        "process name": {"process": "Load 07"},
    }
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append((statement, parameters))

    for label, options in cases.items():
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            with db.read() as s:
                found = batch_log.search(s, **week, **options)
            times.append((time.perf_counter() - t) * 1000)
        print(
            f"{label:14} best {min(times):6.1f} ms  median {statistics.median(times):6.1f} ms"
            f"  ({found.total:,} runs, {len(found.rows)} on the page)"
        )
        if args.plans:
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", capture)
            with db.read() as s:
                batch_log.search(s, **week, **options)
            event.remove(db.engine, "before_cursor_execute", capture)
            for statement, parameters in statements:
                with db.engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    with raw.cursor() as cur:
                        cur.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters)
                        plan = "\n".join(r[0] for r in cur.fetchall())
                print(f"--- {label}:\n{plan}\n")


if __name__ == "__main__":
    main()
