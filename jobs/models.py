"""SQLAlchemy models: the records bulk actions act on, and the jobs that act on them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware timestamp that comes back in UTC on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; Bulkdesk stores timezone-aware times")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(dt.UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class User(Base):
    """A person who logs in; ``role`` is ``admin`` or ``user``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="user")
    permissions: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str | None] = mapped_column(String(254))
    #: Job-completion email: ``all``, ``failures`` (failures and exceptions only) or ``none``.
    notify: Mapped[str] = mapped_column(String(16), default="all")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: argon2id hash (``jobs.people.passwords``); empty: this user cannot log in yet.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: Wrong passwords in a row since the last good login or lock (``jobs.people.logins``).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: No login attempt is looked at before this time: a short pause, or a lock.
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class LoginSession(Base):
    """A logged-in browser: the dashboard's session cookie holds a token whose hash is here.

    Logging out, a password change or disabling the user sets ``revoked_at``; a revoked,
    expired or unknown token is refused.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the cookie's token (hex): the table alone gives nobody a working cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Client(Base):
    """An owning organisation of accounts."""

    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(128))


class Portfolio(Base):
    __tablename__ = "portfolios"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))


class Collector(Base):
    """A person accounts are assigned to for collection work."""

    __tablename__ = "collectors"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


#: The account grid's searched text on PostgreSQL: debtor name, account and file number.
_SEARCH = (
    "((((debtor_name::text || ' '::text) || account_number::text) || ' '::text) "
    "|| file_number::text)"
)


class Account(Base):
    """A debt account in the collections back office: what bulk actions act on."""

    __tablename__ = "accounts"
    __table_args__ = (
        # The account grid (jobs.grid): sorting by balance or Last Worked walks one index,
        # the id breaking ties. Few on purpose: every index costs each account UPDATE
        # (Change Status, Assign) on PostgreSQL, so other sorts walk their groups instead.
        Index("ix_accounts_balance_id", "current_balance", "id"),
        Index("ix_accounts_last_worked_id", "last_worked", "id"),
        # State, then status: the grid's state + status filter counts from the index alone
        # on PostgreSQL (migration 0020; it replaced the state index, so account UPDATEs
        # keep as many indexes). SQLite keeps the state index, which its state sort walks.
        Index("ix_accounts_state", "state").ddl_if(dialect="sqlite"),
        Index("ix_accounts_state_status", "state", "status").ddl_if(dialect="postgresql"),
        # The grid's free text on PostgreSQL: one pg_trgm GIN index over the three searched
        # columns, which ILIKE '%…%' on the same expression uses (migration 0008).
        # (Written as PostgreSQL shows it, so that comparing the models with the database
        # finds it equal.)
        Index(
            "ix_accounts_search_trgm",
            literal_column(_SEARCH),
            postgresql_using="gin",
            postgresql_ops={_SEARCH: "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_number: Mapped[str] = mapped_column(String(20), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("portfolios.id"), index=True)
    account_number: Mapped[str] = mapped_column(String(32), index=True)
    debtor_name: Mapped[str] = mapped_column(String(128), index=True)
    ssn: Mapped[str | None] = mapped_column(String(11), index=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24), index=True)
    #: A locked account (legal hold, dispute) must not be touched by bulk actions.
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    current_balance: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    creditor: Mapped[str | None] = mapped_column(String(128))
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("collectors.id"), index=True)
    last_worked: Mapped[dt.date | None] = mapped_column(Date)
    last_payment_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    last_payment_date: Mapped[dt.date | None] = mapped_column(Date)
    declined_transactions: Mapped[int] = mapped_column(Integer, default=0)


class AccountStatus(Base):
    """An account status people can set (Change Status) and filter on; configured in a table.

    An inactive status stays on the accounts that have it but cannot be chosen any more; a
    ``closed`` status marks accounts that bulk actions leave alone.
    """

    __tablename__ = "account_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(24), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)


class Group(Base):
    """A named set of accounts: a static list (members) or a saved filter."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    #: ``static`` (rows in group_members) or ``filter`` (an AccountFilter in ``filter``).
    kind: Mapped[str] = mapped_column(String(16), default="static")
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    __tablename__ = "group_members"
    __table_args__ = {"sqlite_with_rowid": False}

    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)


#: The kinds of interaction and their outcomes a person (or an import) may record.
INTERACTION_TYPES = ("Call", "Email", "Letter", "SMS", "Note", "Visit")
OUTCOMES = (
    "Contacted",
    "Left message",
    "No answer",
    "Promise to pay",
    "Refused to pay",
    "Wrong number",
    "Dispute raised",
    "Information only",
)


class Interaction(Base):
    """A note or contact logged on an account, by a person or by a bulk job."""

    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id"), index=True)
    type: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    interaction_date: Mapped[dt.date] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    """One bulk action over a snapshot of target records."""

    __tablename__ = "jobs"
    __table_args__ = (
        # The job list's pages in each sort order (jobs.reports.queries), for admins and for
        # one owner: role scoping (owner_id, deleted_at) leads so that a page is a walk of one
        # index whatever the planner's statistics say, and the job id ends each as the
        # tie-breaker. Sorting by owner walks the owner indexes by id, one owner at a time.
        Index("ix_jobs_live_id", "deleted_at", "id"),
        Index("ix_jobs_live_submitted", "deleted_at", "submitted_at", "id"),
        Index("ix_jobs_live_started", "deleted_at", "started_at", "id"),
        Index("ix_jobs_live_ended", "deleted_at", "ended_at", "id"),
        Index("ix_jobs_live_description", "deleted_at", "description", "id"),
        Index("ix_jobs_live_status", "deleted_at", "status", "id"),
        Index("ix_jobs_live_action", "deleted_at", "action", "id"),
        Index("ix_jobs_owner_live_id", "owner_id", "deleted_at", "id"),
        Index("ix_jobs_owner_live_submitted", "owner_id", "deleted_at", "submitted_at", "id"),
        Index("ix_jobs_owner_live_started", "owner_id", "deleted_at", "started_at", "id"),
        Index("ix_jobs_owner_live_ended", "owner_id", "deleted_at", "ended_at", "id"),
        Index("ix_jobs_owner_live_description", "owner_id", "deleted_at", "description", "id"),
        Index("ix_jobs_owner_live_status", "owner_id", "deleted_at", "status", "id"),
        Index("ix_jobs_owner_live_action", "owner_id", "deleted_at", "action", "id"),
        # The text filter (description substrings) on PostgreSQL: a pg_trgm GIN index, which
        # ILIKE '%…%' uses. Not on SQLite (an FTS5 table would add tables outside these
        # models); there the filter reads ix_jobs_live_description, see jobs.reports.queries.
        Index(
            "ix_jobs_description_trgm",
            literal_column("description"),
            postgresql_using="gin",
            postgresql_ops={"description": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # Status first: the reaper looks for In progress jobs, and for Stopped or Failed ones
        # whose items are not closed yet, without reading every job ever run.
        Index("ix_jobs_status", "status", "chunks_left"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(48))
    description: Mapped[str] = mapped_column(String(500))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The job's source (``jobs.sources``): its ``kind`` and what the person chose, with
    #: ``text`` (for display) and ``count_at_submit``.
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What the action decided once for the whole job after the snapshot (``plan``), kept so
    #: that the job can be reproduced (a random seed, a distribution).
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    total: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[int] = mapped_column(Integer, default=0)
    exceptions: Mapped[int] = mapped_column(Integer, default=0)
    not_processed: Mapped[int] = mapped_column(Integer, default=0)
    chunks_left: Mapped[int] = mapped_column(Integer, default=0)
    #: In progress: when a chunk last finished. Queued: when a start message was last sent
    #: to a broker with workers (empty: none was, so a worker's reaper sends one).
    last_progress_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: A scheduled job (a communication's send date) is not started before this time.
    not_before: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The job this one was made from ("Retry exceptions", "Undo"), and how (``link``).
    parent_job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: ``retry`` or ``undo`` when there is a parent.
    link: Mapped[str | None] = mapped_column(String(16))


class ItemOutcome:
    """Outcome codes of a job item."""

    PENDING = 0
    OK = 1
    EXCEPTION = 2
    NOT_PROCESSED = 3

    LABELS = {PENDING: "Pending", OK: "Ok", EXCEPTION: "Exception", NOT_PROCESSED: "Not processed"}


class JobItem(Base):
    """One target of a job, numbered 1..total in the snapshot, and its outcome.

    An item is an account (``account_id``) or something else a source yields, such as a file
    row (no account until it is matched); ``payload`` holds what the action records per item
    (status before and after, a planned collector, a row number). ``job_id`` has no foreign
    key: the engine writes items in the job's own transaction, set-based, and PostgreSQL's
    row-by-row check of one cost 70% of a snapshot (migration 0024).
    """

    __tablename__ = "job_items"
    __table_args__ = {"sqlite_with_rowid": False}

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[int] = mapped_column(SmallInteger, default=ItemOutcome.PENDING)
    message: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ChunkState:
    """Where a chunk is: its message in the broker's queue, being worked, done, or waiting in
    the database for a place in its job's window (see ``Settings.chunks_in_flight``)."""

    QUEUED = 0
    RUNNING = 1
    DONE = 2
    PLANNED = 3


class JobChunk(Base):
    """A range of a job's items carried by one dramatiq message, and the lease on it."""

    __tablename__ = "job_chunks"
    __table_args__ = (
        Index("ix_job_chunks_state_lease", "state", "lease_until"),
        # A finished chunk admits its job's next planned one: a walk of this index, however
        # many chunks the job has.
        Index("ix_job_chunks_job_state", "job_id", "state", "seq_lo"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    seq_lo: Mapped[int] = mapped_column(Integer)
    seq_hi: Mapped[int] = mapped_column(Integer)
    state: Mapped[int] = mapped_column(SmallInteger, default=ChunkState.QUEUED)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class DeliveryState:
    """Where an outside effect is: waiting to be sent, being sent, sent, or given up."""

    PENDING = 0
    SENDING = 1
    SENT = 2
    FAILED = 3

    LABELS = {PENDING: "Pending", SENDING: "Sending", SENT: "Sent", FAILED: "Failed"}


class Delivery(Base):
    """The outbox: an outside effect (an email) written in the transaction that decided it,
    and delivered after commit by the ``deliver`` actor (``jobs.outbound.outbox``)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # The reaper looks for pending deliveries that are due, and sending ones whose
        # worker died: a walk of this index, however many were ever sent.
        Index("ix_deliveries_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    #: The job item it belongs to (an SMS to that account), or empty for a job-level one.
    item_seq: Mapped[int | None] = mapped_column(Integer)
    #: ``email`` (and later ``sms``, ``file``).
    kind: Mapped[str] = mapped_column(String(16))
    #: What to deliver, e.g. ``{"to": …, "subject": …, "body": …}``.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[int] = mapped_column(SmallInteger, default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Pending: when a worker should (re)send it; sending: when its attempt counts as lost.
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Where it went (``smtp://host:port`` or an ``.eml`` path) once sent.
    sent_to: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """Who did what to which job, and when; kept after the job is deleted."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Payment(Base):
    """A payment on an account, ``posted`` or ``pending``, credited to a collector."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[dt.date] = mapped_column(Date)
    #: ``posted`` or ``pending``.
    status: Mapped[str] = mapped_column(String(16))
    #: The collector the payment is credited to.
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("collectors.id"), index=True)
    #: The import (or other job) that created it; empty for payments entered otherwise. No
    #: foreign key: clearing jobs (a TRUNCATE … CASCADE) must not take payments with it.
    job_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class EmailTemplate(Base):
    """An email debtors are sent by Schedule Emails: subject and body with ``{placeholders}``
    from a fixed list (``jobs.comms.templates``); rendered as text, never run as code."""

    __tablename__ = "email_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SmsTemplate(Base):
    """A text message debtors are sent by Schedule Text Messages (``{placeholders}`` as for
    emails)."""

    __tablename__ = "sms_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountGridPreference(Base):
    """What one user's account grid shows: the optional columns they chose (jobs.grid)."""

    __tablename__ = "account_grid_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    #: Keys of the optional columns shown, in order (``jobs.grid.columns.OPTIONAL``).
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    page_size: Mapped[int] = mapped_column(Integer, default=25)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportTemplate(Base):
    """A saved choice of export columns and which sensitive ones are shown unmasked."""

    __tablename__ = "export_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    #: Keys of the exported columns, in file order (``jobs.grid.columns.EXPORTABLE``).
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Sensitive columns written in clear; every other sensitive column is masked.
    unmasked: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportTask(Base):
    """The figures of a CSV import job (issue 11): its file, what it found, what it did."""

    __tablename__ = "import_tasks"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    #: ``accounts``, ``interactions`` or ``payments`` (``jobs.imports.specs.IMPORT_TYPES``).
    import_type: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(255))
    file_size: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[str] = mapped_column(String(16))
    delimiter: Mapped[str] = mapped_column(String(16))
    #: The file's headings in order, each as ``[heading, field key]``.
    headings: Mapped[list[list[str]]] = mapped_column(JSON)
    match_by: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    invalid: Mapped[int] = mapped_column(Integer, default=0)
    no_match: Mapped[int] = mapped_column(Integer, default=0)
    ambiguous: Mapped[int] = mapped_column(Integer, default=0)


class ImportRow(Base):
    """One staged row of an import's file, typed; item ``seq`` of the import job.

    A value that is not valid is NULL here and kept as the file had it in ``raw``.
    """

    __tablename__ = "import_rows"
    __table_args__ = (
        Index("ix_import_rows_job_status", "job_id", "status", "seq"),
        {"sqlite_with_rowid": False},
    )

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: The row's number as a spreadsheet shows it (the headings are row 1).
    row_no: Mapped[int] = mapped_column(Integer)
    #: ``jobs.imports.statuses.RowStatus``.
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    problem: Mapped[str | None] = mapped_column(Text)
    #: The file's text of the values that were not valid, by heading.
    raw: Mapped[dict[str, str] | None] = mapped_column(JSON)
    match_count: Mapped[int | None] = mapped_column(Integer)
    matched_account_id: Mapped[int | None] = mapped_column(Integer)
    account_ref: Mapped[int | None] = mapped_column(Integer)
    file_number: Mapped[str | None] = mapped_column(String(20))
    ssn: Mapped[str | None] = mapped_column(String(11))
    first_name: Mapped[str | None] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    birth_date: Mapped[dt.date | None] = mapped_column(Date)
    client: Mapped[str | None] = mapped_column(String(16))
    portfolio: Mapped[str | None] = mapped_column(String(128))
    account_number: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(20))
    state: Mapped[str | None] = mapped_column(String(2))
    account_status: Mapped[str | None] = mapped_column(String(24))
    balance: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    creditor: Mapped[str | None] = mapped_column(String(128))
    collector: Mapped[str | None] = mapped_column(String(128))
    interaction_type: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    interaction_date: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    payment_status: Mapped[str | None] = mapped_column(String(16))


class ImportMatch(Base):
    """A record an import row matched when it matched several: one message row each."""

    __tablename__ = "import_matches"
    __table_args__ = {"sqlite_with_rowid": False}

    job_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class TaskView(Base):
    """A user's saved view of the All System Tasks grid: its name and extra columns."""

    __tablename__ = "task_views"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_task_views_user_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(64))
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountActivity(Base):
    """An account's newest interaction date, kept by the database (triggers of migration
    0008) so that Last Worked (the later of the account's own date and this one) filters
    and sorts without reading every interaction. A narrow table: moving it costs a bulk job
    far less than rewriting account rows."""

    __tablename__ = "account_activity"
    __table_args__ = (
        # Both cover account_worked, so the Last Worked range counts from indexes alone
        # (migration 0020); only interactions write this table, never account UPDATEs.
        Index("ix_account_activity_last_id", "last_interaction", "account_id", "account_worked"),
        Index("ix_account_activity_own", "account_worked", "last_interaction"),
    )

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    last_interaction: Mapped[dt.date] = mapped_column(Date)
    #: A copy of the account's own ``last_worked`` (kept by triggers, migration 0020): which
    #: of the two is Last Worked is then known from this row alone, so the grid's Last
    #: Worked range counts these rows without reading accounts.
    account_worked: Mapped[dt.date | None] = mapped_column(Date)


# -- Job definitions (issue 12): multi-step jobs with triggers, their runs and the scheduler --


class DefinitionTrigger:
    """What starts a definition's runs."""

    SCHEDULED = "scheduled"
    CAMPAIGN = "campaign"
    FILE_IN = "file_in"

    LABELS = {SCHEDULED: "Scheduled", CAMPAIGN: "Campaign", FILE_IN: "FTPin"}


class Definition(Base):
    """A multi-step job definition: ordered steps, a trigger, an owner (the runs act as them),
    notifications, dependencies, and whether it is enabled or suspended."""

    __tablename__ = "definitions"
    __table_args__ = (
        # At most one campaign and one file-in definition, even when two admins save at once.
        Index(
            "ix_definitions_single_trigger",
            "trigger",
            unique=True,
            sqlite_where=literal_column("trigger IN ('campaign', 'file_in')"),
            postgresql_where=literal_column("trigger IN ('campaign', 'file_in')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    #: ``DefinitionTrigger``: scheduled, campaign (end of campaign) or file_in.
    trigger: Mapped[str] = mapped_column(String(16))
    #: Scheduled only: ``hourly``, ``end_of_day``, ``weekly``, ``monthly`` or a cron
    #: expression (``jobs.scheduler``); the presets' times come from ``schedule_options``.
    schedule: Mapped[str | None] = mapped_column(String(120))
    #: Preset options, e.g. ``{"at": "18:00", "weekday": "mon", "day": 1, "minute": 0}``.
    schedule_options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The IANA time zone the schedule is read in (the business day too).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    #: File-in only: the folder watched for arriving files.
    inbox: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: When it was last enabled (a schedule counts from then).
    enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: Comma-separated addresses told when a run ends Ok / in Error (besides the owner's own
    #: completion-email preference).
    success_recipients: Mapped[str] = mapped_column(Text, default="")
    failure_recipients: Mapped[str] = mapped_column(Text, default="")
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    suspended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    suspended_reason: Mapped[str | None] = mapped_column(Text)
    #: Kept by the scheduler: the next due time it will fire, and the last one it fired.
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    last_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: Bumped by every change: an edit made from an older copy is refused.
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DefinitionStep(Base):
    """One step of a definition: what it does (``kind`` + ``settings``) and where the run
    goes next when it succeeds or fails (a step name, or empty for the end)."""

    __tablename__ = "definition_steps"
    __table_args__ = (UniqueConstraint("definition_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("definitions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(80))
    #: ``report``, ``bulk_action``, ``email`` or ``copy`` (``jobs.definitions.steps``).
    kind: Mapped[str] = mapped_column(String(24))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    next_success: Mapped[str | None] = mapped_column(String(80))
    next_failure: Mapped[str | None] = mapped_column(String(80))


class DefinitionDependency(Base):
    """A definition's run waits for its prerequisite's run of the same business day, and is
    Skipped (Warning) when that one ended in Error."""

    __tablename__ = "definition_dependencies"

    definition_id: Mapped[int] = mapped_column(
        ForeignKey("definitions.id", ondelete="CASCADE"), primary_key=True
    )
    prerequisite_id: Mapped[int] = mapped_column(
        ForeignKey("definitions.id", ondelete="CASCADE"), primary_key=True
    )


class DefinitionChange(Base):
    """A definition's history: who changed what, and when (created, edited, enabled,
    disabled, suspended, resumed, imported)."""

    __tablename__ = "definition_changes"
    __table_args__ = (Index("ix_definition_changes_definition_at", "definition_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    #: ``created``, ``edited``, ``enabled``, ``disabled``, ``suspended``, ``resumed``, …
    action: Mapped[str] = mapped_column(String(24))
    summary: Mapped[str] = mapped_column(Text, default="")
    #: What changed: ``{"field": [before, after], …}``.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Campaign(Base):
    """A campaign: ending one raises the end-of-campaign event that the campaign definition
    runs on."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


#: The action of a definition's run (a job like any other, ``jobs.actions.definition_run``).
RUN_ACTION = "definition_run"


class DefinitionRun(Base):
    """A definition's run: a job in the Monitor (same id) with what fired it. One run per
    definition and due time, whatever the number of schedulers (the unique key)."""

    __tablename__ = "definition_runs"
    __table_args__ = (
        UniqueConstraint("definition_id", "due_at"),
        # The batch audit log: runs by due time (a date range), then by definition.
        Index("ix_definition_runs_due", "due_at", "definition_id"),
        Index("ix_definition_runs_day", "definition_id", "business_day"),
        # Reapers look for runs to wake, and for runs whose worker's claim ran out
        # (jobs.scheduler.wakeups): walks of these indexes, however many runs there were.
        Index("ix_definition_runs_wake_at", "wake_at"),
        Index("ix_definition_runs_lease_until", "lease_until"),
    )

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"))
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The due time's date in the definition's time zone (dependencies are per business day).
    business_day: Mapped[dt.date] = mapped_column(Date)
    #: ``schedule``, ``campaign``, ``file`` or ``manual``.
    fired_by: Mapped[str] = mapped_column(String(16))
    #: Fired after its due time had passed while no scheduler was running (the missed-run
    #: policy: once, late, marked late).
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The arriving file, the campaign ended, the runs it stood for when late.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: When a worker should be sent this run (again): it waits for a prerequisite, a child
    #: job or deliveries, or its message may be lost. Empty while a worker holds it or once
    #: it ended (``jobs.scheduler.wakeups``).
    wake_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: The worker working the run now, and until when its claim lasts without a heartbeat.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RunStep(Base):
    """One step executed in a run: the run's step-by-step history."""

    __tablename__ = "run_steps"
    __table_args__ = (UniqueConstraint("job_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    step_name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(24))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    #: ``running``, ``waiting`` (for a bulk job or a delivery), ``ok`` or ``failed``.
    outcome: Mapped[str] = mapped_column(String(16), default="running")
    message: Mapped[str] = mapped_column(Text, default="")
    #: The file it produced or delivered (a path or an fsspec URL).
    output: Mapped[str | None] = mapped_column(Text)
    #: A bulk-action step's job; the outbox deliveries a delivery step waits for.
    child_job_id: Mapped[int | None] = mapped_column(Integer)
    deliveries: Mapped[list[int]] = mapped_column(JSON, default=list)


class SchedulerLease(Base):
    """The lease that makes one scheduler active among all worker processes: its holder
    renews it; another process takes it over once it has expired."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    acquired_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class JobDayCount(Base):
    """How many live (not deleted) jobs were submitted on a UTC day: by one owner, or by
    everyone (``owner_id`` 0). Kept by triggers on ``jobs`` (migration 0022); the job list
    finds a deep page from them (``jobs.reports.job_days``)."""

    __tablename__ = "job_day_counts"
    #: The counts in day order from the index alone (migration 0023).
    __table_args__ = (Index("ix_job_day_counts_live", "owner_id", "day", "live"),)

    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    live: Mapped[int] = mapped_column(Integer)
