"""Shared fixtures: databases built by migrations, seeded data, brokers and workers.

A test that needs PostgreSQL, Redis or RabbitMQ runs against the real service. Where the
service is not running it is skipped with the reason; under CI (``CI=true``) it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from jobs import runtime
from jobs.config import Settings
from jobs.db import Database, upgrade
from jobs.seed import seed
from jobs.service import JobService

PG_ADMIN_URL = os.environ.get(
    "BULKDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BULKDESK_TEST_REDIS", "redis://127.0.0.1:6379/15")
AMQP_URL = os.environ.get("BULKDESK_TEST_AMQP", "amqp://guest:guest@127.0.0.1:5672/%2F")
TEST_ACCOUNTS = 3000
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_service(name: str, host: str, port: int) -> None:
    """Skip (or, in CI, fail) unless something listens at host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc})"
    if IN_CI:
        pytest.fail(f"{reason}; CI must run every service test")
    pytest.skip(f"{reason}; start it to run this test")


def require_postgres() -> None:
    require_service("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    require_service("Redis", "127.0.0.1", 6379)


def require_rabbitmq() -> None:
    require_service("RabbitMQ", "127.0.0.1", 5672)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded SQLite file built once by the migrations; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "bulkdesk.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    db = Database(url)
    seed(db, accounts=TEST_ACCOUNTS)
    db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for this test session, built by the migrations and seeded."""
    require_postgres()
    name = f"bulkdesk_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    db = Database(url)
    seed(db, accounts=TEST_ACCOUNTS)
    db.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_JOB_TABLES = (
    "run_steps",
    "definition_runs",
    "audit_events",
    "deliveries",
    "interactions",
    # A job's own rows (no foreign key to jobs since migration 0024: TRUNCATE … CASCADE of
    # jobs does not reach them).
    "import_matches",
    "import_rows",
    "import_tasks",
    "job_items",
    "job_chunks",
    "jobs",
    # Job definitions (none in the seeded templates): a test's leftovers must not fire, or
    # block the one campaign / file-in definition, in the next test.
    "definition_changes",
    "definition_dependencies",
    "definition_steps",
    "definitions",
    "campaigns",
    "scheduler_leases",
)


def _clear_jobs(db: Database) -> None:
    with db.engine.begin() as conn:
        if db.is_sqlite:
            for table in _JOB_TABLES:
                conn.execute(text(f"DELETE FROM {table}"))
        else:
            conn.execute(text(f"TRUNCATE {', '.join(_JOB_TABLES)} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The seeded demo database, on SQLite and on PostgreSQL, with no jobs yet."""
    if request.param == "sqlite":
        path = tmp_path / "bulkdesk.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    if request.param == "postgresql":
        _clear_jobs(database)
    runtime.configure(Settings(database_url=url, chunk_size=250, lease_seconds=5), db=database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """The seeded demo database on SQLite only (for UI and notebook tests)."""
    path = tmp_path / "bulkdesk.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    database = Database(url)
    runtime.configure(Settings(database_url=url, chunk_size=250, lease_seconds=5), db=database)
    yield database
    database.dispose()


@pytest.fixture
def service(db: Database) -> JobService:
    return JobService(db)


@pytest.fixture
def stub_broker():
    """dramatiq's in-process broker, with Bulkdesk's middleware and actors bound to it."""
    from jobs.worker import actors as actors_mod
    from jobs.worker import broker as broker_mod

    broker = broker_mod.make_broker(runtime.settings())
    actors_mod.use(broker)
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def stub_worker(stub_broker):
    """In-process worker threads working the stub broker's queue."""
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    yield worker
    worker.stop()


@pytest.fixture
def pg_db(postgres_url: str) -> Iterator[Database]:
    """The seeded PostgreSQL database with no jobs, for tests with real worker processes."""
    database = Database(postgres_url)
    _clear_jobs(database)
    yield database
    database.dispose()


@pytest.fixture
def restore_statuses(db: Database) -> Iterator[None]:
    """Put every account's status back after a test that changes statuses (the PostgreSQL
    database is shared by the session's tests)."""
    from sqlalchemy import bindparam, update

    from jobs.models import Account

    with db.read() as s:
        before = [{"i": i, "s": st} for i, st in s.execute(text("SELECT id, status FROM accounts"))]
    yield
    with db.write_conn() as conn:
        table = Account.__table__
        conn.execute(
            update(table).where(table.c.id == bindparam("i")).values(status=bindparam("s")),
            before,
        )
