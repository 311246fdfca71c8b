"""``bulkdesk approvals``, ``approve``, ``reject`` and ``templates``: communications."""

from __future__ import annotations

import click

from jobs.cli.common import fail, fmt_time, service
from jobs.comms.templates import known_placeholders
from jobs.errors import BulkdeskError


@click.command("approvals")
@click.option("--as", "username", required=True, help="Act as this user.")
@click.option("--page", default=1, show_default=True)
@click.option("--page-size", default=20, show_default=True)
def approvals(username: str, page: int, page_size: int) -> None:
    """The communications waiting for approval (approvers: all; others: your own)."""
    try:
        found = service().approvals(username, page=page, page_size=page_size)
    except BulkdeskError as error:
        fail(error)
    if not found.rows:
        click.echo("Nothing waits for approval.")
        return
    click.echo(f"{found.total:,} waiting for approval (page {found.page} of {found.pages}):")
    for row in found.rows:
        mark = "" if row.can_decide else "  (read-only)"
        click.echo(
            f"  #{row.id}  {row.action_label} “{row.template}” to {row.accounts:,} accounts "
            f"on {row.send_date or '—'}: {row.description} — by {row.owner}, submitted "
            f"{fmt_time(row.submitted_at)}{mark}"
        )


@click.command("approve")
@click.argument("job_id")
@click.option("--as", "username", required=True, help="An admin or a supervisor.")
def approve(job_id: str, username: str) -> None:
    """Approve a communication: it is queued and goes out on its send date."""
    try:
        svc = service()
        svc.approve(username, job_id)
        row = svc.approval(username, job_id).row
    except BulkdeskError as error:
        fail(error)
    when = f" on {row.send_date}" if row.send_date else ""
    click.echo(f"Job {row.id} approved and queued; it sends{when}: {row.description}")


@click.command("reject")
@click.argument("job_id")
@click.option("--as", "username", required=True, help="An admin or a supervisor.")
@click.option("--reason", required=True, help="Why; the submitter reads it.")
def reject(job_id: str, username: str, reason: str) -> None:
    """Reject a communication with a reason: nothing is sent and the submitter is told."""
    try:
        service().reject(username, job_id, reason)
    except BulkdeskError as error:
        fail(error)
    click.echo(f"Job {job_id} rejected; nothing is sent.")


@click.command("withdraw")
@click.argument("job_id")
@click.option("--as", "username", required=True, help="The submitter, or an admin.")
def withdraw(job_id: str, username: str) -> None:
    """Withdraw a communication still awaiting approval: it ends Stopped, nothing is sent."""
    try:
        service().withdraw(username, job_id)
    except BulkdeskError as error:
        fail(error)
    click.echo(f"Job {job_id} withdrawn; nothing is sent.")


@click.group("templates")
def templates() -> None:
    """Email and text message templates."""


_KIND = click.Choice(["email", "sms"])


@templates.command("list")
@click.option("--as", "username", required=True)
@click.option("--kind", type=_KIND, default="email", show_default=True)
def list_templates(username: str, kind: str) -> None:
    """Every template of a kind, with its text."""
    try:
        found = service().templates(username, kind)
    except BulkdeskError as error:
        fail(error)
    for t in found:
        state = "" if t.active else " (inactive)"
        click.echo(f"{t.name}{state}")
        if t.subject:
            click.echo(f"  Subject: {t.subject}")
        for line in t.body.splitlines():
            click.echo(f"  | {line}")


@templates.command("save")
@click.option("--as", "username", required=True, help="An admin or a supervisor.")
@click.option("--kind", type=_KIND, required=True)
@click.option("--name", required=True)
@click.option("--subject", default=None, help="Emails only.")
@click.option("--body", required=True, help=f"The text; placeholders: {known_placeholders()}")
@click.option("--inactive", is_flag=True, help="Keep it, but offer it no more.")
def save_template(
    username: str, kind: str, name: str, subject: str | None, body: str, inactive: bool
) -> None:
    """Create a template, or replace the text of the one with that name."""
    try:
        service().save_template(
            username, kind, name=name, subject=subject, body=body, active=not inactive
        )
    except BulkdeskError as error:
        fail(error)
    click.echo(f"Saved the {kind} template “{' '.join(name.split())}”.")


COMMANDS = (approvals, approve, reject, withdraw, templates)
