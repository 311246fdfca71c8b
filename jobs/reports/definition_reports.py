"""The reports a job definition's report step writes: set-based SQL aggregates over a period.

Each report is one ``SELECT … GROUP BY`` over what Bulkdesk keeps; its rows are as many as
its groups (clients × types × outcomes, collectors, portfolios, jobs of the period), never
one per account. ``period`` is a closed range of days in the definition's time zone; a
``client_id`` limits every report to that client's accounts (scope *client*), None covers
them all (scope *call centre*). Money is in dollars with cents, counts are whole numbers.

Bulkdesk records no direction of a contact, so *inbound* is every contact logged on the
accounts, and *call* is the Call contacts alone.

**inbound** — contacts logged on accounts in the period (``interactions`` by its date),
one row per client, interaction type and outcome:
  ``client`` (client name), ``type`` (Call, Email, Letter, SMS, Note, Visit), ``outcome``,
  ``interactions`` (how many), ``accounts`` (distinct accounts they were logged on),
  ``by_people`` (logged by a person), ``by_jobs`` (logged by a bulk job, e.g. Add
  Interaction).

**call** — Call interactions in the period, one row per day, client and outcome:
  ``day`` (YYYY-MM-DD), ``client``, ``outcome``, ``calls``, ``accounts`` (distinct accounts
  called), ``share_pct`` (this outcome's percentage of the client's calls that day).

**campaign** — the bulk jobs submitted in the period (outbound work: emails, text messages,
interactions, status changes, assignments; not definition runs, not deleted jobs), one
row per job:
  ``job`` (number), ``submitted`` (UTC, ISO), ``action``, ``description``, ``owner``
  (username), ``status`` (Monitor label), ``items``, ``ok``, ``exceptions``,
  ``not_processed``. With a client, the four counts are of that client's accounts only
  (from the job's items), and jobs with none of them are left out.

**agent** — one row per collector (agent) with accounts or work in scope:
  ``collector`` (name), ``active`` (yes/no), ``accounts`` (assigned now), ``balance``
  (their accounts' current balance now), ``interactions`` (logged in the period on the
  accounts assigned to them now), ``calls`` (of those, Call), ``payments_posted`` and
  ``amount_posted`` (posted payments credited to them, paid in the period),
  ``payments_pending`` and ``amount_pending`` (pending ones due in the period).

**billing** — payments by client and portfolio, for what a client is invoiced on:
  ``client``, ``portfolio``, ``accounts`` (accounts in the portfolio now), ``balance``
  (their current balance now), ``payments_posted``, ``amount_posted`` (posted payments
  paid in the period), ``payments_pending``, ``amount_pending`` (pending, due in the
  period), ``paying_accounts`` (distinct accounts with a posted payment in the period).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Numeric,
    Select,
    and_,
    case,
    cast,
    func,
    select,
)

from jobs.models import (
    Account,
    Client,
    Collector,
    Interaction,
    ItemOutcome,
    Job,
    JobItem,
    Payment,
    Portfolio,
    User,
)
from jobs.status import JobStatus

#: Jobs that are not campaign work: a definition's own runs.
NOT_CAMPAIGNS = ("definition_run",)


@dataclass(frozen=True)
class Period:
    """Days ``first`` to ``last`` (both included) in time zone ``timezone``."""

    first: dt.date
    last: dt.date
    timezone: str = "UTC"

    def utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """The period as UTC instants ``[start, end)``: midnight to midnight, local time."""
        zone = ZoneInfo(self.timezone)
        start = dt.datetime.combine(self.first, dt.time(), zone)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def text(self) -> str:
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} to {self.last.isoformat()}"


@dataclass(frozen=True)
class Table:
    """A report's heading and rows (values ready for CSV)."""

    columns: list[str]
    rows: list[list[Any]]


def _scoped(where: list[ColumnElement[bool]], client_id: int | None) -> list[ColumnElement[bool]]:
    return [*where, Account.client_id == client_id] if client_id is not None else where


def _sum_if(condition: ColumnElement[bool], value: Any = 1) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def inbound(conn: Connection, period: Period, client_id: int | None) -> Table:
    i = Interaction
    query = (
        select(
            Client.name,
            i.type,
            i.outcome,
            func.count(),
            func.count(func.distinct(i.account_id)),
            _sum_if(i.job_id.is_(None)),
            _sum_if(i.job_id.is_not(None)),
        )
        .join(Account, Account.id == i.account_id)
        .join(Client, Client.id == Account.client_id)
        .where(*_scoped([i.interaction_date.between(period.first, period.last)], client_id))
        .group_by(Client.name, i.type, i.outcome)
        .order_by(Client.name, i.type, func.count().desc(), i.outcome)
    )
    columns = ["client", "type", "outcome", "interactions", "accounts", "by_people", "by_jobs"]
    return Table(columns, _rows(conn, query))


def call(conn: Connection, period: Period, client_id: int | None) -> Table:
    i = Interaction
    calls = func.count()
    per_client_day = func.sum(calls).over(partition_by=(i.interaction_date, Client.name))
    share = func.round(cast(calls * 100.0, Numeric(12, 4)) / per_client_day, 2)
    query = (
        select(
            i.interaction_date,
            Client.name,
            i.outcome,
            calls,
            func.count(func.distinct(i.account_id)),
            share,
        )
        .join(Account, Account.id == i.account_id)
        .join(Client, Client.id == Account.client_id)
        .where(
            *_scoped(
                [i.interaction_date.between(period.first, period.last), i.type == "Call"],
                client_id,
            )
        )
        .group_by(i.interaction_date, Client.name, i.outcome)
        .order_by(i.interaction_date, Client.name, calls.desc(), i.outcome)
    )
    columns = ["day", "client", "outcome", "calls", "accounts", "share_pct"]
    return Table(columns, _rows(conn, query))


def campaign(conn: Connection, period: Period, client_id: int | None) -> Table:
    start, end = period.utc_bounds()
    in_period = and_(
        Job.submitted_at >= start,
        Job.submitted_at < end,
        Job.deleted_at.is_(None),
        Job.action.not_in(NOT_CAMPAIGNS),
    )
    head = [Job.id, Job.submitted_at, Job.action, Job.description, User.username, Job.status]
    if client_id is None:
        query = (
            select(*head, Job.total, Job.ok, Job.exceptions, Job.not_processed)
            .join(User, User.id == Job.owner_id)
            .where(in_period)
            .order_by(Job.submitted_at, Job.id)
        )
    else:
        o = JobItem.outcome
        query = (
            select(
                *head,
                func.count(),
                _sum_if(o == ItemOutcome.OK),
                _sum_if(o == ItemOutcome.EXCEPTION),
                _sum_if(o == ItemOutcome.NOT_PROCESSED),
            )
            .select_from(Job)
            .join(User, User.id == Job.owner_id)
            .join(JobItem, JobItem.job_id == Job.id)
            .join(Account, Account.id == JobItem.account_id)
            .where(in_period, Account.client_id == client_id)
            .group_by(*head)
            .order_by(Job.submitted_at, Job.id)
        )
    from jobs.actions import ACTIONS

    rows = []
    for row in conn.execute(query):
        job, submitted, action, description, owner, status, *counts = row
        known = ACTIONS.get(action)
        rows.append(
            [
                job,
                submitted.astimezone(dt.UTC).isoformat(timespec="seconds"),
                known.label if known else action,
                description,
                owner,
                JobStatus(status).label,
                *(int(c) for c in counts),
            ]
        )
    columns = [
        "job",
        "submitted",
        "action",
        "description",
        "owner",
        "status",
        "items",
        "ok",
        "exceptions",
        "not_processed",
    ]
    return Table(columns, rows)


def agent(conn: Connection, period: Period, client_id: int | None) -> Table:
    scope = [Account.client_id == client_id] if client_id is not None else []
    accounts = (
        select(
            Account.collector_id.label("collector_id"),
            func.count().label("accounts"),
            func.coalesce(func.sum(Account.current_balance), 0).label("balance"),
        )
        .where(Account.collector_id.is_not(None), *scope)
        .group_by(Account.collector_id)
        .subquery()
    )
    i = Interaction
    work = (
        select(
            Account.collector_id.label("collector_id"),
            func.count().label("interactions"),
            _sum_if(i.type == "Call").label("calls"),
        )
        .join(Account, Account.id == i.account_id)
        .where(
            Account.collector_id.is_not(None),
            i.interaction_date.between(period.first, period.last),
            *scope,
        )
        .group_by(Account.collector_id)
        .subquery()
    )
    paid = _payments(period, scope, Payment.collector_id.label("collector_id")).subquery()
    c = Collector
    has_something = (
        (accounts.c.accounts.is_not(None))
        | (work.c.interactions.is_not(None))
        | (paid.c.payments_posted > 0)
        | (paid.c.payments_pending > 0)
    )
    if client_id is None:
        has_something = has_something | c.active
    query = (
        select(
            c.name,
            case((c.active, "yes"), else_="no"),
            func.coalesce(accounts.c.accounts, 0),
            func.coalesce(accounts.c.balance, 0),
            func.coalesce(work.c.interactions, 0),
            func.coalesce(work.c.calls, 0),
            func.coalesce(paid.c.payments_posted, 0),
            func.coalesce(paid.c.amount_posted, 0),
            func.coalesce(paid.c.payments_pending, 0),
            func.coalesce(paid.c.amount_pending, 0),
        )
        .outerjoin(accounts, accounts.c.collector_id == c.id)
        .outerjoin(work, work.c.collector_id == c.id)
        .outerjoin(paid, paid.c.collector_id == c.id)
        .where(has_something)
        .order_by(c.name)
    )
    columns = [
        "collector",
        "active",
        "accounts",
        "balance",
        "interactions",
        "calls",
        "payments_posted",
        "amount_posted",
        "payments_pending",
        "amount_pending",
    ]
    return Table(columns, _rows(conn, query))


def billing(conn: Connection, period: Period, client_id: int | None) -> Table:
    scope = [Account.client_id == client_id] if client_id is not None else []
    held = (
        select(
            Account.portfolio_id.label("portfolio_id"),
            func.count().label("accounts"),
            func.coalesce(func.sum(Account.current_balance), 0).label("balance"),
        )
        .where(*scope)
        .group_by(Account.portfolio_id)
        .subquery()
    )
    paid = _payments(
        period,
        scope,
        Account.portfolio_id.label("portfolio_id"),
        func.count(func.distinct(case((Payment.status == "posted", Payment.account_id)))).label(
            "paying_accounts"
        ),
    ).subquery()
    p = Portfolio
    query = (
        select(
            Client.name,
            p.name,
            func.coalesce(held.c.accounts, 0),
            func.coalesce(held.c.balance, 0),
            func.coalesce(paid.c.payments_posted, 0),
            func.coalesce(paid.c.amount_posted, 0),
            func.coalesce(paid.c.payments_pending, 0),
            func.coalesce(paid.c.amount_pending, 0),
            func.coalesce(paid.c.paying_accounts, 0),
        )
        .join(Client, Client.id == p.client_id)
        .outerjoin(held, held.c.portfolio_id == p.id)
        .outerjoin(paid, paid.c.portfolio_id == p.id)
        .where(*([p.client_id == client_id] if client_id is not None else []))
        .order_by(Client.name, p.name)
    )
    columns = [
        "client",
        "portfolio",
        "accounts",
        "balance",
        "payments_posted",
        "amount_posted",
        "payments_pending",
        "amount_pending",
        "paying_accounts",
    ]
    return Table(columns, _rows(conn, query))


def _payments(
    period: Period, scope: list[ColumnElement[bool]], key: Any, *extra: Any
) -> Select[Any]:
    """Posted and pending payments of the period (by ``paid_on``), grouped by ``key``."""
    posted = Payment.status == "posted"
    pending = Payment.status == "pending"
    return (
        select(
            key,
            _sum_if(posted).label("payments_posted"),
            _sum_if(posted, Payment.amount).label("amount_posted"),
            _sum_if(pending).label("payments_pending"),
            _sum_if(pending, Payment.amount).label("amount_pending"),
            *extra,
        )
        .join(Account, Account.id == Payment.account_id)
        .where(Payment.paid_on.between(period.first, period.last), *scope)
        .group_by(key)
    )


def _rows(conn: Connection, query: Select[Any]) -> list[list[Any]]:
    return [[_cell(v) for v in row] for row in conn.execute(query)]


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal | float):
        return f"{Decimal(str(value)).quantize(Decimal('0.01'))}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


REPORTS: dict[str, Callable[[Connection, Period, int | None], Table]] = {
    "inbound": inbound,
    "call": call,
    "campaign": campaign,
    "agent": agent,
    "billing": billing,
}
#: What people call each report.
LABELS: dict[str, str] = {
    "inbound": "Inbound report",
    "call": "Call report",
    "campaign": "Campaign report",
    "agent": "Agent report",
    "billing": "Billing report",
}


def build(conn: Connection, report: str, period: Period, client_id: int | None) -> Table:
    """The rows of ``report`` (a key of :data:`REPORTS`) for ``period`` and the client."""
    return REPORTS[report](conn, period, client_id)


def names() -> Sequence[str]:
    return list(REPORTS)
