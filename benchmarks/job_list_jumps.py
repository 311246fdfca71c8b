"""Deep pages of the job list at the query level: ``JobService.list_jobs`` alone (no Monitor,
no table), the admin's list in submission order (pages found from the days' counts,
migration 0022) next to a page of the list by job number (an index walk over the jobs
above it, as every deep page was before).

Fills an SQLite file under ``var/`` with ``--jobs`` jobs the first time (as
``monitor_load.py`` fills: one job every five minutes, 2% deleted), then reuses it; or
measures a database ``monitor_load.py --keep`` filled (SQLite or PostgreSQL)::

    .venv/bin/python -m benchmarks.job_list_jumps --jobs 1000000
    .venv/bin/python -m benchmarks.job_list_jumps --database postgresql+psycopg://…/bulkdesk_monitor_…
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.account_grid import timed
from benchmarks.monitor_load import (
    day_counts_rebuilt_after,
    fill,
    full_text_rebuilt_after,
    gather_statistics,
)
from jobs.db import Database, upgrade
from jobs.seed import seed
from jobs.service import JobService

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--database", metavar="URL", help="A database already filled.")
    args = parser.parse_args()
    path = ROOT / "var" / f"jobs-{args.jobs}.db"
    url = args.database or f"sqlite:///{path}"
    if not args.database and not path.exists():
        upgrade(url)
        db = Database(url)
        seed(db, accounts=1_000)
        with full_text_rebuilt_after(db), day_counts_rebuilt_after(db):
            fill(db, args.jobs)
        gather_statistics(db)
    db = Database(url)
    svc = JobService(db)
    first = svc.list_jobs("admin")
    last = -(-first.total // 25)
    backend = "SQLite" if db.is_sqlite else "PostgreSQL"
    print(f"{first.total:,} live jobs, {last:,} pages of 25 ({backend}, list_jobs only)")
    for label, fn in [
        ("page 1", lambda: svc.list_jobs("admin")),
        (
            "page 2,000 typed on page 1",
            lambda: svc.list_jobs("admin", page=2000, anchor=first.anchor),
        ),
        (
            "the last page typed on page 1",
            lambda: svc.list_jobs("admin", page=last, anchor=first.anchor),
        ),
        (
            "the middle page typed on page 1",
            lambda: svc.list_jobs("admin", page=last // 2, anchor=first.anchor),
        ),
        ("by job number: page 2,000", lambda: svc.list_jobs("admin", page=2000, sort="id")),
        (
            "by job number: the middle page",
            lambda: svc.list_jobs("admin", page=last // 2, sort="id"),
        ),
        *(
            (
                f"by {key}: page {page:,}",
                lambda k=key, p=page: svc.list_jobs("admin", page=p, sort=k),
            )
            for key in ("description", "status", "owner", "ended", "started", "action")
            for page in (2000, last // 2)
        ),
    ]:
        print(f"  {label:40s} {timed(fn, args.repeat):7.1f} ms")  # median after a warm-up


if __name__ == "__main__":
    main()
