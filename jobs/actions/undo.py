"""Undo: put back what a finished Change Status or Assign job changed.

An undo job's items are the accounts the earlier job changed, each with the earlier item's
payload (``before`` / ``after``; ``before_id`` / ``after_id`` for a collector). Each account
gets its recorded before-value back **only where it still has the after-value**; an account
changed since is an exception that says what it is now ("Changed since the job: now Closed").
Each undo item records its own before and after (the earlier ones swapped). For an Assign
with Credit Payments, the payments still credited to the collector the job gave are credited
back to the one before (with the same rule: all, or pending only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    case,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from jobs.actions.base import LOCKED, SAMPLE_SIZE, BulkAction, ChunkContext, DryRun, JobContext
from jobs.actions.params import param
from jobs.db import json_object
from jobs.errors import InvalidInput, NotFound
from jobs.models import Account, Collector, ItemOutcome, Job, JobItem, Payment
from jobs.sources.base import Source

#: The actions an undo can reverse: the account column they changed, as (kind, column).
REVERSIBLE = {"change_status": "status", "assign": "collector_id"}


@dataclass(frozen=True)
class UndoParams:
    of_job: int = param(label="Job to undo", help="A finished Change Status or Assign job")


def _name(collector_id: Any) -> ColumnElement[str]:
    return func.coalesce(
        select(Collector.name).where(Collector.id == collector_id).scalar_subquery(),
        literal("Unassigned"),
    )


class Undo(BulkAction):
    name = "undo"
    label = "Undo"
    cli_name = "undo"
    summary = (
        "Each account the earlier job changed gets its value before back, where it still "
        "has the value the job gave; accounts changed since become exceptions."
    )
    Params = UndoParams
    changes_accounts = True
    #: Launched from a finished job ("Undo"), not on an account selection.
    on_accounts = False

    def check(self, params: UndoParams, session: Session) -> None:
        parent = session.get(Job, params.of_job)
        if parent is None or parent.deleted_at is not None:
            raise NotFound(f"Job {params.of_job} was not found; it may have been deleted")
        if parent.action not in REVERSIBLE:
            raise InvalidInput(
                f"Job {parent.id} cannot be undone: only Change Status and Assign jobs can",
                field="of_job",
            )

    def describe(self, params: UndoParams) -> str:
        return f"Undo of job {params.of_job}"

    def plan(self, conn: Connection, job: JobContext) -> dict[str, Any]:
        parent = conn.execute(
            select(Job.action, Job.parameters).where(Job.id == job.params.of_job)
        ).one()
        return {
            "of_job": job.params.of_job,
            "action": parent.action,
            "credit_payments": (parent.parameters or {}).get("credit_payments", "No"),
        }

    # -- the rule, stated once ------------------------------------------------------------

    @staticmethod
    def _reason(account: FromClause, payload: Any, action: str) -> ColumnElement[str]:
        if REVERSIBLE[action] == "status":
            now = account.c.status
            changed = now != payload["after"].as_string()
            words = literal("Changed since the job: now ") + now
        else:
            now = account.c.collector_id
            changed = func.coalesce(now, 0) != func.coalesce(payload["after_id"].as_integer(), 0)
            words = literal("Changed since the job: now assigned to ") + _name(now)
        return case(
            (account.c.locked, literal(LOCKED)),
            (changed, words),
            else_=literal(""),
        )

    def _action_of(self, session_or_conn: Any, of_job: int) -> str:
        return session_or_conn.scalar(select(Job.action).where(Job.id == of_job))

    # -- per chunk -------------------------------------------------------------------------

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        account = Account.__table__.alias("a")
        rule = self._reason(account, JobItem.payload, chunk.plan["action"])
        reason = func.coalesce(
            select(rule).where(account.c.id == JobItem.account_id).scalar_subquery(),
            literal("Account no longer exists"),
        )
        return conn.execute(
            update(JobItem)
            .where(chunk.pending(), reason != "")
            .values(outcome=ItemOutcome.EXCEPTION, message=reason)
        ).rowcount

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        p = JobItem.payload
        if chunk.plan["action"] == "assign":
            restored = func.nullif(func.coalesce(p["before_id"].as_integer(), 0), 0)
            conn.execute(
                update(Account)
                .where(Account.id == JobItem.account_id, chunk.pending())
                .values(collector_id=restored)
            )
            credit = chunk.plan.get("credit_payments", "No")
            if credit != "No":
                back = (
                    select(
                        JobItem.account_id,
                        p["after_id"].as_integer().label("given"),
                        p["before_id"].as_integer().label("before"),
                    )
                    .where(chunk.pending())
                    .subquery()
                )
                moved = (
                    (Payment.account_id == back.c.account_id)
                    & (Payment.collector_id == back.c.given)
                    & back.c.before.is_not(None)
                )
                if credit == "Pending only":
                    moved = moved & (Payment.status == "pending")
                conn.execute(
                    update(Payment).where(moved).values(collector_id=back.c.before.cast(Integer))
                )
            swapped = json_object(
                "before",
                p["after"].as_string(),
                "after",
                p["before"].as_string(),
                "before_id",
                p["after_id"].as_integer(),
                "after_id",
                p["before_id"].as_integer(),
            )
        else:
            conn.execute(
                update(Account)
                .where(Account.id == JobItem.account_id, chunk.pending())
                .values(status=p["before"].as_string())
            )
            swapped = json_object(
                "before", p["after"].as_string(), "after", p["before"].as_string()
            )
        conn.execute(update(JobItem).where(chunk.pending()).values(payload=swapped))

    # -- what it would do ----------------------------------------------------------------

    def dry_run(self, session: Session, source: Source, params: UndoParams) -> DryRun:
        action = self._action_of(session, params.of_job)
        account = Account.__table__.alias("a")
        items = source.items(session).subquery()
        reason = self._reason(account, items.c.payload, action)
        targets = (
            select(reason.label("reason"))
            .select_from(items.join(account, account.c.id == items.c.account_id))
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
        now = account.c.status if action == "change_status" else _name(account.c.collector_id)
        sample = session.execute(
            select(account.c.file_number, account.c.debtor_name, now, items.c.payload)
            .select_from(items.join(account, account.c.id == items.c.account_id))
            .where(reason == "")
            .order_by(account.c.id)
            .limit(SAMPLE_SIZE)
        ).all()
        return DryRun(
            noun="account",
            total=touch + sum(counts.values()),
            touch=touch,
            exceptions=counts,
            sample=[
                {"file_number": f, "debtor": d, "before": str(n), "after": (pl or {}).get("before")}
                for f, d, n, pl in sample
            ],
        )
