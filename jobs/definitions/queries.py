"""What the Definitions screen and the CLI read: one page of definitions, one definition's
detail, its history and the last execution of each of its steps.

Each read is a bounded set-based query: the list is paged and sorted in SQL (its last run
and step count are correlated subqueries, not a query per row); the last execution of each
step is one window query over the ``run_steps`` of the definition's newest runs.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from jobs.definitions import store
from jobs.definitions.spec import DefinitionSpec
from jobs.errors import InvalidInput
from jobs.models import (
    Definition,
    DefinitionChange,
    DefinitionDependency,
    DefinitionRun,
    DefinitionStep,
    DefinitionTrigger,
    Job,
    RunStep,
    User,
)
from jobs.reports.queries import Page, check_page_request
from jobs.status import JobStatus

PAGE_SIZE_LIMIT = 200
HISTORY_LIMIT = 200
#: The newest runs whose steps the History tab's "last execution of each step" reads.
HISTORY_RUNS = 500


@dataclass(frozen=True)
class DefinitionRow:
    """A row of the Definitions list."""

    id: int
    name: str
    description: str
    trigger: str
    trigger_label: str
    schedule_text: str
    enabled: bool
    suspended: bool
    owner: str
    next_due_at: dt.datetime | None
    last_run_id: int | None
    #: The last run's due time.
    last_run_at: dt.datetime | None
    last_run_status: JobStatus | None
    steps: int
    version: int


@dataclass(frozen=True)
class StepView:
    """A step as the Steps tab shows it; ``next_success``/``next_failure`` empty: end."""

    position: int
    name: str
    kind: str
    kind_label: str
    settings: dict[str, Any]
    settings_text: str
    next_success: str
    next_failure: str


@dataclass(frozen=True)
class DefinitionDetail:
    """One definition: its fields, steps, dependencies, schedule and state."""

    id: int
    name: str
    description: str
    trigger: str
    trigger_label: str
    schedule: str | None
    schedule_options: dict[str, Any]
    schedule_text: str
    timezone: str
    inbox: str | None
    enabled: bool
    enabled_at: dt.datetime | None
    owner: str
    owner_id: int
    success_recipients: list[str]
    failure_recipients: list[str]
    depends_on: list[str]
    dependents: list[str]
    steps: list[StepView]
    next_due_at: dt.datetime | None
    last_due_at: dt.datetime | None
    suspended_at: dt.datetime | None
    suspended_by: str | None
    suspended_reason: str | None
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    spec: DefinitionSpec
    can_edit: bool
    read_only_reason: str | None


@dataclass(frozen=True)
class ChangeRow:
    """One change in a definition's history; ``details`` is ``{field: [before, after]}``."""

    id: int
    at: dt.datetime
    actor: str
    action: str
    summary: str
    details: dict[str, Any]


@dataclass(frozen=True)
class LastStepRun:
    """The newest execution of one step over the definition's runs (``job_id`` None: the
    step never ran); ``in_definition`` False: a step that ran but was removed since."""

    step_name: str
    kind: str
    in_definition: bool
    job_id: int | None = None
    seq: int | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    outcome: str = ""
    message: str = ""
    output: str | None = None


@dataclass(frozen=True)
class DefinitionHistory:
    changes: list[ChangeRow]
    last_steps: list[LastStepRun]


def _last_run(column: Any) -> ColumnElement[Any]:
    """``column`` of the definition's newest run: its latest business day, the highest job
    id of that day. One backward step down ``ix_definition_runs_day`` per definition (on
    SQLite the index ends with the job id), never all of a definition's runs."""
    return (
        select(column)
        .where(DefinitionRun.definition_id == Definition.id)
        .order_by(DefinitionRun.business_day.desc(), DefinitionRun.job_id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _step_count() -> ColumnElement[Any]:
    return (
        select(func.count())
        .select_from(DefinitionStep)
        .where(DefinitionStep.definition_id == Definition.id)
        .scalar_subquery()
    )


#: Sort key → the column it orders by (the id breaks ties).
SORTS: dict[str, Any] = {
    "name": func.lower(Definition.name),
    "trigger": Definition.trigger,
    "owner": func.lower(User.display_name),
    "next_due_at": Definition.next_due_at,
    "last_run_at": _last_run(DefinitionRun.due_at),
    "updated_at": Definition.updated_at,
    "enabled": Definition.enabled,
}


def list_page(
    session: Session,
    *,
    text: str = "",
    show_disabled: bool = False,
    page: int = 1,
    page_size: int = 25,
    sort: str = "name",
    descending: bool = False,
) -> Page[DefinitionRow]:
    """One page of definitions matching ``text`` (name or description), sorted in SQL.

    Raises:
      InvalidInput: an unknown sort key (field ``sort``) or a page size out of range.
    """
    check_page_request("definitions", sort, list(SORTS), page_size, PAGE_SIZE_LIMIT)
    page = max(1, page)
    conditions: list[ColumnElement[bool]] = []
    if not show_disabled:
        conditions.append(Definition.enabled.is_(True))
    words = " ".join((text or "").split()).lower()
    if words:
        conditions.append(
            or_(
                func.lower(Definition.name).contains(words, autoescape=True),
                func.lower(Definition.description).contains(words, autoescape=True),
            )
        )
    where = and_(True, *conditions)
    total = session.scalar(select(func.count()).select_from(Definition).where(where)) or 0
    order = SORTS[sort]
    # The page's rows with their last run (the subqueries run for the page's rows only,
    # unless the list is sorted by the last run); then those runs' statuses, by key.
    query: Select[Any] = (
        select(
            Definition,
            User.display_name,
            _step_count().label("steps"),
            _last_run(DefinitionRun.job_id).label("last_run_id"),
            _last_run(DefinitionRun.due_at).label("last_run_at"),
        )
        .join(User, User.id == Definition.owner_id)
        .where(where)
        .order_by(
            order.desc().nulls_last() if descending else order.asc().nulls_last(),
            Definition.id.desc() if descending else Definition.id,
        )
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    found = session.execute(query).all()
    run_ids = [r.last_run_id for r in found if r.last_run_id is not None]
    statuses = (
        dict(session.execute(select(Job.id, Job.status).where(Job.id.in_(run_ids))).all())
        if run_ids
        else {}
    )
    rows = [
        DefinitionRow(
            id=d.id,
            name=d.name,
            description=d.description or "",
            trigger=d.trigger,
            trigger_label=DefinitionTrigger.LABELS.get(d.trigger, d.trigger),
            schedule_text=trigger_text(d),
            enabled=d.enabled,
            suspended=d.suspended_at is not None,
            owner=owner,
            next_due_at=d.next_due_at,
            last_run_id=run_id,
            last_run_at=run_at,
            last_run_status=JobStatus(statuses[run_id]) if run_id in statuses else None,
            steps=steps or 0,
            version=d.version,
        )
        for d, owner, steps, run_id, run_at in found
    ]
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def detail(
    session: Session, definition: Definition, *, read_only_reason: str | None
) -> DefinitionDetail:
    spec = store.spec_of(session, definition)
    names = dict(
        session.execute(
            select(User.id, User.display_name).where(
                User.id.in_([definition.owner_id, definition.suspended_by_id or 0])
            )
        ).all()
    )
    dependents = list(
        session.scalars(
            select(Definition.name)
            .join(DefinitionDependency, DefinitionDependency.definition_id == Definition.id)
            .where(DefinitionDependency.prerequisite_id == definition.id)
            .order_by(Definition.name)
        )
    )
    return DefinitionDetail(
        id=definition.id,
        name=definition.name,
        description=definition.description or "",
        trigger=definition.trigger,
        trigger_label=DefinitionTrigger.LABELS.get(definition.trigger, definition.trigger),
        schedule=definition.schedule,
        schedule_options=dict(definition.schedule_options or {}),
        schedule_text=trigger_text(definition),
        timezone=definition.timezone,
        inbox=definition.inbox,
        enabled=definition.enabled,
        enabled_at=definition.enabled_at,
        owner=names.get(definition.owner_id, spec.owner),
        owner_id=definition.owner_id,
        success_recipients=list(spec.success_recipients),
        failure_recipients=list(spec.failure_recipients),
        depends_on=list(spec.depends_on),
        dependents=dependents,
        steps=[_step_view(i, s) for i, s in enumerate(spec.steps)],
        next_due_at=definition.next_due_at,
        last_due_at=definition.last_due_at,
        suspended_at=definition.suspended_at,
        suspended_by=names.get(definition.suspended_by_id) if definition.suspended_by_id else None,
        suspended_reason=definition.suspended_reason,
        version=definition.version,
        created_at=definition.created_at,
        updated_at=definition.updated_at,
        spec=spec,
        can_edit=read_only_reason is None,
        read_only_reason=read_only_reason,
    )


def history(
    session: Session,
    definition: Definition,
    *,
    limit: int = HISTORY_LIMIT,
    runs: int = HISTORY_RUNS,
) -> DefinitionHistory:
    """The definition's changes, newest first, and the last execution of each step in its
    newest ``runs`` runs."""
    changes = [
        ChangeRow(
            id=c.id,
            at=c.at,
            actor=who or "system",
            action=c.action,
            summary=c.summary,
            details=dict(c.details or {}),
        )
        for c, who in session.execute(
            select(DefinitionChange, User.display_name)
            .outerjoin(User, User.id == DefinitionChange.actor_id)
            .where(DefinitionChange.definition_id == definition.id)
            .order_by(DefinitionChange.at.desc(), DefinitionChange.id.desc())
            .limit(max(1, min(limit, 10_000)))
        )
    ]
    # Only the newest runs' steps are read (by the definition's runs, newest first, then
    # run_steps' (job_id, seq) index), so the query does not grow with the runs a definition
    # ever had; a step that ran in none of them shows as not run.
    recent = (
        select(DefinitionRun.job_id)
        .where(DefinitionRun.definition_id == definition.id)
        .order_by(DefinitionRun.job_id.desc())
        .limit(runs)
        .scalar_subquery()
    )
    newest = (
        select(
            RunStep,
            func.row_number()
            .over(
                partition_by=RunStep.step_name,
                order_by=(RunStep.started_at.desc(), RunStep.id.desc()),
            )
            .label("rank"),
        )
        .where(RunStep.job_id.in_(recent))
        .subquery()
    )
    latest = aliased(RunStep, newest)
    ran = {r.step_name: r for r in session.scalars(select(latest).where(newest.c.rank == 1))}
    steps = session.execute(
        select(DefinitionStep.name, DefinitionStep.kind)
        .where(DefinitionStep.definition_id == definition.id)
        .order_by(DefinitionStep.position)
    ).all()
    last = [_last(name, kind, ran.pop(name, None), True) for name, kind in steps]
    for name in sorted(ran):
        last.append(_last(name, ran[name].kind, ran[name], False))
    return DefinitionHistory(changes=changes, last_steps=last)


def _last(name: str, kind: str, row: RunStep | None, current: bool) -> LastStepRun:
    if row is None:
        return LastStepRun(step_name=name, kind=kind, in_definition=current)
    return LastStepRun(
        step_name=name,
        kind=kind,
        in_definition=current,
        job_id=row.job_id,
        seq=row.seq,
        started_at=row.started_at,
        ended_at=row.ended_at,
        outcome=row.outcome,
        message=row.message or "",
        output=row.output,
    )


def trigger_text(definition: Definition) -> str:
    """When it runs, in words ("Every day at 18:00 (Europe/London)")."""
    if definition.trigger == DefinitionTrigger.CAMPAIGN:
        return "When a campaign ends"
    if definition.trigger == DefinitionTrigger.FILE_IN:
        return f"When a file arrives in {definition.inbox}"
    schedule = definition.schedule or ""
    if importlib.util.find_spec("jobs.scheduler.schedules") is not None:
        from jobs.scheduler import schedules

        try:
            return schedules.describe(
                schedule, dict(definition.schedule_options or {}), definition.timezone
            )
        except InvalidInput:
            pass
    return f"{schedule} ({definition.timezone})"


def _step_view(position: int, step: Any) -> StepView:
    from jobs.definitions import steps as step_types

    try:
        step_type = step_types.get(step.kind)
        label, text = step_type.label, step_type.describe(step.settings)
    except InvalidInput:
        label, text = step.kind, ""
    return StepView(
        position=position,
        name=step.name,
        kind=step.kind,
        kind_label=label,
        settings=dict(step.settings),
        settings_text=text,
        next_success=step.next_success,
        next_failure=step.next_failure,
    )
