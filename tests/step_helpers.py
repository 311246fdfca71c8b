"""Helpers for step tests: a run's job to hang steps on, and a step's context."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select

from jobs import runtime
from jobs.db import Database
from jobs.models import Delivery, Job, User, utcnow
from jobs.outbound import outbox
from jobs.service import JobService
from jobs.status import JobStatus

DEFINITION = "Daily collections pack"


def run_job(db: Database, owner: str = "admin", name: str = DEFINITION) -> tuple[int, int]:
    """A definition run's job (In progress), as the runner would have made it: its id and
    its owner's id. (No definition row: the steps only need the job.)"""
    with db.write() as session:
        owner_id = session.scalar(select(User.id).where(User.username == owner))
        job = Job(
            action="definition_run",
            description=name,
            parameters={},
            selection={"kind": "definition", "text": f"Definition {name}"},
            owner_id=owner_id,
            status=int(JobStatus.IN_PROGRESS),
            submitted_at=utcnow(),
            started_at=utcnow(),
        )
        session.add(job)
        session.flush()
        return job.id, owner_id


def context(
    db: Database,
    run_dir: Path,
    settings: dict[str, Any],
    *,
    job: tuple[int, int] | None = None,
    step: str = "Step",
    day: dt.date = dt.date(2027, 3, 10),
    outputs: dict[str, str | None] | None = None,
    **extra: Any,
):
    """The StepContext the runner would give a step of run ``job`` (made when not given)."""
    from jobs.definitions.steps import StepContext

    job_id, owner_id = job or run_job(db)
    outputs = dict(outputs or {})
    last = next((v for v in reversed(outputs.values()) if v), None)
    return StepContext(
        db=db,
        service=JobService(db),
        job_id=job_id,
        definition_id=1,
        definition_name=extra.pop("definition_name", DEFINITION),
        owner_id=owner_id,
        step_name=step,
        settings=settings,
        run_dir=run_dir,
        business_day=day,
        due_at=dt.datetime.combine(day, dt.time(18), dt.UTC),
        outputs=outputs,
        last_output=extra.pop("last_output", last),
        **extra,
    )


def deliveries(db: Database, ids: list[int]) -> list[Delivery]:
    with db.read() as session:
        return list(
            session.scalars(select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id))
        )


def deliver_all(db: Database, ids: list[int], **changes: Any) -> list[Delivery]:
    """Send each delivery once now, in this thread, with the process's settings changed by
    ``changes`` (the ``deliver`` actor's work, without a broker)."""
    settings = dataclasses.replace(runtime.settings(), **changes)
    for delivery_id in ids:
        outbox.deliver(db, delivery_id, settings)
    return deliveries(db, ids)
