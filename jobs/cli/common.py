"""What the ``bulkdesk`` commands share: the service, exit codes, one-line refusals."""

from __future__ import annotations

import datetime as dt
import sys

import click

from jobs.status import JobStatus

#: ``bulkdesk submit --wait`` exits with the job's outcome; every refusal exits 2.
EXIT_CODES = {
    JobStatus.COMPLETED: 0,
    JobStatus.COMPLETED_WITH_EXCEPTIONS: 1,
    JobStatus.FAILED: 3,
    JobStatus.STOPPED: 4,
}
EXIT_REFUSED = 2
EXIT_INTERRUPTED = 130


def service():  # type: ignore[no-untyped-def]
    from jobs.service import JobService

    return JobService()


def fail(error: Exception) -> None:
    """Print the refusal in one line and exit 2."""
    click.secho(f"Error: {error}", fg="red", err=True)
    sys.exit(EXIT_REFUSED)


def fmt_time(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"
