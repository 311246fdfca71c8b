"""Small helpers shared by tests: waiting for a job, forcing a fixture job into a status."""

from __future__ import annotations

import time

from sqlalchemy import func, select, update

from jobs.db import Database
from jobs.models import Interaction, Job, utcnow
from jobs.reports.queries import JobSummary
from jobs.service import JobService
from jobs.status import JobStatus


def wait_for(
    service: JobService,
    user: str,
    job_id: int,
    *,
    timeout: float = 60,
    until=lambda s: s.status.is_final,
) -> JobSummary:  # type: ignore[no-untyped-def]
    """Poll a job until ``until(summary)`` holds; fail with its last state otherwise."""
    deadline = time.monotonic() + timeout
    summary = service.job(user, job_id).summary
    while not until(summary):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"job {job_id} still {summary.status.label} "
                f"({summary.processed}/{summary.total}) after {timeout} s"
            )
        time.sleep(0.05)
        summary = service.job(user, job_id).summary
    return summary


def force_status(db: Database, job_id: int, status: JobStatus) -> None:
    """Test set-up only: put a fixture job into ``status`` directly."""
    with db.write_conn() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(status=int(status), started_at=utcnow() if status != JobStatus.QUEUED else None)
        )


def interactions_per_account(db: Database, job_id: int) -> dict[int, int]:
    """How many interactions a job wrote on each account."""
    with db.read() as s:
        return dict(
            s.execute(
                select(Interaction.account_id, func.count())
                .where(Interaction.job_id == job_id)
                .group_by(Interaction.account_id)
            ).all()
        )


def assert_completed(summary: JobSummary) -> None:
    """The job ran to its end: Completed, or Completed with exceptions when it had some,
    with every item processed (not merely some final status such as Failed)."""
    expected = JobStatus.COMPLETED_WITH_EXCEPTIONS if summary.exceptions else JobStatus.COMPLETED
    assert summary.status is expected, f"job {summary.id} is {summary.status.label}"
    assert summary.processed == summary.total and summary.not_processed == 0
