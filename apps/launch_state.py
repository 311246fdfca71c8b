"""State of the launch form and of account criteria, without Panel.

:class:`AccountCriteria` is the group-or-filter choice shared by the account search and the
launch form; :class:`LaunchState` adds the bulk action and its declared parameters, the dry
run to review, and the submit (nothing is queued until the service accepts it), and keeps the
live count of accounts to touch.
"""

from __future__ import annotations

from typing import Any

import param

from jobs.actions import DryRun
from jobs.errors import BulkdeskError, InvalidInput
from jobs.people.permissions import Actor
from jobs.reports.queries import JobSummary
from jobs.service import FieldView, JobService
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

    def __init__(
        self,
        groups: dict[str, int | None] | None = None,
        statuses: list[str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.groups: dict[str, int | None] = {NO_GROUP: None, **(groups or {})}
        self.param.group.objects = list(self.groups)
        self.param.account_status.objects = [ANY, *(statuses or [])]

    @classmethod
    def for_service(cls, service: JobService, actor: Actor | str) -> AccountCriteria:
        groups = {g["name"]: g["id"] for g in service.groups(actor)}
        return cls(groups=groups, statuses=service.account_statuses(actor))

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
    """The launch form: which bulk action, on which accounts, with what; a dry run to review,
    then the submit. The action's own fields come from its declaration
    (``JobService.action_fields``); nothing is queued until the service accepts it.

    Parameters:
      service: the service API.
      user: the acting username (or an Actor).
      action: the action to start with (its name, e.g. ``change_status``).
    """

    criteria = param.ClassSelector(class_=AccountCriteria)
    action = param.Selector(default=None, objects=[], label="Bulk action")
    values = param.Dict(default={}, doc="The action's parameters, by field name.")
    description = param.String(default="", label="Job description")

    target_count = param.Integer(
        default=None, allow_None=True, doc="Accounts the current selection matches."
    )
    count_error = param.String(default="")
    errors = param.Dict(
        default={},
        doc='Why the last review or submit was refused, by field ("" for the form as a whole).',
    )
    preview = param.Parameter(default=None, doc="The DryRun of the current inputs, once reviewed.")
    submitted = param.Parameter(default=None, doc="The JobSummary of the last queued job.")

    def __init__(
        self, service: JobService, user: str | Actor, action: str | None = None, **params: Any
    ) -> None:
        self.service = service
        self.actor: Actor = service.actor(user)
        self.actions = {a.label: a for a in service.actions(self.actor)}
        params.setdefault("criteria", AccountCriteria.for_service(service, self.actor))
        super().__init__(**params)
        self.param.action.objects = list(self.actions)
        names = {a.name: label for label, a in self.actions.items()}
        self.fields: list[FieldView] = []
        self.action = names.get(action or "", next(iter(self.actions), None))
        self._load_fields()
        self.criteria.param.watch(self._recount, _CRITERIA)
        self.param.watch(self._load_fields, "action")
        self.param.watch(self._inputs_changed, ["values", "description"])
        self.recount()

    # -- the action and its fields -------------------------------------------------------

    @property
    def action_name(self) -> str | None:
        chosen = self.actions.get(self.action)
        return chosen.name if chosen else None

    @property
    def summary(self) -> str:
        chosen = self.actions.get(self.action)
        return chosen.summary if chosen else ""

    def _load_fields(self, *_: Any) -> None:
        name = self.action_name
        self.fields = self.service.action_fields(self.actor, name) if name else []
        self.values = {f.name: f.initial for f in self.fields}
        self.errors = {}
        self.preview = None

    def set_value(self, name: str, value: Any) -> None:
        self.values = {**self.values, name: value}

    def _inputs_changed(self, *_: Any) -> None:
        # What was reviewed is no longer what would be queued: review again.
        self.preview = None
        if self.errors:
            self.errors = {}

    def _recount(self, *_: Any) -> None:
        self.recount()
        self._inputs_changed()

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
        self.errors = {}

    # -- review and submit -------------------------------------------------------------

    def review(self) -> DryRun | None:
        """The dry run of the current inputs (description checked too); None (and
        ``errors`` set) when the service refuses them."""
        if not self.description.strip():
            self.errors = {"description": "Give the job a description, so people can tell it apart"}
            return None
        try:
            preview = self.service.dry_run(
                self.actor, self.action_name or "", self.criteria.selection(), self._parameters()
            )
        except BulkdeskError as error:
            self._refused(error)
            return None
        self.errors = {}
        self.preview = preview
        return preview

    def submit(self) -> JobSummary | None:
        """Queue the job; None (and ``errors`` set) when the service refuses."""
        try:
            job = self.service.submit(
                self.actor,
                self.action_name or "",
                self.criteria.selection(),
                self._parameters(),
                self.description,
            )
        except BulkdeskError as error:
            self._refused(error)
            return None
        self.errors = {}
        self.submitted = job
        self.description = ""  # the next launch starts with a fresh description
        self.preview = None
        return job

    def _parameters(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if v is not None}

    def _refused(self, error: BulkdeskError) -> None:
        field = (error.field or "") if isinstance(error, InvalidInput) else ""
        known = {f.name for f in self.fields} | {"description"}
        self.errors = {field if field in known else "": str(error)}
        self.preview = None

    @property
    def error(self) -> str:
        """All refusals in one line (for tests and a notebook)."""
        return " ".join(self.errors.values())


_CRITERIA = ["group", "account_status", "state", "text", "min_balance", "max_balance"]
