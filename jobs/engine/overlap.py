"""The overlap guard: two jobs that change accounts never work on the same accounts at once.

A new job whose action changes accounts (``BulkAction.changes_accounts``: Change Status,
Assign, Undo) is refused when any of its accounts belong to such a job that is Queued,
Awaiting approval or In progress; the refusal names that job and how many accounts overlap.
Refusing (rather than queueing behind) keeps the person who submits in charge: they see the
conflict at once and choose to wait, stop the other job, or exclude those accounts.

On PostgreSQL the check and the new job's insert run under one transaction-scoped advisory
lock, so two submissions at the same moment cannot both pass; SQLite's write lock already
serialises them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from jobs.actions import ACTIONS, BulkAction
from jobs.models import ItemOutcome, Job, JobItem
from jobs.sources import Source, source_from_dict
from jobs.status import JobStatus

#: Any constant: the advisory lock that serialises submissions of account-changing jobs.
_LOCK = 7_404_010
WAITING = (JobStatus.QUEUED, JobStatus.AWAITING_APPROVAL)


@dataclass(frozen=True)
class Overlap:
    job_id: int
    label: str
    status: JobStatus
    accounts: int

    def sentence(self) -> str:
        return (
            f"{self.accounts:,} of these accounts are in job {self.job_id} ({self.label}, "
            f"{self.status.label}); two jobs that change accounts cannot work on the same "
            "accounts at once. Wait for it to end, stop it, or leave those accounts out."
        )


def first_overlap(session: Session, source: Source, action: BulkAction) -> Overlap | None:
    """The first active account-changing job sharing accounts with ``source``, if any."""
    if not action.changes_accounts:
        return None
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    changing = [a.name for a in ACTIONS.values() if a.changes_accounts]
    active = session.execute(
        select(Job.id, Job.action, Job.status, Job.selection)
        .where(
            Job.status.in_([int(s) for s in (*WAITING, JobStatus.IN_PROGRESS)]),
            Job.action.in_(changing),
            Job.deleted_at.is_(None),
        )
        .order_by(Job.id)
    ).all()
    if not active:
        return None
    mine = source.items(session).subquery()
    for job in active:
        if JobStatus(job.status) in WAITING:
            theirs = source_from_dict(job.selection).items(session).subquery()
            their_ids = select(theirs.c.account_id)
        else:  # started: its frozen items, those not yet worked
            their_ids = select(JobItem.account_id).where(
                JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.PENDING
            )
        shared = session.scalar(select(func.count()).where(mine.c.account_id.in_(their_ids)))
        if shared:
            return Overlap(job.id, ACTIONS[job.action].label, JobStatus(job.status), shared)
    return None
