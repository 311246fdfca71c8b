"""Deterministic demo data: users, clients, portfolios, collectors, accounts and groups.

Demo users log in with the passwords in the README ("Demo logins"), stored as argon2 hashes.

``seed(db)`` fills an empty database (schema at alembic head) with a realistic collections back
office, so every screen has something real to show. The same arguments always give exactly the
same rows: values come from ``random.Random(random_seed)`` and fixed word lists, and every date
is relative to the fixed ``SEED_DATE``, never the wall clock. The one exception comes with the
demo job definitions (``seed_definitions``, what ``bulkdesk seed`` adds unless
``--no-definitions``): the last two weeks of contacts and posted payments, ending on the day
the demo is seeded, so that their reports of the business day have rows. Ids are given
explicitly, so they are the same on SQLite and PostgreSQL and after a reset.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import Connection, Integer, Table, case, func, insert, literal, select, text

from jobs.db import Database
from jobs.errors import InvalidInput
from jobs.models import (
    Account,
    AccountStatus,
    Base,
    Client,
    Collector,
    EmailTemplate,
    Group,
    GroupMember,
    Payment,
    Portfolio,
    SmsTemplate,
    User,
    UTCDateTime,
)
from jobs.people import passwords
from jobs.people.permissions import (
    ADMIN,
    APPROVE_COMMUNICATIONS,
    BULK_UPDATE,
    SEND_COMMUNICATIONS,
    USER,
)

#: "Today" for the demo data: last worked, payments and birth dates are relative to it.
SEED_DATE = dt.date(2026, 11, 1)
SEED_TIME = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
BATCH_SIZE = 10_000

T = TypeVar("T")

# fmt: off
_USERS = [  # username, display name, role, permissions, job-completion emails
    ("admin", "Ada Admin", ADMIN, [BULK_UPDATE, SEND_COMMUNICATIONS], "all"),
    ("alice", "Alice Analyst", USER, [BULK_UPDATE, SEND_COMMUNICATIONS], "all"),
    ("bob", "Bob Builder", USER, [BULK_UPDATE], "failures"),
    ("carol", "Carol Clerk", USER, [], "none"),
    ("dave", "Dave Supervisor", USER,
     [BULK_UPDATE, SEND_COMMUNICATIONS, APPROVE_COMMUNICATIONS], "failures"),
]
_CLIENTS = [  # code, name, share of accounts (%), portfolios, creditors
    ("ACME", "Acme Retail Credit", 30,
     ["2024 Charge-off Q1", "2024 Charge-off Q3", "2025 Charge-off Q2"],
     ["Acme Store Card", "Acme Visa"]),
    ("NWB", "Northwind Bank", 22,
     ["2023 Personal Loans", "2025 Overdrafts"],
     ["Northwind Bank", "Northwind Personal Lending"]),
    ("GLBX", "Globex Auto Finance", 15,
     ["2023 Repossessions", "2024 Deficiencies", "2025 Deficiencies Q1", "2025 Deficiencies Q2"],
     ["Globex Auto Finance"]),
    ("INIT", "Initech Wireless", 14,
     ["2024 Final Bills", "2025 Final Bills", "Equipment 2025"],
     ["Initech Wireless", "Initech Home Internet"]),
    ("SMG", "Summit Medical Group", 11,
     ["2024 Self-pay", "2025 Self-pay"],
     ["Summit General Hospital", "Summit Imaging", "Summit Urgent Care"]),
    ("BWU", "Bluewater Utilities", 8,
     ["2024 Closed Services", "2025 Closed Services Q1", "2025 Closed Services Q2",
      "2025 Closed Services Q3"],
     ["Bluewater Electric", "Bluewater Gas"]),
]
# Name, active, share of the assigned accounts: the two who left hold ~10% of all accounts.
_COLLECTORS = [
    ("Maria Gonzalez", True, 6), ("James Carter", True, 6), ("Priya Raman", True, 6),
    ("Derek Olsen", True, 6), ("Tanya Brooks", True, 6), ("Kevin Nguyen", True, 6),
    ("Linda Okafor", True, 6), ("Marcus Webb", True, 6), ("Sofia Rossi", True, 6),
    ("Hannah Price", True, 6), ("Victor Hale", False, 5), ("Gloria Mendes", False, 5),
]
_FIRST = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Ashley Donald Kimberly Steven Emily Andrew Donna "
    "Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa Timothy Deborah Ronald "
    "Stephanie Jason Rebecca Jose Laura Luis Maria Juan Rosa Wei Mei Ahmed Fatima Dmitri "
    "Olga Kwame Amara Raj Anita"
).split()
_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Murphy Cook Rogers Morgan Peterson Cooper Reed Bailey Bell Kim Chen Patel Singh "
    "Okafor Kowalski Novak Schmidt O'Brien"
).split()
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "aol.com", "icloud.com",
            "comcast.net", "att.net")
_BAD_EMAILS = ("n/a", "none", "unknown", "no email", "refused")
# Roughly by population, so state filters give groups of very different sizes.
_STATES = {
    "CA": 118, "TX": 90, "FL": 68, "NY": 59, "PA": 39, "IL": 38, "OH": 35, "GA": 33, "NC": 32,
    "MI": 30, "NJ": 28, "VA": 26, "WA": 23, "AZ": 22, "TN": 21, "MA": 21, "IN": 20, "MO": 18,
    "MD": 18, "WI": 18, "CO": 17, "MN": 17, "SC": 16, "AL": 15, "LA": 14, "KY": 13, "OR": 13,
    "OK": 12, "CT": 11, "UT": 10, "IA": 10, "NV": 10, "AR": 9, "MS": 9, "KS": 9, "NM": 6,
    "NE": 6, "ID": 6, "WV": 5, "HI": 4, "NH": 4, "ME": 4, "RI": 3, "MT": 3, "DE": 3, "SD": 3,
    "ND": 2, "AK": 2, "DC": 2, "VT": 2, "WY": 2,
}
_STATUSES = {"Open": 62, "Promise to pay": 10, "Payment plan": 11, "Disputed": 6, "Bankrupt": 4,
             "Closed": 4, "Paid in full": 3}
_DECLINED = {0: 850, 1: 80, 2: 40, 3: 20, 4: 7, 5: 3}
_GROUPS = [  # name, description, saved filter (None for a static list of members)
    ("Texas open accounts", "Open accounts of debtors living in Texas.",
     {"state": "TX", "status": "Open"}),
    ("High balance (> $10k)", "Accounts with a current balance of $10,000 or more.",
     {"min_balance": 10000}),
    ("Locked accounts", "Accounts on legal hold; bulk actions leave them alone.", {"locked": True}),
    ("Callback list — week 47", "Promises to pay to call back this week.", None),
    ("Skip-trace batch", "Open accounts without a phone number, for the skip-trace vendor.", None),
    ("Dispute review", "Disputes to review, with a few closed and locked accounts mixed in.", None),
    ("Big reassignment pool", "Accounts of collectors who have left, to reassign.", None),
    ("Empty group", "A static group with no members yet.", None),
]
# fmt: on


def demo_password(username: str) -> str:
    """The documented demo password of a demo user (README, "Demo logins")."""
    return f"{username}-demo"


def demo_password_hashes() -> dict[str, str]:
    """Each demo user's password hash: fixed (salted by username), cheap to make."""
    return {u: passwords.demo_hash(u, demo_password(u)) for u, *_ in _USERS}


@dataclass(frozen=True)
class SeedSummary:
    """How many rows of each kind ``seed`` inserted."""

    users: int
    clients: int
    portfolios: int
    collectors: int
    accounts: int
    groups: int
    group_members: int
    payments: int = 0

    def __str__(self) -> str:
        counts = (f"{getattr(self, f.name):,} {f.name.replace('_', ' ')}" for f in fields(self))
        return "Seeded " + ", ".join(counts)


def seed(
    db: Database, *, accounts: int = 50_000, random_seed: int = 7, reset: bool = False
) -> SeedSummary:
    """Fill the database with the demo data set, all in one transaction.

    A failure part-way leaves the database as it was, old data included when resetting.

    Parameters:
      db: the database, its schema at alembic head.
      accounts: how many accounts to generate (file numbers F0000001 upwards).
      random_seed: seeds every random choice; the same arguments give the same rows.
      reset: first delete every row of every table (jobs and audit trail included).

    Returns:
      The number of rows inserted per kind.

    Raises:
      InvalidInput: when the database already has data and ``reset`` is false, or when
        ``accounts`` is not positive.
    """
    if accounts < 1:
        raise InvalidInput("The number of accounts must be at least 1", field="accounts")
    rng = random.Random(random_seed)
    with db.write_conn() as conn:
        if reset:
            _delete_everything(conn, postgres=not db.is_sqlite)
        elif _has_data(conn):
            raise InvalidInput("The database already has demo data; use --reset to replace it")
        owners = _insert_reference_data(conn)
        maker = _AccountMaker(rng, owners)
        for start in range(1, accounts + 1, BATCH_SIZE):
            stop = min(start + BATCH_SIZE, accounts + 1)
            conn.execute(insert(_table(Account)), [maker.row(i) for i in range(start, stop)])
        groups, members = _insert_groups(conn, random.Random(f"{random_seed}:groups"))
        _insert_templates(conn)
        payments = _insert_payments(conn)
        if not db.is_sqlite:
            _advance_sequences(conn)
    # Fresh statistics, so the query planners see a million accounts as a million accounts.
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return SeedSummary(
        users=len(_USERS),
        clients=len(_CLIENTS),
        portfolios=sum(len(c[3]) for c in _CLIENTS),
        collectors=len(_COLLECTORS),
        accounts=accounts,
        groups=groups,
        group_members=members,
        payments=payments,
    )


def _table(model: type[Base]) -> Table:
    """The Core table of a model, for set-based and executemany statements."""
    return model.__table__  # type: ignore[return-value]


def has_data(db: Database) -> bool:
    """Whether the database already holds users, clients or accounts."""
    with db.read() as session:
        return _has_data(session.connection())


def _has_data(conn: Connection) -> bool:
    # Users or clients alone would collide with the explicit ids below, so they count too.
    return any(
        conn.execute(select(func.count()).select_from(_table(m))).scalar_one()
        for m in (Account, User, Client)
    )


def _delete_everything(conn: Connection, *, postgres: bool) -> None:
    """Empty every table, children first (the metadata's dependency order, reversed).

    The configured account statuses stay: they are the back office's settings, not demo data.
    """
    kept = {_table(AccountStatus).name}
    tables = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in kept]
    if postgres:
        # DELETE would run a foreign-key check per deleted row (group_members has no index on
        # account_id alone); a TRUNCATE of all the tables together skips that.
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
        conn.execute(text(f"TRUNCATE TABLE {names} RESTART IDENTITY"))
    else:
        for table in tables:
            conn.execute(table.delete())


def _advance_sequences(conn: Connection) -> None:
    """Move PostgreSQL id sequences past the explicit ids, so later inserts do not collide."""
    for model in (User, Client, Portfolio, Collector, Account, Group):
        name = _table(model).name  # from our own metadata, safe to put in the SQL
        sequence = f"pg_get_serial_sequence('{name}', 'id')"
        conn.execute(text(f"SELECT setval({sequence}, max(id)) FROM {name}"))


def _insert_reference_data(conn: Connection) -> list[tuple[int, int, list[str]]]:
    """Insert users, clients, portfolios and collectors, with ids 1, 2, … in list order.

    Returns:
      (client id, portfolio id, creditors) per portfolio, repeated by the client's share of
      accounts: a uniform pick from it is an account's owner.
    """
    users = [
        (
            i,
            u,
            name,
            role,
            perms,
            f"{u}@bulkdesk.example",
            notify,
            True,
            SEED_TIME,
            demo_password_hashes()[u],
        )
        for i, (u, name, role, perms, notify) in enumerate(_USERS, start=1)
    ]
    columns = (
        "id username display_name role permissions email notify active created_at password_hash"
    )
    conn.execute(insert(_table(User)), _rows(columns, users))
    clients = [(i, code, name) for i, (code, name, *_) in enumerate(_CLIENTS, start=1)]
    conn.execute(insert(_table(Client)), _rows("id code name", clients))
    portfolios: list[tuple[int, int, str]] = []
    owners: list[tuple[int, int, list[str]]] = []
    for client_id, (_, _, share, names, creditors) in enumerate(_CLIENTS, start=1):
        for name in names:
            portfolios.append((len(portfolios) + 1, client_id, name))
            # An equal part of the client's share each: 12 splits evenly into 2, 3 or 4 parts.
            owners += [(client_id, len(portfolios), creditors)] * (share * 12 // len(names))
    conn.execute(insert(_table(Portfolio)), _rows("id client_id name", portfolios))
    collectors = [(i, name, active) for i, (name, active, _) in enumerate(_COLLECTORS, start=1)]
    conn.execute(insert(_table(Collector)), _rows("id name active", collectors))
    return owners


def _rows(columns: str, values: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Rows for an executemany insert: each tuple of ``values`` keyed by the column names."""
    keys = columns.split()
    return [dict(zip(keys, row, strict=True)) for row in values]


def _spread(weights: dict[T, int]) -> list[T]:
    """Each key repeated by its weight: a uniform pick from the list is a weighted pick."""
    return [key for key, weight in weights.items() for _ in range(weight)]


class _AccountMaker:
    """Makes account rows one by one from a random stream; holds the lookup tables."""

    def __init__(self, rng: random.Random, owners: Sequence[tuple[int, int, list[str]]]) -> None:
        self.rand = rng.random  # rng.random() and int() are several times faster than randrange.
        self.owners = owners
        self.states = _spread(_STATES)
        self.statuses = _spread(_STATUSES)
        self.declined = _spread(_DECLINED)
        self.collectors = _spread({i: w for i, (_, _, w) in enumerate(_COLLECTORS, start=1)})
        self.birth_lo = dt.date(1940, 1, 1).toordinal()
        self.birth_span = dt.date(2004, 12, 31).toordinal() - self.birth_lo + 1
        self.today = SEED_DATE.toordinal()
        #: Recent debtors a later account may belong to as well (same person, same SSN).
        self.recent: list[tuple[str, str, dt.date, str | None, str | None]] = []

    def pick(self, items: Sequence[T]) -> T:
        """One of ``items``, uniformly."""
        return items[int(self.rand() * len(items))]

    def debtor(self) -> tuple[str, str, dt.date, str | None, str | None]:
        """A new debtor: name, SSN, birth date, email and phone."""
        rand, pick = self.rand, self.pick
        first, last = pick(_FIRST), pick(_LAST)
        # SSN area numbers 000, 666 and 900-999 are never issued.
        area = 1 + int(rand() * 898)
        area += area >= 666
        ssn = f"{area:03d}-{1 + int(rand() * 99):02d}-{1 + int(rand() * 9999):04d}"
        birth = dt.date.fromordinal(self.birth_lo + int(rand() * self.birth_span))
        r = rand()
        if r < 0.85:
            digits = str(int(rand() * 100)) if rand() < 0.6 else ""
            handle = f"{first}.{last}{digits}".lower().replace("'", "")
            email: str | None = f"{handle}@{pick(_DOMAINS)}"
        else:
            email = None if r < 0.95 else pick(_BAD_EMAILS)
        phone = None
        if rand() < 0.8:
            phone = (
                f"+1-{201 + int(rand() * 789)}-{200 + int(rand() * 800)}-{int(rand() * 10000):04d}"
            )
        return f"{first} {last}", ssn, birth, email, phone

    def row(self, account_id: int) -> dict[str, Any]:
        """The account with this id, as a dict of column values."""
        rand, pick, today = self.rand, self.pick, self.today
        recent = self.recent
        # ~1% of accounts belong to a debtor seen shortly before: ~2% of accounts share an SSN.
        if recent and rand() < 0.01:
            k = int(rand() * len(recent))
            recent[k], recent[-1] = recent[-1], recent[k]
            name, ssn, birth, email, phone = recent.pop()
        else:
            name, ssn, birth, email, phone = self.debtor()
            if len(recent) < 1000:
                recent.append((name, ssn, birth, email, phone))
            else:
                recent[int(rand() * 1000)] = (name, ssn, birth, email, phone)
        client_id, portfolio_id, creditors = pick(self.owners)
        status = pick(self.statuses)
        # Legal holds are far more common on disputed and bankrupt accounts; ~1.5% overall.
        locked = rand() < (0.1 if status in ("Disputed", "Bankrupt") else 0.0055)
        balance = rand() ** 2.4 * 24_950 + 50  # skewed: most balances are small
        if balance > 10_000 and rand() < 0.6:
            balance = rand() * 9_950 + 50
        lowest = 10 ** (11 + int(rand() * 5))  # account numbers have 12 to 16 digits
        cents = 0 if status == "Paid in full" else int(balance * 100)
        paid = status == "Paid in full" or rand() < (0.7 if status == "Payment plan" else 0.37)
        payment = payment_date = None
        if paid:
            payment_cents = 2_500 + int(rand() * 147_500)
            payment = Decimal(payment_cents).scaleb(-2)
            payment_date = dt.date.fromordinal(today - 1 - int(rand() * 365))
        return {
            "id": account_id,
            "file_number": f"F{account_id:07d}",
            "client_id": client_id,
            "portfolio_id": portfolio_id,
            "account_number": str(lowest + int(rand() * 9 * lowest)),
            "debtor_name": name,
            "ssn": ssn,
            "birth_date": birth,
            "email": email,
            "phone": phone,
            "state": pick(self.states),
            "status": status,
            "locked": locked,
            "current_balance": Decimal(cents).scaleb(-2),
            "creditor": pick(creditors),
            "collector_id": pick(self.collectors) if rand() < 0.7 else None,
            "last_worked": (
                dt.date.fromordinal(today - 1 - int(rand() * 180)) if rand() < 0.75 else None
            ),
            "last_payment_amount": payment,
            "last_payment_date": payment_date,
            "declined_transactions": pick(self.declined),
        }


def _insert_groups(conn: Connection, rng: random.Random) -> tuple[int, int]:
    """Insert saved-filter and static groups of clearly different sizes, and their members.

    Static members are drawn with ``rng`` from matching account ids in id order, so they are
    the same every time; the reassignment pool is every account of an inactive collector.

    Returns:
      The number of groups and of group members inserted.
    """
    a = _table(Account).c
    members = {
        "Callback list — week 47": _sample(
            conn, rng, (a.status == "Promise to pay") & a.phone.is_not(None), 150
        ),
        "Skip-trace batch": _sample(conn, rng, (a.status == "Open") & a.phone.is_(None), 1_200),
        # Closed and locked accounts too, so a bulk action on it shows "Not processed" rows.
        "Dispute review": sorted(
            set(_sample(conn, rng, (a.status == "Disputed") & ~a.locked, 30))
            | set(_sample(conn, rng, a.locked, 5))
            | set(_sample(conn, rng, a.status == "Closed", 5))
        ),
    }
    groups = [
        (i, name, description, "static" if flt is None else "filter", flt, 1, SEED_TIME)
        for i, (name, description, flt) in enumerate(_GROUPS, start=1)
    ]
    columns = "id name description kind filter created_by_id created_at"
    conn.execute(insert(_table(Group)), _rows(columns, groups))
    gm = _table(GroupMember)
    ids = {name: group_id for group_id, name, *_ in groups}
    for name, account_ids in members.items():
        if account_ids:  # a handful of accounts may match nothing; an empty list would not insert
            rows = [(ids[name], account_id) for account_id in account_ids]
            conn.execute(insert(gm), _rows("group_id account_id", rows))
    # Set-based: at 1M accounts the pool has ~100k members, no need to bring them to Python.
    inactive = [i for i, (_, active, _) in enumerate(_COLLECTORS, start=1) if not active]
    pool = select(literal(ids["Big reassignment pool"], Integer), a.id)
    pool = pool.where(a.collector_id.in_(inactive)).order_by(a.id)
    conn.execute(insert(gm).from_select(["group_id", "account_id"], pool))
    return len(groups), conn.execute(select(func.count()).select_from(gm)).scalar_one()


def _sample(conn: Connection, rng: random.Random, where: Any, k: int) -> list[int]:
    """Up to ``k`` ids of accounts matching ``where``, drawn with ``rng``, in id order."""
    a = _table(Account).c
    ids = conn.execute(select(a.id).where(where).order_by(a.id)).scalars().all()
    return sorted(rng.sample(ids, min(k, len(ids))))


def _insert_payments(conn: Connection) -> int:
    """Insert demo payments, set-based, credited to each account's collector.

    Every account with a last payment gets it as a *posted* payment; accounts on a promise to
    pay or a payment plan that have a collector get a *pending* one (a tenth of the balance, at
    least $25) due in the week after ``SEED_DATE``.

    Returns:
      The number of payments inserted.
    """
    a, p = _table(Account).c, _table(Payment)
    columns = ["account_id", "amount", "paid_on", "status", "collector_id", "created_at"]
    posted = select(
        a.id,
        a.last_payment_amount,
        a.last_payment_date,
        literal("posted"),
        a.collector_id,
        literal(SEED_TIME, UTCDateTime),
    ).where(a.last_payment_amount.is_not(None), a.last_payment_date.is_not(None))
    conn.execute(insert(p).from_select(columns, posted.order_by(a.id)))
    due = case(
        *((a.id % 4 == k, literal(SEED_DATE + dt.timedelta(days=2 * k + 1))) for k in range(3)),
        else_=literal(SEED_DATE + dt.timedelta(days=7)),
    )
    pending = select(
        a.id,
        func.round(case((a.current_balance > 250, a.current_balance / 10), else_=25), 2),
        due,
        literal("pending"),
        a.collector_id,
        literal(SEED_TIME, UTCDateTime),
    ).where(a.status.in_(["Promise to pay", "Payment plan"]), a.collector_id.is_not(None))
    conn.execute(insert(p).from_select(columns, pending.order_by(a.id)))
    return conn.execute(select(func.count()).select_from(p)).scalar_one()


#: Demo email templates: name, subject, body (``{placeholders}``: ``jobs.comms.templates``).
DEMO_EMAIL_TEMPLATES = [
    (
        "Payment reminder",
        "Your account {file_number} with {client}",
        "Dear {debtor_name},\n\nOur records show a balance of {balance} on your {creditor} "
        "account ending {account_last4}.\n\nPlease call us or pay online by {send_date} to "
        "keep your account in good standing.\n\nSincerely,\n{client} collections team",
    ),
    (
        "Settlement offer",
        "A settlement offer for account {file_number}",
        "Dear {first_name},\n\nWe would like to help you resolve your balance of {balance} "
        "with {client}. Reply to this email or call us to discuss a settlement.\n\n"
        "{client} collections team",
    ),
]
#: Demo text message templates: name, body.
DEMO_SMS_TEMPLATES = [
    (
        "Payment reminder",
        "{client}: {first_name}, your balance on account ending {account_last4} is {balance}. "
        "Call us to arrange a payment.",
    ),
    ("Please call us", "{client}: {first_name}, please call us about file {file_number}."),
]


def _insert_templates(conn: Connection) -> None:
    """The demo email and text message templates (checked as a person's save would be)."""
    from jobs.comms.templates import check_template

    emails = [
        check_template(name=name, subject=subject, body=body)
        for name, subject, body in DEMO_EMAIL_TEMPLATES
    ]
    texts = [check_template(name=name, body=body, sms=True) for name, body in DEMO_SMS_TEMPLATES]
    extra = {"active": True, "updated_at": SEED_TIME}
    conn.execute(insert(_table(EmailTemplate)), [{**t, **extra} for t in emails])
    conn.execute(insert(_table(SmsTemplate)), [{**t, **extra} for t in texts])


# -- job definitions (issue 12) ------------------------------------------------------------


def _deliveries_dir() -> str:
    """Where the demo's copy steps deliver: a folder under ``var/``, so the demo works
    offline (a real set-up names ``sftp://`` or ``s3://`` destinations instead)."""
    import os
    from pathlib import Path

    return str(Path(os.environ.get("BULKDESK_VAR_DIR", "var")).resolve() / "deliveries")


def demo_definitions() -> list[Any]:
    """The demo's job definitions (``jobs.definitions.spec.DefinitionSpec``), in the order
    they are saved (prerequisites first)."""
    from jobs.definitions.spec import DefinitionSpec, StepSpec

    out = _deliveries_dir()
    ops = ["ops@bulkdesk.example"]
    return [
        DefinitionSpec(
            name="Daily call report",
            description="The call centre's calls of the day, emailed to operations and "
            "copied to the reports folder (SFTP in production).",
            trigger="scheduled",
            schedule="end_of_day",
            schedule_options={"at": "18:00"},
            timezone="Europe/London",
            owner="admin",
            failure_recipients=ops,
            steps=[
                StepSpec("Report", "report", {"report": "call"}, "Email", ""),
                StepSpec("Email", "email", {"recipients": ops}, "SFTP copy", ""),
                StepSpec("SFTP copy", "copy", {"destination": f"{out}/calls"}, "", ""),
            ],
        ),
        DefinitionSpec(
            name="Weekly billing report",
            description="Billing of the last 7 days, every Monday morning, to finance.",
            trigger="scheduled",
            schedule="weekly",
            schedule_options={"weekday": "mon", "at": "07:00"},
            timezone="Europe/London",
            owner="admin",
            steps=[
                StepSpec(
                    "Report", "report", {"report": "billing", "period": "last_7_days"}, "Email", ""
                ),
                StepSpec("Email", "email", {"recipients": ["finance@bulkdesk.example"]}, "", ""),
            ],
        ),
        DefinitionSpec(
            name="Invoice pre-check",
            description="Checks the day's billing before the Invoicer runs.",
            trigger="scheduled",
            schedule="end_of_day",
            schedule_options={"at": "05:00"},
            timezone="Europe/London",
            owner="admin",
            failure_recipients=ops,
            steps=[
                StepSpec(
                    "Billing figures",
                    "report",
                    {"report": "billing", "period": "previous_day"},
                    "Keep a copy",
                    "",
                ),
                StepSpec("Keep a copy", "copy", {"destination": f"{out}/pre-invoice"}, "", ""),
            ],
        ),
        DefinitionSpec(
            name="Invoicer",
            description="Runs only when the Invoice pre-check of the same day ended Ok.",
            trigger="scheduled",
            schedule="end_of_day",
            schedule_options={"at": "05:30"},
            timezone="Europe/London",
            owner="admin",
            depends_on=["Invoice pre-check"],
            steps=[
                StepSpec(
                    "Invoices",
                    "report",
                    {"report": "billing", "period": "previous_day"},
                    "Deliver",
                    "Tell ops",
                ),
                StepSpec("Deliver", "copy", {"destination": f"{out}/invoices"}, "", "Tell ops"),
                StepSpec(
                    "Tell ops",
                    "email",
                    {"recipients": ops, "subject": "Invoicer failed on {day}", "attach": "none"},
                    "",
                    "",
                ),
            ],
        ),
        DefinitionSpec(
            name="End of campaign report",
            description="When a campaign ends (EOC): its campaign report to the client team.",
            trigger="campaign",
            owner="admin",
            steps=[
                StepSpec("Report", "report", {"report": "campaign"}, "Email", ""),
                StepSpec("Email", "email", {"recipients": ["clients@bulkdesk.example"]}, "", ""),
            ],
        ),
        DefinitionSpec(
            name="Monthly agent report (retired)",
            description="Replaced by the agents' dashboard; kept disabled for reference.",
            trigger="scheduled",
            schedule="monthly",
            schedule_options={"day": 1, "at": "06:00"},
            timezone="Europe/London",
            enabled=False,
            owner="admin",
            steps=[StepSpec("Report", "report", {"report": "agent"}, "", "")],
        ),
    ]


#: Demo campaigns: name, client code, days before SEED_DATE it started, ended (days) or None.
DEMO_CAMPAIGNS = [
    ("Autumn 2026 recovery", "NWB", 60, 5),
    ("Winter 2026 outreach", "ACME", 3, None),
]


#: Days of recent activity (calls and other contacts, posted payments) that come with the
#: demo definitions, ending on the day the demo is seeded.
RECENT_DAYS = 14


def seed_definitions(db: Database, today: dt.date | None = None) -> int:
    """Add the demo job definitions and campaigns (checked as an admin's save would be),
    and the recent activity their reports read (:func:`insert_recent_activity`), in one
    transaction.

    Parameters:
      today: the last day of the recent activity (default: today in the demo definitions'
        time zone, Europe/London).

    Returns:
      How many definitions were added.
    """
    from zoneinfo import ZoneInfo

    from jobs import clock
    from jobs.definitions import store
    from jobs.models import Campaign

    specs = demo_definitions()
    day = today or clock.now().astimezone(ZoneInfo("Europe/London")).date()
    with db.write() as session:
        for spec in specs:
            store.create(session, spec, actor_id=None)
        insert_recent_activity(session.connection(), day)
        codes = dict(session.execute(select(Client.code, Client.id)).all())
        for name, code, started, ended in DEMO_CAMPAIGNS:
            session.add(
                Campaign(
                    name=name,
                    client_id=codes.get(code),
                    started_at=SEED_TIME - dt.timedelta(days=started),
                    ended_at=SEED_TIME - dt.timedelta(days=ended) if ended is not None else None,
                )
            )
    return len(specs)


def insert_recent_activity(conn: Connection, today: dt.date) -> tuple[int, int]:
    """Contacts and posted payments on the :data:`RECENT_DAYS` days ending ``today``, so that
    the demo definitions' reports of "the business day", "the previous day" or "the last 7
    days" have rows on the day the demo is seeded. The rest of the demo data is dated from
    the fixed ``SEED_DATE``; these rows come only with the definitions
    (:func:`seed_definitions`) and are the same for the same accounts and ``today``.

    Each day about 1 account in 31 has a contact logged by Alice or Bob (6 in 10 a Call,
    then Email, SMS or Note; outcomes in turn), and about 1 in 53 accounts with a collector
    a posted payment credited to that collector. Set-based: two ``INSERT … SELECT`` a day.

    Returns:
      (interactions, payments) inserted.
    """
    from jobs.models import OUTCOMES, Interaction

    a = _table(Account).c
    kinds = case(
        (a.id % 10 < 6, literal("Call")),
        (a.id % 10 < 8, literal("Email")),
        (a.id % 10 == 8, literal("SMS")),
        else_=literal("Note"),
    )
    users = dict(conn.execute(select(_table(User).c.username, _table(User).c.id)).all())
    made = [0, 0]
    for back in range(RECENT_DAYS):
        day = today - dt.timedelta(days=back)
        at = dt.datetime.combine(day, dt.time(9), dt.UTC)
        k = (today - day).days
        outcome = case(
            *(((a.id // 31 + k) % len(OUTCOMES) == i, literal(o)) for i, o in enumerate(OUTCOMES))
        )
        contacts = select(
            a.id,
            kinds,
            outcome,
            literal("Demo activity"),
            literal(day),
            case((a.id % 2 == 0, users.get("alice")), else_=users.get("bob")),
            literal(at, UTCDateTime),
        ).where((a.id + 7 * k) % 31 == 0)
        made[0] += conn.execute(
            insert(_table(Interaction)).from_select(
                [
                    "account_id",
                    "type",
                    "outcome",
                    "note",
                    "interaction_date",
                    "created_by_id",
                    "created_at",
                ],
                contacts.order_by(a.id),
            )
        ).rowcount
        paid = select(
            a.id,
            func.round(case((a.current_balance > 400, a.current_balance / 20), else_=20), 2),
            literal(day),
            literal("posted"),
            a.collector_id,
            literal(at, UTCDateTime),
        ).where(a.collector_id.is_not(None), (a.id + 13 * k) % 53 == 0)
        made[1] += conn.execute(
            insert(_table(Payment)).from_select(
                ["account_id", "amount", "paid_on", "status", "collector_id", "created_at"],
                paid.order_by(a.id),
            )
        ).rowcount
    return made[0], made[1]
