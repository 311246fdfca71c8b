"""The batch audit log (seed 002): definition runs searched by date range, status and
process name, one page at a time, and one run's detail with its step history.

A run is a job (``action = "definition_run"``) with its ``definition_runs`` row. A search
walks ``ix_definition_runs_due`` for the date range and reaches each run's job by primary
key (a correlated subquery: no plan scans ``jobs``, which holds every job ever run): one
statement counts the range's runs per status, one picks the page's runs, one reads those
runs' jobs, definitions and owners. Its cost grows with the runs of the (at most 7) days
searched, never with the jobs or runs of other days. A search covers at most
:data:`MAX_DAYS` days: a longer range is refused with :class:`InvalidInput` on ``until``.
Every logged-in user reads the log and the runs' details (read-only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from jobs.errors import InvalidInput, NotFound
from jobs.models import Definition, DefinitionRun, DefinitionTrigger, Job, RunStep, User
from jobs.status import JobStatus

#: The longest date range one search covers, in days (both ends included).
MAX_DAYS = 7
PAGE_SIZE_LIMIT = 200
#: The sort keys of :func:`search` (the run's job id breaks ties).
SORT_COLUMNS = ("due", "process", "status", "submitted", "started", "ended", "run")
FIRED_BY = {
    "schedule": "Its schedule",
    "campaign": "End of campaign",
    "file": "A file arrived",
    "manual": "Run now",
}


@dataclass(frozen=True)
class RunRow:
    """One run in the batch audit log."""

    job_id: int
    definition_id: int
    process: str
    status: JobStatus
    due_at: dt.datetime
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    fired_by: str
    late: bool
    owner: str


@dataclass(frozen=True)
class BatchLogPage:
    """A page of runs, the number of runs the whole search found, and how many of each
    status the date range and process name hold (whatever status is asked for)."""

    rows: list[RunRow]
    total: int
    page: int
    page_size: int
    since: dt.date
    until: dt.date
    counts: dict[JobStatus, int] = field(default_factory=dict)
    exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class StepRow:
    """One executed step of a run (``run_steps``)."""

    seq: int
    step_name: str
    kind: str
    started_at: dt.datetime
    ended_at: dt.datetime | None
    outcome: str
    message: str
    output: str | None
    child_job_id: int | None
    deliveries: list[int]


@dataclass(frozen=True)
class RunDetail:
    """A run: its definition, what fired it and when it was due, its status and steps."""

    job_id: int
    definition_id: int
    process: str
    trigger: str
    fired_by: str
    due_at: dt.datetime
    business_day: dt.date
    late: bool
    detail: dict[str, Any]
    status: JobStatus
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    owner: str
    error: str | None
    steps: list[StepRow]

    @property
    def late_text(self) -> str:
        """ "On time", or "Late" with the due times it stands for (the missed-run policy)."""
        if not self.late:
            return "On time"
        missed = self.detail.get("missed") or self.detail.get("stands_for")
        if isinstance(missed, int) and missed > 1:
            return f"Late (stands for {missed} missed due times)"
        if isinstance(missed, list) and len(missed) > 1:
            return f"Late (stands for {len(missed)} missed due times)"
        return "Late (fired after its due time while no scheduler ran)"


def zone(tz: dt.tzinfo | str | None) -> dt.tzinfo:
    """The time zone dates are read in: ``tz`` (an IANA name or tzinfo), by default the
    server's own (the zone the dashboard shows times in).

    Raises:
      InvalidInput: for an unknown zone name.
    """
    if isinstance(tz, dt.tzinfo):
        return tz
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidInput(f"Unknown time zone {tz!r}", field="timezone") from None
    local = dt.datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def check_range(
    since: dt.date | None, until: dt.date | None, today: dt.date
) -> tuple[dt.date, dt.date]:
    """The searched days, ``since`` .. ``until`` both included (default: today).

    Raises:
      InvalidInput: on ``until`` for an end before the start or more than 7 days.
    """
    since = since or until or today
    until = until or since
    if until < since:
        raise InvalidInput(
            f"The end date {until:%Y-%m-%d} is before the start date {since:%Y-%m-%d}",
            field="until",
        )
    days = (until - since).days + 1
    if days > MAX_DAYS:
        last = since + dt.timedelta(days=MAX_DAYS - 1)
        raise InvalidInput(
            f"Search at most {MAX_DAYS} days at a time: {since:%Y-%m-%d} to {until:%Y-%m-%d} "
            f"is {days} days. Choose an end date on or before {last:%Y-%m-%d}, "
            "or search the rest separately.",
            field="until",
        )
    return since, until


def statuses(values: Iterable[JobStatus | int | str] | None) -> list[JobStatus]:
    """Statuses from codes, labels or batch labels ("Ok", "Error", 4).

    Raises:
      InvalidInput: on ``status`` naming the value that is not a status.
    """
    wanted: list[JobStatus] = []
    for value in values or ():
        try:
            status = JobStatus(value) if isinstance(value, int) else JobStatus.from_label(value)
        except ValueError:
            known = ", ".join(s.batch_label for s in BATCH_STATUSES)
            raise InvalidInput(
                f"Unknown status {value!r}; expected one of: {known}", field="status"
            ) from None
        if status not in wanted:
            wanted.append(status)
    return wanted


def _of_job(column: Any, *where: ColumnElement[bool]) -> Any:
    """``column`` of the run's job, read by its primary key for each run."""
    return (
        select(column)
        .where(Job.id == DefinitionRun.job_id, *where)
        .correlate(DefinitionRun)
        .scalar_subquery()
    )


#: Sort key → what it orders by (built per search: the job's columns are subqueries).
_SORT_KEYS: dict[str, Any] = {
    "due": lambda: DefinitionRun.due_at,
    "process": lambda: Definition.name,
    "status": lambda: _of_job(Job.status),
    "submitted": lambda: _of_job(Job.submitted_at),
    "started": lambda: _of_job(Job.started_at),
    "ended": lambda: _of_job(Job.ended_at),
    "run": lambda: DefinitionRun.job_id,
}
assert tuple(_SORT_KEYS) == SORT_COLUMNS


#: The batch statuses of seed 002, in its order (codes 0..7).
BATCH_STATUSES = tuple(JobStatus(code) for code in range(8))


def search(
    session: Session,
    *,
    since: dt.date | None = None,
    until: dt.date | None = None,
    status: Iterable[JobStatus | int | str] | None = None,
    process: str = "",
    tz: dt.tzinfo | str | None = None,
    page: int = 1,
    page_size: int = 25,
    sort: str = "due",
    descending: bool = True,
    today: dt.date | None = None,
) -> BatchLogPage:
    """One page of the runs due from ``since`` to ``until`` (days in ``tz``, both included).

    Parameters:
      status: only runs of these statuses (empty: all).
      process: only definitions whose name contains this text (any case).
      sort: a key of :data:`SORT_COLUMNS`; the run's number breaks ties.
      today: the day the default range is (tests); by default today in ``tz``.

    Raises:
      InvalidInput: for a range over 7 days or reversed (``until``), an unknown status
        (``status``), sort key (``sort``) or time zone.
    """
    where = zone(tz)
    first, last = check_range(since, until, today or dt.datetime.now(where).date())
    if sort not in SORT_COLUMNS:
        raise InvalidInput(f"Cannot sort the batch log by {sort!r}", field="sort")
    wanted = statuses(status)
    page_size = min(max(int(page_size), 1), PAGE_SIZE_LIMIT)
    page = max(int(page), 1)
    lo = dt.datetime.combine(first, dt.time(), where).astimezone(dt.UTC)
    hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), where).astimezone(dt.UTC)
    # Every statement walks the range's runs (ix_definition_runs_due) and reaches a run's job
    # by its primary key, one run at a time (a correlated subquery, which no planner turns
    # into a scan of ``jobs``, however few of the jobs ever run are definition runs).
    live_status = _of_job(Job.status, Job.deleted_at.is_(None))
    conds: list[ColumnElement[bool]] = [DefinitionRun.due_at >= lo, DefinitionRun.due_at < hi]
    text = (process or "").strip()
    named = select().select_from(DefinitionRun)
    if text or sort == "process":
        named = named.join(Definition, Definition.id == DefinitionRun.definition_id)
    if text:
        conds.append(func.lower(Definition.name).contains(text.lower(), autoescape=True))
    counted = session.execute(
        named.add_columns(live_status, func.count()).where(*conds).group_by(live_status)
    ).all()
    # A deleted run's job gives no status: it is not counted.
    counts = {JobStatus(code): n for code, n in counted if code is not None}
    if wanted:
        conds.append(live_status.in_([int(s) for s in wanted]))
        total = sum(n for s, n in counts.items() if s in wanted)
    else:
        conds.append(live_status.is_not(None))
        total = sum(counts.values())
    order = _SORT_KEYS[sort]()
    ordering = [order.desc() if descending else order.asc()]
    if sort != "run":
        ordering.append(DefinitionRun.job_id.desc() if descending else DefinitionRun.job_id.asc())
    # The page's runs first, then their jobs, definitions and owners by primary key.
    page_ids = list(
        session.scalars(
            named.add_columns(DefinitionRun.job_id)
            .where(*conds)
            .order_by(*ordering)
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
    )
    found = {
        r[0]: r
        for r in session.execute(
            select(
                Job.id,
                DefinitionRun.definition_id,
                Definition.name,
                Job.status,
                DefinitionRun.due_at,
                Job.submitted_at,
                Job.started_at,
                Job.ended_at,
                DefinitionRun.fired_by,
                DefinitionRun.late,
                User.display_name,
            )
            .select_from(DefinitionRun)
            .join(Job, Job.id == DefinitionRun.job_id)
            .join(Definition, Definition.id == DefinitionRun.definition_id)
            .join(User, User.id == Job.owner_id)
            .where(DefinitionRun.job_id.in_(page_ids))
        )
    }
    rows = [found[i] for i in page_ids if i in found]
    return BatchLogPage(
        rows=[
            RunRow(
                job_id=r[0],
                definition_id=r[1],
                process=r[2],
                status=JobStatus(r[3]),
                due_at=r[4],
                submitted_at=r[5],
                started_at=r[6],
                ended_at=r[7],
                fired_by=r[8],
                late=bool(r[9]),
                owner=r[10],
            )
            for r in rows
        ],
        total=total,
        page=page,
        page_size=page_size,
        since=first,
        until=last,
        counts=counts,
    )


def run_detail(session: Session, job_id: int) -> RunDetail:
    """A run with its step history (``run_steps`` in order).

    Raises:
      NotFound: when no definition run has that number (or it was deleted).
    """
    found = session.execute(
        select(DefinitionRun, Job, Definition, User.display_name)
        .join(Job, Job.id == DefinitionRun.job_id)
        .join(Definition, Definition.id == DefinitionRun.definition_id)
        .join(User, User.id == Job.owner_id)
        .where(DefinitionRun.job_id == job_id, Job.deleted_at.is_(None))
    ).first()
    if found is None:
        raise NotFound(f"There is no run {job_id}")
    run, job, definition, owner = found
    steps = session.scalars(
        select(RunStep).where(RunStep.job_id == job_id).order_by(RunStep.seq)
    ).all()
    return RunDetail(
        job_id=job.id,
        definition_id=definition.id,
        process=definition.name,
        trigger=DefinitionTrigger.LABELS.get(definition.trigger, definition.trigger),
        fired_by=FIRED_BY.get(run.fired_by, run.fired_by),
        due_at=run.due_at,
        business_day=run.business_day,
        late=run.late,
        detail=dict(run.detail or {}),
        status=JobStatus(job.status),
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        owner=owner,
        error=job.error,
        steps=[
            StepRow(
                seq=s.seq,
                step_name=s.step_name,
                kind=s.kind,
                started_at=s.started_at,
                ended_at=s.ended_at,
                outcome=s.outcome,
                message=s.message or "",
                output=s.output,
                child_job_id=s.child_job_id,
                deliveries=list(s.deliveries or []),
            )
            for s in steps
        ],
    )


def is_run(session: Session, job_id: int) -> bool:
    """Whether job ``job_id`` is a definition run (it has a ``definition_runs`` row)."""
    return session.get(DefinitionRun, job_id) is not None
