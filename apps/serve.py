"""Server set-up, run once per ``panel serve`` process (``--setup apps/serve.py``).

Brings the schema up to date, keeps SQLite's planner statistics fresh (so the Monitor's
first page stays an index walk as the jobs table grows) and, on the embedded broker, starts
the in-process dramatiq worker threads that every session's jobs run on.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import sys

from jobs import runtime
from jobs.db import Database, upgrade

log = logging.getLogger("bulkdesk.serve")


def optimize_statistics(db: Database | None = None) -> None:
    """``PRAGMA optimize``: re-analyse tables that grew a lot since their last statistics.

    Without statistics SQLite may read the jobs list through the ``deleted_at`` index and
    sort every job for one page (~0.5 s at 100,000 jobs) instead of walking the
    submitted-order index (~15 ms). Cheap when nothing changed; a no-op on PostgreSQL.
    """
    db = db or runtime.database()
    if db.is_sqlite:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA optimize=0x10002")


def _hourly_optimize() -> None:
    """The hourly ``PRAGMA optimize``; a database busy with a job's chunk just now is left
    for the next hour (a line in the log, not a traceback)."""
    from sqlalchemy.exc import OperationalError

    try:
        optimize_statistics()
    except OperationalError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        log.warning("Bulkdesk: planner statistics not refreshed this hour (%s)", reason)


def setup() -> None:
    import panel as pn

    settings = runtime.settings()
    upgrade(settings.database_url)
    optimize_statistics()
    # Hourly from an hour from now: the statistics were just refreshed above (Panel runs a
    # task with no start time at once, as the worker threads start writing).
    pn.state.schedule_task(
        "bulkdesk-optimize-statistics",
        _hourly_optimize,
        at=dt.datetime.now() + dt.timedelta(hours=1),
        period="1h",
    )
    import jobs.worker.actors  # noqa: F401  (declares the actors on the configured broker)
    from jobs.worker import broker

    if settings.embedded_broker:
        worker = broker.shared_in_process_worker(broker.current(), settings.worker_threads)
        atexit.register(worker.stop)
        log.info(
            "Bulkdesk: %d in-process worker threads on %s",
            settings.worker_threads,
            runtime.database(),
        )
    else:
        log.info("Bulkdesk: jobs go to %s; run `bulkdesk worker` to work them", settings.broker_url)


def _setup_or_exit() -> None:
    """Bad settings or an unreachable database stop the server with one line, at once."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from jobs.errors import ConfigError

    try:
        setup()
    except ConfigError as error:
        sys.exit(f"Bulkdesk cannot start: {error}")
    except (OperationalError, InterfaceError) as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        sys.exit(f"Bulkdesk cannot start: cannot use {runtime.database()}: {reason}")


if __name__ != "apps.serve":  # run by `panel serve --setup`, not when imported
    _setup_or_exit()
