"""Logging in: password checks with a lockout, and the server-side sessions of logged-in browsers.

The state is in the database (``users.failed_logins``, ``users.locked_until``, the
``login_sessions`` table), so the lockout and a logout hold across every server process.

Lockout policy (:class:`LoginPolicy`): the first ``slow_after`` wrong passwords in a row cost
nothing; each further one makes the next attempt wait (0.25 s, 0.5 s, 1 s, 2 s, 4 s); the
``lock_after``-th locks the login for ``lock_minutes``. While paused or locked, no password is
looked at, the right one included. A good login, or a new password, clears the count.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select, update

from jobs.db import Database
from jobs.models import LoginSession, User, utcnow
from jobs.people import passwords

Clock = Callable[[], dt.datetime]

WRONG = "Wrong username or password."
DISABLED = "This login is disabled. Ask an administrator."
NO_PASSWORD = (
    "No password is set for this login yet. An administrator sets one with "
    "`bulkdesk users passwd {username}`."
)


@dataclass(frozen=True)
class LoginPolicy:
    """How wrong passwords are slowed down and then locked out, and how long sessions last."""

    slow_after: int = 5
    lock_after: int = 10
    first_pause_seconds: float = 0.25
    lock_minutes: float = 15
    session_hours: float = 12
    idle_minutes: float = 120

    def pause_after(self, failures: int) -> float:
        """Seconds before the next attempt is looked at, after ``failures`` in a row."""
        if failures < self.slow_after:
            return 0.0
        return self.first_pause_seconds * 2 ** (failures - self.slow_after)


DEFAULT_POLICY = LoginPolicy()


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt gave.

    Attributes:
      username: who logged in; ``None`` when refused.
      token: the new session's token for the cookie (only on success).
      message: why it was refused, in words for the login page.
      wait_seconds: how long the client should wait before the next attempt (the login page
        answers a wrong password only after this pause).
      locked_until: set while the login is locked.
    """

    username: str | None
    token: str | None = None
    message: str = ""
    wait_seconds: float = 0.0
    locked_until: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.username is not None


def attempt(
    db: Database,
    username: str,
    password: str,
    *,
    policy: LoginPolicy = DEFAULT_POLICY,
    now: Clock = utcnow,
) -> LoginResult:
    """Check a username and password; on success open a session.

    Parameters:
      db: the database.
      username, password: as typed on the login page.
      policy: the lockout and session lifetimes.
      now: the clock (tests move it).

    Returns:
      The session's token on success, else the message for the login page.
    """
    username = username.strip()
    with db.write() as session:
        user = session.scalars(
            select(User).where(User.username == username).with_for_update()
        ).one_or_none()
        if user is None:
            passwords.spend_a_verification(password)
            return LoginResult(None, message=WRONG)
        at = now()
        if user.locked_until is not None and user.locked_until > at:
            return _refused_while_locked(user, at, policy)
        if user.failed_logins >= policy.lock_after:  # the lock has run out: a fresh start
            user.failed_logins = 0
        if not user.password_hash:
            passwords.spend_a_verification(password)
            return LoginResult(None, message=NO_PASSWORD.format(username=user.username))
        if not passwords.verify(user.password_hash, password):
            return _wrong_password(user, at, policy)
        user.failed_logins = 0
        user.locked_until = None
        if not user.active:
            return LoginResult(None, message=DISABLED)
        if passwords.needs_rehash(user.password_hash):
            user.password_hash = passwords.hash_password(password)
        token = _open_session(session, user, at, policy)
        return LoginResult(user.username, token=token)


def _wrong_password(user: User, at: dt.datetime, policy: LoginPolicy) -> LoginResult:
    user.failed_logins += 1
    if user.failed_logins >= policy.lock_after:
        user.locked_until = at + dt.timedelta(minutes=policy.lock_minutes)
        return LoginResult(
            None, message=_locked_message(user.locked_until), locked_until=user.locked_until
        )
    pause = policy.pause_after(user.failed_logins)
    if pause:
        user.locked_until = at + dt.timedelta(seconds=pause)
    return LoginResult(None, message=WRONG, wait_seconds=pause)


def _refused_while_locked(user: User, at: dt.datetime, policy: LoginPolicy) -> LoginResult:
    assert user.locked_until is not None
    if user.failed_logins >= policy.lock_after:
        return LoginResult(
            None, message=_locked_message(user.locked_until), locked_until=user.locked_until
        )
    wait = (user.locked_until - at).total_seconds()
    return LoginResult(
        None,
        wait_seconds=wait,
        message=f"Too many wrong passwords: wait {wait:.1f} s, then try again.",
    )


def _locked_message(until: dt.datetime) -> str:
    return (
        f"Too many wrong passwords: this login is locked until {until:%H:%M} UTC "
        f"({until:%Y-%m-%d}). Try again then, or ask an administrator to unlock it."
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _open_session(
    session,
    user: User,
    at: dt.datetime,  # type: ignore[no-untyped-def]
    policy: LoginPolicy,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=at,
            last_seen_at=at,
            expires_at=at + dt.timedelta(hours=policy.session_hours),
        )
    )
    return token


def session_user(
    db: Database, token: str | None, *, policy: LoginPolicy = DEFAULT_POLICY, now: Clock = utcnow
) -> str | None:
    """The username of a live session, or ``None`` for an unknown, revoked, expired or idle
    one, or one of a disabled user. Notes the session as seen (at most once a minute)."""
    if not token:
        return None
    at = now()
    idle_since = at - dt.timedelta(minutes=policy.idle_minutes)
    query = (
        select(LoginSession.id, LoginSession.last_seen_at, User.username)
        .join(User, User.id == LoginSession.user_id)
        .where(
            LoginSession.token_hash == _token_hash(token),
            LoginSession.revoked_at.is_(None),
            LoginSession.expires_at > at,
            LoginSession.last_seen_at > idle_since,
            User.active.is_(True),
        )
    )
    with db.read() as session:
        row = session.execute(query).one_or_none()
    if row is None:
        return None
    if at - row.last_seen_at > dt.timedelta(minutes=1):
        with db.write() as session:
            session.execute(
                update(LoginSession).where(LoginSession.id == row.id).values(last_seen_at=at)
            )
    return row.username


def log_out(db: Database, token: str | None, *, now: Clock = utcnow) -> bool:
    """Revoke the session of ``token``. Returns whether a live session was revoked."""
    if not token:
        return False
    with db.write() as session:
        result = session.execute(
            update(LoginSession)
            .where(LoginSession.token_hash == _token_hash(token), LoginSession.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    return bool(result.rowcount)


def revoke_sessions(session, user_id: int, at: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    """Revoke every live session of a user, in the caller's unit of work."""
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=at)
    )
