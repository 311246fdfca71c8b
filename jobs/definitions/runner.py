"""Working a definition's run: follow its step graph, one step at a time, and end it.

The ``run_definition`` actor (``jobs.worker.actors``) calls :func:`work` with the run's job
id. It claims the run (``definition_runs.lease_owner``, kept alive by a heartbeat while a
step runs), so that two messages for one run never work it at once, then:

- Queued: a suspended definition's run moves to Suspended; the prerequisites are judged
  (``jobs.scheduler.triggers.prerequisites``): Skipped (Warning), wait, or start
  (In progress);
- In progress: the step history (``run_steps``) says where the run is. The first step
  (position 0) runs first; an ok step goes to its next-success step, a failed one to its
  next-failure step; an empty next step ends the run. A step is one ``run_steps`` row,
  written ``running`` before the step type's ``run(ctx)`` is called and given its outcome
  after. A step that returned a job to wait for (bulk action) or deliveries (email, copy) is
  ``waiting``: the worker lets go of the run, and a reaper sends it again when it is time to
  look (``wake_at``: soon for deliveries, and at once when the child job ends, through an
  ``end_job`` listener); no worker thread waits;
- Stop is checked before each step: a run a person stopped (or deleted) goes no further.

Outcomes (``jobs.status``): every step ok → Completed (Ok); a failure taken by its
next-failure step, whose path then ends ok → Completed with exceptions (Partial); a failure
with no next-failure step, or any further failure once on a failure path ("a failure step
that fails") → Failed (Error). A graph that runs more steps than it could without a loop ends
Failed (cycles are refused when a definition is saved; this is the last guard).

Recovery: a run whose worker died is found by a reaper once its claim runs out, and resumed
from its step history. A step found ``running`` had started but its outcome was not written.
Its effects are adopted rather than done twice: outbox deliveries of the run written since
the step started (an email, a file copy) and a child job submitted for it (the bulk-action
step finds its own earlier job, ``jobs.definitions.steps.bulk_action``) make it ``waiting``
for them; a step with no effect written (a report: its file is written again, whole) is run
again. What cannot be adopted is an outside effect a step made itself instead of through the
outbox; the step types make none.

What a run's end (and a child job's end) sets off: :mod:`jobs.definitions.run_ended`
(notifications to the definition's recipients, waking dependents).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from jobs import audit, clock, runtime
from jobs.db import Database
from jobs.definitions import run_ended  # noqa: F401  (hangs its listener from job ends)
from jobs.definitions.run_claim import LostClaim, claim, heartbeat, release, still_held
from jobs.engine import ending
from jobs.models import (
    Definition,
    DefinitionRun,
    Delivery,
    DeliveryState,
    Job,
    RunStep,
    utcnow,
)
from jobs.outbound import outbox
from jobs.scheduler import triggers, wakeups
from jobs.scheduler.triggers import RUN_ACTION
from jobs.status import JobStatus, move

log = logging.getLogger(__name__)

RUNNING, WAITING, OK, FAILED = "running", "waiting", "ok", "failed"
#: Seconds between looks at a run waiting for a prerequisite (a run's end wakes it sooner).
DEPENDENCY_POLL = 5.0
#: ... for a bulk-action step's job (its end wakes the run at once; this is the fallback).
CHILD_POLL = 5.0
#: ... for a delivery step's deliveries.
DELIVERY_POLL = 0.5

__all__ = ["FAILED", "OK", "RUNNING", "RUN_ACTION", "WAITING", "Worked", "work"]


@dataclass
class Worked:
    """What one message did: the deliveries to wake after commit, and where the run is."""

    deliveries: list[int] = field(default_factory=list)
    status: JobStatus | None = None
    waiting: bool = False


@dataclass(frozen=True)
class _Run:
    job_id: int
    status: JobStatus
    deleted: bool
    owner_id: int
    definition_id: int
    definition_name: str
    timezone: str
    suspended: bool
    due_at: dt.datetime
    business_day: dt.date
    detail: dict[str, Any]
    steps: list[dict[str, Any]]


# -- the work of one message -------------------------------------------------------------


def work(db: Database, job_id: int, owner: str, lease_seconds: float | None = None) -> Worked:
    """Take the run as far as it goes now (see the module's docstring).

    Parameters:
      db: the database.
      job_id: the run's job.
      owner: who works it (the message id): a second message for the same run does nothing
        while this one holds it.
      lease_seconds: how long the claim lasts without a heartbeat (default: the settings').
    """
    lease = lease_seconds or runtime.settings().lease_seconds
    if not claim(db, job_id, owner, lease):
        return Worked()
    done = Worked()
    wake_in: float | None = wakeups.RESEND_SECONDS  # an error below: look again later
    try:
        wake_in = _work(db, job_id, owner, lease, done)
    except LostClaim:
        log.warning("run %s: another worker took it over", job_id)
    finally:
        release(db, job_id, owner, wake_in)
    return done


def _work(db: Database, job_id: int, owner: str, lease: float, done: Worked) -> float | None:
    """Returns when the run should be looked at again (None: not by a wake-up)."""
    for _ in range(10_000):
        run = _read(db, job_id)
        if run is None or run.deleted or run.status.is_final:
            done.status = run.status if run else None
            return None
        if run.status == JobStatus.SUSPENDED:
            done.status = run.status
            return None
        if run.status == JobStatus.QUEUED:
            wait = _start(db, run, done)
            if wait is not None:
                done.waiting = True
                return wait
            continue
        wait = _step(db, run, owner, lease, done)
        if wait is not None:
            done.waiting = True
            return wait
    raise RuntimeError(f"run {job_id} did not settle")


def _read(db: Database, job_id: int) -> _Run | None:
    with db.read() as session:
        row = session.execute(
            select(
                Job.status,
                Job.deleted_at,
                Job.owner_id,
                Job.parameters,
                DefinitionRun.definition_id,
                DefinitionRun.due_at,
                DefinitionRun.business_day,
                DefinitionRun.detail,
                Definition.name,
                Definition.timezone,
                Definition.suspended_at,
            )
            .join(DefinitionRun, DefinitionRun.job_id == Job.id)
            .join(Definition, Definition.id == DefinitionRun.definition_id)
            .where(Job.id == job_id, Job.action == RUN_ACTION)
        ).one_or_none()
    if row is None:
        return None
    return _Run(
        job_id=job_id,
        status=JobStatus(row.status),
        deleted=row.deleted_at is not None,
        owner_id=row.owner_id,
        definition_id=row.definition_id,
        definition_name=row.name,
        timezone=row.timezone,
        suspended=row.suspended_at is not None,
        due_at=row.due_at,
        business_day=row.business_day,
        detail=row.detail or {},
        steps=list((row.parameters or {}).get("steps") or []),
    )


def _start(db: Database, run: _Run, done: Worked) -> float | None:
    """A Queued run: hold it back, skip it, let it wait, or start it."""
    now = utcnow()
    with db.write_conn() as conn:
        if run.suspended:
            definition = conn.execute(
                select(Definition.__table__).where(Definition.id == run.definition_id)
            ).one()
            triggers.hold_back(conn, run.job_id, definition)
            return None
        verdict = triggers.prerequisites(
            conn, run.definition_id, run.business_day, run.timezone, clock.now()
        )
        if verdict.decision == "wait":
            return DEPENDENCY_POLL
        if verdict.decision == "skip":
            ended = ending.end_job(conn, run.job_id, JobStatus.SKIPPED, error=verdict.message)
            done.deliveries += ended.deliveries if ended else []
            return None
        if move(conn, run.job_id, JobStatus.IN_PROGRESS, started_at=now, last_progress_at=now):
            audit.record(
                conn,
                audit.START,
                job_id=run.job_id,
                actor_id=None,
                at=now,
                summary=f"Run {run.job_id} of {run.definition_name!r} started",
            )
    return None


def _history(db: Database, job_id: int) -> list[Any]:
    with db.read() as session:
        return list(
            session.execute(
                select(RunStep.__table__).where(RunStep.job_id == job_id).order_by(RunStep.seq)
            )
        )


def _step(db: Database, run: _Run, owner: str, lease: float, done: Worked) -> float | None:
    """Advance an In progress run by one step (or one look at a waiting one)."""
    history = _history(db, run.job_id)
    by_name = {s["name"]: s for s in run.steps}
    last = history[-1] if history else None
    if last is not None and last.outcome == WAITING:
        return _look(db, run, owner, last)
    if last is not None and last.outcome == RUNNING:
        adopted = _adopt(db, run, last, history)
        if adopted:
            return None  # looked at on the next turn, as waiting
        return _execute(db, run, owner, lease, history, by_name[last.step_name], last.seq, done)
    nxt = _next(run, history, by_name)
    if isinstance(nxt, tuple):
        _end(db, run, *nxt, done=done)
        return None
    return _execute(db, run, owner, lease, history, nxt, len(history) + 1, done)


def _next(
    run: _Run, history: list[Any], by_name: dict[str, dict[str, Any]]
) -> dict[str, Any] | tuple[JobStatus, str | None]:
    """The step to run next, or how the run ends (status, error)."""
    if not history:
        if not run.steps:
            return JobStatus.COMPLETED, None
        return run.steps[0]
    if len(history) >= 2 * len(run.steps) + 2:
        return JobStatus.FAILED, "The step graph loops; the run was ended"
    failures = [h for h in history if h.outcome == FAILED]
    last = history[-1]
    step = by_name.get(last.step_name, {})
    if last.outcome == OK:
        name = step.get("next_success")
    elif len(failures) == 1 and step.get("next_failure"):
        name = step.get("next_failure")
    else:
        return JobStatus.FAILED, f"Step “{last.step_name}” failed: {last.message}"
    if not name:
        if failures:
            first = failures[0]
            return JobStatus.COMPLETED_WITH_EXCEPTIONS, (
                f"Step “{first.step_name}” failed ({first.message}); its failure path ran"
            )
        return JobStatus.COMPLETED, None
    if name not in by_name:
        return JobStatus.FAILED, f"Step “{last.step_name}” leads to “{name}”, which is no step"
    return by_name[name]


def _execute(
    db: Database,
    run: _Run,
    owner: str,
    lease: float,
    history: list[Any],
    step: dict[str, Any],
    seq: int,
    done: Worked,
) -> float | None:
    """Run one step: its row first (``running``), then the step type, then its outcome."""
    from jobs.definitions import steps as step_types
    from jobs.definitions.steps.base import StepContext, StepOutcome
    from jobs.service import JobService

    with db.write_conn() as conn:
        status = conn.scalar(select(Job.status).where(Job.id == run.job_id).with_for_update())
        if status != JobStatus.IN_PROGRESS:
            return None  # stopped (or ended) meanwhile: the next turn sees it
        _write_running(conn, run.job_id, seq, step)
    outputs = {h.step_name: h.output for h in history if h.outcome == OK and h.output}
    newest = [h.output for h in history if h.outcome == OK and h.output]
    ctx = StepContext(
        db=db,
        service=JobService(db),
        job_id=run.job_id,
        definition_id=run.definition_id,
        definition_name=run.definition_name,
        owner_id=run.owner_id,
        step_name=step["name"],
        settings=dict(step.get("settings") or {}),
        run_dir=run_dir(run.job_id),
        business_day=run.business_day,
        due_at=run.due_at,
        timezone=run.timezone,
        app_settings=runtime.settings(),
        input_file=run.detail.get("file"),
        outputs=outputs,
        last_output=newest[-1] if newest else None,
    )
    try:
        with heartbeat(db, run.job_id, owner, lease):
            outcome = step_types.get(step["kind"]).run(ctx)
    except Exception as error:  # a step's own failure follows its next-failure step
        log.warning("run %s step %r failed", run.job_id, step["name"], exc_info=True)
        outcome = StepOutcome.failed(str(error) or type(error).__name__)
    waits = outcome.ok and (outcome.wait_for_job is not None or bool(outcome.deliveries))
    try:
        with db.write_conn() as conn:
            values: dict[str, Any] = {
                "message": outcome.message,
                "output": outcome.output,
                "child_job_id": outcome.wait_for_job,
                "deliveries": list(outcome.deliveries),
            }
            verdict = WAITING if waits else _verdict(outcome)
            _finish_step(conn, run.job_id, seq, owner, verdict, values)
    except LostClaim:
        if outcome.wait_for_job is not None:
            _stopped_meanwhile(db, run.job_id, seq, outcome.wait_for_job, done)
        raise
    done.deliveries += list(outcome.deliveries)
    return None


def _stopped_meanwhile(db: Database, job_id: int, seq: int, child: int, done: Worked) -> None:
    """A run stopped while its bulk-action step was submitting: the job it submitted after
    the stop is stopped (or deleted) too, as the stop does for one submitted before, and
    the step names it."""
    with db.write_conn() as conn:
        status = conn.scalar(select(Job.status).where(Job.id == job_id).with_for_update())
        if status != JobStatus.STOPPED:
            return
        done.deliveries += run_ended.stop_children(conn, job_id, utcnow())
        conn.execute(
            update(RunStep)
            .where(
                RunStep.job_id == job_id,
                RunStep.seq == seq,
                RunStep.outcome == run_ended.STOPPED_STEP,
                RunStep.child_job_id.is_(None),
            )
            .values(
                child_job_id=child,
                message=RunStep.message
                + f". Job {child}, submitted as the run was stopped, was stopped with it "
                "(deleted if it had not started)",
            )
        )


def _verdict(outcome: Any) -> str:
    return OK if outcome.ok else FAILED


def _write_running(conn: Connection, job_id: int, seq: int, step: dict[str, Any]) -> None:
    now = utcnow()
    found = conn.execute(
        update(RunStep)
        .where(RunStep.job_id == job_id, RunStep.seq == seq)
        .values(started_at=now, message="Started again: the worker running it stopped")
    ).rowcount
    if not found:
        conn.execute(
            RunStep.__table__.insert().values(
                job_id=job_id,
                seq=seq,
                step_name=step["name"],
                kind=step["kind"],
                started_at=now,
                outcome=RUNNING,
                message="",
                deliveries=[],
            )
        )
    conn.execute(update(Job).where(Job.id == job_id).values(last_progress_at=now))


def _finish_step(
    conn: Connection, job_id: int, seq: int, owner: str, outcome: str, values: dict[str, Any]
) -> None:
    """Write a step's outcome, only while this worker still holds the run (a worker that
    lost its claim leaves the step to the one that took it over)."""
    still_held(conn, job_id, owner)
    now = utcnow()
    final = outcome in (OK, FAILED)
    conn.execute(
        update(RunStep)
        .where(RunStep.job_id == job_id, RunStep.seq == seq)
        .values(outcome=outcome, ended_at=now if final else None, **values)
    )
    if final:
        _count(conn, job_id, outcome)


def _count(conn: Connection, job_id: int, outcome: str) -> None:
    column = Job.ok if outcome == OK else Job.exceptions
    conn.execute(
        update(Job)
        .where(Job.id == job_id)
        .values({column.key: column + 1, "last_progress_at": utcnow()})
    )


def _look(db: Database, run: _Run, owner: str, step: Any) -> float | None:
    """A waiting step: has its job ended, have its deliveries gone?"""
    with db.read() as session:
        if step.child_job_id is not None:
            child = session.execute(
                select(Job.status, Job.deleted_at, Job.error, Job.ok, Job.exceptions).where(
                    Job.id == step.child_job_id
                )
            ).one_or_none()
            verdict = _child_verdict(step.child_job_id, child)
            if verdict is None:
                return CHILD_POLL
        else:
            verdict = _delivery_verdict(session.connection(), list(step.deliveries or []))
            if verdict is None:
                return DELIVERY_POLL
    outcome, sentence = verdict
    message = f"{step.message}. {sentence}" if step.message else sentence
    with db.write_conn() as conn:
        still_held(conn, run.job_id, owner)
        conn.execute(
            update(RunStep)
            .where(RunStep.id == step.id, RunStep.outcome == WAITING)
            .values(outcome=outcome, ended_at=utcnow(), message=message)
        )
        _count(conn, run.job_id, outcome)
    return None


def _child_verdict(job_id: int, child: Any) -> tuple[str, str] | None:
    if child is None or child.deleted_at is not None:
        return FAILED, f"Job {job_id} was deleted"
    status = JobStatus(child.status)
    if not status.is_final:
        return None
    counts = f"{child.ok:,} ok, {child.exceptions:,} exceptions"
    if status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS):
        return OK, f"Job {job_id} ended {status.label} ({counts})"
    why = f": {child.error}" if child.error else ""
    return FAILED, f"Job {job_id} ended {status.label}{why}"


def _delivery_verdict(conn: Connection, ids: list[int]) -> tuple[str, str] | None:
    rows = conn.execute(
        select(Delivery.id, Delivery.kind, Delivery.payload, Delivery.state, Delivery.last_error)
        .where(Delivery.id.in_(ids))
        .order_by(Delivery.id)
    ).all()
    failed = [r for r in rows if r.state == DeliveryState.FAILED]
    if failed:
        first = failed[0]
        what = outbox.describe(first.kind, first.payload)
        return FAILED, f"{what} could not be delivered: {first.last_error}"
    if len(rows) == len(ids) and all(r.state == DeliveryState.SENT for r in rows):
        return OK, f"Delivered ({len(rows)})" if len(rows) != 1 else "Delivered"
    return None


def _adopt(db: Database, run: _Run, step: Any, history: list[Any]) -> bool:
    """A step found running after its worker died: wait for the effects it had written
    (deliveries of this run since it started), instead of running it again."""
    known = {d for h in history for d in (h.deliveries or [])}
    with db.write_conn() as conn:
        written = [
            d
            for d in conn.scalars(
                select(Delivery.id)
                .where(Delivery.job_id == run.job_id, Delivery.created_at >= step.started_at)
                .order_by(Delivery.id)
            )
            if d not in known
        ]
        if not written:
            return False
        conn.execute(
            update(RunStep)
            .where(RunStep.id == step.id, RunStep.outcome == RUNNING)
            .values(
                outcome=WAITING,
                deliveries=written,
                message="Its worker stopped after the step had queued its deliveries",
            )
        )
    return True


def _end(db: Database, run: _Run, final: JobStatus, error: str | None, *, done: Worked) -> None:
    with db.write_conn() as conn:
        ended = ending.end_job(conn, run.job_id, final, error=error)
        if ended is None:
            return
        # The steps the graph did not reach are the run's "not processed".
        conn.execute(
            update(Job)
            .where(Job.id == run.job_id)
            .values(not_processed=Job.total - Job.ok - Job.exceptions)
        )
        done.deliveries += ended.deliveries
        done.status = final


def run_dir(job_id: int) -> Path:
    """The run's folder for the files its steps write (``var/runs/<job id>/``)."""
    base = Path(os.environ.get("BULKDESK_VAR_DIR", Path.cwd() / "var"))
    return base / "runs" / str(job_id)
