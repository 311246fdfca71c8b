"""Monitor with many jobs: how long a page of the job list takes to load, refresh and sort.

Fills a fresh database (SQLite by default; PostgreSQL with ``--backend postgres``) with the
demo users and a few accounts, then ``--jobs`` jobs (100,000) in set-based batches (mostly
finished, about 1% In progress, 2% deleted, four owners, one job every five minutes), and
times the Monitor's own code paths:

- ``MonitorState`` / ``Monitor`` construction: the first page read with
  ``JobService.list_jobs`` (count + one page), and the Panel table built from it;
- ``Monitor.tick()``: the live refresh every second (re-read the page, patch changed rows),
  and the same counting again (what it does every ``RECOUNT_SECONDS``);
- the same for a user who sees only their own jobs; page 2,000 and the last page typed on
  page 1, their refresh, Last, Previous on the last page and the middle page typed there;
  status and text filters (a common word, a rare one, a job number);
- the first page of a server-side sort by each key, both ways (``JobService.list_jobs``);
- with ``--browser`` (SQLite only): the served app in headless Chromium, from login to the
  first rows, and from a status change in the database to the changed row on screen.

On PostgreSQL the database is created for the run (``BULKDESK_BENCH_PG`` names the server,
default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and dropped afterwards. The
rows marked "[no planner statistics]" run before ``PRAGMA optimize`` (SQLite) or
``VACUUM ANALYZE jobs`` (PostgreSQL, what autovacuum does on a live server).

Run from the repository root::

    .venv/bin/python -m benchmarks.monitor_load                       # SQLite, 100,000 jobs
    .venv/bin/python -m benchmarks.monitor_load --jobs 1000000 --backend postgres
    .venv/bin/python -m benchmarks.monitor_load --browser             # plus the served app
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Connection, create_engine, func, insert, make_url, select, text, update

from apps.serve import optimize_statistics
from jobs.db import Database, upgrade
from jobs.models import Job
from jobs.reports import job_days
from jobs.seed import seed
from jobs.status import JobStatus

BATCH = 10_000
FINISHED = [
    (JobStatus.COMPLETED, 70),
    (JobStatus.COMPLETED_WITH_EXCEPTIONS, 18),
    (JobStatus.FAILED, 4),
    (JobStatus.STOPPED, 7),
    (JobStatus.IN_PROGRESS, 1),
]
PG_ADMIN_URL = os.environ.get(
    "BULKDESK_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SORT_KEYS = ("id", "description", "submitted", "started", "ended", "status", "action", "owner")

Row = tuple[str, float, float, float]  # name, median, best, worst (ms)
Row3 = tuple[float, float, float]


def fill(db: Database, jobs: int, *, seed_value: int = 3) -> None:
    """Insert ``jobs`` jobs in batches of executemany rows (no per-row round trips)."""
    rng = random.Random(seed_value)
    statuses = [s for s, weight in FINISHED for _ in range(weight)]
    now = dt.datetime.now(dt.UTC)
    owners = [2, 3, 5, 1]  # alice, bob, dave, admin
    with db.write_conn() as conn:
        for start in range(0, jobs, BATCH):
            rows = []
            for n in range(start, min(start + BATCH, jobs)):
                submitted = now - dt.timedelta(seconds=(jobs - n) * 300)
                status = rng.choice(statuses)
                total = rng.randint(20, 50_000)
                started = submitted + dt.timedelta(seconds=rng.randint(1, 60))
                done = status != JobStatus.IN_PROGRESS
                exceptions = (
                    rng.randint(1, max(total // 50, 1))
                    if status == JobStatus.COMPLETED_WITH_EXCEPTIONS
                    else 0
                )
                ok = total - exceptions if done else rng.randint(0, total)
                rows.append(
                    {
                        "action": "add_interaction",
                        "owner_id": owners[n % 4],
                        "description": f"Bulk note {n}: {rng.choice(['Texas', 'Dispute', 'Skip'])}",
                        "parameters": {
                            "interaction_type": "Note",
                            "outcome": "Information only",
                            "note": "",
                            "interaction_date": "2026-11-01",
                        },
                        "selection": {
                            "group_id": None,
                            "filter": {"state": "TX"},
                            "text": "state = TX",
                            "count_at_submit": total,
                        },
                        "status": int(status),
                        "submitted_at": submitted,
                        "started_at": started,
                        "ended_at": started + dt.timedelta(seconds=rng.randint(5, 900))
                        if done
                        else None,
                        "total": total,
                        "ok": ok,
                        "exceptions": exceptions,
                        "not_processed": 0,
                        "chunks_left": 0,
                        "deleted_at": now if rng.random() < 0.02 and done else None,
                    }
                )
            conn.execute(insert(Job.__table__), rows)


def _drop_sqlite_triggers(conn: Connection, prefix: str) -> list[tuple[str, str]]:
    """Drop SQLite's triggers whose names start with ``prefix``; their names and SQL, to
    make them again."""
    triggers = [
        (name, sql)
        for name, sql in conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE :p"),
            {"p": f"{prefix}%"},
        )
    ]
    for name, _ in triggers:
        conn.execute(text(f"DROP TRIGGER {name}"))
    return triggers


@contextlib.contextmanager
def full_text_rebuilt_after(db: Database) -> Iterator[None]:
    """On SQLite, fill without the triggers that keep ``jobs_fts`` (migration 0011) and
    rebuild the index once afterwards: row by row, the triggers made a 1,000,000-job fill
    take over half an hour (a submit adds one job, whose index row costs nothing)."""
    if not db.is_sqlite:
        yield
        return
    with db.write_conn() as conn:
        triggers = _drop_sqlite_triggers(conn, "jobs_fts")
    yield
    if triggers:
        with db.write_conn() as conn:
            conn.execute(text("INSERT INTO jobs_fts(jobs_fts) VALUES ('rebuild')"))
            for _, sql in triggers:
                conn.execute(text(sql))


@contextlib.contextmanager
def day_counts_rebuilt_after(db: Database) -> Iterator[None]:
    """Fill without the triggers that count live jobs per day (migration 0022), then count
    them once (two upserts per job made the fill slower; a submit adds one job)."""
    pg_trigger = "ALTER TABLE jobs {} TRIGGER job_day_counts_insert_delete"
    with db.write_conn() as conn:
        if db.is_sqlite:
            triggers = _drop_sqlite_triggers(conn, "job_day_counts")
        else:
            conn.execute(text(pg_trigger.format("DISABLE")))
    yield
    with db.write_conn() as conn:
        job_days.rebuild(conn)
        if db.is_sqlite:
            for _, sql in triggers:
                conn.execute(text(sql))
        else:
            conn.execute(text(pg_trigger.format("ENABLE")))


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median, best and worst wall time in milliseconds over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def timed_after(setup: Callable[[], object], fn: Callable[[], object], repeat: int) -> Row3:
    """Like :func:`timed`, ``setup`` running untimed before each call."""
    times = []
    for _ in range(repeat):
        setup()
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times), max(times)


def recounting(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` with the job list counting again on every read (a refresh keeps its page's
    count for ``RECOUNT_SECONDS`` otherwise)."""
    from jobs.reports import queries

    def call() -> object:
        kept = queries.RECOUNT_SECONDS
        queries.RECOUNT_SECONDS = 0.0
        try:
            return fn()
        finally:
            queries.RECOUNT_SECONDS = kept

    return call


def live_jobs(db: Database) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).where(Job.deleted_at.is_(None))) or 0


def python_paths(db: Database, repeat: int) -> list[Row]:
    from apps.monitor import Monitor
    from apps.monitor_state import MonitorState
    from jobs.service import JobService

    service = JobService(db)
    results: list[Row] = []
    for user in ("admin", "alice"):
        results.append(
            (
                f"{user}: first page (MonitorState, list_jobs)",
                *timed(lambda u=user: MonitorState(service, u), repeat),
            )
        )
        results.append(
            (
                f"{user}: Monitor built (page + table + timeline)",
                *timed(
                    lambda u=user: Monitor(service=service, user=u, live=False), max(repeat // 4, 3)
                ),
            )
        )
        monitor = Monitor(service=service, user=user, live=False)
        results.append((f"{user}: live refresh (Monitor.tick)", *timed(monitor.tick, repeat)))
        if hasattr(monitor.state, "anchor"):  # a build that keeps the count between refreshes
            results.append(
                (
                    f"{user}: live refresh counting again (every 10 s)",
                    *timed(recounting(monitor.tick), repeat),
                )
            )
    monitor = Monitor(service=service, user="admin", live=False)
    state = monitor.state
    last = max(1, math.ceil(live_jobs(db) / state.page_size))

    def at(page: int) -> Callable[[], None]:
        def setup() -> None:
            state.page = page
            if page > 1 and hasattr(state, "go_last"):
                state.load()  # as a refresh on that page would have left it

        return setup

    results.append(
        (
            "admin: open page 2,000 (typed on page 1)",
            *timed_after(at(1), lambda: state.go(2000), repeat),
        )
    )
    state.page = 2000
    results.append(("admin: refresh on page 2,000", *timed(monitor.tick, repeat)))
    if hasattr(state, "go_last"):
        results.append(
            (
                "admin: Last on page 1 (count all, then last page)",
                *timed_after(at(1), state.go_last, repeat),
            )
        )
    results.append(
        (
            "admin: open the last page (typed on page 1)",
            *timed_after(at(1), lambda: state.go(last), repeat),
        )
    )
    state.page = last
    results.append(("admin: refresh on the last page", *timed(monitor.tick, repeat)))
    results.append(
        ("admin: Previous on the last page", *timed_after(at(last), state.previous_page, repeat))
    )
    middle = last // 2 + 1
    results.append(
        (
            f"admin: open page {middle:,} (typed on the last page)",
            *timed_after(at(last), lambda: state.go(middle), repeat),
        )
    )
    state.page = 1
    monitor.state.statuses = ["In progress"]
    results.append(("admin: status filter In progress, refresh", *timed(monitor.tick, repeat)))
    monitor.state.statuses = []
    for label, words in (
        ("a common word", "dispute"),
        ("a rare one", "note 123456:"),
        ("no match", "nothing like it"),
        ("a job number", "4242"),
    ):
        monitor.state.text = words
        results.append(
            (f"admin: text filter {label} '{words}', refresh", *timed(monitor.tick, repeat))
        )

    # A refresh where a row changed: the patch path.
    monitor.state.text = ""
    first = monitor.state.jobs[0].id

    def change_and_tick() -> None:
        with db.write_conn() as conn:
            conn.execute(update(Job).where(Job.id == first).values(ok=Job.ok + 1))
        monitor.tick()

    results.append(("admin: refresh with a changed row (patch)", *timed(change_and_tick, repeat)))
    return results + sort_paths(service, repeat)


def sort_paths(service: object, repeat: int) -> list[Row]:
    """The first page of each sort, both ways, for admin (every job) and alice (her own)."""
    if "sort" not in inspect.signature(service.list_jobs).parameters:  # type: ignore[attr-defined]
        return []  # a build before server-side sorting
    results: list[Row] = []
    for user in ("admin", "alice"):
        for key in SORT_KEYS:
            for descending in (False, True):
                results.append(
                    (
                        f"{user}: sort by {key} {'desc' if descending else 'asc'}, first page",
                        *timed(
                            lambda u=user, k=key, d=descending: service.list_jobs(  # type: ignore[attr-defined]
                                u, sort=k, descending=d
                            ),
                            repeat,
                        ),
                    )
                )
    return results


def browser_paths(db_file: Path, repeat: int) -> list[Row]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
    from browser_tooling import chromium, log_in, serve_app
    from playwright.sync_api import expect

    results: list[Row] = []
    with (
        serve_app(db_file, chunk_pause=0, chunk_size=1000, threads=2) as app,
        chromium() as browser,
    ):
        logins, reloads, changes = [], [], []
        for n in range(repeat):
            context = browser.new_context(viewport={"width": 1500, "height": 1000})
            page = context.new_page()
            started = time.perf_counter()
            log_in(page, app, "admin")
            page.locator(".bd-jobs .tabulator-row").first.wait_for(timeout=120_000)
            logins.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            page.reload()
            page.locator(".bd-jobs .tabulator-row").first.wait_for(timeout=120_000)
            reloads.append((time.perf_counter() - started) * 1000)
            served = Database(app.database_url)
            first = page.locator(".bd-jobs .tabulator-row").first
            text_ = first.inner_text()
            job_id = int(text_.split()[0].replace(",", ""))
            started = time.perf_counter()
            with served.write_conn() as conn:
                conn.execute(update(Job).where(Job.id == job_id).values(description=f"Changed {n}"))
            expect(first).to_contain_text(f"Changed {n}", timeout=30_000)
            changes.append((time.perf_counter() - started) * 1000)
            served.dispose()
            context.close()
        for name, times in (
            ("browser: login to first rows (cold cache, admin)", logins),
            ("browser: reload to first rows (warm cache)", reloads),
            ("browser: DB change to row on screen (1 s refresh)", changes),
        ):
            results.append((name, statistics.median(times), min(times), max(times)))
    return results


@contextlib.contextmanager
def fresh_database(backend: str, keep: bool) -> Iterator[tuple[str, Path | None]]:
    """A new, empty database for the run: a temporary SQLite file, or a PostgreSQL database
    that is dropped afterwards (unless ``keep``)."""
    if backend == "sqlite":
        db_file = Path(tempfile.mkdtemp(prefix="bulkdesk-monitor-")) / "bulkdesk.db"
        yield f"sqlite:///{db_file}", db_file
        if not keep:
            for path in db_file.parent.iterdir():
                path.unlink()
            db_file.parent.rmdir()
        return
    name = f"bulkdesk_monitor_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", None
    finally:
        if not keep:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def gather_statistics(db: Database) -> None:
    """What a running server does: ``PRAGMA optimize`` at start and hourly (SQLite), or
    autovacuum's ``VACUUM ANALYZE`` after a bulk load (PostgreSQL)."""
    if db.is_sqlite:
        optimize_statistics(db)
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE jobs")
        conn.exec_driver_sql("VACUUM ANALYZE users")
        conn.exec_driver_sql("VACUUM ANALYZE job_day_counts")


@contextlib.contextmanager
def kept_database(url: str) -> Iterator[tuple[str, Path | None]]:
    """A database an earlier run kept (``--keep``), measured again as it is."""
    database = make_url(url).database
    yield url, Path(database) if url.startswith("sqlite") and database else None


def run(args: argparse.Namespace) -> list[Row]:
    place = kept_database(args.database) if args.database else None
    with place or fresh_database(args.backend, args.keep) as (url, db_file):
        upgrade(url)
        db = Database(url)
        if place is None:
            seed(db, accounts=1_000)
            started = time.perf_counter()
            with full_text_rebuilt_after(db), day_counts_rebuilt_after(db):
                fill(db, args.jobs)
            print(
                f"Inserted {args.jobs:,} jobs in {time.perf_counter() - started:.1f} s "
                f"({db_file or db.url.database})",
                flush=True,
            )

        from jobs import runtime
        from jobs.config import Settings

        runtime.configure(Settings(database_url=url), db=db)
        rows: list[Row] = [
            (f"[no planner statistics] {name}", *times)
            for name, *times in python_paths(db, max(args.repeat // 4, 3))
            if name.startswith(("admin: first page", "admin: Monitor built", "admin: live refresh"))
        ]
        started = time.perf_counter()
        gather_statistics(db)
        elapsed = (time.perf_counter() - started) * 1000
        label = "PRAGMA optimize" if db.is_sqlite else "VACUUM ANALYZE jobs, users, job_day_counts"
        rows.append((f"{label} (once)", elapsed, elapsed, elapsed))
        rows += python_paths(db, args.repeat)
        db.dispose()
        if args.browser and db_file is not None:
            rows += browser_paths(db_file, max(args.repeat // 5, 3))
        if args.keep:
            print(f"Kept the database: {url}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--browser", action="store_true", help="Also time the served app.")
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
    parser.add_argument(
        "--database",
        metavar="URL",
        help="Measure a database an earlier --keep run filled, instead of filling a new one.",
    )
    args = parser.parse_args()
    if args.database:
        args.backend = "sqlite" if args.database.startswith("sqlite") else "postgres"
        with Database(args.database).read() as session:  # the title counts what is there
            args.jobs = session.scalar(select(func.count()).select_from(Job)) or 0
    rows = run(args)
    width = max(len(r[0]) for r in rows)
    backend = "SQLite" if args.backend == "sqlite" else "PostgreSQL"
    print(
        f"\n{'Monitor with ' + format(args.jobs, ',') + f' jobs ({backend})':<{width}}  "
        f"{'median ms':>10}  {'best ms':>8}  {'worst ms':>9}"
    )
    for name, median, best, worst in rows:
        print(f"{name:<{width}}  {median:>10.1f}  {best:>8.1f}  {worst:>9.1f}")


if __name__ == "__main__":
    main()
