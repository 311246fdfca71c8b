"""What the scheduler and run tests share: definitions written straight into their tables,
a tiny step type that does what its settings say, and waiting for a run to settle."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, insert, select

from jobs import runtime
from jobs.db import Database
from jobs.definitions.steps.base import StepContext, StepOutcome
from jobs.models import (
    Definition,
    DefinitionDependency,
    DefinitionRun,
    DefinitionStep,
    Job,
    RunStep,
    SchedulerLease,
    User,
)
from jobs.status import JobStatus
from tests.definitions_support import clear_definitions


@dataclass
class ProbeStep:
    """A step type for tests: ok or failed as its settings say, after an optional pause;
    it counts its runs per (job, step) in ``calls``."""

    kind: str = "probe"
    label: str = "Probe"

    def __post_init__(self) -> None:
        self.calls: dict[tuple[int, str], int] = {}
        self.inputs: dict[int, str | None] = {}

    def check(self, settings: dict[str, Any]) -> dict[str, Any]:
        return dict(settings)

    def describe(self, settings: dict[str, Any]) -> str:
        return "Probe"

    def fields(self) -> list[Any]:
        return []

    def run(self, ctx: StepContext) -> StepOutcome:
        key = (ctx.job_id, ctx.step_name)
        self.calls[key] = self.calls.get(key, 0) + 1
        self.inputs[ctx.job_id] = ctx.input_file
        settings = ctx.settings
        if settings.get("sleep"):
            time.sleep(float(settings["sleep"]))
        if settings.get("raise"):
            raise RuntimeError(settings["raise"])
        output = settings.get("output")
        if output:
            ctx.run_dir.mkdir(parents=True, exist_ok=True)
            path = ctx.run_dir / output
            path.write_text(f"{ctx.step_name} of run {ctx.job_id}\n", encoding="utf-8")
            output = str(path)
        if settings.get("fail"):
            return StepOutcome.failed(settings.get("message", f"{ctx.step_name} failed"))
        return StepOutcome(ok=True, message=settings.get("message", "done"), output=output)


def probe_step(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProbeStep]:
    """For a fixture: the probe step type registered, no definitions, runs' files and
    emails under tmp."""
    from jobs.definitions import steps

    monkeypatch.setenv("BULKDESK_VAR_DIR", str(tmp_path / "var"))
    runtime.configure(
        dataclasses.replace(runtime.settings(), outbox_dir=str(tmp_path / "outbox")), db=db
    )
    clear_all(db)
    step = ProbeStep()
    steps.STEP_TYPES[step.kind] = step
    yield step
    steps.STEP_TYPES.pop(step.kind, None)
    clear_all(db)


def clear_all(db: Database) -> None:
    clear_definitions(db)
    with db.write_conn() as conn:
        conn.execute(delete(SchedulerLease))


def user_id(db: Database, username: str = "admin") -> int:
    with db.read() as s:
        return s.scalar(select(User.id).where(User.username == username))


def make_definition(
    db: Database,
    name: str,
    steps: list[dict[str, Any]] | None = None,
    *,
    trigger: str = "scheduled",
    schedule: str | None = "end_of_day",
    options: dict[str, Any] | None = None,
    timezone: str = "UTC",
    depends_on: list[int] = (),  # type: ignore[assignment]
    **values: Any,
) -> int:
    """A definition written straight into the tables; steps default to one probe."""
    steps = steps if steps is not None else [{"name": "Probe", "kind": "probe"}]
    with db.write_conn() as conn:
        definition_id = conn.execute(
            insert(Definition)
            .values(
                name=name,
                trigger=trigger,
                schedule=schedule if trigger == "scheduled" else None,
                schedule_options=options or {},
                timezone=timezone,
                owner_id=values.pop("owner_id", None) or _admin(conn),
                enabled=values.pop("enabled", True),
                **values,
            )
            .returning(Definition.id)
        ).scalar_one()
        for position, step in enumerate(steps):
            conn.execute(
                insert(DefinitionStep).values(
                    definition_id=definition_id,
                    position=position,
                    name=step["name"],
                    kind=step.get("kind", "probe"),
                    settings=step.get("settings", {}),
                    next_success=step.get("next_success"),
                    next_failure=step.get("next_failure"),
                )
            )
        for prerequisite in depends_on:
            conn.execute(
                insert(DefinitionDependency).values(
                    definition_id=definition_id, prerequisite_id=prerequisite
                )
            )
    return definition_id


def _admin(conn: Any) -> int:
    return conn.scalar(select(User.id).where(User.username == "admin"))


def status_of(db: Database, job_id: int) -> JobStatus:
    with db.read() as s:
        return JobStatus(s.scalar(select(Job.status).where(Job.id == job_id)))


def wait_run(
    db: Database, job_id: int, *, until=lambda st: st.is_final, timeout: float = 30
) -> JobStatus:  # type: ignore[no-untyped-def]
    """Poll a run's status until ``until(status)``; fail with its steps otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        status = status_of(db, job_id)
        if until(status):
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"run {job_id} still {status.label}: {steps_of(db, job_id)}")
        time.sleep(0.05)


def steps_of(db: Database, job_id: int) -> list[tuple[str, str, str]]:
    """The run's step history: (step name, outcome, message) in order."""
    with db.read() as s:
        return [
            tuple(r)
            for r in s.execute(
                select(RunStep.step_name, RunStep.outcome, RunStep.message)
                .where(RunStep.job_id == job_id)
                .order_by(RunStep.seq)
            )
        ]


def runs_of(db: Database, definition_id: int) -> list[Any]:
    with db.read() as s:
        return list(
            s.execute(
                select(DefinitionRun, Job.status)
                .join(Job, Job.id == DefinitionRun.job_id)
                .where(DefinitionRun.definition_id == definition_id)
                .order_by(DefinitionRun.due_at)
            )
        )
