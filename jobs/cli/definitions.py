"""``bulkdesk definitions …`` and ``bulkdesk campaigns …``: job definitions and campaigns.

Reading is for every user; changing, importing, running now and ending campaigns for
administrators (the service checks). A refusal is one line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from jobs.cli.common import fail, fmt_time, service
from jobs.errors import BulkdeskError


def _definitions():  # type: ignore[no-untyped-def]
    return service().definitions


@click.group("definitions")
def definitions() -> None:
    """Job definitions: multi-step jobs with a schedule, campaign or file-in trigger."""


@definitions.command("list")
@click.option("--as", "username", required=True)
@click.option("--text", default="", help="Only names or descriptions containing this.")
@click.option("--show-disabled", is_flag=True, help="Include disabled definitions.")
@click.option("--sort", default="name", show_default=True)
@click.option("--page", default=1, show_default=True)
@click.option("--page-size", default=25, show_default=True)
def list_definitions(
    username: str, text: str, show_disabled: bool, sort: str, page: int, page_size: int
) -> None:
    """The definitions, with their trigger and next run."""
    try:
        found = _definitions().list_definitions(
            username,
            text=text,
            show_disabled=show_disabled,
            page=page,
            page_size=page_size,
            sort=sort.lstrip("-"),
            descending=sort.startswith("-"),
        )
    except BulkdeskError as error:
        fail(error)
    if not found.rows:
        click.echo("No definitions match." if text else "No definitions yet.")
        return
    for row in found.rows:
        state = "" if row.enabled else "  (disabled)"
        if row.suspended:
            state += "  (suspended)"
        last = (
            f"; last run {row.last_run_id} {row.last_run_status.batch_label}"
            if row.last_run_id and row.last_run_status is not None
            else ""
        )
        click.echo(
            f"{row.name}{state}\n  {row.trigger_label}: {row.schedule_text}; "
            f"next {fmt_time(row.next_due_at)}{last}; {row.steps} "
            f"step{'s' if row.steps != 1 else ''}; owner {row.owner}"
        )
    click.echo(f"Page {found.page} of {found.pages} ({found.total:,} definitions)")


@definitions.command("show")
@click.argument("name")
@click.option("--as", "username", required=True)
def show(name: str, username: str) -> None:
    """A definition: fields, steps, schedule, history and the last run of each step."""
    try:
        svc = _definitions()
        d = svc.definition_detail(username, name)
        history = svc.definition_history(username, name, limit=20)
    except BulkdeskError as error:
        fail(error)
    state = "enabled" if d.enabled else "disabled"
    click.echo(f"{d.name} (version {d.version}, {state}, owner {d.owner})")
    if d.description:
        click.echo(f"  {d.description}")
    click.echo(f"  Trigger: {d.trigger_label}: {d.schedule_text}")
    click.echo(
        f"  Enabled {fmt_time(d.enabled_at)}; next run {fmt_time(d.next_due_at)}; "
        f"last due {fmt_time(d.last_due_at)}"
    )
    if d.suspended_at:
        click.echo(
            f"  Suspended {fmt_time(d.suspended_at)} by {d.suspended_by}: {d.suspended_reason}"
        )
    if d.depends_on:
        click.echo(f"  Depends on: {', '.join(d.depends_on)}")
    for label, people in (("success", d.success_recipients), ("failure", d.failure_recipients)):
        if people:
            click.echo(f"  On {label}: {', '.join(people)}")
    click.echo("  Steps:")
    for s in d.steps:
        click.echo(
            f"    {s.position + 1}. {s.name} [{s.kind_label}] {s.settings_text}\n"
            f"       next success: {s.next_success or 'end'}; "
            f"next failure: {s.next_failure or 'end'}"
        )
    click.echo("  Last execution of each step:")
    for last in history.last_steps:
        if last.job_id is None:
            click.echo(f"    {last.step_name}: never ran")
            continue
        gone = "" if last.in_definition else " (no longer a step)"
        click.echo(
            f"    {last.step_name}{gone}: {last.outcome} in run {last.job_id} at "
            f"{fmt_time(last.started_at)}: {last.message}"
        )
    click.echo("  History:")
    for c in history.changes:
        click.echo(f"    {fmt_time(c.at)}  {c.action:<9} {c.actor}: {c.summary}")


@definitions.command("export")
@click.argument("names", nargs=-1)
@click.option("--as", "username", required=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
def export(names: tuple[str, ...], username: str, output: str | None) -> None:
    """Definitions as YAML (all, or the NAMES given), for version control."""
    try:
        text = _definitions().export_yaml(username, list(names) or None)
    except BulkdeskError as error:
        fail(error)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}")
    else:
        click.echo(text, nl=False)


@definitions.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as", "username", required=True, help="An administrator.")
@click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")
def import_file(file: str, username: str, dry_run: bool) -> None:
    """Create or update definitions from a YAML file; the whole file, or nothing."""
    from jobs.definitions.yaml_io import InvalidDefinitionFile

    try:
        text = Path(file).read_text(encoding="utf-8")
        result = _definitions().import_yaml(username, text, dry_run=dry_run)
    except InvalidDefinitionFile as error:
        click.secho(f"Error: nothing was imported from {file}:", fg="red", err=True)
        for problem in error.problems:
            click.secho(f"  {problem}", err=True)
        raise SystemExit(2) from None
    except UnicodeDecodeError:
        fail(RuntimeError(f"{file} is not UTF-8 text"))
    except BulkdeskError as error:
        fail(error)
    would = "Would create" if dry_run else "Created"
    change = "would update" if dry_run else "updated"
    click.echo(
        f"{would} {len(result.created)}, {change} {len(result.updated)}, "
        f"{len(result.unchanged)} unchanged."
    )
    for name in result.created:
        click.echo(f"  + {name}")
    for name in result.updated:
        click.echo(f"  ~ {name}: {', '.join(result.changes[name])}")


def _change(verb: str, method: str, needs_reason: bool = False, reason_help: str = ""):  # type: ignore[no-untyped-def]
    @click.argument("name")
    @click.option("--as", "username", required=True, help="An administrator.")
    def command(name: str, username: str, reason: str = "") -> None:
        try:
            call = getattr(_definitions(), method)
            d = call(username, name, reason) if needs_reason or reason else call(username, name)
        except BulkdeskError as error:
            fail(error)
        click.echo(f"Definition {d.name!r} {verb} (version {d.version}).")

    if needs_reason or reason_help:
        command = click.option("--reason", required=needs_reason, default="", help=reason_help)(
            command
        )
    command.__doc__ = f"{verb.capitalize()} a definition."
    return definitions.command(method)(command)


_change("enabled", "enable")
_change("disabled", "disable")
_change("suspended", "suspend", needs_reason=True, reason_help="Why; kept in its history.")
_change("resumed", "resume", reason_help="Why (optional); kept in its history.")


@definitions.command("run-now")
@click.argument("name")
@click.option("--as", "username", required=True, help="An administrator.")
def run_now(name: str, username: str) -> None:
    """Start a run of a definition now (a job in the Monitor)."""
    try:
        job_id = _definitions().run_now(username, name)
    except BulkdeskError as error:
        fail(error)
    if job_id is None:
        click.echo(f"A run of {name!r} was started at this very moment already.")
    else:
        click.echo(f"Run of {name!r} started: job {job_id}.")


@click.group("campaigns")
def campaigns() -> None:
    """Campaigns: ending one runs the campaign definition."""


@campaigns.command("list")
@click.option("--as", "username", required=True)
@click.option("--running", is_flag=True, help="Only campaigns that have not ended.")
def list_campaigns(username: str, running: bool) -> None:
    """The campaigns, running ones first."""
    try:
        rows = _definitions().campaigns(username, show_ended=not running)
    except BulkdeskError as error:
        fail(error)
    if not rows:
        click.echo("No campaigns.")
    for c in rows:
        by = f" by {c.ended_by}" if c.ended_by else ""
        ended = f"ended {fmt_time(c.ended_at)}{by}" if c.ended_at else "running"
        client = f" [{c.client}]" if c.client else ""
        click.echo(f"  #{c.id}  {c.name}{client}: started {fmt_time(c.started_at)}, {ended}")


@campaigns.command("create")
@click.argument("name")
@click.option("--as", "username", required=True, help="An administrator.")
@click.option("--client", default=None, help="The client's code, e.g. ACME.")
def create_campaign(name: str, username: str, client: str | None) -> None:
    """Start a campaign."""
    try:
        row = _definitions().create_campaign(username, name, client)
    except BulkdeskError as error:
        fail(error)
    click.echo(f"Campaign #{row.id} {row.name!r} started.")


@campaigns.command("end")
@click.argument("name")
@click.option("--as", "username", required=True, help="An administrator.")
def end_campaign(name: str, username: str) -> None:
    """End a campaign: the campaign definition runs."""
    try:
        ended = _definitions().end_campaign(username, name)
    except BulkdeskError as error:
        fail(error)
    run = f"; run started: job {ended.job_id}" if ended.job_id else "; no campaign definition ran"
    click.echo(f"Campaign {ended.campaign.name!r} ended{run}.")


COMMANDS = (definitions, campaigns)
