"""The completion email of a job: whether its owner wants one, and what it says.

The one place a job ends (``jobs.engine.ending``) calls :func:`completion_payload` in the
ending transaction and puts what it returns in the outbox; the ``deliver`` actor sends it
after commit (``jobs.outbound.mail``).

A job definition's runs are not jobs their owner launched: a scheduled definition runs
every hour, unattended, and tells its own success and failure recipients
(``jobs.definitions.run_ended``). So the owner's preference applies to a run only when it
did not go well (:data:`RUN_NOTIFY_STATUSES`): "all" and "failures" both mean an email for
an Error, Partial, Incomplete (stopped) or Warning (skipped) run, never for an Ok one; "none"
means none. A job a run's bulk-action step submitted (``link = "step"``) sends its owner no
email of its own: its outcome is in the run's step history and the run's emails.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from jobs.models import RUN_ACTION, Job, User
from jobs.people.profile import NOTIFY_CHOICES
from jobs.status import FINAL, JobStatus

if TYPE_CHECKING:
    from jobs.config import Settings

#: The final statuses each choice of "Job completion email" sends an email for.
NOTIFY_STATUSES: dict[str, frozenset[JobStatus]] = {
    "all": FINAL,
    "failures": frozenset(
        {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.COMPLETED_WITH_EXCEPTIONS}
    ),
    "none": frozenset(),
}
#: The same for a job definition's run (see the module's docstring).
RUN_NOTIFY_STATUSES: dict[str, frozenset[JobStatus]] = {
    "all": frozenset(
        {
            JobStatus.FAILED,
            JobStatus.STOPPED,
            JobStatus.COMPLETED_WITH_EXCEPTIONS,
            JobStatus.SKIPPED,
        }
    ),
    "none": frozenset(),
}
RUN_NOTIFY_STATUSES["failures"] = RUN_NOTIFY_STATUSES["all"]
#: A bulk-action step's job, linked to its run (``jobs.definitions.steps.bulk_action.LINK``).
STEP_LINK = "step"


def wants_email(notify: str, status: JobStatus, *, run: bool = False) -> bool:
    """Whether a person whose preference is ``notify`` gets an email for a job (``run``: a
    definition's run) that ended ``status``. A preference that is no known choice counts as
    the default, ``all``."""
    if run:
        return status in RUN_NOTIFY_STATUSES.get(notify, RUN_NOTIFY_STATUSES["all"])
    return status in NOTIFY_STATUSES.get(notify, FINAL)


def completion_payload(conn: Connection, job_id: int, settings: Settings) -> dict[str, Any] | None:
    """The email to the owner of a job that just ended, read in the caller's transaction.

    Returns:
      ``{"to", "subject", "body"}``, or None when the job is not final, its owner's profile
      does not ask for this email, or the owner has no email address.
    """
    row = conn.execute(
        select(
            Job.id,
            Job.description,
            Job.action,
            Job.status,
            Job.total,
            Job.ok,
            Job.exceptions,
            Job.not_processed,
            Job.submitted_at,
            Job.started_at,
            Job.ended_at,
            Job.error,
            Job.link,
            User.username,
            User.display_name,
            User.email,
            User.notify,
        )
        .join(User, User.id == Job.owner_id)
        .where(Job.id == job_id)
    ).one_or_none()
    if row is None or not (row.email or "").strip() or row.link == STEP_LINK:
        return None
    status = JobStatus(row.status)
    if not status.is_final or not wants_email(row.notify, status, run=row.action == RUN_ACTION):
        return None
    description = " ".join(row.description.split())
    return {
        "to": row.email.strip(),
        "subject": f"Bulkdesk job {row.id} — {description}: {status.label}",
        "body": _body(row, status, description, settings),
    }


def job_link(settings: Settings, job_id: int) -> str:
    """The job's page in the dashboard (the Monitor, with the job open)."""
    url = settings.dashboard_url
    return f"{url}{'&' if '?' in url else '?'}page=monitor&job={job_id}"


def _page_link(settings: Settings, page: str) -> str:
    url = settings.dashboard_url
    return f"{url}{'&' if '?' in url else '?'}page={page}"


def duration_text(seconds: float) -> str:
    """A time taken as people say it: "0.4 s", "42 s", "2 min 5 s", "1 h 3 min", "2 d 4 h"."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f} s"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _pair(days, "d", hours, "h")
    if hours:
        return _pair(hours, "h", minutes, "min")
    if minutes:
        return _pair(minutes, "min", secs, "s")
    return f"{secs} s"


def _pair(big: int, big_unit: str, small: int, small_unit: str) -> str:
    return f"{big} {big_unit}" + (f" {small} {small_unit}" if small else "")


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def _body(row: Any, status: JobStatus, description: str, settings: Settings) -> str:
    from jobs.actions import ACTIONS

    action = ACTIONS.get(row.action)
    if row.started_at is None:
        taken = "it did not start"
    elif row.ended_at is None:
        taken = "—"
    else:
        taken = duration_text((row.ended_at - row.started_at).total_seconds())
    lines = [
        f"Hello {row.display_name},",
        "",
        f"Your Bulkdesk job {row.id} ended: {status.label}.",
        "",
        f"  Job:            {description}",
        f"  Action:         {action.label if action else row.action}",
        f"  Submitted:      {_when(row.submitted_at)}",
        f"  Started:        {_when(row.started_at)}",
        f"  Ended:          {_when(row.ended_at)}",
        f"  Time taken:     {taken}",
        "",
        f"  Total:          {row.total:,}",
        f"  Ok:             {row.ok:,}",
        f"  Exceptions:     {row.exceptions:,}",
        f"  Not processed:  {row.not_processed:,}",
    ]
    if row.error:
        lines += ["", f"Error: {row.error}"]
    lines += [
        "",
        "See the job and its items in the dashboard:",
        job_link(settings, row.id),
        "",
        "--",
        "You get this email because the job completion email of your Bulkdesk profile is "
        f"set to “{NOTIFY_CHOICES.get(row.notify, NOTIFY_CHOICES['all'])}”. Change it on your "
        f"Profile page ({_page_link(settings, 'profile')}), or with "
        f"`bulkdesk profile --as {row.username} --notify none`."
        + (
            " For a job definition's runs it sends only those that did not end Ok; the "
            "definition's own success and failure recipients are told of its runs."
            if row.action == RUN_ACTION
            else ""
        ),
    ]
    return "\n".join(lines) + "\n"
