"""Monitor with 100,000 jobs: how long the first page takes to load and to refresh.

Fills a fresh database (SQLite by default) with the demo users and a few accounts, then
100,000 jobs in set-based batches (mostly finished, about 1% In progress, 2% deleted, four
owners over a year), and times the Monitor's own code paths:

- ``MonitorState`` / ``Monitor`` construction: the first page read with
  ``JobService.list_jobs`` (count + one page), and the Panel table built from it;
- ``Monitor.tick()``: the live refresh (re-read the page, patch changed rows);
- the same for a user who sees only their own jobs, and with status and text filters;
- with ``--browser``: the served app in headless Chromium, from login to the first rows,
  and from a status change in the database to the changed row on screen.

Run from the repository root::

    .venv/bin/python -m benchmarks.monitor_load            # Python paths only
    .venv/bin/python -m benchmarks.monitor_load --browser  # plus the served app
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, update

from apps.serve import optimize_statistics
from jobs.db import Database, upgrade
from jobs.models import Job
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


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and worst wall time in milliseconds over ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def python_paths(db: Database, repeat: int) -> list[tuple[str, float, float]]:
    from apps.monitor import Monitor
    from apps.monitor_state import MonitorState
    from jobs.service import JobService

    service = JobService(db)
    results = []
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
    monitor = Monitor(service=service, user="admin", live=False)
    monitor.state.page = 2000
    results.append(("admin: refresh on page 2,000", *timed(monitor.tick, repeat)))
    monitor.state.page = 1
    monitor.state.statuses = ["In progress"]
    results.append(("admin: status filter In progress, refresh", *timed(monitor.tick, repeat)))
    monitor.state.statuses = []
    monitor.state.text = "dispute"
    results.append(("admin: text filter 'dispute', refresh", *timed(monitor.tick, repeat)))

    # A refresh where a row changed: the patch path.
    monitor.state.text = ""
    first = monitor.state.jobs[0].id

    def change_and_tick() -> None:
        with db.write_conn() as conn:
            conn.execute(update(Job).where(Job.id == first).values(ok=Job.ok + 1))
        monitor.tick()

    results.append(("admin: refresh with a changed row (patch)", *timed(change_and_tick, repeat)))
    return results


def browser_paths(db_file: Path, repeat: int) -> list[tuple[str, float, float]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "browser"))
    from browser_tooling import chromium, log_in, serve_app
    from playwright.sync_api import expect

    results = []
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
            text = first.inner_text()
            job_id = int(text.split()[0].replace(",", ""))
            started = time.perf_counter()
            with served.write_conn() as conn:
                conn.execute(update(Job).where(Job.id == job_id).values(description=f"Changed {n}"))
            expect(first).to_contain_text(f"Changed {n}", timeout=30_000)
            changes.append((time.perf_counter() - started) * 1000)
            served.dispose()
            context.close()
        results.append(
            (
                "browser: login to first rows (cold cache, admin)",
                statistics.median(logins),
                max(logins),
            )
        )
        results.append(
            ("browser: reload to first rows (warm cache)", statistics.median(reloads), max(reloads))
        )
        results.append(
            (
                "browser: DB change to row on screen (1 s refresh)",
                statistics.median(changes),
                max(changes),
            )
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--browser", action="store_true", help="Also time the served app.")
    args = parser.parse_args()

    db_file = Path(tempfile.mkdtemp(prefix="bulkdesk-monitor-")) / "bulkdesk.db"
    url = f"sqlite:///{db_file}"
    upgrade(url)
    db = Database(url)
    seed(db, accounts=1_000)
    started = time.perf_counter()
    fill(db, args.jobs)
    print(f"Inserted {args.jobs:,} jobs in {time.perf_counter() - started:.1f} s ({db_file})")

    from jobs import runtime
    from jobs.config import Settings

    runtime.configure(Settings(database_url=url), db=db)
    rows = [
        (f"[no planner statistics] {name}", m, w)
        for name, m, w in python_paths(db, max(args.repeat // 4, 3))[:3]
    ]
    started = time.perf_counter()
    optimize_statistics(db)  # what `panel serve --setup apps/serve.py` does at start
    rows.append(
        ("PRAGMA optimize (server start, hourly)", (time.perf_counter() - started) * 1000, 0.0)
    )
    rows += python_paths(db, args.repeat)
    db.dispose()
    if args.browser:
        rows += browser_paths(db_file, max(args.repeat // 5, 3))
    width = max(len(r[0]) for r in rows)
    print(
        f"\n{'Monitor with ' + format(args.jobs, ',') + ' jobs (SQLite)':<{width}}  "
        f"{'median ms':>10}  {'worst ms':>9}"
    )
    for name, median, worst in rows:
        print(f"{name:<{width}}  {median:>10.1f}  {worst:>9.1f}")


if __name__ == "__main__":
    main()
