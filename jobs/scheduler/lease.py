"""The scheduler lease: one active scheduler among all processes on all machines.

One row of ``scheduler_leases`` names the process that fires due runs and until when. Every
worker process's scheduler thread calls :func:`hold` a few times a second:

- the holder renews its lease (a guarded ``UPDATE … WHERE holder = me``);
- another process takes it over only once it has expired (``WHERE until < now``): its
  holder died or lost the database for longer than the lease;
- when there is no row yet, the first ``INSERT … ON CONFLICT DO NOTHING`` wins.

Each is one statement whose ``WHERE`` the database checks under its row lock (PostgreSQL) or
write lock (SQLite), so two processes can never both hold it. Times are each process's wall
clock (``jobs.models.utcnow``), not ``jobs.clock``: a test that stops the scheduling clock
must not stop leases. Machines must agree on the time (NTP) to well within ``ttl``.

A holder that stalls past its lease (a long garbage collection, a frozen VM) may fire once
more after another took over; the runs' unique key (definition, due time) keeps that from
firing any due time twice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from jobs.db import Database
from jobs.models import SchedulerLease, utcnow

#: The one lease's name (the table could hold others).
NAME = "scheduler"
#: Seconds a lease lasts unless renewed: how long a dead holder keeps the others waiting.
TTL = 5.0


def holder_id() -> str:
    """A name for this process that no other process on any machine has."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class LeaseState:
    """Who holds the lease, until when, and since when."""

    holder: str
    until: dt.datetime
    acquired_at: dt.datetime

    def live(self, now: dt.datetime | None = None) -> bool:
        return self.until >= (now or utcnow())


def hold(db: Database, holder: str, ttl: float = TTL, name: str = NAME) -> bool:
    """Take or renew the lease for ``holder``; True when ``holder`` holds it now."""
    now = utcnow()
    until = now + dt.timedelta(seconds=ttl)
    with db.write_conn() as conn:
        renewed = conn.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(until=until)
        ).rowcount
        if renewed:
            return True
        taken = conn.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.until < now)
            .values(holder=holder, until=until, acquired_at=now)
        ).rowcount
        if taken:
            return True
        return _insert(conn, db, name, holder, until, now)


def release(db: Database, holder: str, name: str = NAME) -> None:
    """Give the lease up at a clean shutdown, so that another process takes it at once."""
    with db.write_conn() as conn:
        conn.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
            .values(until=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        )


def state(db: Database, name: str = NAME) -> LeaseState | None:
    """The lease as it is now (None when no scheduler ever ran)."""
    with db.read() as session:
        row = session.execute(
            select(SchedulerLease.holder, SchedulerLease.until, SchedulerLease.acquired_at).where(
                SchedulerLease.name == name
            )
        ).one_or_none()
    return LeaseState(*row) if row else None


def _insert(
    conn: Connection, db: Database, name: str, holder: str, until: dt.datetime, now: dt.datetime
) -> bool:
    dialect = sqlite if db.is_sqlite else postgresql
    inserted = conn.execute(
        dialect.insert(SchedulerLease)
        .values(name=name, holder=holder, until=until, acquired_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(SchedulerLease.name)  # psycopg gives no rowcount for this statement
    ).scalar()
    return inserted is not None


__all__ = ["NAME", "TTL", "LeaseState", "hold", "holder_id", "release", "state"]
