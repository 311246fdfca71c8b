"""Managing who may log in: add users, set passwords, disable, unlock (``bulkdesk users``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from jobs.db import Database
from jobs.errors import InvalidInput, NotFound
from jobs.models import User, utcnow
from jobs.people import passwords
from jobs.people.logins import revoke_sessions
from jobs.people.permissions import ADMIN, ALL_PERMISSIONS, USER

#: Shorter passwords are refused.
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class LoginInfo:
    """One row of ``bulkdesk users list``."""

    username: str
    display_name: str
    role: str
    permissions: tuple[str, ...]
    active: bool
    has_password: bool
    failed_logins: int
    locked_until: dt.datetime | None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"A password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )


def _user(session, username: str) -> User:  # type: ignore[no-untyped-def]
    user = session.scalars(select(User).where(User.username == username)).one_or_none()
    if user is None:
        raise NotFound(f"There is no user called {username!r}")
    return user


def add_user(
    db: Database,
    username: str,
    password: str,
    *,
    display_name: str = "",
    role: str = USER,
    permissions: Sequence[str] = (),
    email: str | None = None,
) -> None:
    """Create a user who can log in with ``password``.

    Raises:
      InvalidInput: for a taken or malformed username, a short password, an unknown role or
        permission.
    """
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InvalidInput("A username is 1 to 64 characters without spaces", field="username")
    if role not in (ADMIN, USER):
        raise InvalidInput(f"The role is {ADMIN!r} or {USER!r}", field="role")
    unknown = set(permissions) - set(ALL_PERMISSIONS)
    if unknown:
        raise InvalidInput(
            f"Unknown permission(s): {', '.join(sorted(unknown))}; known: "
            f"{', '.join(ALL_PERMISSIONS)}",
            field="permissions",
        )
    _check_password(password)
    with db.write() as session:
        if session.scalars(select(User.id).where(User.username == username)).first():
            raise InvalidInput(f"There is already a user called {username!r}", field="username")
        session.add(
            User(
                username=username,
                display_name=display_name or username,
                role=role,
                permissions=list(permissions),
                email=email,
                notify="all",
                active=True,
                password_hash=passwords.hash_password(password),
            )
        )


def set_password(db: Database, username: str, password: str) -> None:
    """Set a new password; unlocks the login and ends every session of the user."""
    _check_password(password)
    password_hash = passwords.hash_password(password)
    with db.write() as session:
        user = _user(session, username)
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        revoke_sessions(session, user.id, utcnow())


def set_active(db: Database, username: str, active: bool) -> None:
    """Disable (ending every session) or enable a user's login."""
    with db.write() as session:
        user = _user(session, username)
        user.active = active
        if not active:
            revoke_sessions(session, user.id, utcnow())


def unlock(db: Database, username: str) -> None:
    """Lift a lockout after wrong passwords."""
    with db.write() as session:
        user = _user(session, username)
        user.failed_logins = 0
        user.locked_until = None


def list_users(db: Database) -> list[LoginInfo]:
    """Every user, by username."""
    with db.read() as session:
        users = session.scalars(select(User).order_by(User.username)).all()
        return [
            LoginInfo(
                u.username,
                u.display_name,
                u.role,
                tuple(u.permissions),
                u.active,
                bool(u.password_hash),
                u.failed_logins,
                u.locked_until,
            )
            for u in users
        ]


def set_missing_passwords(db: Database, hashes: dict[str, str]) -> list[str]:
    """Give the named users these password hashes where they have none yet.

    Returns:
      The usernames that got one.
    """
    changed = []
    with db.write() as session:
        for user in session.scalars(
            select(User).where(User.username.in_(hashes), User.password_hash.is_(None))
        ):
            user.password_hash = hashes[user.username]
            changed.append(user.username)
    return sorted(changed)
