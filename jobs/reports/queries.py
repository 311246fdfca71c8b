"""Bounded reads for screens, notebooks and the CLI: one page at a time, role-scoped.

Nothing here loads a whole table: lists are ``LIMIT``/``OFFSET`` over indexed orderings,
counts come from the same ``WHERE`` clause, and progress comes from the job's own counters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, aliased

from jobs.actions import ACTIONS
from jobs.errors import InvalidInput
from jobs.models import Account, AuditEvent, ItemOutcome, Job, JobItem, User, utcnow
from jobs.people import permissions
from jobs.people.permissions import Actor
from jobs.status import JobStatus

T = TypeVar("T")

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many rows the whole list has."""

    rows: list[T]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class JobSummary:
    """A row of the job table, with what the viewing user may do to it."""

    id: int
    description: str
    action: str
    action_label: str
    owner_id: int
    owner: str
    status: JobStatus
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    total: int
    ok: int
    exceptions: int
    not_processed: int
    can_stop: bool
    can_delete: bool
    stop_refusal: str | None
    delete_refusal: str | None

    @property
    def status_label(self) -> str:
        return self.status.label

    @property
    def processed(self) -> int:
        """Items worked: succeeded or exceptions (not the ones left unprocessed)."""
        return self.ok + self.exceptions

    @property
    def progress(self) -> float:
        """Share of items processed, 0..1 (1 for a finished job with no items); a stopped
        job's unprocessed items do not count."""
        if self.total == 0:
            return 1.0 if self.status.is_final else 0.0
        return self.processed / self.total

    def elapsed(self, now: dt.datetime | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or now or utcnow()
        return max((end - self.started_at).total_seconds(), 0.0)

    def rate(self, now: dt.datetime | None = None) -> float | None:
        """Items per second since the job started."""
        elapsed = self.elapsed(now)
        if not elapsed or not (self.ok + self.exceptions):
            return None
        return (self.ok + self.exceptions) / elapsed

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        rate = self.rate(now)
        if self.status != JobStatus.IN_PROGRESS or not rate:
            return None
        return (self.total - self.processed - self.not_processed) / rate


@dataclass(frozen=True)
class JobDetail:
    """Everything about one job: its summary, parameters, selection and history."""

    summary: JobSummary
    parameters: dict[str, Any]
    parameters_text: str
    selection: dict[str, Any]
    selection_text: str
    error: str | None
    events: list[AuditRow] = field(default_factory=list)


@dataclass(frozen=True)
class ItemRow:
    seq: int
    account_id: int | None
    file_number: str | None
    debtor_name: str | None
    outcome: str
    message: str | None
    #: What the action recorded on the item (``before`` / ``after`` for a status change).
    payload: dict[str, Any] | None = None

    @property
    def change(self) -> str:
        """ "Open → On hold" when the item recorded a before and after, else empty."""
        if not self.payload or "before" not in self.payload:
            return ""
        return f"{self.payload.get('before') or '—'} → {self.payload.get('after') or '—'}"


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    action: str
    job_id: int | None
    actor: str | None
    summary: str
    details: dict[str, Any]


@dataclass(frozen=True)
class JobFilter:
    """The monitor's filters; empty means every job the user may see."""

    statuses: Sequence[JobStatus] = ()
    owner_id: int | None = None
    text: str | None = None
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    action: str | None = None


def _clamp(page: int, page_size: int) -> tuple[int, int]:
    return max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)


def job_conditions(actor: Actor, flt: JobFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Job.deleted_at.is_(None)]
    if not actor.is_admin:
        conds.append(Job.owner_id == actor.id)
    elif flt.owner_id is not None:
        conds.append(Job.owner_id == flt.owner_id)
    if flt.statuses:
        conds.append(Job.status.in_([int(s) for s in flt.statuses]))
    if flt.action:
        conds.append(Job.action == flt.action)
    if flt.text and flt.text.strip():
        text = flt.text.strip()
        match = func.lower(Job.description).like(f"%{text.lower()}%")
        conds.append(or_(match, Job.id == int(text)) if text.isdigit() else match)
    if flt.submitted_from:
        start = dt.datetime.combine(flt.submitted_from, dt.time(), tzinfo=dt.UTC)
        conds.append(Job.submitted_at >= start)
    if flt.submitted_to:
        end = dt.datetime.combine(flt.submitted_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        conds.append(Job.submitted_at < end)
    return conds


def _summary_select() -> Select[Any]:
    return select(Job, User.display_name).join(User, User.id == Job.owner_id)


def summarize(actor: Actor, job: Job, owner: str) -> JobSummary:
    status = JobStatus(job.status)
    stop_no = permissions.stop_refusal(actor, job.owner_id, status)
    delete_no = permissions.delete_refusal(actor, job.owner_id, status)
    action = ACTIONS.get(job.action)
    return JobSummary(
        id=job.id,
        description=job.description,
        action=job.action,
        action_label=action.label if action else job.action,
        owner_id=job.owner_id,
        owner=owner,
        status=status,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        total=job.total,
        ok=job.ok,
        exceptions=job.exceptions,
        not_processed=job.not_processed,
        can_stop=stop_no is None,
        can_delete=delete_no is None,
        stop_refusal=stop_no,
        delete_refusal=delete_no,
    )


#: Sort keys of the job list, and the columns they sort by.
JOB_SORTS: dict[str, Any] = {
    "id": Job.id,
    "description": Job.description,
    "submitted": Job.submitted_at,
    "started": Job.started_at,
    "ended": Job.ended_at,
    "status": Job.status,
    "action": Job.action,
    "owner": User.display_name,
}


def list_jobs(
    session: Session,
    actor: Actor,
    flt: JobFilter,
    *,
    page: int = 1,
    page_size: int = 25,
    oldest_first: bool = False,
    sort: str = "submitted",
    descending: bool = True,
) -> Page[JobSummary]:
    """One page of jobs the actor may see, sorted by ``sort`` over all of them (newest
    submitted first by default; the job number breaks ties, so pages never overlap).

    Raises:
      InvalidInput: for an unknown sort key.
    """
    page, page_size = _clamp(page, page_size)
    if sort not in JOB_SORTS:
        raise InvalidInput(
            f"Jobs cannot be sorted by {sort!r}; by one of: {', '.join(JOB_SORTS)}", field="sort"
        )
    if oldest_first:
        sort, descending = "submitted", False
    conds = job_conditions(actor, flt)
    total = session.scalar(select(func.count()).select_from(Job).where(*conds)) or 0
    column = JOB_SORTS[sort]
    tie = Job.id.desc() if descending else Job.id.asc()
    order = (column.desc() if descending else column.asc(), tie)
    rows = session.execute(
        _summary_select()
        .where(*conds)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page([summarize(actor, job, owner) for job, owner in rows], total, page, page_size)


def find_job(session: Session, actor: Actor, job_id: int) -> tuple[Job, str] | None:
    """A job that is not deleted and that the actor may see, with its owner's name."""
    row = session.execute(
        _summary_select().where(Job.id == job_id, Job.deleted_at.is_(None))
    ).one_or_none()
    if row is None or not permissions.can_see(actor, row[0].owner_id):
        return None
    return row[0], row[1]


def job_events(session: Session, job_id: int) -> list[AuditRow]:
    actor = aliased(User)
    rows = session.execute(
        select(AuditEvent, actor.display_name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.job_id == job_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    return [_audit_row(event, name) for event, name in rows]


def _audit_row(event: AuditEvent, name: str | None) -> AuditRow:
    return AuditRow(
        at=event.at,
        action=event.action,
        job_id=event.job_id,
        actor=name,
        summary=event.summary,
        details=event.details,
    )


#: Sort keys of a job's items, and what they sort by (the item number breaks ties).
ITEM_SORTS = {
    "seq": JobItem.seq,
    "file_number": Account.file_number,
    "debtor": Account.debtor_name,
    "outcome": JobItem.outcome,
    "message": JobItem.message,
}


def item_page(
    session: Session,
    job_id: int,
    *,
    outcome: int | None = None,
    page: int = 1,
    page_size: int = 50,
    sort: str = "seq",
    descending: bool = False,
) -> Page[ItemRow]:
    """One page of a job's per-item outcomes, sorted over all of the job's items (by default
    in snapshot order).

    Raises:
      InvalidInput: for an unknown sort key.
    """
    if sort not in ITEM_SORTS:
        raise InvalidInput(
            f"Items cannot be sorted by {sort!r}; by one of: {', '.join(ITEM_SORTS)}",
            field="sort",
        )
    column = ITEM_SORTS[sort]
    order = [column.desc() if descending else column.asc(), JobItem.seq.asc()]
    page, page_size = _clamp(page, page_size)
    conds = [JobItem.job_id == job_id]
    if outcome is not None:
        conds.append(JobItem.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(JobItem).where(*conds)) or 0
    rows = session.execute(
        item_rows_select(job_id, outcome)
        .order_by(None)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page(
        [
            ItemRow(
                seq=r.seq,
                account_id=r.account_id,
                file_number=r.file_number,
                debtor_name=r.debtor_name,
                outcome=ItemOutcome.LABELS[r.outcome],
                message=r.message,
                payload=r.payload,
            )
            for r in rows
        ],
        total,
        page,
        page_size,
    )


def item_rows_select(job_id: int, outcome: int | None = None) -> Select[Any]:
    """All of a job's items with their accounts, for streaming exports."""
    query = (
        select(
            JobItem.seq,
            JobItem.account_id,
            Account.file_number,
            Account.debtor_name,
            JobItem.outcome,
            JobItem.message,
            JobItem.payload,
        )
        .outerjoin(Account, Account.id == JobItem.account_id)
        .where(JobItem.job_id == job_id)
        .order_by(JobItem.seq)
    )
    if outcome is not None:
        query = query.where(JobItem.outcome == outcome)
    return query
