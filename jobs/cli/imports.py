"""``bulkdesk import``: import a CSV file as a task, export a task's messages, get a template.

bulkdesk import accounts FILE --as alice [--match-by ssn] [--wait]
bulkdesk import messages 12 --as alice [--status Invalid] [--out bad.csv]
bulkdesk import template payments [--out payments.csv]
bulkdesk import folder --once          # take the files waiting in the file-in folder
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from jobs import runtime
from jobs.cli.common import EXIT_CODES, EXIT_INTERRUPTED, EXIT_REFUSED, fail, service
from jobs.errors import BulkdeskError
from jobs.imports.specs import IMPORT_TYPES, MATCH_RULES, ImportType
from jobs.status import JobStatus

_EXIT_HELP = (
    "With --wait the exit code tells how the task ended: 0 Completed, 1 Completed with "
    "exceptions (some rows have messages), 3 Failed (e.g. 'File import has failed' for a "
    "wrong heading: nothing was imported), 4 Stopped. A refused submit exits 2."
)


@click.group("import")
def imports() -> None:
    """Import a CSV file of accounts, interactions or payments as a task."""


def _command(itype: ImportType) -> click.Command:
    def run(
        file: str, username: str, match_by: str | None, description: str | None, wait: bool
    ) -> None:
        _import(itype, file, username, match_by, description, wait)

    help_text = itype.help_text().replace("\n", "\n\n\b\n", 1)
    return click.Command(
        itype.name,
        callback=run,
        params=[
            click.Argument(["file"], type=click.Path(exists=True, dir_okay=False)),
            click.Option(["--as", "username"], required=True, help="Act as this user."),
            click.Option(
                ["--match-by"],
                type=click.Choice(list(itype.match_rules)),
                help="How rows find their accounts: "
                + ", ".join(f"{r} ({MATCH_RULES[r][0]})" for r in itype.match_rules)
                + f". Default {itype.default_match}.",
            ),
            click.Option(["--description"], help="The task's name (default: the file's)."),
            click.Option(["--wait"], is_flag=True, help="Watch the task to its end."),
        ],
        help=f"{help_text}\n\n{_EXIT_HELP}",
        short_help=f"Import {itype.name} from a CSV file.",
    )


for _type in IMPORT_TYPES.values():
    imports.add_command(_command(_type))


def _import(
    itype: ImportType,
    file: str,
    username: str,
    match_by: str | None,
    description: str | None,
    wait: bool,
) -> None:
    from jobs.cli.submit import _start_embedded, _watch

    code = 0
    threads = None
    try:
        svc = service()
        svc.actor(username)
        if wait and runtime.settings().embedded_broker:
            threads = _start_embedded()
        job = svc.submit_import(
            username, itype.name, file, match_by=match_by, description=description
        )
        click.echo(f"Import task {job.id} queued: {job.description}")
        if wait:
            status = _watch(svc, username, job.id)
            code = EXIT_CODES.get(status, EXIT_REFUSED)
            _report(svc, username, job.id, status)
        elif runtime.settings().embedded_broker:
            click.echo("It runs when a worker runs: `bulkdesk worker` or the dashboard.")
    except BulkdeskError as error:
        fail(error)
    except KeyboardInterrupt:
        click.echo("\nStopped watching. The import goes on (`bulkdesk stop` stops it).")
        code = EXIT_INTERRUPTED
    finally:
        if threads is not None:
            threads.stop()
    sys.exit(code)


def _report(svc: Any, username: str, job_id: int, status: JobStatus) -> None:
    task = svc.import_task(username, job_id)
    if task.error:
        click.secho(task.error, fg="red", err=True)
        return
    click.echo(
        f"Rows {task.rows:,}: {task.created:,} created, {task.updated:,} updated, "
        f"{task.imported:,} imported, {task.invalid:,} invalid, {task.no_match:,} no match, "
        f"{task.ambiguous:,} multiple matches"
    )
    if status == JobStatus.COMPLETED_WITH_EXCEPTIONS:
        click.echo(f"The rows' messages: bulkdesk import messages {job_id} --as {username}")


@imports.command("messages")
@click.argument("job_id")
@click.option("--as", "username", required=True, help="Act as this user.")
@click.option("--status", help="Only rows of this status (e.g. Invalid, No match).")
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout)."
)
def messages(job_id: str, username: str, status: str | None, out: str | None) -> None:
    """Export an import task's messages as CSV: the file's columns, ready to fix and import
    again, then the row, status, message and account."""
    try:
        pieces = service().export_import_messages_csv(username, job_id, status)
        if out:
            with Path(out).open("w", encoding="utf-8", newline="") as f:
                for piece in pieces:
                    f.write(piece)
            click.echo(f"Wrote {out}")
        else:
            for piece in pieces:
                click.echo(piece, nl=False)
    except BulkdeskError as error:
        fail(error)


@imports.command("template")
@click.argument("kind", type=click.Choice(list(IMPORT_TYPES)))
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Write to this file (default: stdout)."
)
def template(kind: str, out: str | None) -> None:
    """A template file of an import type: its headings and an example row."""
    text = IMPORT_TYPES[kind].template_csv()
    if out:
        Path(out).write_text(text, encoding="utf-8", newline="")
        click.echo(f"Wrote {out}")
    else:
        click.echo(text, nl=False)


@imports.command("folder")
def folder() -> None:
    """Take files from the file-in folder (workers do this on their own about every few
    seconds): ``<folder>/<type>/<user>/*.csv``; each file is taken once and moved to
    processed/ or failed/."""
    from jobs.imports import folder as file_in

    taken = file_in.poll(service())
    for line in taken:
        click.echo(line)
    if not taken:
        click.echo(f"Nothing waiting in {file_in.inbox()}")
