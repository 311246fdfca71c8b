"""State of the "Add interaction" launch form and of account criteria, without Panel.

:class:`AccountCriteria` is the group-or-filter choice shared by the account search and the
launch form; :class:`LaunchState` adds the interaction, validates through the service (nothing
is queued until the service accepts it) and keeps the live count of accounts to touch.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import param

from jobs.actions.add_interaction import INTERACTION_TYPES, OUTCOMES
from jobs.errors import BulkdeskError, InvalidInput
from jobs.people.permissions import Actor
from jobs.reports.queries import JobSummary
from jobs.service import JobService
from jobs.sources.accounts import AccountFilter, AccountSelection

NO_GROUP = "(no group: filter all accounts)"
ANY = "Any"
#: The back office's account statuses.
ACCOUNT_STATUSES = [
    ANY,
    "Open",
    "Promise to pay",
    "Payment plan",
    "Disputed",
    "Bankrupt",
    "Closed",
    "Paid in full",
]


class AccountCriteria(param.Parameterized):
    """A group and/or a filter over accounts, as a person picks them."""

    group = param.Selector(default=NO_GROUP, objects=[NO_GROUP], label="Group")
    account_status = param.Selector(default=ANY, objects=ACCOUNT_STATUSES, label="Account status")
    state = param.String(default="", label="State (e.g. TX)")
    text = param.String(default="", label="Debtor, account or file number contains")
    min_balance = param.Number(default=None, allow_None=True, label="Minimum balance")
    max_balance = param.Number(default=None, allow_None=True, label="Maximum balance")

    def __init__(self, groups: dict[str, int | None] | None = None, **params: Any) -> None:
        super().__init__(**params)
        self.groups: dict[str, int | None] = {NO_GROUP: None, **(groups or {})}
        self.param.group.objects = list(self.groups)

    @classmethod
    def for_service(cls, service: JobService, actor: Actor | str) -> AccountCriteria:
        groups = {g["name"]: g["id"] for g in service.groups(actor)}
        return cls(groups=groups)

    def group_id(self) -> int | None:
        return self.groups.get(self.group)

    def account_filter(self) -> AccountFilter:
        """The filter; raises InvalidInput for a bad value (e.g. minimum above maximum)."""
        return AccountFilter.from_dict(
            {
                "status": None if self.account_status == ANY else self.account_status,
                "state": self.state.strip().upper() or None,
                "text": self.text.strip() or None,
                "min_balance": self.min_balance,
                "max_balance": self.max_balance,
            }
        )

    def selection(self) -> AccountSelection:
        return AccountSelection(group_id=self.group_id(), filter=self.account_filter())

    def copy_from(self, other: AccountCriteria) -> None:
        names = ("group", "account_status", "state", "text", "min_balance", "max_balance")
        self.param.update(
            {
                n: getattr(other, n)
                for n in names
                if n != "group" or getattr(other, n) in self.groups
            }
        )

    def describe(self) -> str:
        parts = [] if self.group_id() is None else [f"group “{self.group}”"]
        flt = self.account_filter()
        if not flt.is_empty() or not parts:
            parts.append(flt.describe())
        return "; ".join(parts)


class LaunchState(param.Parameterized):
    """The "Add interaction" form: who, on which accounts, with what.

    Parameters:
      service: the service API.
      user: the acting username (or an Actor).
    """

    criteria = param.ClassSelector(class_=AccountCriteria)
    interaction_type = param.Selector(
        default="Note", objects=list(INTERACTION_TYPES), label="Interaction type"
    )
    outcome = param.Selector(default="Information only", objects=list(OUTCOMES), label="Outcome")
    note = param.String(default="", label="Note")
    interaction_date = param.CalendarDate(default=None, allow_None=True, label="Interaction date")
    description = param.String(default="", label="Job description")

    target_count = param.Integer(
        default=None, allow_None=True, doc="Accounts the current selection matches."
    )
    count_error = param.String(default="")
    error = param.String(default="", doc="Why the last submit was refused.")
    error_field = param.String(default="")
    submitted = param.Parameter(default=None, doc="The JobSummary of the last queued job.")

    def __init__(self, service: JobService, user: str | Actor, **params: Any) -> None:
        self.service = service
        self.actor: Actor = service.actor(user)
        params.setdefault("criteria", AccountCriteria.for_service(service, self.actor))
        params.setdefault("interaction_date", dt.date.today())
        super().__init__(**params)
        self.criteria.param.watch(self._recount, _CRITERIA)
        self.recount()

    def _recount(self, *_: Any) -> None:
        self.recount()

    def recount(self) -> None:
        """Update ``target_count`` for the current group and filter."""
        try:
            self.target_count = self.service.count_targets(self.actor, self.criteria.selection())
            self.count_error = ""
        except BulkdeskError as error:
            self.target_count = None
            self.count_error = str(error)

    def prefill(self, criteria: AccountCriteria, description: str = "") -> None:
        """Start from a group/filter chosen elsewhere (the account search)."""
        self.criteria.copy_from(criteria)
        if description:
            self.description = description
        self.error = ""

    def submit(self) -> JobSummary | None:
        """Validate and queue the job; None (and ``error`` set) when the service refuses."""
        try:
            job = self.service.submit_bulk_interaction(
                self.actor,
                description=self.description,
                interaction_type=self.interaction_type,
                outcome=self.outcome,
                note=self.note,
                interaction_date=self.interaction_date,
                group=self.criteria.group_id(),
                account_filter=self.criteria.account_filter(),
            )
        except BulkdeskError as error:
            self.error = str(error)
            self.error_field = (error.field or "") if isinstance(error, InvalidInput) else ""
            return None
        self.error = ""
        self.error_field = ""
        self.submitted = job
        self.description = ""  # the next launch starts with a fresh description
        return job


_CRITERIA = ["group", "account_status", "state", "text", "min_balance", "max_balance"]
