"""Settings read from environment variables, with embedded defaults that need no service.

Every value is checked where it is read: a bad one stops the process at start with one line
naming the variable, what it holds and what is expected (:class:`ConfigError`), instead of
reaching a worker and failing other people's jobs later.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from jobs.errors import ConfigError
from jobs.smtp_url import parse_smtp_url

#: Broker URL schemes dramatiq can use here; empty (or ``stub://``) is the in-process broker.
BROKER_SCHEMES = ("redis", "rediss", "unix", "amqp", "amqps", "stub")
#: Databases Bulkdesk runs on.
DATABASE_BACKENDS = ("sqlite", "postgresql")


def _var_dir() -> Path:
    return Path(os.environ.get("BULKDESK_VAR_DIR", Path.cwd() / "var"))


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a Bulkdesk process.

    Parameters:
      database_url: SQLAlchemy URL; default a SQLite file under ``var/``.
      broker_url: ``redis://…`` or ``amqp://…`` for a real broker; empty for dramatiq's
        in-process broker with worker threads inside this process.
      chunk_size: items carried by one dramatiq message (worked in one transaction).
        25,000 by measurement: at 1,000,000 accounts on SQLite a job reached 0.40× the raw
        statement's speed with 25,000, 0.36× with 10,000 and 0.17× with 1,000 (per-chunk
        claim, commit and message costs), while a small job behind a big one waits for at
        most ``chunks_in_flight`` of its chunks (``benchmarks/README.md``).
      lease_seconds: how long a worker's claim on a chunk lasts without a heartbeat; a
        worker that dies mid-chunk costs about this long.
      worker_threads: threads of the in-process worker.
      chunk_pause: seconds a worker waits after claiming a chunk (slows demos down so
        progress can be watched; 0 in production).
      chunks_in_flight: how many chunks of one job may wait in the broker's queue (or run)
        at a time; the rest wait in the database, so the queue interleaves running jobs.
      smtp_url: ``smtp://[user:password@]host:port`` (``?starttls=1`` for STARTTLS) where
        emails go; empty: each email is written as an ``.eml`` file under ``outbox_dir``.
      mail_from: the From address of Bulkdesk's emails.
      dashboard_url: the dashboard's address, for links in emails (``…/app``).
      outbox_dir: where emails are written when no SMTP server is configured.
      delivery_attempts: how often an outside effect (an email) is tried before it counts as
        failed and is shown on its job.
      timezone: the IANA time zone (``BULKDESK_TIMEZONE``, default ``UTC``) a new job
        definition's schedule and business day are read in when it names none
        (``jobs.scheduler.schedules``).

    Raises:
      ConfigError: for a value out of range, naming the variable.
    """

    database_url: str
    broker_url: str = ""
    chunk_size: int = 25_000
    lease_seconds: float = 10.0
    worker_threads: int = 4
    chunk_pause: float = 0.0
    chunks_in_flight: int = 16
    smtp_url: str = ""
    mail_from: str = "bulkdesk@localhost"
    dashboard_url: str = "http://localhost:5006/app"
    outbox_dir: str = ""
    delivery_attempts: int = 4
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        _check_range("BULKDESK_CHUNK_SIZE", self.chunk_size, 1, 100_000)
        _check_range("BULKDESK_LEASE_SECONDS", self.lease_seconds, 1, 3600)
        _check_range("BULKDESK_WORKER_THREADS", self.worker_threads, 1, 256)
        _check_range("BULKDESK_CHUNK_PAUSE", self.chunk_pause, 0, 600)
        _check_range("BULKDESK_CHUNKS_IN_FLIGHT", self.chunks_in_flight, 1, 10_000)
        _check_range("BULKDESK_DELIVERY_ATTEMPTS", self.delivery_attempts, 1, 100)
        if not self.outbox_dir:
            object.__setattr__(self, "outbox_dir", str(_var_dir() / "outbox"))
        object.__setattr__(self, "database_url", _check_database_url(self.database_url))
        _check_broker_url(self.broker_url)
        if self.smtp_url:
            parse_smtp_url(self.smtp_url)
        _check_timezone(self.timezone)

    @classmethod
    def from_env(cls) -> Settings:
        """The settings of this process, from ``BULKDESK_*`` environment variables.

        Raises:
          ConfigError: for a value that is not a number, out of range, or an unusable URL.
        """
        env = os.environ
        default_db = f"sqlite:///{_var_dir() / 'bulkdesk.db'}"
        return cls(
            database_url=env.get("BULKDESK_DATABASE_URL") or default_db,
            broker_url=env.get("BULKDESK_BROKER_URL", "").strip(),
            chunk_size=_number(env, "BULKDESK_CHUNK_SIZE", int, 25_000),
            lease_seconds=_number(env, "BULKDESK_LEASE_SECONDS", float, 10.0),
            worker_threads=_number(env, "BULKDESK_WORKER_THREADS", int, 4),
            chunk_pause=_number(env, "BULKDESK_CHUNK_PAUSE", float, 0.0),
            chunks_in_flight=_number(env, "BULKDESK_CHUNKS_IN_FLIGHT", int, 16),
            smtp_url=env.get("BULKDESK_SMTP_URL", "").strip(),
            mail_from=env.get("BULKDESK_MAIL_FROM", "").strip() or "bulkdesk@localhost",
            dashboard_url=env.get("BULKDESK_DASHBOARD_URL", "").strip()
            or "http://localhost:5006/app",
            outbox_dir=env.get("BULKDESK_OUTBOX_DIR", "").strip(),
            delivery_attempts=_number(env, "BULKDESK_DELIVERY_ATTEMPTS", int, 4),
            timezone=env.get("BULKDESK_TIMEZONE", "").strip() or "UTC",
        )

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url or self.broker_url.startswith("stub")


def _number(env: os._Environ[str], name: str, kind: type, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name}={raw!r} is not {what}") from None


def _check_range(name: str, value: float, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{name}={value!r} is out of range; expected {low} to {high:,}")


def _check_database_url(url: str) -> str:
    """The URL, with ``postgresql://`` read as ``postgresql+psycopg://`` (the installed driver).

    Raises:
      ConfigError: for text that is no URL, or a database other than SQLite or PostgreSQL.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"BULKDESK_DATABASE_URL {url!r} is not a database URL ({exc}); expected "
            "sqlite:///path/to/file.db or postgresql+psycopg://user:password@host/database"
        ) from None
    if parsed.get_backend_name() not in DATABASE_BACKENDS:
        raise ConfigError(
            f"BULKDESK_DATABASE_URL {parsed.render_as_string(hide_password=True)!r} is a "
            f"{parsed.get_backend_name()} URL; Bulkdesk runs on SQLite or PostgreSQL"
        )
    if parsed.drivername in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return url


def _check_timezone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"BULKDESK_TIMEZONE={name!r} is not an IANA time zone; expected a name such as "
            "UTC, Europe/London or America/New_York"
        ) from None


def _check_broker_url(url: str) -> None:
    if not url:
        return
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            f"BULKDESK_BROKER_URL {url!r} is not a broker URL Bulkdesk can use; expected "
            "redis://host:6379/0, amqp://user:password@host:5672/%2F, or empty for the "
            "in-process broker"
        )
