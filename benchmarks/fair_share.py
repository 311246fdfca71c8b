"""Fair share: a small job submitted while a big one runs, on the embedded default.

Runs the big job (every account) alone, then again with a 40-account job submitted a couple
of seconds in, and reports the small job's submit → end latency and the big job's throughput
both times. SQLite file + in-process broker with worker threads, default settings.

    .venv/bin/python benchmarks/fair_share.py --accounts 1000000
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from pathlib import Path

from sqlalchemy import select

from jobs import runtime
from jobs.config import Settings
from jobs.db import Database, upgrade
from jobs.models import Account, Group, GroupMember
from jobs.seed import seed
from jobs.service import JobService
from jobs.worker import actors as actors_mod
from jobs.worker import broker as broker_mod

RESULTS = Path(__file__).parent / "results"
CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Benchmark"}


def _database(accounts: int) -> Path:
    cached = RESULTS / f"fair_share_{accounts}.db"
    if not cached.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        upgrade(f"sqlite:///{cached}")
        db = Database(f"sqlite:///{cached}")
        seed(db, accounts=accounts)
        with db.write() as s:  # a 40-account static group for the small job
            group = Group(name="Forty accounts", kind="static")
            s.add(group)
            s.flush()
            ids = s.scalars(select(Account.id).order_by(Account.id).limit(40)).all()
            s.add_all(GroupMember(group_id=group.id, account_id=a) for a in ids)
        db.dispose()
    return cached


def _wait(service: JobService, job_id: int, timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        summary = service.job("admin", job_id).summary
        if summary.status.is_final:
            return summary
        time.sleep(0.02)
    raise SystemExit(f"job {job_id} did not finish within {timeout} s")


def run(accounts: int, runs: int) -> dict[str, object]:
    source = _database(accounts)
    alone, shared, small = [], [], []
    for n in range(runs):
        for with_small in (False, True):
            work = RESULTS / "fair_share_run.db"
            shutil.copy(source, work)
            url = f"sqlite:///{work}"
            db = Database(url)
            runtime.configure(Settings(database_url=url), db=db)
            broker = broker_mod.make_broker(runtime.settings())
            actors_mod.use(broker)
            worker = broker_mod.start_in_process_worker(broker, runtime.settings().worker_threads)
            service = JobService(db)
            try:
                big = service.submit_bulk_interaction(
                    "admin", description="Big", account_filter={"min_balance": 0}, **CALL
                )
                if with_small:
                    while service.job("admin", big.id).summary.processed < accounts // 10:
                        time.sleep(0.01)
                    t = time.monotonic()
                    little = service.submit_bulk_interaction(
                        "admin", description="Small", group="Forty accounts", **CALL
                    )
                    _wait(service, little.id, 600)
                    small.append(time.monotonic() - t)
                done = _wait(service, big.id, 3600)
            finally:
                worker.stop()
                broker.close()
                db.dispose()
            rate = done.total / (done.ended_at - done.started_at).total_seconds()
            (shared if with_small else alone).append(rate)
            print(
                f"run {n + 1}: big job {rate:,.0f} items/s"
                + (f", small job done {small[-1]:.2f} s after submit" if with_small else "")
            )
    figures = {
        "accounts": accounts,
        "runs": runs,
        "big_alone_items_per_s": statistics.median(alone),
        "big_with_small_items_per_s": statistics.median(shared),
        "small_latency_s_median": statistics.median(small),
        "small_latency_s_worst": max(small),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    figures = run(args.accounts, args.runs)
    print(json.dumps(figures, indent=2))
    (RESULTS / "fair_share.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
