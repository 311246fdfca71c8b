"""Helpers for the communications tests: the tests' clock start, a debtor name like a
script, the accounts a test targets, and waiting for a job's deliveries."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from sqlalchemy import select

from jobs.models import Delivery, DeliveryState

#: The day the tests' clock starts on: later than any real "today" of this session.
CLOCK_START = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
#: A debtor name that must read as text in an email, never run.
SCRIPT_NAME = "<script>alert('x')</script> O'Brien & Sons"


@dataclass(frozen=True)
class Targets:
    """Accounts of a test: ids by role. ``valid`` have a good email and phone."""

    valid: list[int]
    no_email: int
    bad_email: int
    no_phone: int
    bad_phone: int
    script: int

    @property
    def all(self) -> list[int]:
        return [*self.valid, self.no_email, self.bad_email, self.no_phone, self.bad_phone]


def deliveries(db, job_id: int) -> list[Delivery]:
    with db.read() as s:
        return list(
            s.scalars(select(Delivery).where(Delivery.job_id == job_id).order_by(Delivery.id))
        )


def settled(db, job_id: int, count: int, timeout: float = 30.0) -> list[Delivery]:
    """The job's deliveries once ``count`` exist and none is waiting or being sent."""
    deadline = time.monotonic() + timeout
    while True:
        rows = deliveries(db, job_id)
        if len(rows) >= count and all(
            r.state in (DeliveryState.SENT, DeliveryState.FAILED) for r in rows
        ):
            return rows
        assert time.monotonic() < deadline, f"deliveries still waiting: {rows}"
        time.sleep(0.1)
