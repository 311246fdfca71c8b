"""What a job's end means for definitions' runs, hung from the one place a job ends
(``jobs.engine.ending.add_listener``), in the ending transaction:

- a bulk-action step's child job ended: its run is woken at once (``wake_at`` now), instead
  of at its next poll;
- a run ended: runs of the definitions that depend on it, waiting for the same business
  day, are woken; its own wake-up and claim are cleared (whoever ended it: its last step, a
  person's Stop, retries running out);
- a run ended Ok: an email to each of the definition's success recipients; Error or
  Partial: to each failure recipient (besides the owner's own completion-email choice).
  The email says how each step went and links to the run in the dashboard
  (``…?page=monitor&job=<id>``).

Imported by :mod:`jobs.definitions.runner` (so by every worker process).
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from jobs import runtime
from jobs.engine import ending
from jobs.models import Definition, DefinitionDependency, DefinitionRun, Job, RunStep, utcnow
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
    return _notify(conn, job_id, run.definition_id, status)


def _notify(conn: Connection, job_id: int, definition_id: int, status: JobStatus) -> list[int]:
    from jobs.outbound.completion import job_link

    recipients = conn.execute(
        select(Definition.name, Definition.success_recipients, Definition.failure_recipients).where(
            Definition.id == definition_id
        )
    ).one()
    if status == JobStatus.COMPLETED:
        listed = recipients.success_recipients
    elif status in (JobStatus.FAILED, JobStatus.COMPLETED_WITH_EXCEPTIONS):
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
