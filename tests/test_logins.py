"""Logins on SQLite and PostgreSQL: passwords, the slow-down and lockout, sessions, user admin."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from jobs.cli.main import main
from jobs.db import Database
from jobs.errors import InvalidInput
from jobs.models import User
from jobs.people import logins, passwords
from jobs.people.logins import DEFAULT_POLICY, attempt, log_out, session_user
from jobs.people.user_admin import add_user, set_active, set_password, unlock
from jobs.seed import demo_password

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def username(db: Database) -> str:
    """A new user (a fresh name: the PostgreSQL database is shared by the session)."""
    name = f"u{uuid.uuid4().hex[:10]}"
    add_user(db, name, PASSWORD, display_name="Test User")
    return name


def test_a_wrong_password_is_refused_with_a_message(db, username, clock):
    result = attempt(db, username, "not it", now=clock)

    assert not result.ok and result.token is None
    assert result.message == "Wrong username or password."


def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(db, clock):
    result = attempt(db, "nobody-here", PASSWORD, now=clock)

    assert not result.ok
    assert result.message == "Wrong username or password."


def test_the_right_password_opens_a_session_and_logging_out_revokes_it(db, username, clock):
    result = attempt(db, username, PASSWORD, now=clock)
    assert result.ok and result.token
    assert session_user(db, result.token, now=clock) == username

    # When the browser logs out, a saved copy of its cookie no longer works
    assert log_out(db, result.token, now=clock)
    assert session_user(db, result.token, now=clock) is None
    assert session_user(db, "a-token-nobody-was-given", now=clock) is None


def test_sessions_end_after_their_lifetime_and_when_idle(db, username, clock):
    token = attempt(db, username, PASSWORD, now=clock).token
    clock.advance(DEFAULT_POLICY.idle_minutes * 60 - 30)
    assert session_user(db, token, now=clock) == username  # seen: idle time starts again

    clock.advance(DEFAULT_POLICY.idle_minutes * 60 + 1)
    assert session_user(db, token, now=clock) is None

    token = attempt(db, username, PASSWORD, now=clock).token
    for _ in range(int(DEFAULT_POLICY.session_hours)):
        clock.advance(3600)
        last = session_user(db, token, now=clock)
    assert last is None  # twelve hours after the login, however active


def test_fifty_wrong_passwords_lock_the_login_and_the_right_one_is_refused_until_it_ends(
    db, username, clock
):
    policy = DEFAULT_POLICY
    results = []
    for _ in range(50):
        result = attempt(db, username, "guess", now=clock)
        results.append(result)
        clock.advance(result.wait_seconds)  # a patient client waits as told

    # The first wrong passwords are free, then each makes the next attempt wait longer
    waits = [r.wait_seconds for r in results[: policy.lock_after - 1]]
    assert waits == [0, 0, 0, 0, 0.25, 0.5, 1, 2, 4]
    # The tenth locks the login for 15 minutes; every attempt after is refused unread
    locked = results[policy.lock_after - 1]
    assert locked.locked_until == clock.at + dt.timedelta(minutes=15)
    assert "locked until" in locked.message
    assert all(r.locked_until == locked.locked_until for r in results[policy.lock_after :])

    right = attempt(db, username, PASSWORD, now=clock)
    assert not right.ok
    assert f"locked until {locked.locked_until:%H:%M} UTC" in right.message

    clock.advance(15 * 60 + 1)
    assert attempt(db, username, PASSWORD, now=clock).ok
    with db.read() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        assert (user.failed_logins, user.locked_until) == (0, None)


def test_an_attempt_during_the_pause_is_refused_without_looking_at_the_password(
    db, username, clock
):
    for _ in range(DEFAULT_POLICY.slow_after):
        attempt(db, username, "guess", now=clock)

    early = attempt(db, username, PASSWORD, now=clock)  # parallel guessing gains nothing

    assert not early.ok
    assert "wait 0.2 s" in early.message or "wait 0.3 s" in early.message
    clock.advance(early.wait_seconds)
    assert attempt(db, username, PASSWORD, now=clock).ok


def test_a_disabled_user_cannot_log_in_and_their_sessions_end(db, username, clock):
    token = attempt(db, username, PASSWORD, now=clock).token

    set_active(db, username, False)

    assert session_user(db, token) is None
    refused = attempt(db, username, PASSWORD, now=clock)
    assert not refused.ok and "disabled" in refused.message
    assert attempt(db, username, "wrong", now=clock).message == "Wrong username or password."
    set_active(db, username, True)
    assert attempt(db, username, PASSWORD, now=clock).ok


def test_a_new_password_unlocks_the_login_and_ends_every_session(db, username, clock):
    token = attempt(db, username, PASSWORD, now=clock).token
    for _ in range(DEFAULT_POLICY.lock_after):
        clock.advance(attempt(db, username, "guess", now=clock).wait_seconds)

    set_password(db, username, "a brand new one")

    assert session_user(db, token) is None
    assert not attempt(db, username, PASSWORD, now=clock).ok
    assert attempt(db, username, "a brand new one", now=clock).ok


def test_an_administrator_can_unlock_a_locked_login(db, username, clock):
    for _ in range(DEFAULT_POLICY.lock_after):
        clock.advance(attempt(db, username, "guess", now=clock).wait_seconds)
    unlock(db, username)
    assert attempt(db, username, PASSWORD, now=clock).ok


def test_passwords_are_stored_only_as_argon2_hashes(db, username):
    with db.read() as session:
        stored = session.scalars(select(User.password_hash).where(User.username == username)).one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(InvalidInput, match="at least 8"):
        set_password(db, username, "short")


def test_demo_users_log_in_with_the_readme_passwords_and_get_a_production_hash(db, clock):
    with db.read() as session:
        before = session.scalars(select(User.password_hash).where(User.username == "carol")).one()
    assert passwords.needs_rehash(before)  # cheap demo costs

    result = attempt(db, "carol", demo_password("carol"), now=clock)

    assert result.ok
    with db.read() as session:
        after = session.scalars(select(User.password_hash).where(User.username == "carol")).one()
    assert not passwords.needs_rehash(after)
    assert attempt(db, "carol", demo_password("carol"), now=clock).ok
    logins.log_out(db, result.token)


def test_bulkdesk_users_add_passwd_disable_enable_and_list(db):
    runner = CliRunner()
    name = f"cli{uuid.uuid4().hex[:8]}"

    added = runner.invoke(
        main,
        ["users", "add", name, "--name", "Cli Person", "--permission", "bulk_update_interactions"],
        input="first password\nfirst password\n",
    )
    assert added.exit_code == 0, added.output
    assert attempt(db, name, "first password").ok

    changed = runner.invoke(main, ["users", "passwd", name, "--password", "second password"])
    assert changed.exit_code == 0, changed.output
    assert not attempt(db, name, "first password").ok
    assert attempt(db, name, "second password").ok

    assert runner.invoke(main, ["users", "disable", name]).exit_code == 0
    assert "disabled" in attempt(db, name, "second password").message
    listed = runner.invoke(main, ["users", "list"])
    assert f"{name}" in listed.output and "disabled" in listed.output
    assert runner.invoke(main, ["users", "enable", name]).exit_code == 0
    assert attempt(db, name, "second password").ok

    taken = runner.invoke(main, ["users", "add", name, "--password", "whatever123"])
    assert taken.exit_code == 2 and "already a user" in taken.output


def test_demo_passwords_are_given_to_demo_users_seeded_without_one(db):
    with db.write() as session:
        session.get(User, 4).password_hash = None  # carol, as seeded before logins existed

    result = CliRunner().invoke(main, ["users", "demo-passwords"])

    assert result.exit_code == 0 and "carol" in result.output
    assert attempt(db, "carol", demo_password("carol")).ok


def test_hashing_the_demo_passwords_is_cheap():
    started = time.perf_counter()
    for name in ("admin", "alice", "bob", "carol", "dave"):
        passwords.demo_hash(name, demo_password(name))
    assert time.perf_counter() - started < 0.5
