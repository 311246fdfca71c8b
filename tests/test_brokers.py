"""Jobs on real brokers (Redis, RabbitMQ) with real `dramatiq` worker processes on PostgreSQL.

Includes the crash drill: a worker killed with SIGKILL mid-job while another runs; the job
still ends with every account processed exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jobs import runtime
from jobs.config import Settings
from jobs.db import Database
from jobs.models import Interaction, ItemOutcome, JobItem
from jobs.service import JobService
from jobs.status import JobStatus
from jobs.worker import actors as actors_mod
from jobs.worker import broker as broker_mod
from tests.conftest import AMQP_URL, REDIS_URL, require_rabbitmq, require_redis
from tests.helpers import wait_for

pytestmark = pytest.mark.slow

CALL = {"interaction_type": "Call", "outcome": "No answer", "note": "Tried twice"}

pytest_plugins = ["tests.smtp_server"]


class Workers:
    """`dramatiq jobs.worker.actors` worker processes, each in its own process group."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, threads: int = 2) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"worker-{len(self.procs)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dramatiq",
                "jobs.worker.actors",
                "--processes",
                "1",
                "--threads",
                str(threads),
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=Path(__file__).parents[1],
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """SIGKILL the worker's whole process group, as a machine crash would (or SIGTERM it,
        as an operator stopping it cleanly would)."""
        os.killpg(proc.pid, sig)
        proc.wait(60)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    def log_text(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("worker-*.log"))
        )


def _real_broker(pg_db: Database, url: str, tmp_path: Path, **settings) -> Iterator[Workers]:
    config = Settings(
        database_url=pg_db.url.render_as_string(hide_password=False),
        broker_url=url,
        **{"lease_seconds": 5, **settings},
    )
    runtime.configure(config, db=pg_db)
    broker = broker_mod.make_broker(config)
    actors_mod.use(broker)
    broker.flush_all()
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": config.database_url,
        "BULKDESK_BROKER_URL": url,
        "BULKDESK_LEASE_SECONDS": str(config.lease_seconds),
        "BULKDESK_CHUNK_SIZE": str(config.chunk_size),
        "BULKDESK_CHUNK_PAUSE": str(config.chunk_pause),
        "BULKDESK_SMTP_URL": config.smtp_url,
    }
    workers = Workers(env, tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()
        broker.flush_all()
        broker.close()


@pytest.fixture
def redis_workers(pg_db: Database, tmp_path: Path, request: pytest.FixtureRequest):
    require_redis()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    params = getattr(request, "param", {})
    yield from _real_broker(pg_db, REDIS_URL, tmp_path, **params)


@pytest.fixture
def redis_workers_with_mail(pg_db: Database, tmp_path: Path, smtp_server):
    """Redis workers whose emails go to a real SMTP server on loopback."""
    require_redis()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    yield from _real_broker(
        pg_db, REDIS_URL, tmp_path, chunk_size=100, chunk_pause=0.3, smtp_url=smtp_server.url
    )


@pytest.fixture
def rabbitmq_workers(pg_db: Database, tmp_path: Path):
    require_rabbitmq()
    yield from _real_broker(pg_db, AMQP_URL, tmp_path, chunk_size=200)


def _assert_each_account_once(db: Database, job_id: int) -> None:
    with db.read() as s:
        ok_accounts = set(
            s.scalars(
                select(JobItem.account_id).where(
                    JobItem.job_id == job_id, JobItem.outcome == ItemOutcome.OK
                )
            )
        )
        counts = dict(
            s.execute(
                select(Interaction.account_id, func.count())
                .where(Interaction.job_id == job_id)
                .group_by(Interaction.account_id)
            ).all()
        )
    assert counts == {a: 1 for a in ok_accounts}


def _run_a_job_to_the_end(db: Database, workers: Workers) -> None:
    workers.start()
    service = JobService(db)
    job = service.submit_bulk_interaction(
        "alice", description="On a real broker", account_filter={"min_balance": 0}, **CALL
    )
    try:
        done = wait_for(service, "alice", job.id, timeout=90)
    except AssertionError:
        raise AssertionError(workers.log_text()) from None
    assert done.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS)
    assert done.processed == done.total > 0
    _assert_each_account_once(db, job.id)


@pytest.mark.parametrize("redis_workers", [{"chunk_size": 200}], indirect=True)
def test_a_job_runs_on_redis_with_real_worker_processes(pg_db, redis_workers):
    _run_a_job_to_the_end(pg_db, redis_workers)


def test_a_job_runs_on_rabbitmq_with_real_worker_processes(pg_db, rabbitmq_workers):
    _run_a_job_to_the_end(pg_db, rabbitmq_workers)


@pytest.mark.parametrize("redis_workers", [{"chunk_size": 200}], indirect=True)
def test_change_status_runs_on_redis_with_real_worker_processes(pg_db, redis_workers):
    # Given two worker processes on Redis, and the statuses of every account now
    from sqlalchemy import bindparam, update

    from jobs.models import Account

    with pg_db.read() as s:
        before = dict(s.execute(select(Account.id, Account.status)).all())
        locked = set(s.scalars(select(Account.id).where(Account.locked)))
    redis_workers.start()
    redis_workers.start()
    service = JobService(pg_db)
    try:
        # When alice puts every open account on hold
        job = service.submit_to_accounts(
            "alice",
            "change_status",
            description="Open to on hold on Redis",
            account_filter={"status": "Open"},
            to="On hold",
        )
        try:
            done = wait_for(service, "alice", job.id, timeout=90)
        except AssertionError:
            raise AssertionError(redis_workers.log_text()) from None
        # Then exactly the unlocked open accounts changed, each once, with before and after
        with pg_db.read() as s:
            after = dict(s.execute(select(Account.id, Account.status)).all())
            payloads = dict(
                s.execute(
                    select(JobItem.account_id, JobItem.payload).where(
                        JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.OK
                    )
                ).all()
            )
        expected = {i for i, st in before.items() if st == "Open" and i not in locked}
        assert {i for i in after if after[i] != before[i]} == expected == set(payloads)
        assert all(p == {"before": "Open", "after": "On hold"} for p in payloads.values())
        assert (done.status, done.ok, done.not_processed) == (
            JobStatus.COMPLETED_WITH_EXCEPTIONS,
            len(expected),
            0,
        )
        assert done.exceptions == done.total - len(expected) > 0  # the locked open accounts
    finally:
        with pg_db.write_conn() as conn:
            table = Account.__table__
            conn.execute(
                update(table).where(table.c.id == bindparam("i")).values(status=bindparam("s")),
                [{"i": i, "s": st} for i, st in before.items()],
            )


@pytest.mark.parametrize("redis_workers", [{"chunk_size": 100, "chunk_pause": 0.3}], indirect=True)
def test_a_worker_killed_mid_job_leaves_every_account_processed_exactly_once(pg_db, redis_workers):
    # Given two worker processes on Redis working one job
    doomed = redis_workers.start()
    redis_workers.start()
    service = JobService(pg_db)
    job = service.submit_bulk_interaction(
        "bob", description="Crash drill", account_filter={"min_balance": 0}, **CALL
    )
    wait_for(service, "bob", job.id, until=lambda s: s.processed >= 300, timeout=60)
    # When one of them is killed with SIGKILL mid-job
    redis_workers.kill(doomed)
    killed_at = time.monotonic()
    mid = service.job("bob", job.id).summary
    assert mid.status is JobStatus.IN_PROGRESS and mid.processed < mid.total
    # Then the other finishes the job (the reaper hands back the dead worker's chunks)
    try:
        done = wait_for(service, "bob", job.id, timeout=120)
    except AssertionError:
        raise AssertionError(redis_workers.log_text()) from None
    recovered_in = time.monotonic() - killed_at
    assert done.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS)
    assert (done.ok + done.exceptions, done.not_processed) == (done.total, 0)
    _assert_each_account_once(pg_db, job.id)
    print(f"job finished {recovered_in:.1f} s after the kill")


@pytest.fixture(params=["redis", "rabbitmq"])
def default_workers(pg_db: Database, tmp_path: Path, request: pytest.FixtureRequest):
    """Worker processes on Redis or RabbitMQ with the product's default lease and window;
    only the chunks are small and slow, so that a job lasts long enough to be interrupted."""
    slow = {"chunk_size": 50, "chunk_pause": 0.5, "lease_seconds": Settings.lease_seconds}
    if request.param == "redis":
        require_redis()
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
        yield from _real_broker(pg_db, REDIS_URL, tmp_path, **slow)
    else:
        require_rabbitmq()
        yield from _real_broker(pg_db, AMQP_URL, tmp_path, **slow)


@pytest.mark.parametrize("how", ["killed", "stopped"])
def test_a_worker_lost_mid_job_costs_seconds_with_default_settings(pg_db, default_workers, how):
    # Given two worker processes working one job
    doomed = default_workers.start()
    default_workers.start()
    service = JobService(pg_db)
    job = service.submit_bulk_interaction(
        "bob", description=f"Worker {how}", account_filter={"min_balance": 0}, **CALL
    )
    wait_for(service, "bob", job.id, until=lambda s: s.processed >= 200, timeout=60)
    # When one of them is killed with SIGKILL (a crash) or stopped with SIGTERM (an operator)
    default_workers.kill(doomed, signal.SIGKILL if how == "killed" else signal.SIGTERM)
    lost_at = time.monotonic()
    # Then the other finishes the job within seconds: a lease (10 s) and a sweep, not the
    # minute of waiting for the broker to give up on the dead worker
    try:
        done = wait_for(service, "bob", job.id, timeout=120)
    except AssertionError:
        raise AssertionError(default_workers.log_text()) from None
    finished_in = time.monotonic() - lost_at
    assert (done.ok + done.exceptions, done.not_processed) == (done.total, 0)
    _assert_each_account_once(pg_db, job.id)
    print(f"job finished {finished_in:.1f} s after the worker was {how}")
    assert finished_in <= 30, default_workers.log_text()


def test_the_owner_of_a_job_whose_worker_was_killed_gets_one_completion_email(
    pg_db, redis_workers_with_mail, smtp_server
):
    # Given two workers on Redis, and alice, who wants an email for every job
    workers = redis_workers_with_mail
    doomed = workers.start()
    workers.start()
    service = JobService(pg_db)
    service.set_profile("alice", notify="all", email="alice@bulkdesk.example")
    job = service.submit_bulk_interaction(
        "alice", description="Killed worker, one email", account_filter={"min_balance": 0}, **CALL
    )
    wait_for(service, "alice", job.id, until=lambda s: s.processed >= 300, timeout=60)
    # When one worker is killed mid-job, and the other finishes it
    workers.kill(doomed)
    try:
        done = wait_for(service, "alice", job.id, timeout=120)
    except AssertionError:
        raise AssertionError(workers.log_text()) from None
    assert done.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS)
    # Then alice gets exactly one email, saying how the job ended
    (mail,) = smtp_server.wait_for(1, timeout=30)
    assert mail["To"] == "alice@bulkdesk.example"
    assert f"Bulkdesk job {job.id}" in mail["Subject"] and done.status.label in mail["Subject"]
    time.sleep(3)  # a duplicate would come from a redelivered or re-sent delivery by now
    assert len(smtp_server.messages) == 1
