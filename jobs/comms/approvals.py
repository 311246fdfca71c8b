"""Approval of communications sent by people without the send permission.

Such a job is stored *Awaiting approval* (``JobService.submit``). An admin or a supervisor
(``approve_communications``), never its own submitter, then either

- approves it: it moves to Queued, and the engine starts it on its send date
  (``Job.not_before``), or
- rejects it with a reason: it ends Stopped through the one place jobs end
  (``jobs.engine.ending.end_job``), whose error says who rejected it and why, and whose
  completion email tells the submitter.

Both are one guarded status move and an audit event in one transaction, so of two people
deciding at once only one decides. The service calls these after :func:`decide_refusal`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.orm import Session

from jobs import audit
from jobs.actions import ACTIONS
from jobs.engine.ending import JobEnded, end_job
from jobs.errors import InvalidInput
from jobs.models import Job, User, utcnow
from jobs.people.permissions import APPROVE_COMMUNICATIONS, Actor
from jobs.reports.queries import MAX_PAGE_SIZE, Page
from jobs.status import JobStatus, move

REASON_MAX = 500

#: Sort keys of the approvals list (the job number breaks ties).
APPROVAL_SORTS = {
    "id": Job.id,
    "description": Job.description,
    "submitted": Job.submitted_at,
    "send_date": Job.not_before,
    "owner": User.display_name,
    "action": Job.action,
}


@dataclass(frozen=True)
class ApprovalRow:
    """A job waiting for approval, as the Approvals page and the CLI list it."""

    id: int
    description: str
    action: str
    action_label: str
    owner_id: int
    owner: str
    submitted_at: dt.datetime
    send_date: dt.date | None
    accounts: int
    template: str
    selection_text: str
    #: Why the viewing person may not approve or reject it; None: they may.
    refusal: str | None
    #: Why the viewing person may not withdraw it; None: they may (its submitter, an admin).
    withdraw_refusal: str | None = None

    @property
    def can_decide(self) -> bool:
        return self.refusal is None

    @property
    def can_withdraw(self) -> bool:
        return self.withdraw_refusal is None


@dataclass(frozen=True)
class ApprovalDetail:
    """What an approver reads before deciding: the message as frozen at submit, and the
    first few messages as they would go out now."""

    row: ApprovalRow
    subject: str
    body: str
    sample: list[dict[str, str]]
    would_send: int
    exceptions: dict[str, int]


def is_approver(actor: Actor) -> bool:
    return actor.has(APPROVE_COMMUNICATIONS)


def decide_refusal(actor: Actor, owner_id: int, status: JobStatus) -> str | None:
    """Why ``actor`` may not approve or reject this job, or None when they may."""
    if not is_approver(actor):
        return (
            "Only an admin or a supervisor (Approve emails and text messages) can approve or "
            "reject communications"
        )
    if actor.id == owner_id:
        return (
            "You cannot approve or reject a communication you submitted; another supervisor "
            "or an admin must"
        )
    if status is not JobStatus.AWAITING_APPROVAL:
        return (
            f"Only jobs Awaiting approval can be approved or rejected; this job is {status.label}"
        )
    return None


def withdraw_refusal(actor: Actor, owner_id: int, status: JobStatus) -> str | None:
    """Why ``actor`` may not withdraw this request, or None when they may: its submitter
    (or an admin) takes back a communication still Awaiting approval."""
    if actor.id != owner_id and not actor.is_admin:
        return "Only the person who submitted a communication (or an admin) can withdraw it"
    if status is not JobStatus.AWAITING_APPROVAL:
        return f"Only jobs Awaiting approval can be withdrawn; this job is {status.label}"
    return None


def clean_reason(reason: str | None) -> str:
    """The rejection's reason, required.

    Raises:
      InvalidInput: (field ``reason``) empty or too long.
    """
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(
            "Give a reason for the rejection; the submitter reads it", field="reason"
        )
    if len(text) > REASON_MAX:
        raise InvalidInput(
            f"The reason is {len(text)} characters long; the limit is {REASON_MAX}",
            field="reason",
        )
    return text


def waiting_page(
    session: Session,
    actor: Actor,
    *,
    page: int = 1,
    page_size: int = 25,
    sort: str = "submitted",
    descending: bool = False,
) -> Page[ApprovalRow]:
    """One page of the jobs waiting for approval that ``actor`` may see: every one for an
    approver, their own for anyone else; oldest first by default.

    Raises:
      InvalidInput: for an unknown sort key.
    """
    if sort not in APPROVAL_SORTS:
        raise InvalidInput(
            f"Approvals cannot be sorted by {sort!r}; by one of: {', '.join(APPROVAL_SORTS)}",
            field="sort",
        )
    page = max(page, 1)
    page_size = min(max(page_size, 1), MAX_PAGE_SIZE)
    where = [Job.status == int(JobStatus.AWAITING_APPROVAL), Job.deleted_at.is_(None)]
    if not is_approver(actor):
        where.append(Job.owner_id == actor.id)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    column = APPROVAL_SORTS[sort]
    rows = session.execute(
        select(Job, User.display_name)
        .join(User, User.id == Job.owner_id)
        .where(*where)
        .order_by(column.desc() if descending else column.asc(), Job.id.asc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([row_of(actor, job, owner) for job, owner in rows], total, page, page_size)


def find(session: Session, actor: Actor, job_id: int) -> tuple[Job, str] | None:
    """A job (not deleted) that ``actor`` may look at as an approval: approvers any
    communication, others their own."""
    found = session.execute(
        select(Job, User.display_name)
        .join(User, User.id == Job.owner_id)
        .where(Job.id == job_id, Job.deleted_at.is_(None))
    ).one_or_none()
    if found is None:
        return None
    job, owner = found
    from jobs.comms.action import CommunicationAction

    visible = actor.is_admin or actor.id == job.owner_id
    if not visible and is_approver(actor):
        visible = isinstance(ACTIONS.get(job.action), CommunicationAction)
    return (job, owner) if visible else None


def row_of(actor: Actor, job: Job, owner: str) -> ApprovalRow:
    action = ACTIONS.get(job.action)
    message = (job.plan or {}).get("message", {})
    return ApprovalRow(
        id=job.id,
        description=job.description,
        action=job.action,
        action_label=action.label if action else job.action,
        owner_id=job.owner_id,
        owner=owner,
        submitted_at=job.submitted_at,
        send_date=job.not_before.date() if job.not_before else None,
        accounts=int((job.selection or {}).get("count_at_submit", 0)),
        template=str(message.get("name", "")),
        selection_text=str((job.selection or {}).get("text", "")),
        refusal=decide_refusal(actor, job.owner_id, JobStatus(job.status)),
        withdraw_refusal=withdraw_refusal(actor, job.owner_id, JobStatus(job.status)),
    )


def approve(conn: Connection, job_id: int, approver: Actor, *, heard: bool) -> bool:
    """Move the job to Queued and record who approved it, in the caller's transaction.

    Parameters:
      heard: a start message sent after commit reaches a worker; if not, the empty
        ``last_progress_at`` lets a worker's reaper start it (on its send date).

    Returns:
      False when it was no longer Awaiting approval (someone decided first): nothing changed.
    """
    now = utcnow()
    if not move(conn, job_id, JobStatus.QUEUED, last_progress_at=now if heard else None):
        return False
    send_on = conn.scalar(select(Job.not_before).where(Job.id == job_id))
    when = f"; it starts on {send_on.date().isoformat()}" if send_on and send_on > now else ""
    audit.record(
        conn,
        audit.APPROVE,
        job_id=job_id,
        actor_id=approver.id,
        at=now,
        summary=f"{approver.display_name} approved job {job_id}{when}",
        details={"approved_by": approver.username},
    )
    return True


def reject(conn: Connection, job_id: int, approver: Actor, reason: str) -> JobEnded | None:
    """End the job Stopped with the reason, and record who rejected it; the ending's
    completion email tells the submitter (per their profile).

    Returns:
      What ended, or None when it was no longer Awaiting approval: nothing changed.
    """
    error = f"Rejected by {approver.display_name}: {reason}"
    ended = end_job(conn, job_id, JobStatus.STOPPED, actor_id=approver.id, error=error)
    if ended is None:
        return None
    audit.record(
        conn,
        audit.REJECT,
        job_id=job_id,
        actor_id=approver.id,
        summary=f"{approver.display_name} rejected job {job_id}: {reason}",
        details={"rejected_by": approver.username, "reason": reason},
    )
    return ended


def withdraw(conn: Connection, job_id: int, actor: Actor) -> JobEnded | None:
    """End the request Stopped as withdrawn by ``actor`` (nothing is sent), and record it.

    Returns:
      What ended, or None when it was no longer Awaiting approval: nothing changed.
    """
    status = conn.scalar(select(Job.status).where(Job.id == job_id))
    if status is None or JobStatus(status) is not JobStatus.AWAITING_APPROVAL:
        return None
    error = f"Withdrawn by {actor.display_name} before approval; nothing was sent"
    ended = end_job(conn, job_id, JobStatus.STOPPED, actor_id=actor.id, error=error)
    if ended is None:
        return None
    audit.record(
        conn,
        audit.WITHDRAW,
        job_id=job_id,
        actor_id=actor.id,
        summary=f"{actor.display_name} withdrew job {job_id} before approval",
        details={"withdrawn_by": actor.username},
    )
    return ended


def detail(session: Session, actor: Actor, job: Job, owner: str) -> ApprovalDetail:
    """The approval's message and a sample of it rendered for the selection's accounts now."""
    from jobs.comms.action import CommunicationAction
    from jobs.sources import source_from_dict

    action = ACTIONS.get(job.action)
    plan: dict[str, Any] = job.plan or {}
    message = plan.get("message", {})
    sample: list[dict[str, str]] = []
    would_send, exceptions = 0, {}
    if isinstance(action, CommunicationAction) and message:
        params = action.load(job.parameters)
        source = source_from_dict(job.selection)
        counted = action.counted(session, source, params)
        would_send, exceptions = counted.touch, counted.exceptions
        sample = [
            {
                "file_number": m.file_number,
                "debtor": m.debtor,
                "to": m.to,
                "subject": m.subject,
                "text": m.text,
            }
            for m in action.messages(session, source, message, params.send_date, limit=5)
        ]
    return ApprovalDetail(
        row=row_of(actor, job, owner),
        subject=str(message.get("subject", "")),
        body=str(message.get("body", "")),
        sample=sample,
        would_send=would_send,
        exceptions=exceptions,
    )
