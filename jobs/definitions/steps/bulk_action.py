"""The bulk-action step: submit one of the engine's bulk actions on an account selection.

Settings:

- ``action``: a bulk action on accounts (``jobs.actions.ACTIONS``: Add Interaction, Change
  Status, Assign, Schedule Emails, Schedule Text Messages, Export; its stored name or its CLI
  word). Imports and Undo are not offered: their items are a file's rows or an earlier job's.
- ``parameters``: the action's own parameters, checked against the action's declaration
  when the definition is saved (the same check as the launch form's). A text value
  ``{day}`` is the run's business day (e.g. an interaction's date); a parameter left out
  takes its default when the run submits (a date defaulting to today is the run's day,
  not the day the definition was saved).
- ``group`` (a group's name or id) and/or ``filter`` (an account filter, as the launch page
  and ``jobs.sources.AccountFilter`` take it: ``{"status": "Promise to pay",
  "client_id": 2}``): the selection, resolved when the run submits.
- ``description``: the job's description; placeholders ``{definition}``, ``{day}``,
  ``{step}`` (default ``{definition} — {step}``).
- ``empty_ok``: a selection that matches no account ends the step ok instead of failing.

The job is submitted through the service as the definition's owner (their permissions
apply), as a child of the run's job (``parent_job_id`` = the run, link ``step``); the step
then waits for it (``StepOutcome.wait_for_job``). Submitting again for the same run and
description finds the job already submitted instead of queueing a second one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.actions import ACTIONS, get_action
from jobs.actions.params import TODAY
from jobs.definitions.steps.base import (
    DeclaredStep,
    StepContext,
    StepOutcome,
    check_placeholders,
    param,
    render,
)
from jobs.errors import BulkdeskError, InvalidInput
from jobs.models import Group, Job, User
from jobs.sources import AccountFilter, AccountSelection

#: The longest job description the service takes (``jobs.service.DESCRIPTION_MAX``).
DESCRIPTION_MAX = 200
#: The link of a step's job to its run's job (``jobs.link``).
LINK = "step"


def _account_actions() -> list[str]:
    return [name for name, a in ACTIONS.items() if getattr(a, "on_accounts", True)]


@dataclass(frozen=True)
class BulkActionSettings:
    action: str | None = param(label="Bulk action", choices=lambda session: _account_actions())
    parameters: dict[str, Any] | None = param(
        label="Parameters", required=False, widget="mapping", help="The action's parameters"
    )
    group: str | None = param(
        label="Group",
        required=False,
        default="",
        max_length=128,
        suggestions=lambda session: list(session.scalars(select(Group.name).order_by(Group.name))),
    )
    filter: dict[str, Any] | None = param(
        label="Account filter",
        required=False,
        widget="mapping",
        help="e.g. status: Promise to pay",
    )
    description: str | None = param(
        label="Job description",
        default="{definition} — {step}",
        max_length=200,
        help="Placeholders: {definition}, {day}, {step}",
    )
    empty_ok: bool | None = param(
        label="No accounts is ok", default=False, required=False, widget="checkbox"
    )


class BulkActionStep(DeclaredStep):
    """Submit a bulk action and wait for its job (see the module's docstring)."""

    kind = "bulk_action"
    label = "Bulk action"
    Settings = BulkActionSettings

    def check(self, settings: dict[str, Any], session: Session | None = None) -> dict[str, Any]:
        raw = dict(settings or {})
        # The action's CLI word is accepted and stored as its name.
        if isinstance(raw.get("action"), str) and raw["action"].strip():
            try:
                raw["action"] = get_action(raw["action"].strip()).name
            except InvalidInput:
                pass  # the declaration's choices say which there are
        return super().check(raw, session)

    def validate(self, values: dict[str, Any], session: Session | None) -> dict[str, Any]:
        if session is None:
            from jobs import runtime

            with runtime.database().read() as own:
                return self.validate(values, own)
        action = get_action(values["action"])
        given = {k: v for k, v in values["parameters"].items() if v not in (None, "")}
        today = dt.date.today().isoformat()
        try:
            action.validate(_days(given, today), session)
        except InvalidInput as bad:
            raise InvalidInput(
                f"{action.label}: {bad}", field=f"parameters.{bad.field or ''}".rstrip(".")
            ) from None
        group = values["group"]
        if group:
            values = {**values, "group": _group_name(session, group)}
        try:
            flt = AccountFilter.from_dict(values["filter"])
            flt.check(session)
        except InvalidInput as bad:
            raise InvalidInput(f"Account filter: {bad}", field="filter") from None
        if not group and flt.is_empty():
            raise InvalidInput(
                "Choose a group or at least one account filter: a step never means every "
                "account by accident",
                field="group",
            )
        check_placeholders(values["description"], "description", "Job description")
        return {**values, "parameters": given, "filter": flt.as_dict()}

    def describe(self, settings: dict[str, Any]) -> str:
        action = ACTIONS.get(settings.get("action", ""))
        what = action.label if action else settings.get("action", "Bulk action")
        on = []
        if settings.get("group"):
            on.append(f"group “{settings['group']}”")
        if settings.get("filter"):
            on.append(AccountFilter.from_dict(settings["filter"]).describe())
        return f"{what} on {'; '.join(on) or 'no accounts'}"

    def run(self, ctx: StepContext) -> StepOutcome:
        try:
            with ctx.db.read() as session:
                settings = self.check(ctx.settings, session)
                owner = session.scalar(select(User.username).where(User.id == ctx.owner_id))
        except InvalidInput as bad:
            return StepOutcome.failed(str(bad))
        values = {
            "definition": ctx.definition_name,
            "day": ctx.business_day.isoformat(),
            "step": ctx.step_name,
        }
        description = render(settings["description"], values).strip()[:DESCRIPTION_MAX].strip()
        earlier = _submitted(ctx, description)
        if earlier is not None:
            return StepOutcome(
                ok=True,
                message=f"Job {earlier} was submitted for this step already; waiting for it",
                wait_for_job=earlier,
            )
        action = ACTIONS[settings["action"]]
        try:
            selection = ctx.service.account_selection(
                group=settings["group"] or None, account_filter=settings["filter"]
            )
        except BulkdeskError as bad:
            return StepOutcome.failed(f"{action.label}: the selection is not usable: {bad}")
        try:
            summary = ctx.service.submit(
                owner or f"user {ctx.owner_id}",
                action.name,
                selection,
                _run_parameters(action, settings["parameters"], ctx.business_day),
                description,
                parent=(ctx.job_id, LINK),
            )
        except BulkdeskError as bad:
            if settings["empty_ok"] and _empty(ctx, selection):
                return StepOutcome(
                    ok=True, message=f"{action.label}: no accounts to work on; nothing queued"
                )
            return StepOutcome.failed(f"{action.label} could not be submitted: {bad}")
        with ctx.db.read() as session:
            job = session.get(Job, summary.id)
            count = int(job.selection.get("count_at_submit") or 0)
            shown = job.selection.get("text", "")
        return StepOutcome(
            ok=True,
            message=f"{action.label} submitted as job {summary.id} on {count:,} "
            f"account{'s' if count != 1 else ''} ({shown})",
            wait_for_job=summary.id,
        )


def _run_parameters(action: Any, given: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """The parameters a run submits: ``{day}`` replaced, and a date left out that defaults
    to today taking the business day (a late run still acts for its own day)."""
    values = _days(given, day.isoformat())
    for f in action.fields():
        if f.name not in values and f.type is dt.date and f.default == TODAY:
            values[f.name] = day.isoformat()
    return values


def _days(parameters: dict[str, Any], day: str) -> dict[str, Any]:
    """Parameters with a text ``{day}`` replaced by ``day``."""
    return {k: v.replace("{day}", day) if isinstance(v, str) else v for k, v in parameters.items()}


def _group_name(session: Session, group: str) -> str:
    text = group.strip()
    found = session.scalar(select(Group.name).where(Group.name == text))
    if found is None and text.isdigit() and int(text) < 2**31:
        found = session.scalar(select(Group.name).where(Group.id == int(text)))
    if found is None:
        known = list(session.scalars(select(Group.name).order_by(Group.name).limit(8)))
        raise InvalidInput(
            f"There is no group called {group!r}"
            + (f"; groups are, for example: {', '.join(known)}" if known else ""),
            field="group",
        )
    return found


def _submitted(ctx: StepContext, description: str) -> int | None:
    """A job this run submitted for this step already (a redelivered run message)."""
    with ctx.db.read() as session:
        return session.scalar(
            select(Job.id)
            .where(
                Job.parent_job_id == ctx.job_id,
                Job.link == LINK,
                Job.description == description,
                Job.deleted_at.is_(None),
            )
            .order_by(Job.id)
            .limit(1)
        )


def _empty(ctx: StepContext, selection: AccountSelection) -> bool:
    with ctx.db.read() as session:
        return selection.count(session) == 0
