"""``bulkdesk users``: who may log in to the dashboard (add, passwd, disable, enable, unlock…)."""

from __future__ import annotations

import click

from jobs import runtime
from jobs.errors import BulkdeskError
from jobs.people.permissions import ADMIN, ALL_PERMISSIONS, USER


def _fail(error: Exception) -> None:
    click.secho(f"Error: {error}", fg="red", err=True)
    raise SystemExit(2)


def _password_option(help_text: str):  # type: ignore[no-untyped-def]
    return click.option(
        "--password",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help=help_text + " (asked for when not given).",
    )


@click.group()
def users() -> None:
    """Dashboard logins: passwords (argon2 hashes), lockouts, disabled users."""


@users.command("add")
@click.argument("username")
@_password_option("The new user's password")
@click.option("--name", "display_name", default="", help="Shown in the dashboard's header.")
@click.option("--role", type=click.Choice([USER, ADMIN]), default=USER, show_default=True)
@click.option(
    "--permission",
    "permissions",
    multiple=True,
    type=click.Choice(ALL_PERMISSIONS),
    help="A permission to grant; repeat for more.",
)
@click.option("--email", default=None)
def add(
    username: str,
    password: str,
    display_name: str,
    role: str,
    permissions: tuple[str, ...],
    email: str | None,
) -> None:
    """Create USERNAME, who can log in at once."""
    from jobs.people.user_admin import add_user

    try:
        add_user(
            runtime.database(),
            username,
            password,
            display_name=display_name,
            role=role,
            permissions=permissions,
            email=email,
        )
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"Added {username} ({role}).")


@users.command("passwd")
@click.argument("username")
@_password_option("The new password")
def passwd(username: str, password: str) -> None:
    """Set USERNAME's password; unlocks the login and logs out every session."""
    from jobs.people.user_admin import set_password

    try:
        set_password(runtime.database(), username, password)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"Password of {username} changed; their sessions are logged out.")


@users.command("disable")
@click.argument("username")
def disable(username: str) -> None:
    """Stop USERNAME from logging in, and log out every session of theirs."""
    from jobs.people.user_admin import set_active

    try:
        set_active(runtime.database(), username, False)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"{username} is disabled and logged out.")


@users.command("enable")
@click.argument("username")
def enable(username: str) -> None:
    """Let a disabled USERNAME log in again."""
    from jobs.people.user_admin import set_active

    try:
        set_active(runtime.database(), username, True)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"{username} may log in again.")


@users.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Lift the lock after too many wrong passwords."""
    from jobs.people.user_admin import unlock as unlock_user

    try:
        unlock_user(runtime.database(), username)
    except BulkdeskError as error:
        _fail(error)
    click.echo(f"{username} is unlocked.")


@users.command("list")
def list_() -> None:
    """Every user: role, whether they may log in, and any lock."""
    from jobs.people.user_admin import list_users

    for u in list_users(runtime.database()):
        state = "active" if u.active else "disabled"
        if not u.has_password:
            state += ", no password"
        if u.locked_until:
            state += f", locked until {u.locked_until:%Y-%m-%d %H:%M} UTC"
        elif u.failed_logins:
            state += f", {u.failed_logins} wrong password(s)"
        click.echo(f"{u.username:<16} {u.role:<6} {state:<40} {u.display_name}")


@users.command("demo-passwords")
def demo_passwords() -> None:
    """Give the demo users their README passwords where they have none (older demo data)."""
    from jobs.people.user_admin import set_missing_passwords
    from jobs.seed import demo_password_hashes

    changed = set_missing_passwords(runtime.database(), demo_password_hashes())
    if changed:
        click.echo(f"Set the demo passwords of {', '.join(changed)}.")
