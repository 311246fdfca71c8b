"""The outbox: outside effects written in the deciding transaction, delivered after commit.

An email, an SMS or a file copied to a destination (``jobs.outbound.files``) is never sent
inside a chunk's or a job's transaction: that transaction writes a
:class:`~jobs.models.Delivery` row with :func:`add`, so the effect exists exactly when the
change that decided it commits (a chunk that rolls back sends nothing). After commit the
``deliver`` actor calls :func:`deliver`:

- it claims the row (Pending → Sending) with one guarded statement, so a redelivered
  message, or a second worker, finds nothing to do: each delivery is sent once;
- a failure is recorded and the row waits ``backoff`` seconds for its next attempt, which a
  worker's reaper starts (:func:`claim_due`); after ``Settings.delivery_attempts`` tries it
  is Failed, and its job says so (an audit event on the job; an item's own delivery also
  turns that item into an exception).

A worker that dies mid-send leaves the row Sending; once its time is up it is tried again,
so a delivery is sent at least once and, but for that crash, at most once. Its Message-ID is
stable, so a receiver can tell a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from sqlalchemy import Connection, insert, select, update

from jobs import audit
from jobs.config import Settings
from jobs.db import Database
from jobs.models import Delivery, DeliveryState, ItemOutcome, Job, JobItem, utcnow

log = logging.getLogger(__name__)

#: A delivery's message is sent right after its transaction commits; when none arrived
#: within this many seconds (the process died first), a reaper sends one.
WAKE_GRACE = 5.0
#: How long one attempt may take before it counts as lost with its worker.
SENDING_SECONDS = 60.0


def add(
    conn: Connection,
    *,
    kind: str,
    payload: dict[str, Any],
    job_id: int | None = None,
    item_seq: int | None = None,
) -> int:
    """Write a delivery in the caller's transaction; it is sent once that commits.

    Returns:
      The delivery's id, for the caller to wake the ``deliver`` actor with after commit.
    """
    now = utcnow()
    return conn.execute(
        insert(Delivery)
        .values(
            kind=kind,
            payload=payload,
            job_id=job_id,
            item_seq=item_seq,
            state=DeliveryState.PENDING,
            attempts=0,
            due_at=now + dt.timedelta(seconds=WAKE_GRACE),
            created_at=now,
        )
        .returning(Delivery.id)
    ).scalar_one()


def backoff(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: 1, 2, 4, … up to a minute."""
    return min(2.0 ** (attempts - 1), 60.0)


def deliver(db: Database, delivery_id: int, settings: Settings) -> str | None:
    """Send one delivery unless it was sent or is being sent already.

    Returns:
      Where it went, or None when there was nothing to do.
    """
    now = utcnow()
    with db.write_conn() as conn:
        row = conn.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.state == DeliveryState.PENDING)
            .values(
                state=DeliveryState.SENDING,
                attempts=Delivery.attempts + 1,
                due_at=now + dt.timedelta(seconds=SENDING_SECONDS),
            )
            .returning(Delivery.kind, Delivery.payload, Delivery.attempts, Delivery.job_id)
        ).one_or_none()
    if row is None:
        return None
    try:
        payload = row.payload
        if "values" in payload:  # a communication: rendered from its job's frozen template
            payload = _rendered(db, row.job_id, payload)
        where = _send(row.kind, payload, delivery_id, settings)
    except Exception as error:  # any failure of the outside world is one failed attempt
        _failed(db, delivery_id, row.attempts, error, settings.delivery_attempts)
        return None
    with db.write_conn() as conn:
        conn.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(state=DeliveryState.SENT, sent_at=utcnow(), sent_to=where, last_error=None)
        )
    log.info("delivery %s (%s) sent to %s", delivery_id, row.kind, where)
    return where


def _rendered(db: Database, job_id: int | None, payload: dict[str, Any]) -> dict[str, Any]:
    """A communication's message, rendered from the delivery's raw values and the template
    frozen on its job (what was approved).

    Raises:
      LookupError: the job, or its frozen message, is not there any more.
    """
    from jobs.actions import get_action

    with db.read() as session:
        found = session.execute(select(Job.action, Job.plan).where(Job.id == job_id)).one_or_none()
    if found is None or not (found.plan or {}).get("message"):
        raise LookupError(f"The message of job {job_id} is not there any more")
    render = getattr(get_action(found.action), "rendered", None)
    if render is None:
        raise LookupError(f"Job {job_id} is not a communication")
    return render(found.plan, payload)


def _send(kind: str, payload: dict[str, Any], delivery_id: int, settings: Settings) -> str:
    if kind == "email":
        from jobs.outbound import mail

        return mail.send(payload, delivery_id=delivery_id, settings=settings)
    if kind == "sms":
        from jobs.comms import sms

        return sms.send(payload, delivery_id=delivery_id, settings=settings)
    if kind == "file":
        from jobs.outbound import files

        return files.copy(payload, delivery_id=delivery_id, settings=settings)
    raise ValueError(f"No way to deliver a {kind!r}")


def _failed(
    db: Database, delivery_id: int, attempts: int, error: BaseException, allowed: int
) -> None:
    reason = str(error) or type(error).__name__
    final = attempts >= allowed
    log.warning("delivery %s attempt %d of %d failed: %s", delivery_id, attempts, allowed, reason)
    now = utcnow()
    with db.write_conn() as conn:
        conn.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(
                state=DeliveryState.FAILED if final else DeliveryState.PENDING,
                due_at=now + dt.timedelta(seconds=0 if final else backoff(attempts)),
                last_error=reason,
            )
        )
        if final:
            _show_on_job(conn, delivery_id, attempts, reason)


def _show_on_job(conn: Connection, delivery_id: int, attempts: int, reason: str) -> None:
    """A delivery given up is visible where its job is looked at."""
    found = conn.execute(
        select(Delivery.job_id, Delivery.item_seq, Delivery.kind, Delivery.payload).where(
            Delivery.id == delivery_id
        )
    ).one()
    if found.job_id is None:
        return
    what = describe(found.kind, found.payload)
    sentence = f"{what} could not be sent after {attempts} attempts: {reason}"
    if found.item_seq is not None:
        turned = conn.execute(
            update(JobItem)
            .where(
                JobItem.job_id == found.job_id,
                JobItem.seq == found.item_seq,
                JobItem.outcome == ItemOutcome.OK,
            )
            .values(outcome=ItemOutcome.EXCEPTION, message=sentence)
        ).rowcount
        if turned:
            conn.execute(
                update(Job)
                .where(Job.id == found.job_id)
                .values(ok=Job.ok - 1, exceptions=Job.exceptions + 1)
            )
    audit.record(
        conn,
        audit.DELIVERY_FAILED,
        job_id=found.job_id,
        actor_id=None,
        summary=sentence,
        details={"delivery": delivery_id, "kind": found.kind, "error": reason},
    )


def describe(kind: str, payload: dict[str, Any]) -> str:
    """A delivery in words: "The email to alice@example.com"."""
    if kind == "email":
        return f"The email to {payload.get('to')}"
    if kind == "sms":
        return f"The text message to {payload.get('to')}"
    if kind == "file":
        from jobs.outbound import files

        return files.describe(payload)
    return f"The {kind}"


def claim_due(conn: Connection, now: dt.datetime) -> list[int]:
    """Deliveries to (re)send now: pending ones that are due (a retry, or a message that never
    went out) and attempts lost with their worker. Each is claimed by moving its time
    forward, so of many reapers only one sends it."""
    later = now + dt.timedelta(seconds=WAKE_GRACE)
    lost = list(
        conn.scalars(
            update(Delivery)
            .where(Delivery.state == DeliveryState.SENDING, Delivery.due_at < now)
            .values(state=DeliveryState.PENDING, due_at=later)
            .returning(Delivery.id)
        )
    )
    due = list(
        conn.scalars(
            update(Delivery)
            .where(Delivery.state == DeliveryState.PENDING, Delivery.due_at <= now)
            .values(due_at=later)
            .returning(Delivery.id)
        )
    )
    return lost + due


def any_due(conn: Connection, now: dt.datetime) -> bool:
    """A cheap read: is there anything for :func:`claim_due`?"""
    pending = select(Delivery.id).where(
        Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        Delivery.due_at <= now,
    )
    return conn.scalar(pending.limit(1)) is not None
