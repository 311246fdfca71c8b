"""Which runs a worker should be sent now: the database says, the broker only wakes.

A run that is not over always has either a live claim by the worker working it
(``definition_runs.lease_owner`` / ``lease_until``, renewed by a heartbeat) or a time at which
a worker should be sent it (``wake_at``):

- just fired: ``wake_at`` a little later (its message was sent; this is the safety net);
- waiting for a prerequisite, a bulk-action step's job or a delivery step's deliveries:
  ``wake_at`` is its next look (a job's end brings it forward, see ``jobs.definitions.runner``);
- its worker died mid-step: the claim runs out (``lease_until`` passes).

Every worker's reaper calls :func:`claim_due` about once a second (``jobs.engine.recovery``);
each run is claimed by moving its ``wake_at`` forward in one guarded ``UPDATE … RETURNING``,
so of many reapers only one sends it, and a lost message is sent again ``RESEND_SECONDS``
later. Duplicate messages are harmless: the run actor claims the run before working it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select, update

from jobs.models import DefinitionRun

#: A run's message that no worker took within this long counts as lost.
RESEND_SECONDS = 30.0


def claim_due(conn: Connection, now: dt.datetime, *, at_boot: bool = False) -> list[int]:
    """The runs (job ids) to send a worker now, each claimed for ``RESEND_SECONDS``.

    ``at_boot``: every run not held by a worker, whenever its look was due (a message in
    the queue of an in-process broker ended with its process)."""
    later = now + dt.timedelta(seconds=RESEND_SECONDS)
    lost = list(
        conn.scalars(
            update(DefinitionRun)
            .where(DefinitionRun.lease_until < now)
            .values(lease_owner=None, lease_until=None, wake_at=later)
            .returning(DefinitionRun.job_id)
        )
    )
    due = list(
        conn.scalars(
            update(DefinitionRun)
            .where(DefinitionRun.wake_at.is_not(None) if at_boot else DefinitionRun.wake_at <= now)
            .values(wake_at=later)
            .returning(DefinitionRun.job_id)
        )
    )
    return sorted(set(lost + due))


def any_due(conn: Connection, now: dt.datetime) -> bool:
    """A cheap read: is there anything for :func:`claim_due`?"""
    for column in (DefinitionRun.wake_at, DefinitionRun.lease_until):
        if conn.scalar(select(DefinitionRun.job_id).where(column <= now).limit(1)) is not None:
            return True
    return False


def wake_now(conn: Connection, job_ids: list[int], now: dt.datetime) -> None:
    """Bring the next look at these runs forward to now (for a reaper to send them)."""
    if job_ids:
        conn.execute(
            update(DefinitionRun)
            .where(DefinitionRun.job_id.in_(job_ids), DefinitionRun.wake_at.is_not(None))
            .values(wake_at=now)
        )
