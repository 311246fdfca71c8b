"""The scheduler in real `dramatiq jobs.worker.actors` worker processes on Redis and
PostgreSQL: one active scheduler among them, due runs fired once and about on time, and a
killed active scheduler handed over to another process."""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update

from jobs.db import Database
from jobs.models import Definition, DefinitionRun, Job, utcnow
from jobs.scheduler import lease
from jobs.status import JobStatus
from tests.conftest import REDIS_URL, require_redis
from tests.scheduler_support import clear_all, make_definition
from tests.test_brokers import Workers, _real_broker

pytestmark = pytest.mark.slow


@pytest.fixture
def workers(pg_db: Database, tmp_path: Path) -> Iterator[Workers]:
    require_redis()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    clear_all(pg_db)
    yield from _real_broker(pg_db, REDIS_URL, tmp_path)
    clear_all(pg_db)


def _due_in(db: Database, definition_id: int, seconds: float) -> dt.datetime:
    """Make the definition due ``seconds`` from now (wall clock: the workers' clock)."""
    due = utcnow() + dt.timedelta(seconds=seconds)
    with db.write_conn() as conn:
        conn.execute(
            update(Definition).where(Definition.id == definition_id).values(next_due_at=due)
        )
    return due


def _runs(db: Database, definition_ids: list[int]) -> list:
    with db.read() as s:
        return list(
            s.execute(
                select(
                    DefinitionRun.definition_id,
                    DefinitionRun.due_at,
                    DefinitionRun.late,
                    Job.status,
                    Job.started_at,
                )
                .join(Job, Job.id == DefinitionRun.job_id)
                .where(DefinitionRun.definition_id.in_(definition_ids))
                .order_by(DefinitionRun.due_at)
            )
        )


def _wait(predicate, timeout: float, workers: Workers, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} after {timeout} s\n{workers.log_text()}")


def _active_process(db: Database, workers: Workers):  # type: ignore[no-untyped-def]
    """The worker process (its group) whose scheduler holds the lease."""
    state = lease.state(db)
    assert state is not None and state.live()
    pid = int(state.holder.split(":")[1])
    (proc,) = [p for p in workers.procs if p.poll() is None and os.getpgid(pid) == p.pid]
    return proc


def test_two_worker_processes_fire_each_due_run_once_and_on_time(pg_db, workers):
    # Given two worker processes, each with its scheduler thread
    workers.start()
    workers.start()
    ids = [make_definition(pg_db, f"Proc {n}", steps=[], schedule="hourly") for n in range(6)]
    _wait(lambda: lease.state(pg_db), 30, workers, "no scheduler took the lease")
    # When six definitions come due a second apart
    due = {d: _due_in(pg_db, d, 2 + n) for n, d in enumerate(ids)}
    runs = _wait(
        lambda: (r := _runs(pg_db, ids)) and len(r) >= 6 and all(x.status == 2 for x in r) and r,
        60,
        workers,
        "the runs did not all end",
    )
    time.sleep(1.5)  # a second scheduler's duplicate would be there by now
    runs = _runs(pg_db, ids)
    # Then each fired exactly once, for its due time, on time, and ran
    assert sorted(r.definition_id for r in runs) == sorted(ids)
    assert {r.definition_id: r.due_at for r in runs} == due
    assert all(JobStatus(r.status) is JobStatus.COMPLETED and not r.late for r in runs)
    delays = [(r.started_at - r.due_at).total_seconds() for r in runs]
    assert all(0 <= d < 2.0 for d in delays), delays
    print(f"due → started: median {sorted(delays)[3]:.3f} s, worst {max(delays):.3f} s")


def test_killing_the_active_scheduler_hands_over_to_another_process(pg_db, workers):
    # Given two worker processes; one of them holds the scheduler lease
    workers.start()
    workers.start()
    d = make_definition(pg_db, "Handover", steps=[], schedule="hourly")
    _wait(lambda: lease.state(pg_db), 30, workers, "no scheduler took the lease")
    doomed = _active_process(pg_db, workers)
    before = lease.state(pg_db).holder
    # When it is killed (SIGKILL: no clean shutdown, the lease is left to expire)
    workers.kill(doomed, signal.SIGKILL)
    killed_at = utcnow()
    due = _due_in(pg_db, d, 1)
    # Then the other process takes the lease over and fires the run that came due meanwhile
    (run,) = _wait(lambda: _runs(pg_db, [d]), 30, workers, "no run fired after the kill")
    state = lease.state(pg_db)
    assert state.holder != before and state.acquired_at > killed_at
    assert run.due_at == due and not run.late
    _wait(
        lambda: JobStatus(_runs(pg_db, [d])[0].status) is JobStatus.COMPLETED,
        30,
        workers,
        "the run did not end",
    )
    took = (state.acquired_at - killed_at).total_seconds()
    assert took <= lease.TTL + 2, took
    print(f"lease taken over {took:.2f} s after the kill; run fired {run.due_at}")


def test_a_cleanly_stopped_scheduler_gives_the_lease_up_at_once(pg_db, workers):
    workers.start()
    workers.start()
    _wait(lambda: lease.state(pg_db), 30, workers, "no scheduler took the lease")
    doomed = _active_process(pg_db, workers)
    before = lease.state(pg_db).holder
    # SIGTERM to dramatiq's main process only, as an operator stops it: it asks its worker
    # process to shut down (a SIGTERM to the whole group would make it kill the worker)
    os.kill(doomed.pid, signal.SIGTERM)
    doomed.wait(60)
    stopped_at = utcnow()
    state = _wait(
        lambda: (s := lease.state(pg_db)) and s.holder != before and s.live() and s,
        10,
        workers,
        "the lease was not taken over",
    )
    assert (state.acquired_at - stopped_at).total_seconds() < 2


def test_a_run_waiting_for_its_child_job_survives_the_death_of_a_worker(pg_db, tmp_path, request):
    # Given two worker processes with slow chunks, and a definition: add an interaction to
    # every account, then email that it is done
    require_redis()
    import redis

    from tests.test_brokers import _assert_each_account_once

    redis.Redis.from_url(REDIS_URL).flushdb()
    clear_all(pg_db)
    gen = _real_broker(pg_db, REDIS_URL, tmp_path, chunk_size=100, chunk_pause=0.3)
    workers = next(gen)
    request.addfinalizer(lambda: (next(gen, None), clear_all(pg_db)))
    workers.env["BULKDESK_OUTBOX_DIR"] = str(tmp_path / "outbox")
    workers.env["BULKDESK_VAR_DIR"] = str(tmp_path / "var")
    doomed = workers.start()
    workers.start()
    d = make_definition(
        pg_db,
        "Call everyone, then say so",
        [
            {
                "name": "Call",
                "kind": "bulk_action",
                "settings": {
                    "action": "add_interaction",
                    "parameters": {"interaction_type": "Call", "outcome": "No answer"},
                    "filter": {"min_balance": 0},
                },
                "next_success": "Tell",
            },
            {
                "name": "Tell",
                "kind": "email",
                "settings": {"recipients": ["ops@example.com"], "attach": "none"},
            },
        ],
    )
    from jobs.scheduler import triggers
    from tests.scheduler_support import steps_of

    job_id = triggers.fire(pg_db, d, utcnow(), "manual")
    _wait(
        lambda: [o for _, o, _ in steps_of(pg_db, job_id)][:1] == ["waiting"],
        60,
        workers,
        "the bulk-action step did not start waiting",
    )
    # When one worker is killed while the run waits for its child job
    workers.kill(doomed)
    # Then the other finishes the child job, and the run goes on to its email and ends Ok
    _wait(
        lambda: JobStatus(_runs(pg_db, [d])[0].status).is_final,
        120,
        workers,
        "the run did not end",
    )
    assert JobStatus(_runs(pg_db, [d])[0].status) is JobStatus.COMPLETED, steps_of(pg_db, job_id)
    assert [(n, o) for n, o, _ in steps_of(pg_db, job_id)] == [("Call", "ok"), ("Tell", "ok")]
    with pg_db.read() as s:
        (child,) = s.scalars(select(Job.id).where(Job.parent_job_id == job_id)).all()
    _assert_each_account_once(pg_db, child)
    sent = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml")]
    assert sum("To: ops@example.com" in text for text in sent) == 1
