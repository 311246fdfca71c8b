"""Scheduler firing delay: a definition's due time → its run started, over many runs.

Scheduled definitions (no steps: the run starts and ends at once, so only the scheduler and
the broker are measured) come due every ``--every`` seconds on the wall clock; the scheduler
thread of a worker fires them and the run actor starts them. Two phases: the workers idle,
and the workers busy with a bulk job (every account, small chunks) the whole time. Reports
median, 90th percentile and worst of due → fired (the run's job written) and due → started
(In progress), in seconds.

Embedded default (SQLite file + in-process broker with worker threads, like ``panel serve``):

    .venv/bin/python benchmarks/scheduler_delay.py --runs 60

Worker processes on a real broker and PostgreSQL (start ``dramatiq jobs.worker.actors`` with
the same ``BULKDESK_*`` variables in other terminals, then pass ``--external``):

    BULKDESK_DATABASE_URL=postgresql+psycopg://… BULKDESK_BROKER_URL=redis://… \\
        .venv/bin/python benchmarks/scheduler_delay.py --runs 60 --external
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import threading
import time
from pathlib import Path

from sqlalchemy import delete, insert, select, update

from jobs import runtime
from jobs.config import Settings
from jobs.db import Database, upgrade
from jobs.models import Definition, DefinitionRun, Job, User, utcnow
from jobs.seed import seed
from jobs.service import JobService
from jobs.status import JobStatus
from jobs.worker import actors as actors_mod
from jobs.worker import broker as broker_mod

RESULTS = Path(__file__).parent / "results"
CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Benchmark"}


def _embedded(accounts: int) -> Database:
    path = RESULTS / f"scheduler_delay_{accounts}.db"
    if not path.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        upgrade(f"sqlite:///{path}")
        db = Database(f"sqlite:///{path}")
        seed(db, accounts=accounts)
        db.dispose()
    url = f"sqlite:///{path}"
    db = Database(url)
    runtime.configure(Settings(database_url=url, chunk_size=200), db=db)
    return db


def _definitions(db: Database, count: int, tag: str) -> list[int]:
    with db.write_conn() as conn:
        conn.execute(delete(DefinitionRun))
        conn.execute(delete(Definition).where(Definition.name.like("Delay benchmark %")))
        owner = conn.scalar(select(User.id).where(User.username == "admin"))
        return [
            conn.execute(
                insert(Definition)
                .values(
                    name=f"Delay benchmark {tag} {n}",
                    trigger="scheduled",
                    schedule="end_of_day",
                    schedule_options={"at": "00:00"},
                    owner_id=owner,
                    # far off: the benchmark sets each due time itself
                    next_due_at=utcnow() + dt.timedelta(days=1),
                )
                .returning(Definition.id)
            ).scalar_one()
            for n in range(count)
        ]


def _phase(db: Database, runs: int, every: float, tag: str) -> dict[str, float]:
    ids = _definitions(db, runs, tag)
    start = utcnow() + dt.timedelta(seconds=1)
    with db.write_conn() as conn:
        for n, d in enumerate(ids):
            due = start + dt.timedelta(seconds=n * every)
            conn.execute(update(Definition).where(Definition.id == d).values(next_due_at=due))
    deadline = time.monotonic() + 1 + runs * every + 60
    while time.monotonic() < deadline:
        with db.read() as s:
            rows = s.execute(
                select(DefinitionRun.due_at, Job.submitted_at, Job.started_at, Job.status)
                .join(Job, Job.id == DefinitionRun.job_id)
                .where(DefinitionRun.definition_id.in_(ids))
            ).all()
        if len(rows) == runs and all(JobStatus(r.status).is_final for r in rows):
            break
        time.sleep(0.2)
    else:
        raise SystemExit(f"{tag}: only {len(rows)} of {runs} runs ended")
    fired = sorted((r.submitted_at - r.due_at).total_seconds() for r in rows)
    started = sorted((r.started_at - r.due_at).total_seconds() for r in rows)
    return {
        "runs": runs,
        "fired_median": statistics.median(fired),
        "fired_p90": fired[int(0.9 * (runs - 1))],
        "fired_worst": fired[-1],
        "started_median": statistics.median(started),
        "started_p90": started[int(0.9 * (runs - 1))],
        "started_worst": started[-1],
    }


def _load(service: JobService, stop: threading.Event, loads: list[int]) -> None:
    """Keep a bulk job (every account, small chunks) running until told to stop."""
    while not stop.is_set():
        job = service.submit_bulk_interaction(
            "admin", description="Load", account_filter={"min_balance": 0}, **CALL
        )
        loads.append(job.id)
        while not stop.is_set() and not service.job("admin", job.id).summary.status.is_final:
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=60, help="runs per phase")
    parser.add_argument("--every", type=float, default=0.37, help="seconds between due times")
    parser.add_argument("--accounts", type=int, default=20_000, help="embedded demo accounts")
    parser.add_argument("--external", action="store_true", help="workers run elsewhere")
    args = parser.parse_args()
    if args.external:
        db = runtime.database()
        worker = None
    else:
        db = _embedded(args.accounts)
        broker = broker_mod.make_broker(runtime.settings())
        actors_mod.use(broker)
        worker = broker_mod.start_in_process_worker(broker, runtime.settings().worker_threads)
    try:
        results: dict[str, object] = {"idle": _phase(db, args.runs, args.every, "idle")}
        stop = threading.Event()
        loads: list[int] = []
        loader = threading.Thread(target=_load, args=(JobService(db), stop, loads), daemon=True)
        loader.start()
        time.sleep(1.0)
        results["loaded"] = _phase(db, args.runs, args.every, "loaded")
        stop.set()
        loader.join()
        results["load_jobs"] = len(loads)
    finally:
        if worker is not None:
            worker.stop()
    print(json.dumps({"database": db.url.get_backend_name(), **results}, indent=2))


if __name__ == "__main__":
    main()
