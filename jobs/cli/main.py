"""The ``bulkdesk`` command: database, demo data, workers, and jobs as a named user."""

from __future__ import annotations

import os
import time

import click
from sqlalchemy.exc import InterfaceError, OperationalError

from jobs import runtime
from jobs.cli.common import (
    fail as _fail,
)
from jobs.cli.common import (
    fmt_time as _fmt_time,
)
from jobs.cli.common import (
    service as _service,
)
from jobs.errors import BulkdeskError, ConfigError
from jobs.reports.queries import JobFilter
from jobs.status import JobStatus


def _database_problem(error: Exception) -> str:
    """One line naming the database and what is wrong with it (the driver's first line)."""
    from sqlalchemy.engine import make_url

    url = make_url(runtime.settings().database_url).render_as_string(hide_password=True)
    reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
    return f"Cannot use the database {url}: {reason}"


class _Commands(click.Group):
    """Bad settings and an unreachable database end a command with one line, not a trace."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            _fail(error)
        except (OperationalError, InterfaceError) as error:
            _fail(RuntimeError(_database_problem(error)))
        return None


@click.group(cls=_Commands)
@click.version_option(package_name="bulkdesk")
def main() -> None:
    """Bulkdesk: launch bulk jobs on accounts and watch them run."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from jobs.db import upgrade

    url = runtime.settings().database_url
    upgrade(url, revision)
    click.echo(f"Schema is at {revision}: {runtime.database()}")


@main.command()
@click.option("--accounts", default=50_000, show_default=True, help="How many accounts.")
@click.option("--large", is_flag=True, help="1,000,000 accounts.")
@click.option("--reset", is_flag=True, help="Replace existing data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when data already exists.")
@click.option(
    "--no-definitions", is_flag=True, help="Without the demo job definitions and campaigns."
)
def seed(accounts: int, large: bool, reset: bool, if_empty: bool, no_definitions: bool) -> None:
    """Create the deterministic demo data set (upgrading the schema first)."""
    from jobs.db import upgrade
    from jobs.seed import has_data, seed_definitions
    from jobs.seed import seed as make

    upgrade(runtime.settings().database_url)
    if if_empty and has_data(runtime.database()):
        click.echo("Demo data already present; leaving it as it is.")
        return
    started = time.perf_counter()
    try:
        summary = make(runtime.database(), accounts=1_000_000 if large else accounts, reset=reset)
        definitions = 0 if no_definitions else seed_definitions(runtime.database())
    except BulkdeskError as error:
        _fail(error)
    more = f", {definitions} job definitions" if definitions else ""
    click.echo(f"{summary}{more} in {time.perf_counter() - started:.1f} s")


@main.command()
@click.option("--processes", default=1, show_default=True)
@click.option("--threads", default=None, type=int, help="Worker threads per process.")
def worker(processes: int, threads: int | None) -> None:
    """Work jobs: `dramatiq` processes for Redis/RabbitMQ, threads for the embedded broker."""
    settings = runtime.settings()
    threads = threads or settings.worker_threads
    if settings.embedded_broker:
        from jobs.worker import (
            actors,  # noqa: F401  (sets up the in-process broker)
            broker,
        )

        click.echo(
            f"In-process worker with {threads} threads on {runtime.database()}; Ctrl-C to stop."
        )
        running = broker.start_in_process_worker(broker.current(), threads)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            running.stop()
        return
    os.execvp(
        "dramatiq",
        [
            "dramatiq",
            "jobs.worker.actors",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
        ],
    )


@main.command("jobs")
@click.option("--as", "username", required=True)
@click.option("--status", "statuses", multiple=True, help="Status label; repeatable.")
@click.option("--text")
@click.option("--action", help="Only jobs of this bulk action, e.g. change-status.")
@click.option("--page", default=1, show_default=True)
@click.option("--page-size", default=20, show_default=True)
def list_jobs(
    username: str,
    statuses: tuple[str, ...],
    text: str | None,
    action: str | None,
    page: int,
    page_size: int,
) -> None:
    """List the jobs you may see, newest first."""
    from jobs.actions import get_action

    try:
        flt = JobFilter(
            statuses=[JobStatus.from_label(s) for s in statuses],
            text=text,
            action=get_action(action).name if action else None,
        )
        result = _service().list_jobs(username, flt, page=page, page_size=page_size)
    except (BulkdeskError, ValueError) as error:
        _fail(error)
    click.echo(f"{'Job':>6}  {'Status':<26} {'Done':>15}  {'Submitted':<19}  Owner / Description")
    for j in result.rows:
        click.echo(
            f"{j.id:>6}  {j.status.label:<26} {j.processed:>7,}/{j.total:<7,}  "
            f"{_fmt_time(j.submitted_at)}  {j.owner}: {j.description}"
        )
    count = f"{result.total:,}" if result.exact else f"more than {result.total:,}"
    pages = f"{result.pages:,}" if result.exact else f"{result.pages:,}+"
    noun = "job" if result.exact and result.total == 1 else "jobs"
    click.echo(f"Page {result.page} of {pages} ({count} {noun})")


@main.command()
@click.argument("job_id")
@click.option("--as", "username", required=True)
@click.option("--items", "outcome", default=None, help="List items: All, Ok, Exception, …")
def show(job_id: str, username: str, outcome: str | None) -> None:
    """Show a job's detail (and its items)."""
    try:
        service = _service()
        detail = service.job(username, job_id)
        s = detail.summary
        click.echo(
            f"Job {s.id}: {s.description}\n  Action: {s.action_label} "
            f"({detail.parameters_text})\n  Selection: {detail.selection_text}\n"
            f"  Owner: {s.owner}\n  Status: {s.status.label}\n"
            f"  Submitted {_fmt_time(s.submitted_at)}, started {_fmt_time(s.started_at)}, "
            f"ended {_fmt_time(s.ended_at)}\n"
            f"  Items: {s.total:,} total, {s.ok:,} ok, {s.exceptions:,} exceptions, "
            f"{s.not_processed:,} not processed"
        )
        if detail.error:
            click.echo(f"  Error: {detail.error}")
        for e in detail.events:
            click.echo(f"  {_fmt_time(e.at)}  {e.action:<7} {e.actor or 'system'}: {e.summary}")
        if outcome:
            items = service.job_items(username, job_id, outcome=outcome, page_size=100)
            for row in items.rows:
                click.echo(
                    f"  #{row.seq:<7} {row.file_number or '':<10} {row.outcome:<13} "
                    f"{row.change or row.message or ''}"
                )
            click.echo(f"  ({len(items.rows)} of {items.total:,} items shown)")
    except BulkdeskError as error:
        _fail(error)


@main.command()
@click.argument("job_id")
@click.option("--as", "username", required=True)
def stop(job_id: str, username: str) -> None:
    """Stop an In progress job."""
    try:
        summary = _service().stop(username, job_id)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"Job {summary.id} is {summary.status.label}.")


@main.command()
@click.argument("job_id")
@click.option("--as", "username", required=True)
def delete(job_id: str, username: str) -> None:
    """Delete a job from the lists (the audit trail keeps it)."""
    try:
        _service().delete(username, job_id)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"Job {job_id} deleted.")


@main.command()
@click.option(
    "--from",
    "date_from",
    required=True,
    metavar="YYYY-MM-DD",
    help="First day of the period (UTC).",
)
@click.option(
    "--to",
    "date_to",
    required=True,
    metavar="YYYY-MM-DD",
    help="Last day of the period (UTC), inclusive.",
)
@click.option("--as", "username", required=True, help="Act as this user (admins: all jobs).")
@click.option("--user", default="", help="Only this user's jobs (admins); default all users.")
@click.option(
    "--out",
    "out_dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Folder for the report; default var/reports.",
)
def audit(date_from: str, date_to: str, username: str, user: str, out_dir: str | None) -> None:
    """Run the audit notebook for a period: an HTML report and a CSV of its figures.

    A user's audit covers their own jobs; an admin's covers everyone's, or one user's.
    """
    from pathlib import Path

    from jobs import notebooks
    from jobs.reports import audit_report

    try:
        from papermill.exceptions import PapermillExecutionError
    except ImportError as error:
        _fail(RuntimeError(f"{error}; the audit needs papermill and ipykernel installed"))
    try:
        period = audit_report.AuditPeriod.parse(date_from, date_to)
        user = _service().audit_scope(username, user)
        folder = notebooks.output_dir(out_dir)
        stem = audit_report.file_stem(period, user)
        click.echo(f"Running the audit for {period.label} on {runtime.database()}…")
        notebooks.run_notebook(
            notebooks.notebook_path("audit"),
            folder / f"{stem}.ipynb",
            cwd=Path.cwd(),
            parameters={
                "date_from": period.date_from.isoformat(),
                "date_to": period.date_to.isoformat(),
                "user": user,
                "acting_user": username,
                "output_dir": str(folder),
                "database_url": runtime.settings().database_url,
            },
        )
    except BulkdeskError as error:
        _fail(error)
    except PapermillExecutionError as error:
        _fail(RuntimeError(f"the audit notebook failed: {error.ename}: {error.evalue}"))
    for suffix in ("html", "csv", "ipynb"):
        click.echo(f"Wrote {folder / f'{stem}.{suffix}'}")


from jobs.cli.approvals import COMMANDS as approval_commands  # noqa: E402
from jobs.cli.definitions import COMMANDS as definition_commands  # noqa: E402
from jobs.cli.exports import export  # noqa: E402
from jobs.cli.follow_up import COMMANDS as follow_up_commands  # noqa: E402
from jobs.cli.imports import imports  # noqa: E402
from jobs.cli.profile import profile  # noqa: E402
from jobs.cli.submit import submit  # noqa: E402
from jobs.cli.users import users  # noqa: E402

main.add_command(submit)
main.add_command(users)
main.add_command(profile)
main.add_command(imports)
main.add_command(export)
for _command in [*approval_commands, *follow_up_commands, *definition_commands]:
    main.add_command(_command)


if __name__ == "__main__":
    main()
