"""The process's settings and database, shared by the service, actors and middleware."""

from __future__ import annotations

import threading

from jobs.config import Settings
from jobs.db import Database

_lock = threading.Lock()
_settings: Settings | None = None
_database: Database | None = None


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = Settings.from_env()
        return _settings


def database() -> Database:
    """The process-wide Database for the configured URL (made on first use)."""
    global _database
    current = settings()
    with _lock:
        if _database is None:
            _database = Database(current.database_url)
        return _database


def configure(new_settings: Settings | None = None, db: Database | None = None) -> None:
    """Replace the process's settings and/or database (tests, notebooks, the CLI)."""
    global _settings, _database
    with _lock:
        if new_settings is not None:
            _settings = new_settings
            if (
                db is None
                and _database is not None
                and str(_database.url) != new_settings.database_url
            ):
                _database = None
        if db is not None:
            _database = db
