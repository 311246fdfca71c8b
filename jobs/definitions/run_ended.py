"""What a job's end means for definitions' runs, hung from the one place a job ends
(``jobs.engine.ending.add_listener``), in the ending transaction:

- a bulk-action step's child job ended: its run is woken at once (``wake_at`` now), instead
  of at its next poll;
- a run ended: runs of the definitions that depend on it, waiting for the same business
  day, are woken; its own wake-up and claim are cleared (whoever ended it: its last step, a
  person's Stop, retries running out);
- a run was stopped (Incomplete, by a person in the Monitor or ``bulkdesk jobs stop``): the
  job its bulk-action step launched is stopped with it (In progress or Awaiting approval:
  Stopped, by the same person; Queued, not started yet: deleted, so it never runs, as a
  person deletes a Queued job), and the step waiting for it is recorded ``stopped``. This
  runs first, before the run's own rows are touched, so that it takes the child's rows in
  the order a chunk worker ending the child does (items, job, then the run's row);
- a run ended Ok: an email to each of the definition's success recipients; Error,
  Partial, Incomplete (stopped) or Warning (skipped: a prerequisite ended in Error or never
  ran that day, named in the email): to each failure recipient. The email says how each
  step went and links to the run in the dashboard (``…?page=monitor&job=<id>``). The
  owner's own completion email is separate (``jobs.outbound.completion``: for a run, only
  when it did not end Ok).

Imported by :mod:`jobs.definitions.runner` (so by every worker process).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, select, update

from jobs import audit, runtime
from jobs.engine import ending
from jobs.models import (
    AuditEvent,
    Definition,
    DefinitionDependency,
    DefinitionRun,
    Job,
    RunStep,
    User,
    utcnow,
)
from jobs.outbound import outbox
from jobs.scheduler import wakeups
from jobs.scheduler.triggers import RUN_ACTION
from jobs.status import JobStatus


def _after_a_job_ends(conn: Connection, job_id: int, status: JobStatus) -> list[int]:
    """Wake a run waiting for this job (its bulk-action step's child), or runs waiting for
    this run (their prerequisite); clear an ended run's wake-up; notify its recipients."""
    job = conn.execute(select(Job.action, Job.parent_job_id).where(Job.id == job_id)).one_or_none()
    if job is None:
        return []
    now = utcnow()
    if job.parent_job_id is not None:
        wakeups.wake_now(conn, [job.parent_job_id], now)
    if job.action != RUN_ACTION:
        return []
    deliveries = stop_children(conn, job_id, now) if status == JobStatus.STOPPED else []
    conn.execute(
        update(DefinitionRun)
        .where(DefinitionRun.job_id == job_id)
        .values(wake_at=None, lease_owner=None, lease_until=None)
    )
    run = conn.execute(
        select(DefinitionRun.definition_id, DefinitionRun.business_day).where(
            DefinitionRun.job_id == job_id
        )
    ).one_or_none()
    if run is None:
        return []
    dependents = select(DefinitionDependency.definition_id).where(
        DefinitionDependency.prerequisite_id == run.definition_id
    )
    waiting = conn.scalars(
        select(DefinitionRun.job_id)
        .join(Job, Job.id == DefinitionRun.job_id)
        .where(
            DefinitionRun.definition_id.in_(dependents),
            DefinitionRun.business_day == run.business_day,
            Job.status == JobStatus.QUEUED,
        )
    ).all()
    wakeups.wake_now(conn, list(waiting), now)
    return deliveries + _notify(conn, job_id, run.definition_id, status)


#: A step's outcome when its run was stopped while it ran or waited.
STOPPED_STEP = "stopped"
#: The link of a bulk-action step's job (``jobs.definitions.steps.bulk_action.LINK``).
STEP_LINK = "step"


def _stopper(conn: Connection, job_id: int) -> tuple[int | None, str]:
    """Who stopped the run (its newest Stop in the audit trail), and their name."""
    found = conn.execute(
        select(AuditEvent.actor_id, User.display_name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.job_id == job_id, AuditEvent.action == audit.STOP)
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if found is None or found.actor_id is None:
        return None, "the system"
    return found.actor_id, found.display_name


def stop_children(conn: Connection, job_id: int, now: dt.datetime) -> list[int]:
    """Stop (or, not started yet, delete) the jobs the run's bulk-action steps launched that
    are still going, and record the steps that ran or waited as stopped. Called when the run
    is stopped, and again by a step that submitted its job just after (``jobs.definitions.
    runner``); what is already stopped is left alone."""
    actor_id, who = _stopper(conn, job_id)
    children = conn.execute(
        select(Job.id, Job.status)
        .where(
            Job.parent_job_id == job_id,
            Job.link == STEP_LINK,
            Job.deleted_at.is_(None),
            Job.status.in_(
                [
                    int(JobStatus.QUEUED),
                    int(JobStatus.IN_PROGRESS),
                    int(JobStatus.AWAITING_APPROVAL),
                ]
            ),
        )
        .order_by(Job.id)
    ).all()
    deliveries: list[int] = []
    said: dict[int, str] = {}
    why = f"its run {job_id} was stopped by {who}"
    for child in children:
        status = JobStatus(child.status)
        if status == JobStatus.QUEUED:
            deleted = conn.execute(
                update(Job)
                .where(
                    Job.id == child.id,
                    Job.status == int(JobStatus.QUEUED),
                    Job.deleted_at.is_(None),
                )
                .values(deleted_at=now, deleted_by_id=actor_id)
            ).rowcount
            if deleted:
                audit.record(
                    conn,
                    audit.DELETE,
                    job_id=child.id,
                    actor_id=actor_id,
                    at=now,
                    summary=f"Job {child.id} deleted before it started: {why}",
                    details={"status": JobStatus.QUEUED.label, "run": job_id},
                )
                said[child.id] = f"Job {child.id} had not started; it was deleted ({why})"
                continue
            # A worker was starting it (PostgreSQL: the update above waited for its start
            # to commit): it is In progress now, and stopped as such.
            status = JobStatus(conn.scalar(select(Job.status).where(Job.id == child.id)))
        if status not in (JobStatus.IN_PROGRESS, JobStatus.AWAITING_APPROVAL):
            continue
        try:
            with conn.begin_nested():
                ended = ending.end_job(
                    conn, child.id, JobStatus.STOPPED, actor_id=actor_id, error=f"Stopped: {why}"
                )
        except ending._EndedMeanwhile:  # its last chunk ended it meanwhile: nothing to stop
            ended = None
        if ended is not None:
            deliveries += ended.deliveries
            said[child.id] = f"Job {child.id} was stopped with the run"
    for step in conn.execute(
        select(RunStep.id, RunStep.child_job_id, RunStep.message).where(
            RunStep.job_id == job_id, RunStep.outcome.in_(["running", "waiting"])
        )
    ):
        sentence = said.get(step.child_job_id or 0) or f"Stopped by {who}"
        conn.execute(
            update(RunStep)
            .where(RunStep.id == step.id)
            .values(
                outcome=STOPPED_STEP,
                ended_at=now,
                message=f"{step.message}. {sentence}" if step.message else sentence,
            )
        )
    return deliveries


def _notify(conn: Connection, job_id: int, definition_id: int, status: JobStatus) -> list[int]:
    from jobs.outbound.completion import job_link

    recipients = conn.execute(
        select(Definition.name, Definition.success_recipients, Definition.failure_recipients).where(
            Definition.id == definition_id
        )
    ).one()
    if status == JobStatus.COMPLETED:
        listed = recipients.success_recipients
    elif status in (
        JobStatus.FAILED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
        JobStatus.STOPPED,
        JobStatus.SKIPPED,
    ):
        listed = recipients.failure_recipients
    else:
        return []
    addresses = [a.strip() for a in (listed or "").replace(";", ",").split(",") if a.strip()]
    if not addresses:
        return []
    settings = runtime.settings()
    error = conn.scalar(select(Job.error).where(Job.id == job_id))
    lines = [
        f"Run {job_id} of the job definition “{recipients.name}” ended: "
        f"{status.batch_label} ({status.label}).",
        "",
    ]
    if error:
        lines += [error, ""]
    for h in conn.execute(
        select(RunStep.seq, RunStep.step_name, RunStep.outcome, RunStep.message, RunStep.output)
        .where(RunStep.job_id == job_id)
        .order_by(RunStep.seq)
    ):
        lines.append(f"  {h.seq}. {h.step_name}: {h.outcome}. {h.message}".rstrip())
        if h.output:
            lines.append(f"     Output: {h.output}")
    lines += ["", "The run and its steps in the dashboard:", job_link(settings, job_id), ""]
    payload = {
        "subject": f"Bulkdesk run {job_id} — {recipients.name}: {status.batch_label}",
        "body": "\n".join(lines),
    }
    return [
        outbox.add(conn, kind="email", payload={"to": to, **payload}, job_id=job_id)
        for to in addresses
    ]


ending.add_listener(_after_a_job_ends)
