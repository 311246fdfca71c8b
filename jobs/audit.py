"""The audit trail: every submit, start, end, stop and delete, and deliveries that failed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Connection, insert

from jobs.models import AuditEvent, utcnow

SUBMIT = "submit"
START = "start"
END = "end"
STOP = "stop"
DELETE = "delete"
#: An outside effect (an email) of the job that could not be delivered.
DELIVERY_FAILED = "delivery_failed"
#: A person changed their own profile (email address, completion emails).
PROFILE = "profile"
#: A communication sent for approval was approved (then queued) or rejected (then ended).
APPROVE = "approve"
REJECT = "reject"
WITHDRAW = "withdraw"
#: An email or SMS template was saved.
TEMPLATE = "template"


def record(
    conn: Connection,
    action: str,
    *,
    job_id: int | None,
    actor_id: int | None,
    summary: str = "",
    details: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> None:
    """Write one audit event in the caller's transaction, so it commits with the change."""
    conn.execute(
        insert(AuditEvent).values(
            at=at or utcnow(),
            action=action,
            job_id=job_id,
            actor_id=actor_id,
            summary=summary,
            details=details or {},
        )
    )
