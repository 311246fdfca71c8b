"""Settings read from environment variables, with embedded defaults that need no service."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _var_dir() -> Path:
    return Path(os.environ.get("BULKDESK_VAR_DIR", Path.cwd() / "var"))


@dataclass(frozen=True)
class Settings:
    """Everything configurable about a Bulkdesk process.

    Parameters:
      database_url: SQLAlchemy URL; default a SQLite file under ``var/``.
      broker_url: ``redis://…`` or ``amqp://…`` for a real broker; empty for dramatiq's
        in-process broker with worker threads inside this process.
      chunk_size: items carried by one dramatiq message.
      lease_seconds: how long a worker's claim on a chunk lasts without a heartbeat.
      worker_threads: threads of the in-process worker.
      chunk_pause: seconds a worker waits after claiming a chunk (slows demos down so
        progress can be watched; 0 in production).
    """

    database_url: str
    broker_url: str = ""
    chunk_size: int = 1000
    lease_seconds: float = 30.0
    worker_threads: int = 4
    chunk_pause: float = 0.0

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        default_db = f"sqlite:///{_var_dir() / 'bulkdesk.db'}"
        return cls(
            database_url=env.get("BULKDESK_DATABASE_URL") or default_db,
            broker_url=env.get("BULKDESK_BROKER_URL", ""),
            chunk_size=int(env.get("BULKDESK_CHUNK_SIZE", "1000")),
            lease_seconds=float(env.get("BULKDESK_LEASE_SECONDS", "30")),
            worker_threads=int(env.get("BULKDESK_WORKER_THREADS", "4")),
            chunk_pause=float(env.get("BULKDESK_CHUNK_PAUSE", "0")),
        )

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url or self.broker_url.startswith("stub")
