"""What the definitions tests share: an empty set of definitions per test (the PostgreSQL
database is shared by a session's tests), specs that pass every rule, and runs made by hand."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, event, text

from jobs.db import Database
from jobs.definitions.spec import DefinitionSpec, StepSpec
from jobs.models import (
    Campaign,
    Definition,
    DefinitionChange,
    DefinitionDependency,
    DefinitionRun,
    DefinitionStep,
    Job,
    RunStep,
)
from jobs.status import JobStatus

_TABLES = (RunStep, DefinitionRun, DefinitionChange, DefinitionDependency, DefinitionStep)


def clear_definitions(db: Database) -> None:
    """Remove every definition, campaign and run (with the runs' jobs)."""
    with db.write_conn() as conn:
        run_jobs = [r[0] for r in conn.execute(text("SELECT job_id FROM definition_runs"))]
        for model in _TABLES:
            conn.execute(delete(model))
        conn.execute(delete(Definition))
        conn.execute(delete(Campaign))
        if run_jobs:
            conn.execute(delete(Job).where(Job.id.in_(run_jobs)))


def empty_definitions(db: Database, service: Any) -> Iterator[Any]:
    """For a test file's ``defs`` fixture: the DefinitionService over an empty set of
    definitions (emptied again after)."""
    clear_definitions(db)
    yield service.definitions
    clear_definitions(db)


def report_then_email(
    name: str = "Daily call report",
    *,
    trigger: str = "scheduled",
    schedule: str | None = "end_of_day",
    options: dict[str, Any] | None = None,
    **more: Any,
) -> DefinitionSpec:
    """A two-step definition that passes every rule: report, then email it."""
    if trigger != "scheduled":
        schedule, options = None, {}
    return DefinitionSpec(
        name=name,
        trigger=trigger,
        schedule=schedule,
        schedule_options={"at": "18:00"} if options is None else options,
        timezone="Europe/London",
        **{
            "steps": [
                StepSpec("Report", "report", {"report": "call"}, "Email", ""),
                StepSpec("Email", "email", {"recipients": ["ops@example.com"]}, "", ""),
            ],
            **more,
        },
    )


def add_run(
    db: Database,
    definition_id: int,
    due_at: dt.datetime,
    status: JobStatus,
    steps: list[dict[str, Any]],
) -> int:
    """A run made by hand: its job, its definition_runs row, its run_steps."""
    with db.write() as s:
        d = s.get(Definition, definition_id)
        assert d is not None
        job = Job(
            action="definition_run",
            description=d.name,
            owner_id=d.owner_id,
            selection={"kind": "definition", "text": f"Definition {d.name}", "definition_id": d.id},
            status=int(status),
            submitted_at=due_at,
        )
        s.add(job)
        s.flush()
        s.add(
            DefinitionRun(
                job_id=job.id,
                definition_id=d.id,
                due_at=due_at,
                business_day=due_at.date(),
                fired_by="schedule",
            )
        )
        for seq, step in enumerate(steps, start=1):
            s.add(RunStep(job_id=job.id, seq=seq, started_at=due_at, **step))
        return job.id


class StatementCounter:
    """Counts the SQL statements an engine runs inside a ``with`` block."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        self.count = 0

    def _count(self, *args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc: Any) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)
