"""The one status machine for jobs: codes, labels and the transitions allowed between them.

Every status change in Bulkdesk goes through :func:`move`, a guarded ``UPDATE`` that only
succeeds from an allowed predecessor, so concurrent workers and people cannot race a job
into a state the rules forbid.
"""

from __future__ import annotations

import enum
from typing import Any

from sqlalchemy import Connection, update

from jobs.errors import IllegalTransition
from jobs.models import Job


class JobStatus(enum.IntEnum):
    """Codes from the batch audit log; labels from the bulk update monitoring screen."""

    QUEUED = 0
    IN_PROGRESS = 1
    COMPLETED = 2
    STOPPED = 3
    FAILED = 4
    COMPLETED_WITH_EXCEPTIONS = 5
    SKIPPED = 6
    SUSPENDED = 7
    AWAITING_APPROVAL = 8

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def batch_label(self) -> str:
        return _LABELS[self][1]

    @property
    def meaning(self) -> str:
        return _LABELS[self][2]

    @property
    def is_final(self) -> bool:
        return self in FINAL

    @classmethod
    def from_label(cls, text: str) -> JobStatus:
        """Parse a label, batch label, code or enum name, case-insensitively.

        Raises:
          ValueError: when nothing matches.
        """
        wanted = text.strip().lower().replace("_", " ")
        for status in cls:
            names = {
                status.label.lower(),
                status.batch_label.lower(),
                str(status.value),
                status.name.lower().replace("_", " "),
            }
            if wanted in names:
                return status
        known = ", ".join(s.label for s in cls)
        raise ValueError(f"Unknown status {text!r}; expected one of: {known}")


_LABELS = {
    JobStatus.QUEUED: ("Queued", "New", "submitted, not started"),
    JobStatus.IN_PROGRESS: ("In progress", "Running", "running"),
    JobStatus.COMPLETED: ("Completed", "Ok", "every item succeeded"),
    JobStatus.STOPPED: ("Stopped", "Incomplete", "stopped by a person"),
    JobStatus.FAILED: ("Failed", "Error", "interrupted by an error"),
    JobStatus.COMPLETED_WITH_EXCEPTIONS: (
        "Completed with exceptions",
        "Partial",
        "all items ran, at least one failed",
    ),
    JobStatus.SKIPPED: ("Skipped", "Warning", "a prerequisite job ended in Error"),
    JobStatus.SUSPENDED: ("Suspended", "Suspended", "held back by a person"),
    JobStatus.AWAITING_APPROVAL: (
        "Awaiting approval",
        "Awaiting approval",
        "waits for someone allowed to approve it",
    ),
}

FINAL = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.STOPPED,
        JobStatus.FAILED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
        JobStatus.SKIPPED,
    }
)

#: The statuses jobs can reach today, in the Monitor's order: screens offer only these as
#: filters. Skipped and Suspended come with the features that produce them (scheduled
#: definitions with dependencies, holds); Awaiting approval comes with communications.
IN_USE = (
    JobStatus.QUEUED,
    JobStatus.IN_PROGRESS,
    JobStatus.COMPLETED,
    JobStatus.COMPLETED_WITH_EXCEPTIONS,
    JobStatus.STOPPED,
    JobStatus.FAILED,
    JobStatus.AWAITING_APPROVAL,
)

#: For each status, the statuses a job may move to from it.
TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    # Approved: queued for its send date. Rejected: it ends Stopped, with the reason.
    JobStatus.AWAITING_APPROVAL: frozenset({JobStatus.QUEUED, JobStatus.STOPPED}),
    JobStatus.QUEUED: frozenset(
        {JobStatus.IN_PROGRESS, JobStatus.SKIPPED, JobStatus.SUSPENDED, JobStatus.FAILED}
    ),
    JobStatus.SUSPENDED: frozenset({JobStatus.QUEUED}),
    JobStatus.IN_PROGRESS: frozenset(
        {
            JobStatus.COMPLETED,
            JobStatus.COMPLETED_WITH_EXCEPTIONS,
            JobStatus.FAILED,
            JobStatus.STOPPED,
        }
    ),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.STOPPED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.COMPLETED_WITH_EXCEPTIONS: frozenset(),
    JobStatus.SKIPPED: frozenset(),
}

#: Statuses a job may be deleted in (seed 000).
DELETABLE = frozenset(
    {
        JobStatus.QUEUED,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.STOPPED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
    }
)
#: Statuses a job may be stopped in (seed 000).
STOPPABLE = frozenset({JobStatus.IN_PROGRESS})


def predecessors(target: JobStatus) -> frozenset[JobStatus]:
    """The statuses from which a job may move to ``target``."""
    return frozenset(s for s, nexts in TRANSITIONS.items() if target in nexts)


def check(current: JobStatus, target: JobStatus) -> None:
    """Raise unless ``current`` → ``target`` is an allowed transition.

    Raises:
      IllegalTransition: naming both statuses.
    """
    if target not in TRANSITIONS[JobStatus(current)]:
        raise IllegalTransition(
            f"A job cannot go from {JobStatus(current).label} to {target.label}"
        )


def move(conn: Connection, job_id: int, target: JobStatus, **values: Any) -> bool:
    """Set a job's status to ``target`` if its current status allows it.

    Parameters:
      conn: the connection of the caller's transaction.
      job_id: the job.
      target: the new status.
      values: other columns to set in the same statement (timestamps, counters, error).

    Returns:
      True when the job moved; False when its status (read inside the statement) did not
      allow it, e.g. because someone stopped it a moment earlier, or when the job has been
      deleted: a deleted job never changes again, so a start racing a delete cannot run it.
    """
    sources = [int(s) for s in predecessors(target)]
    result = conn.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(sources), Job.deleted_at.is_(None))
        .values(status=int(target), **values)
    )
    return result.rowcount == 1
