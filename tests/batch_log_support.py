"""Test set-up for the batch audit log and the definition screens: definitions and their runs
written straight into the tables (a run = a ``jobs`` row with action ``definition_run``, its
``definition_runs`` row and its ``run_steps``), without a scheduler."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, insert, select

from jobs.db import Database
from jobs.models import (
    Definition,
    DefinitionChange,
    DefinitionRun,
    DefinitionStep,
    Job,
    RunStep,
    User,
)
from jobs.status import JobStatus


def user_id(db: Database, username: str) -> int:
    with db.read() as s:
        found = s.scalar(select(User.id).where(User.username == username))
        assert found is not None, username
        return found


def unique(name: str) -> str:
    """``name`` with a short random tail: the PostgreSQL database is shared by a session."""
    return f"{name} {uuid.uuid4().hex[:6]}"


def make_definition(
    db: Database,
    name: str,
    *,
    owner: str = "admin",
    trigger: str = "scheduled",
    schedule: str | None = "end_of_day",
    options: dict[str, Any] | None = None,
    enabled: bool = True,
    steps: Sequence[tuple[str, str, str | None, str | None]] = (
        ("Report", "report", "Mail", "Alert"),
        ("Mail", "email", None, None),
        ("Alert", "email", None, None),
    ),
    next_due_at: dt.datetime | None = None,
) -> int:
    """A definition with ``steps`` as (name, kind, next success, next failure)."""
    with db.write() as s:
        d = Definition(
            name=name,
            description=f"{name}: test definition",
            trigger=trigger,
            schedule=schedule if trigger == "scheduled" else None,
            schedule_options=options or {"at": "18:00"},
            timezone="UTC",
            enabled=enabled,
            enabled_at=dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC) if enabled else None,
            owner_id=user_id(db, owner),
            next_due_at=next_due_at,
        )
        s.add(d)
        s.flush()
        for i, (step, kind, ok, failed) in enumerate(steps):
            s.add(
                DefinitionStep(
                    definition_id=d.id,
                    position=i,
                    name=step,
                    kind=kind,
                    settings={"subject": f"{step} <b>done</b>"} if kind == "email" else {},
                    next_success=ok,
                    next_failure=failed,
                )
            )
        s.add(DefinitionChange(definition_id=d.id, actor_id=d.owner_id, action="created"))
        return d.id


def add_run(
    db: Database,
    definition_id: int,
    due_at: dt.datetime,
    status: JobStatus = JobStatus.COMPLETED,
    *,
    steps: Sequence[dict[str, Any]] = (),
    late: bool = False,
    fired_by: str = "schedule",
    detail: dict[str, Any] | None = None,
) -> int:
    """One run of the definition, due at ``due_at``, ended in ``status``, with ``steps``
    (dicts of RunStep's columns; ``step_name`` and ``kind`` at least)."""
    with db.write() as s:
        d = s.get(Definition, definition_id)
        assert d is not None
        started = None if status in (JobStatus.QUEUED, JobStatus.SUSPENDED) else due_at
        ended = started + dt.timedelta(seconds=42) if started and status.is_final else None
        job = Job(
            action="definition_run",
            description=d.name,
            owner_id=d.owner_id,
            selection={"kind": "definition", "text": f"Definition {d.name}", "definition_id": d.id},
            status=int(status),
            submitted_at=due_at,
            started_at=started,
            ended_at=ended,
        )
        s.add(job)
        s.flush()
        s.add(
            DefinitionRun(
                job_id=job.id,
                definition_id=d.id,
                due_at=due_at,
                business_day=due_at.date(),
                fired_by=fired_by,
                late=late,
                detail=detail or {},
            )
        )
        for seq, step in enumerate(steps, start=1):
            s.add(RunStep(job_id=job.id, seq=seq, started_at=due_at, **step))
        return job.id


def add_many_runs(
    db: Database, definition_ids: Sequence[int], start: dt.datetime, hours: int
) -> int:
    """One run per definition per hour for ``hours`` hours (statuses in turn), set-based."""
    with db.read() as s:
        owner = s.scalar(select(Definition.owner_id).where(Definition.id == definition_ids[0]))
    cycle = [JobStatus.COMPLETED] * 6 + [JobStatus.FAILED, JobStatus.SKIPPED, JobStatus.STOPPED]
    made = 0
    batch_jobs: list[dict[str, Any]] = []
    batch_runs: list[dict[str, Any]] = []

    def flush() -> None:
        with db.write_conn() as conn:
            ids = conn.scalars(
                insert(Job).returning(Job.id, sort_by_parameter_order=True), batch_jobs
            ).all()
            for run, job_id in zip(batch_runs, ids, strict=True):
                run["job_id"] = job_id
            conn.execute(insert(DefinitionRun), batch_runs)
        batch_jobs.clear()
        batch_runs.clear()

    for h in range(hours):
        due = start + dt.timedelta(hours=h)
        for d in definition_ids:
            status = cycle[made % len(cycle)]
            batch_jobs.append(
                {
                    "action": "definition_run",
                    "description": f"run {d}",
                    "parameters": {},
                    "selection": {"kind": "definition", "definition_id": d},
                    "owner_id": owner,
                    "status": int(status),
                    "submitted_at": due,
                    "started_at": due,
                    "ended_at": due + dt.timedelta(seconds=30),
                    "total": 0,
                    "ok": 0,
                    "exceptions": 0,
                    "not_processed": 0,
                    "chunks_left": 0,
                }
            )
            batch_runs.append(
                {
                    "definition_id": d,
                    "due_at": due,
                    "business_day": due.date(),
                    "fired_by": "schedule",
                    "late": False,
                    "detail": {},
                }
            )
            made += 1
            if len(batch_jobs) >= 5000:
                flush()
    if batch_jobs:
        flush()
    return made


def drop_definitions(db: Database, ids: Sequence[int]) -> None:
    """Remove test definitions and their runs (the PostgreSQL database is shared)."""
    with db.write_conn() as conn:
        job_ids = [
            r[0]
            for r in conn.execute(
                select(DefinitionRun.job_id).where(DefinitionRun.definition_id.in_(ids))
            )
        ]
        steps = select(DefinitionRun.job_id).where(DefinitionRun.definition_id.in_(ids))
        conn.execute(delete(RunStep).where(RunStep.job_id.in_(steps)))
        conn.execute(delete(DefinitionRun).where(DefinitionRun.definition_id.in_(ids)))
        for i in range(0, len(job_ids), 10_000):
            conn.execute(delete(Job).where(Job.id.in_(job_ids[i : i + 10_000])))
        conn.execute(delete(DefinitionChange).where(DefinitionChange.definition_id.in_(ids)))
        conn.execute(delete(DefinitionStep).where(DefinitionStep.definition_id.in_(ids)))
        conn.execute(delete(Definition).where(Definition.id.in_(ids)))
