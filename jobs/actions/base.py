"""What every bulk action provides: declared parameters, and hooks the engine calls.

The engine calls, for one job:

- ``plan`` once, after the snapshot, in the start's transaction: whole-job decisions (a
  random seed, a distribution), stored on the job so that the job can be reproduced;
- ``mark_exceptions`` then ``apply`` per chunk, set-based, in the chunk's transaction;
- ``finalize`` once, in the last chunk's transaction, before the job ends.

Outside effects (email, SMS, a file copied elsewhere) are never done in those transactions:
the hooks write them to the outbox (``jobs.outbound.outbox.add``) and they are delivered after
commit. ``dry_run`` answers what the action would do to a source, writing nothing.
"""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, Connection, Select, and_, func, literal, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from jobs.actions import params as declared
from jobs.models import Account, AccountStatus, ItemOutcome, JobItem
from jobs.people.permissions import BULK_UPDATE
from jobs.sources.base import Source

#: How many before → after examples a dry run shows.
SAMPLE_SIZE = 10


@dataclass(frozen=True)
class JobContext:
    """The job a hook works for: who submitted it, with which parameters and plan."""

    job_id: int
    owner_id: int
    params: Any
    plan: dict[str, Any]
    now: dt.datetime


@dataclass(frozen=True)
class ChunkContext(JobContext):
    """The chunk being worked: the job's items ``seq_lo..seq_hi``."""

    seq_lo: int = 0
    seq_hi: int = 0

    def in_chunk(self) -> ColumnElement[bool]:
        return (JobItem.job_id == self.job_id) & JobItem.seq.between(self.seq_lo, self.seq_hi)

    def pending(self) -> ColumnElement[bool]:
        """Items of this chunk with no outcome yet: what the action is to act on."""
        return self.in_chunk() & (JobItem.outcome == ItemOutcome.PENDING)

    def pending_account_ids(self) -> Select[tuple[int]]:
        return select(JobItem.account_id).where(self.pending())


@dataclass(frozen=True)
class DryRun:
    """What an action would do to a source now, without writing anything."""

    #: Items the source yields.
    total: int
    #: Items it would change.
    touch: int
    #: Items that would be exceptions, by reason (most frequent first).
    exceptions: dict[str, int] = field(default_factory=dict)
    #: Examples: ``{"file_number", "debtor", "before", "after"}``.
    sample: list[dict[str, Any]] = field(default_factory=list)
    #: What an item is, in words.
    noun: str = "item"

    @property
    def exception_count(self) -> int:
        return sum(self.exceptions.values())

    def lines(self) -> list[str]:
        """The dry run in words (the CLI prints these; the dashboard shows the same)."""
        out = [
            f"Would change {self.touch:,} of {self.total:,} "
            f"{self.noun}{'s' if self.total != 1 else ''}"
        ]
        if self.exceptions:
            out.append(f"{self.exception_count:,} would be exceptions:")
            out += [f"  {n:,} × {reason}" for reason, n in self.exceptions.items()]
        if self.sample:
            out.append("For example:")
            out += [
                f"  {s['file_number']}  {s['debtor']}: {s['before']} → {s['after']}"
                for s in self.sample
            ]
        return out


class BulkAction(abc.ABC):
    """One kind of bulk job. Subclasses are stateless; one instance serves every job."""

    #: Stored on the job; the key of ``jobs.actions.ACTIONS``.
    name: ClassVar[str]
    #: What people call it ("Add Interaction"), shown in the Action column.
    label: ClassVar[str]
    #: The CLI's word for it: ``bulkdesk submit add-interaction``.
    cli_name: ClassVar[str]
    #: One sentence for the launch page.
    summary: ClassVar[str] = ""
    #: What the acting user needs to submit it.
    permission: ClassVar[str] = BULK_UPDATE
    #: The parameters dataclass, each field declared with ``jobs.actions.params.param``.
    Params: ClassVar[type]
    #: It changes the accounts themselves (status, collector): two such jobs may not work on
    #: the same accounts at once (``jobs.engine.overlap``).
    changes_accounts: ClassVar[bool] = False

    # -- parameters ---------------------------------------------------------------------

    def fields(self) -> list[declared.Field]:
        return declared.fields_of(self.Params)

    def validate(self, raw: dict[str, Any], session: Session) -> Any:
        """Check and normalise submitted parameters against the declaration, then
        :meth:`check`; return the typed parameters.

        Raises:
          InvalidInput: naming the field and what is wrong with it.
        """
        params = declared.parse(self.Params, raw, session)
        self.check(params, session)
        return params

    def check(self, params: Any, session: Session) -> None:
        """Rules beyond what the declaration says (a date not in the future)."""
        return None

    def check_targets(self, params: Any, session: Session, source: Source, count: int) -> None:
        """Rules that need the number of targets (more accounts to assign than selected).

        Raises:
          InvalidInput: naming the field and what is wrong with it.
        """
        return None

    def load(self, stored: dict[str, Any]) -> Any:
        return declared.load(self.Params, stored)

    def describe(self, params: Any) -> str:
        """A one-line summary of the parameters, for lists and the audit trail."""
        return ", ".join(f"{f.label}: {getattr(params, f.name)}" for f in self.fields())

    # -- the engine's hooks -----------------------------------------------------------

    def plan(self, conn: Connection, job: JobContext) -> dict[str, Any] | None:
        """Decide once for the whole job, after the snapshot; the result is stored on the
        job and given to every chunk as ``chunk.plan``."""
        return None

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        """Give pending items that cannot be processed an exception outcome and message.

        Returns:
          How many items got an exception.
        """
        return 0

    @abc.abstractmethod
    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        """Apply the action's effects to every pending item of the chunk, set-based."""

    def ok_values(self, chunk: ChunkContext) -> dict[str, Any]:
        """Columns of ``job_items`` to set on the items that succeeded, in the engine's own
        ``UPDATE`` that marks them ok after :meth:`apply` (e.g. their ``payload``): one pass
        over the chunk's items instead of two."""
        return {}

    def finalize(self, conn: Connection, job: JobContext) -> None:
        """After the last chunk, before the job ends (an export assembles its file here)."""
        return None

    @abc.abstractmethod
    def dry_run(self, session: Session, source: Source, params: Any) -> DryRun:
        """What the action would do to ``source`` now, writing nothing."""


class AccountAction(BulkAction):
    """A bulk action on accounts whose exception rules are one SQL expression.

    :meth:`exception_reason` is the single statement of which accounts are exceptions and
    why; it serves both the chunk's ``mark_exceptions`` and the dry run.
    """

    @abc.abstractmethod
    def exception_reason(
        self, account: FromClause, params: Any, closed: list[str]
    ) -> ColumnElement[str]:
        """Why an account (a row of ``account``) cannot be processed, or ``''`` when it can.

        ``closed``: the configured closed statuses.
        """

    @abc.abstractmethod
    def before_after(
        self, account: FromClause, params: Any
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        """What a person would look at on an account before and after, for the dry run."""

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        # One primary-key lookup per pending item, as a correlated scalar subquery:
        # PostgreSQL runs it as per-row index lookups whatever its statistics say (a NOT
        # EXISTS form was planned as a hash anti join over every account when statistics
        # were stale: ~0.9 s per 10,000-item chunk at 1,000,000 accounts instead of ~25 ms),
        # and SQLite runs it as rowid lookups.
        account = Account.__table__.alias("a")
        rule = self.exception_reason(account, chunk.params, closed_statuses(conn))
        reason = func.coalesce(
            select(rule).where(account.c.id == JobItem.account_id).scalar_subquery(),
            literal("Account no longer exists"),
        )
        result = conn.execute(
            update(JobItem)
            .where(chunk.pending(), reason != "")
            .values(outcome=ItemOutcome.EXCEPTION, message=reason)
        )
        return result.rowcount

    def dry_run(self, session: Session, source: Source, params: Any) -> DryRun:
        account = Account.__table__.alias("a")
        items = source.items(session).subquery()
        reason = self.exception_reason(account, params, closed_statuses(session.connection()))
        targets = (
            select(account.c.id, reason.label("reason"))
            .join(items, items.c.account_id == account.c.id)
            .subquery()
        )
        counts = dict(
            session.execute(
                select(targets.c.reason, func.count())
                .group_by(targets.c.reason)
                .order_by(func.count().desc())
            ).all()
        )
        touch = counts.pop("", 0)
        before, after = self.before_after(account, params)
        sample = session.execute(
            select(account.c.file_number, account.c.debtor_name, before, after)
            .join(items, items.c.account_id == account.c.id)
            .where(and_(reason == ""))
            .order_by(account.c.id)
            .limit(SAMPLE_SIZE)
        ).all()
        return DryRun(
            noun="account",
            total=touch + sum(counts.values()),
            touch=touch,
            exceptions=counts,
            sample=[
                {"file_number": f, "debtor": d, "before": _text(b), "after": _text(a)}
                for f, d, b, a in sample
            ],
        )


LOCKED = "Account is locked; bulk updates are not allowed"
CLOSED = "Account is closed"


def unworkable(account: FromClause, closed: list[str]) -> list[tuple[Any, Any]]:
    """The rule every account action starts with, as ``case`` whens: a locked account, then
    one in a closed status, is an exception with these words."""
    return [
        (account.c.locked, literal(LOCKED)),
        (account.c.status.in_(closed), literal(CLOSED)),
    ]


def closed_statuses(conn: Connection) -> list[str]:
    """The configured statuses of closed accounts, which bulk actions leave alone."""
    return list(conn.scalars(select(AccountStatus.name).where(AccountStatus.closed)))


def active_statuses(session: Session) -> list[str]:
    """The statuses a person may set, in their configured order."""
    return list(
        session.scalars(
            select(AccountStatus.name)
            .where(AccountStatus.active)
            .order_by(AccountStatus.position, AccountStatus.name)
        )
    )


def _text(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return value.isoformat() if isinstance(value, dt.date) else str(value)
