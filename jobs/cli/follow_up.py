"""``bulkdesk retry JOB`` and ``bulkdesk undo JOB``: what can follow a finished job.

Both print their dry run with ``--dry-run`` (nothing is queued), and take ``--wait`` like
``bulkdesk submit``.
"""

from __future__ import annotations

import sys

import click

from jobs import runtime
from jobs.cli.common import fail, service
from jobs.cli.submit import EXIT_CODES, EXIT_INTERRUPTED, EXIT_REFUSED, _start_embedded, _watch
from jobs.errors import BulkdeskError


def _follow(kind: str, job_id: str, username: str, dry_run: bool, wait: bool) -> None:
    svc = service()
    code, threads = 0, None
    try:
        if dry_run:
            preview = svc.preview_retry if kind == "retry" else svc.preview_undo
            found = preview(username, job_id)
            what = "retry of the exceptions" if kind == "retry" else "undo"
            click.echo(f"Dry run of the {what} of job {job_id}:")
            for line in found.lines():
                click.echo(f"  {line}")
            click.echo("Nothing was queued.")
            return
        if wait and runtime.settings().embedded_broker:
            threads = _start_embedded()
        submit = svc.retry_exceptions if kind == "retry" else svc.undo
        job = submit(username, job_id)
        click.echo(f"Job {job.id} queued: {job.description}")
        if wait:
            code = EXIT_CODES.get(_watch(svc, username, job.id), EXIT_REFUSED)
        elif runtime.settings().embedded_broker:
            click.echo("It runs when a worker runs: `bulkdesk worker` or the dashboard.")
    except BulkdeskError as error:
        fail(error)
    except KeyboardInterrupt:
        click.echo("\nStopped watching. The job goes on (`bulkdesk stop` stops it).")
        code = EXIT_INTERRUPTED
    finally:
        if threads is not None:
            threads.stop()
    sys.exit(code)


_OPTIONS = [
    click.argument("job_id"),
    click.option("--as", "username", required=True, help="The acting user."),
    click.option("--dry-run", is_flag=True, help="Print what it would do; queue nothing."),
    click.option("--wait", is_flag=True, help="Watch the new job to its final status."),
]


def _with_options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


@click.command()
@_with_options
def retry(job_id: str, username: str, dry_run: bool, wait: bool) -> None:
    """Run a finished job's action again over exactly its exceptions."""
    _follow("retry", job_id, username, dry_run, wait)


@click.command()
@_with_options
def undo(job_id: str, username: str, dry_run: bool, wait: bool) -> None:
    """Put back what a finished Change Status or Assign job changed (where the accounts
    still have its value; accounts changed since become exceptions)."""
    _follow("undo", job_id, username, dry_run, wait)


COMMANDS = [retry, undo]
