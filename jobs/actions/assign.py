"""Assign To Collector: distribute the selected accounts among collectors, or unassign them.

The parameter ``assign_to`` lists collectors with how many accounts each gets
(``"Ann Lee = 300; Bob Stone = 112"``); a collector without a number shares what is left
evenly, and ``Unassign`` removes the collector. When the numbers add up to fewer accounts
than selected, the accounts are chosen at random; the random seed is recorded on the job
(``plan``), so the same seed over the same items gives the same distribution.

The distribution is decided once, set-based, when the job starts (:meth:`Assign.plan`): each
item's planned collector goes into its payload; items left out are "not processed" with a
message. Each chunk then records ``before`` / ``after`` on its items (names, and the ids an
undo restores), moves the accounts, and with Credit Payments moves the credit of their
payments (all, or pending only) to the new collector.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    case,
    cast,
    func,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from jobs.actions.base import AccountAction, ChunkContext, DryRun, JobContext, unworkable
from jobs.actions.params import param
from jobs.db import json_object
from jobs.errors import InvalidInput
from jobs.models import Account, Collector, ItemOutcome, Job, JobItem, Payment
from jobs.sources.base import Source

UNASSIGN = "Unassign"
CREDIT_CHOICES = ("No", "All", "Pending only")
#: A bijection of 1..2**32 (an odd multiplier, modulo a power of two): ordering the items by
#: ``(seq * MULTIPLIER + seed) % MODULUS`` shuffles them reproducibly from the seed.
MULTIPLIER = 2654435761
MODULUS = 4294967296


def active_collectors(session: Session) -> list[str]:
    """The names of the collectors accounts can be assigned to, by name."""
    return list(
        session.scalars(select(Collector.name).where(Collector.active).order_by(Collector.name))
    )


@dataclass(frozen=True)
class AssignParams:
    assign_to: str = param(
        label="Assign to",
        help=(
            "Collectors and how many accounts each gets, e.g. 'Ann Lee = 300; Bob Stone'. "
            "A collector without a number shares the rest evenly; 'Unassign' removes the "
            "collector."
        ),
        max_length=2000,
        cli="to",
        suggestions=lambda session: [UNASSIGN, *active_collectors(session)],
        widget="allocation",
    )
    credit_payments: str = param(
        label="Credit payments",
        help="Move the credit of the accounts' payments to the new collector",
        choices=CREDIT_CHOICES,
        default="No",
        cli="credit-payments",
    )
    seed: str = param(
        label="Random seed",
        help="Empty: a new one; the seed of an earlier job repeats its distribution",
        required=False,
        default="",
    )


@dataclass(frozen=True)
class Share:
    """One line of the allocation: a collector (None: unassign) and how many accounts."""

    name: str
    collector_id: int | None
    count: int | None


def parse_allocation(text: str, session: Session | Connection) -> list[Share]:
    """The allocation in ``text``, checked against the active collectors.

    Raises:
      InvalidInput: naming the part that is wrong.
    """
    parts = [p.strip() for p in re.split(r"[;\n]", text or "") if p.strip()]
    if not parts:
        raise InvalidInput("Name at least one collector, or Unassign", field="assign_to")
    collectors = {
        name.casefold(): (name, cid)
        for cid, name in session.execute(
            select(Collector.id, Collector.name).where(Collector.active)
        ).all()
    }
    shares: list[Share] = []
    for part in parts:
        name, _, number = part.partition("=")
        name, number = name.strip(), number.strip()
        count: int | None = None
        if number:
            if not number.replace(",", "").isdigit() or int(number.replace(",", "")) < 1:
                raise InvalidInput(
                    f"Assign to: {number!r} for {name} is not a number of accounts (1 or more)",
                    field="assign_to",
                )
            count = int(number.replace(",", ""))
        if name.casefold() == UNASSIGN.casefold():
            share = Share(UNASSIGN, None, count)
        elif name.casefold() in collectors:
            real, cid = collectors[name.casefold()]
            share = Share(real, cid, count)
        else:
            raise InvalidInput(
                f"Assign to: there is no active collector called {name!r}", field="assign_to"
            )
        if any(s.collector_id == share.collector_id for s in shares):
            raise InvalidInput(f"Assign to: {share.name} is named twice", field="assign_to")
        shares.append(share)
    return shares


def counts_for(shares: list[Share], total: int) -> list[int]:
    """How many of ``total`` items each share gets: its number, or an even part of the rest.

    Raises:
      InvalidInput: when the numbers add up to more than ``total``.
    """
    fixed = sum(s.count or 0 for s in shares)
    if fixed > total:
        raise InvalidInput(
            f"Assign to: the numbers add up to {fixed:,} accounts, but only {total:,} are selected",
            field="assign_to",
        )
    open_shares = [i for i, s in enumerate(shares) if s.count is None]
    rest = total - fixed
    out = [s.count or 0 for s in shares]
    for n, i in enumerate(open_shares):
        out[i] = rest // len(open_shares) + (1 if n < rest % len(open_shares) else 0)
    return out


class Assign(AccountAction):
    name = "assign"
    label = "Assign To Collector"
    cli_name = "assign"
    summary = (
        "The selected accounts go to one or more collectors (or are unassigned), at random "
        "when fewer are to be assigned than selected; locked and closed accounts become "
        "exceptions. Each item keeps the collector before, so the job can be undone."
    )
    Params = AssignParams
    changes_accounts = True

    def check(self, params: AssignParams, session: Session) -> None:
        parse_allocation(params.assign_to, session)
        if params.seed and not params.seed.isdigit():
            raise InvalidInput("Random seed: a whole number, or empty", field="seed")

    def check_targets(
        self, params: AssignParams, session: Session, source: Source, count: int
    ) -> None:
        if source.kind == "job_items":  # a retry: each item keeps the collector planned for it
            return
        counts_for(parse_allocation(params.assign_to, session), count)

    def dry_run(self, session: Session, source: Source, params: AssignParams) -> DryRun:
        found = super().dry_run(session, source, params)
        if source.kind == "job_items":
            return found
        assigned = sum(counts_for(parse_allocation(params.assign_to, session), found.total))
        return dataclasses.replace(found, touch=min(found.touch, assigned))

    def describe(self, params: AssignParams) -> str:
        credit = "" if params.credit_payments == "No" else f"; credit {params.credit_payments}"
        return f"Assign to {params.assign_to}{credit}"

    # -- the whole job's decision -------------------------------------------------------

    def plan(self, conn: Connection, job: JobContext) -> dict[str, Any]:
        params: AssignParams = job.params
        seed = int(params.seed) if params.seed else secrets.randbelow(2**31)
        shares = parse_allocation(params.assign_to, conn)
        items = JobItem.job_id == job.job_id
        # Items that already carry a planned collector (a retry of an assignment) keep it.
        unplanned = items & JobItem.payload.is_(None)
        total = conn.scalar(select(func.count()).where(unplanned)) or 0
        if total == 0:  # every item came planned (a retry): nothing to distribute
            return {"seed": seed, "shares": [], "left_out": 0, "retry": True}
        counts = counts_for(shares, total)
        if len(shares) == 1 and counts[0] == total:
            # Everything to one collector (or Unassign): nothing to distribute or write now.
            only = shares[0]
            return {
                "seed": seed,
                "shares": [
                    {"collector": only.name, "collector_id": only.collector_id, "accounts": total}
                ],
                "left_out": 0,
                "all_to": only.collector_id or 0,
                "all_to_name": only.name if only.collector_id else "Unassigned",
            }
        big = BigInteger()
        order = (cast(JobItem.seq, big) * literal(MULTIPLIER, big) + literal(seed, big)) % literal(
            MODULUS, big
        )
        ranked = (
            select(JobItem.seq, func.row_number().over(order_by=(order, JobItem.seq)).label("r"))
            .where(unplanned)
            .subquery()
        )
        bounds, upper = [], 0
        for share, n in zip(shares, counts, strict=True):
            upper += n
            to = literal(share.collector_id) if share.collector_id else literal(0)
            bounds.append((ranked.c.r <= upper, json_object("to", to)))
        conn.execute(
            update(JobItem)
            .where(JobItem.job_id == job.job_id, JobItem.seq == ranked.c.seq)
            .values(payload=case(*bounds, else_=null()))
        )
        left_out = conn.execute(
            update(JobItem)
            .where(unplanned, JobItem.outcome == ItemOutcome.PENDING)
            .values(
                outcome=ItemOutcome.NOT_PROCESSED,
                message=f"Not among the {upper:,} accounts to assign ({total:,} selected)",
            )
        ).rowcount
        if left_out:
            conn.execute(
                update(Job)
                .where(Job.id == job.job_id)
                .values(not_processed=Job.not_processed + left_out)
            )
        return {
            "seed": seed,
            "shares": [
                {"collector": s.name, "collector_id": s.collector_id, "accounts": n}
                for s, n in zip(shares, counts, strict=True)
            ],
            "left_out": left_out,
        }

    # -- per chunk -------------------------------------------------------------------------

    def exception_reason(
        self, account: FromClause, params: AssignParams, closed: list[str]
    ) -> ColumnElement[str]:
        return case(
            *unworkable(account, closed),
            else_=literal(""),
        )

    def before_after(
        self, account: FromClause, params: AssignParams
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        before = func.coalesce(
            select(Collector.name).where(Collector.id == account.c.collector_id).scalar_subquery(),
            literal("Unassigned"),
        )
        names = [p.partition("=")[0].strip() for p in re.split(r"[;\n]", params.assign_to)]
        names = [n for n in names if n]
        after = names[0] if len(names) == 1 else "one of " + ", ".join(names) + " (at random)"
        return before, literal(after)

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        params: AssignParams = chunk.params
        everything_to = chunk.plan.get("all_to")

        def name_of(collector_id: Any) -> Any:
            return func.coalesce(
                select(Collector.name).where(Collector.id == collector_id).scalar_subquery(),
                literal("Unassigned"),
            )

        if everything_to is not None:
            planned: Any = literal(everything_to or None, Integer)
            after_name: Any = literal(chunk.plan["all_to_name"])
        else:
            planned = func.nullif(JobItem.payload["to"].as_integer(), 0)
            after_name = name_of(planned)
        # One join with the account per item (UPDATE … FROM), not a lookup per value.
        conn.execute(
            update(JobItem)
            .where(chunk.pending(), Account.id == JobItem.account_id)
            .values(
                payload=json_object(
                    "before",
                    name_of(Account.collector_id),
                    "after",
                    after_name,
                    "before_id",
                    Account.collector_id,
                    "after_id",
                    planned,
                )
            )
        )
        if everything_to is not None:
            conn.execute(
                update(Account)
                .where(Account.id.in_(chunk.pending_account_ids()))
                .values(collector_id=everything_to or None)
            )
        else:
            conn.execute(
                update(Account)
                .where(Account.id == JobItem.account_id, chunk.pending())
                .values(collector_id=cast(JobItem.payload["after_id"].as_integer(), Integer))
            )
        if params.credit_payments != "No":
            # Accounts left without a collector (Unassign) keep their payments' credit.
            moved = Payment.account_id.in_(
                select(Account.id).where(
                    Account.id.in_(chunk.pending_account_ids()), Account.collector_id.is_not(None)
                )
            )
            if params.credit_payments == "Pending only":
                moved = moved & (Payment.status == "pending")
            conn.execute(
                update(Payment)
                .where(moved)
                .values(
                    collector_id=select(Account.collector_id)
                    .where(Account.id == Payment.account_id)
                    .scalar_subquery()
                )
            )
