"""Add Interaction: log the same interaction on every target account."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, String, case, cast, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from jobs.actions.base import AccountAction, ChunkContext, unworkable
from jobs.actions.params import TODAY, param
from jobs.errors import InvalidInput
from jobs.models import INTERACTION_TYPES, OUTCOMES, Interaction, JobItem

NOTE_MAX = 2000


@dataclass(frozen=True)
class AddInteractionParams:
    interaction_type: str = param(
        label="Interaction type", choices=INTERACTION_TYPES, default="Note", cli="type"
    )
    outcome: str = param(label="Outcome", choices=OUTCOMES, default="Information only")
    note: str = param(
        label="Note",
        help="The note logged on each account",
        max_length=NOTE_MAX,
        multiline=True,
        required=False,
        default="",
    )
    interaction_date: dt.date = param(
        label="Interaction date", help="YYYY-MM-DD; default today", default=TODAY, cli="date"
    )


class AddInteraction(AccountAction):
    name = "add_interaction"
    label = "Add Interaction"
    cli_name = "add-interaction"
    summary = (
        "The same interaction is logged on every account of the selection; locked and "
        "closed accounts become exceptions."
    )
    Params = AddInteractionParams

    def check(self, params: AddInteractionParams, session: Session) -> None:
        if params.interaction_date > dt.date.today() + dt.timedelta(days=1):
            raise InvalidInput(
                "The interaction date cannot be in the future", field="interaction_date"
            )

    def exception_reason(
        self, account: FromClause, params: AddInteractionParams, closed: list[str]
    ) -> ColumnElement[str]:
        return case(
            *unworkable(account, closed),
            else_=literal(""),
        )

    def before_after(
        self, account: FromClause, params: AddInteractionParams
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        newest = (
            select(func.max(Interaction.interaction_date))
            .where(Interaction.account_id == account.c.id)
            .scalar_subquery()
        )
        worked = func.coalesce(
            case((newest > account.c.last_worked, newest), else_=account.c.last_worked), newest
        )
        before = literal("last worked ") + func.coalesce(cast(worked, String), "never")
        after = literal(
            f"{params.interaction_type} — {params.outcome} on {params.interaction_date}"
        )
        return before, after

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        params: AddInteractionParams = chunk.params
        rows = select(
            JobItem.account_id,
            literal(chunk.job_id),
            literal(params.interaction_type),
            literal(params.outcome),
            literal(params.note),
            literal(params.interaction_date),
            literal(chunk.owner_id),
            literal(chunk.now, Interaction.__table__.c.created_at.type),
        ).where(chunk.pending())
        conn.execute(
            insert(Interaction).from_select(
                [
                    "account_id",
                    "job_id",
                    "type",
                    "outcome",
                    "note",
                    "interaction_date",
                    "created_by_id",
                    "created_at",
                ],
                rows,
            )
        )
        # Accounts themselves are not rewritten: "Last Worked" is read as the later of the
        # account's own date and its newest interaction (JobService.search_accounts), which
        # spares a bulk job one account-row update (and its index writes) per item.

    def describe(self, params: AddInteractionParams) -> str:
        return f"{params.interaction_type} — {params.outcome} on {params.interaction_date}"
