"""Change Status: set the status of every target account to one of the configured statuses.

Each item records the status before and after (``payload``), so the change can be audited
and undone. Accounts already in that status, closed and locked accounts are exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, case, literal, select, update
from sqlalchemy.sql.expression import FromClause

from jobs.actions.base import AccountAction, ChunkContext, active_statuses, unworkable
from jobs.actions.params import param
from jobs.db import json_object
from jobs.models import Account, JobItem


@dataclass(frozen=True)
class ChangeStatusParams:
    to: str = param(
        label="New status",
        help="One of the active account statuses",
        choices=active_statuses,
        cli="to",
    )


class ChangeStatus(AccountAction):
    name = "change_status"
    label = "Change Status"
    cli_name = "change-status"
    summary = (
        "Every account of the selection gets the new status; accounts already in it, "
        "closed and locked accounts become exceptions. Each item keeps the status before."
    )
    Params = ChangeStatusParams
    changes_accounts = True

    def exception_reason(
        self, account: FromClause, params: ChangeStatusParams, closed: list[str]
    ) -> ColumnElement[str]:
        return case(
            *unworkable(account, closed),
            (account.c.status == params.to, literal(f"Account is already {params.to}")),
            else_=literal(""),
        )

    def before_after(
        self, account: FromClause, params: ChangeStatusParams
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return account.c.status, literal(params.to)

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        params: ChangeStatusParams = chunk.params
        before = select(Account.status).where(Account.id == JobItem.account_id).scalar_subquery()
        conn.execute(
            update(JobItem)
            .where(chunk.pending())
            .values(payload=json_object("before", before, "after", params.to))
        )
        conn.execute(
            update(Account)
            .where(Account.id.in_(chunk.pending_account_ids()))
            .values(status=params.to)
        )

    def describe(self, params: ChangeStatusParams) -> str:
        return f"Status to {params.to}"
