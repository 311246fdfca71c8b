"""A worker's claim on a run: taken before it works the run, kept alive by a heartbeat while
a step runs, given back with the time of the run's next look (``wake_at``).

The claim is ``definition_runs.lease_owner`` / ``lease_until``: a second message for the same
run finds it held and does nothing; a worker that died leaves it to run out, and a reaper
sends the run again (``jobs.scheduler.wakeups``). A worker that stalled past its claim finds
another holding it when it writes a step's outcome (:func:`still_held`) and lets go.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator

from sqlalchemy import Connection, or_, select, update

from jobs.db import Database
from jobs.models import DefinitionRun, utcnow

log = logging.getLogger(__name__)


class LostClaim(Exception):
    """Another worker took the run over (this one stalled past its claim): let go."""


def claim(db: Database, job_id: int, owner: str, lease_seconds: float) -> bool:
    """Take the run for ``owner`` unless another live worker holds it."""
    now = utcnow()
    with db.write_conn() as conn:
        return (
            conn.execute(
                update(DefinitionRun)
                .where(
                    DefinitionRun.job_id == job_id,
                    or_(
                        DefinitionRun.lease_owner.is_(None),
                        DefinitionRun.lease_owner == owner,
                        DefinitionRun.lease_until < now,
                    ),
                )
                .values(
                    lease_owner=owner,
                    lease_until=now + dt.timedelta(seconds=lease_seconds),
                    wake_at=None,
                )
            ).rowcount
            == 1
        )


def release(db: Database, job_id: int, owner: str, wake_in: float | None) -> None:
    """Give the run back, to be sent again in ``wake_in`` seconds (None: not by a wake-up)."""
    wake_at = utcnow() + dt.timedelta(seconds=wake_in) if wake_in is not None else None
    with db.write_conn() as conn:
        conn.execute(
            update(DefinitionRun)
            .where(DefinitionRun.job_id == job_id, DefinitionRun.lease_owner == owner)
            .values(lease_owner=None, lease_until=None, wake_at=wake_at)
        )


@contextlib.contextmanager
def heartbeat(db: Database, job_id: int, owner: str, lease_seconds: float) -> Iterator[None]:
    """Keep the claim alive while a step runs (a report may take minutes)."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(max(lease_seconds / 3, 0.2)):
            try:
                with db.write_conn() as conn:
                    conn.execute(
                        update(DefinitionRun)
                        .where(DefinitionRun.job_id == job_id, DefinitionRun.lease_owner == owner)
                        .values(lease_until=utcnow() + dt.timedelta(seconds=lease_seconds))
                    )
            except Exception:  # a missed beat is survivable; the next one retries
                log.warning("run %s: heartbeat failed", job_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"bulkdesk-run-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def still_held(conn: Connection, job_id: int, owner: str) -> None:
    """In the caller's write transaction: go on only while ``owner`` holds the run.

    Raises:
      LostClaim: another worker holds it (or its end cleared the claim).
    """
    held = conn.scalar(
        select(DefinitionRun.lease_owner).where(DefinitionRun.job_id == job_id).with_for_update()
    )
    if held != owner:
        raise LostClaim(job_id)
