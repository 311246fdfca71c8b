"""Fixtures for the communications tests: a clock moved by hand, accounts with chosen
addresses and names (put back afterwards: the PostgreSQL database is shared), mail to a real
SMTP server on loopback, and text messages into a folder.

Use with ``pytest_plugins = ["tests.smtp_server", "tests.comms_fixtures"]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import bindparam, select, update

from jobs import clock, runtime
from jobs.comms import sms
from jobs.models import Account, AccountStatus, EmailTemplate, User
from tests.comms_helpers import CLOCK_START, SCRIPT_NAME, Targets


@pytest.fixture
def manual_clock() -> Iterator[clock.ManualClock]:
    """The engine's clock stands at CLOCK_START until the test moves it."""
    moved = clock.ManualClock(CLOCK_START)
    clock.use(moved)
    yield moved
    clock.use(None)


@pytest.fixture
def targets(db) -> Iterator[Targets]:
    """Eight open, unlocked accounts: four with a good email and phone (one of them called
    like a script), and one each without an email, with a bad one, without a phone and with
    a bad one. Their columns are put back afterwards."""
    with db.read() as s:
        closed = list(s.scalars(select(AccountStatus.name).where(AccountStatus.closed)))
        ids = list(
            s.scalars(
                select(Account.id)
                .where(
                    ~Account.locked,
                    Account.status.not_in(closed),
                    Account.email.like("%@%"),
                    Account.phone.is_not(None),
                )
                .order_by(Account.id)
                .limit(8)
            )
        )
        before = [
            {"i": a.id, "email": a.email, "phone": a.phone, "debtor_name": a.debtor_name}
            for a in s.scalars(select(Account).where(Account.id.in_(ids)))
        ]
    found = Targets(
        valid=ids[:4],
        no_email=ids[4],
        bad_email=ids[5],
        no_phone=ids[6],
        bad_phone=ids[7],
        script=ids[0],
    )
    with db.write_conn() as conn:
        table = Account.__table__
        conn.execute(update(table).where(table.c.id == found.no_email).values(email=None))
        conn.execute(update(table).where(table.c.id == found.bad_email).values(email="n/a"))
        conn.execute(update(table).where(table.c.id == found.no_phone).values(phone=None))
        conn.execute(
            update(table).where(table.c.id == found.bad_phone).values(phone="201-555-01AB")
        )
        conn.execute(
            update(table).where(table.c.id == found.script).values(debtor_name=SCRIPT_NAME)
        )
    yield found
    with db.write_conn() as conn:
        table = Account.__table__
        conn.execute(
            update(table)
            .where(table.c.id == bindparam("i"))
            .values(
                email=bindparam("email"),
                phone=bindparam("phone"),
                debtor_name=bindparam("debtor_name"),
            ),
            before,
        )


@pytest.fixture
def mail_to(db, smtp_server):
    """This process's emails go to the loopback SMTP server; templates and users' profiles
    are put back afterwards."""
    runtime.configure(
        dataclasses.replace(
            runtime.settings(),
            smtp_url=smtp_server.url,
            mail_from="Collections <collections@bulkdesk.example>",
        )
    )
    with db.read() as s:
        users = [
            {"u": u.id, "email": u.email, "notify": u.notify, "permissions": list(u.permissions)}
            for u in s.scalars(select(User))
        ]
        templates = [
            {"t": t.id, "subject": t.subject, "body": t.body, "active": t.active}
            for t in s.scalars(select(EmailTemplate))
        ]
    yield smtp_server
    with db.write_conn() as conn:
        conn.execute(
            update(User.__table__)
            .where(User.__table__.c.id == bindparam("u"))
            .values(
                email=bindparam("email"),
                notify=bindparam("notify"),
                permissions=bindparam("permissions"),
            ),
            users,
        )
        conn.execute(
            update(EmailTemplate.__table__)
            .where(EmailTemplate.__table__.c.id == bindparam("t"))
            .values(
                subject=bindparam("subject"), body=bindparam("body"), active=bindparam("active")
            ),
            templates,
        )


@pytest.fixture
def sms_folder(tmp_path, monkeypatch):
    """Text messages are written into this folder (the default gateway, configured by
    BULKDESK_SMS_OUTBOX)."""
    folder = tmp_path / "sms-outbox"
    monkeypatch.setenv(sms.SMS_OUTBOX_ENV, str(folder))
    sms.use(None)
    return folder
