"""``bulkdesk submit <action>``: one subcommand per bulk action, its options derived from the
action's declared parameters (``jobs.actions.params``), plus the account selection."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from jobs import runtime
from jobs.actions import ACTIONS, BulkAction
from jobs.cli.common import EXIT_CODES, EXIT_INTERRUPTED, EXIT_REFUSED, fail, service
from jobs.errors import BulkdeskError
from jobs.status import JobStatus

_EXIT_HELP = (
    "With --wait the exit code tells how the job ended: 0 Completed, 1 Completed with "
    "exceptions, 3 Failed, 4 Stopped (130 when you stop watching with Ctrl-C). A refused "
    "submit (permission, bad input, bad settings) exits 2. --dry-run prints what the job "
    "would do and queues nothing."
)

#: The account selection, the same for every action on accounts: (flag, filter key, type).
_SELECTION = [
    ("--status", "status", str, "Account status, e.g. Open."),
    ("--state", "state", str, "Debtor's state, a two-letter code such as TX."),
    ("--client-id", "client_id", int, "Client number."),
    ("--portfolio-id", "portfolio_id", int, "Portfolio number."),
    ("--collector-id", "collector_id", int, "Assigned collector's number."),
    ("--text", "text", str, "Debtor, account or file number contains."),
    ("--min-balance", "min_balance", float, "Current balance at least."),
    ("--max-balance", "max_balance", float, "Current balance at most."),
]


@click.group()
def submit() -> None:
    """Queue a bulk job on a group and/or filtered accounts (one subcommand per action)."""


def _command(action: BulkAction) -> click.Command:
    params: list[click.Parameter] = [
        click.Option(["--as", "username"], required=True, help="Act as this user."),
        click.Option(["--group"], help="Group name or id."),
    ]
    params += [
        click.Option([flag, key], type=kind, help=text) for flag, key, kind, text in _SELECTION
    ]
    fields = action.fields()
    for f in fields:
        choices = "" if f.choices is None or callable(f.choices) else f" ({', '.join(f.choices)})"
        shown = f.initial() if not callable(f.default) else None
        params.append(
            click.Option(
                [f.flag, f.name],
                default=None,
                help=f"{f.label}{choices}. {f.help}".strip().rstrip("."),
                show_default=str(shown) if shown not in (None, "") else False,
            )
        )
    params += [
        click.Option(["--description"], required=True, help="Shown in the job list."),
        click.Option(["--wait"], is_flag=True, help="Watch the job to its final status."),
        click.Option(["--dry-run"], is_flag=True, help="Show what it would do; queue nothing."),
    ]

    def run(**options: Any) -> None:
        values = {f.name: options.pop(f.name) for f in fields}
        _submit(action, {k: v for k, v in values.items() if v is not None}, **options)

    return click.Command(
        action.cli_name,
        params=params,
        callback=run,
        help=f"{action.label}: {action.summary}\n\n{_EXIT_HELP}",
        short_help=action.label,
    )


for _action in ACTIONS.values():
    if getattr(_action, "on_accounts", True):  # imports have `bulkdesk import`
        submit.add_command(_command(_action))


def _submit(
    action: BulkAction,
    parameters: dict[str, Any],
    *,
    username: str,
    group: str | None,
    description: str,
    wait: bool,
    dry_run: bool,
    **account_filter: Any,
) -> None:
    worker_threads = None
    outcome_code = 0
    try:
        svc = service()
        svc.actor(username)  # a wrong user or an unreachable database: before any worker
        selection = svc.account_selection(group=group, account_filter=account_filter)
        if dry_run:
            preview = svc.dry_run(username, action.name, selection, parameters)
            click.echo(f"Dry run of {action.label} on {svc.describe_source(selection)}:")
            for line in preview.lines():
                click.echo(f"  {line}")
            click.echo("Nothing was queued.")
            return
        if wait and runtime.settings().embedded_broker:
            worker_threads = _start_embedded()
        job = svc.submit(username, action.name, selection, parameters, description)
        if job.status is JobStatus.AWAITING_APPROVAL:
            click.echo(
                f"Job {job.id} sent for approval: {job.description}. An admin or a supervisor "
                f"approves it (`bulkdesk approve {job.id}`) or rejects it."
            )
            return
        click.echo(f"Job {job.id} queued: {job.description}")
        if wait:
            outcome_code = EXIT_CODES.get(_watch(svc, username, job.id), EXIT_REFUSED)
        elif runtime.settings().embedded_broker:
            click.echo("It runs when a worker runs: `bulkdesk worker` or the dashboard.")
    except BulkdeskError as error:
        fail(error)
    except KeyboardInterrupt:
        click.echo(
            "\nStopped watching. The job goes on: other workers take over its chunks "
            "(`bulkdesk stop` stops it)."
        )
        outcome_code = EXIT_INTERRUPTED
    finally:
        if worker_threads is not None:
            worker_threads.stop()
    sys.exit(outcome_code)


def _start_embedded():  # type: ignore[no-untyped-def]
    from jobs.worker import actors, broker  # noqa: F401  (actors: binds them to the broker)

    return broker.start_in_process_worker(broker.current(), runtime.settings().worker_threads)


def _watch(svc, username: str, job_id: int) -> JobStatus:  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    summary = svc.job(username, job_id).summary
    with tqdm(total=summary.total or None, unit="item", desc=f"Job {job_id}") as bar:
        while True:
            summary = svc.job(username, job_id).summary
            bar.total = summary.total or bar.total
            bar.n = summary.processed
            bar.set_postfix_str(f"{summary.status.label}, {summary.exceptions} exceptions")
            bar.refresh()
            if summary.status.is_final:
                break
            time.sleep(0.2)
    click.echo(
        f"Job {job_id} {summary.status.label}: {summary.ok:,} ok, "
        f"{summary.exceptions:,} exceptions, {summary.not_processed:,} not processed"
    )
    return summary.status
