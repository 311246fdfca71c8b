"""The job list's text filter over 1,000,000 jobs on SQLite, with and without the trigram
full-text index (migration 0011).

Builds ``var/bench/jobs_text_<N>.db`` once (migrations, one admin, N jobs in one
``INSERT … SELECT``: five common descriptions, one rare word in every 100,000th), then times
``JobService.list_jobs(admin, JobFilter(text=…))`` for a rare word, a common phrase and a
number-like text, first through the index, then with the index switched off for this process
(the plain ``LIKE`` over the description index it replaced). Median and worst of ``--runs``.

    .venv/bin/python -m benchmarks.job_text_filter              # 1,000,000 jobs
    .venv/bin/python -m benchmarks.job_text_filter --jobs 200000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from jobs.db import Database, upgrade  # noqa: E402
from jobs.reports import queries  # noqa: E402
from jobs.reports.queries import JobFilter  # noqa: E402
from jobs.service import JobService  # noqa: E402

TEXTS = ("zephyr", "follow-up", "5551")


def build(path: Path, jobs: int) -> Database:
    url = f"sqlite:///{path}"
    if path.exists():
        return Database(url)
    path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(url)
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO users (username, display_name, role, permissions, notify, active, "
                "created_at, failed_logins) VALUES ('admin', 'Ada', 'admin', '[]', 'all', 1, "
                "'2026-01-01', 0)"
            )
        )
        t0 = time.perf_counter()
        conn.execute(
            text(
                """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :jobs)
INSERT INTO jobs (action, description, parameters, selection, owner_id, status, submitted_at,
                  total, ok, exceptions, not_processed, chunks_left)
SELECT 'add_interaction',
  CASE WHEN i % 100000 = 7 THEN 'Quarterly zephyrine review ' || i
       ELSE (CASE i % 5 WHEN 0 THEN 'Courtesy note ' WHEN 1 THEN 'Dispute follow-up calls '
             WHEN 2 THEN 'Skip trace batch ' WHEN 3 THEN 'Payment reminders '
             ELSE 'Status cleanup ' END) || i END,
  '{}', '{}', 1, 2, datetime('2026-01-01', '+' || (i * 5) || ' minutes'), 10, 10, 0, 0, 0
FROM n"""
            ),
            {"jobs": jobs},
        )
        print(
            f"{jobs:,} jobs inserted (index kept by its trigger) in "
            f"{time.perf_counter() - t0:.1f} s"
        )
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
    return db


def measure(service: JobService, label: str, runs: int) -> None:
    for words in TEXTS:
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            page = service.list_jobs("admin", JobFilter(text=words))
            times.append(1000 * (time.perf_counter() - t0))
        print(
            f"{label:24s} {words!r:12s} median {statistics.median(times):6.1f} ms  "
            f"worst {max(times):6.1f} ms  ({page.total:,}{'' if page.exact else '+'} jobs)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    db = build(ROOT / "var" / "bench" / f"jobs_text_{args.jobs}.db", args.jobs)
    service = JobService(db)
    measure(service, "trigram index", args.runs)
    queries._HAS_FULL_TEXT[str(db.engine.url)] = False  # as before migration 0011
    measure(service, "LIKE only (before)", args.runs)


if __name__ == "__main__":
    main()
