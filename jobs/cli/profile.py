"""``bulkdesk profile``: your email address and when you get a job completion email."""

from __future__ import annotations

import click

from jobs.cli.common import fail, service
from jobs.errors import BulkdeskError
from jobs.people.profile import NOTIFY_CHOICES

_NOTIFY_HELP = "When to get a job completion email: " + "; ".join(
    f"{key}: {words.lower()}" for key, words in NOTIFY_CHOICES.items()
)


@click.command("profile")
@click.option("--as", "username", required=True, help="Whose profile (your own).")
@click.option("--notify", default=None, metavar="|".join(NOTIFY_CHOICES), help=_NOTIFY_HELP)
@click.option("--email", default=None, metavar="ADDRESS", help='Your address; "" removes it.')
def profile(username: str, notify: str | None, email: str | None) -> None:
    """Show your profile, after changing what --notify and --email give."""
    try:
        if notify is None and email is None:
            shown = service().profile(username)
        else:
            shown = service().set_profile(username, notify=notify, email=email)
    except BulkdeskError as error:
        fail(error)
    click.echo(
        f"{shown.display_name} ({shown.username})\n"
        f"  Email address:        {shown.email or '(none: no emails)'}\n"
        f"  Job completion email: {shown.notify_label} ({shown.notify})"
    )
