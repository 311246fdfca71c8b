"""The account grid's state without Panel: its filters, the page, the columns, the selection.

The filters a person sets (:class:`GridFilters`) apply when they change; the page, the
counter and the toolbar follow what was applied. The selection is either accounts checked
one by one (they stay checked while the person filters and pages to find more), or *every
account matching the filter* (the header checkbox), less the ones unchecked after it
(exclusions, shown and removable). :meth:`AccountGridState.selection` is what a job gets:
an :class:`~jobs.sources.accounts.AccountSelection` of filter + picked ids + excluded ids,
resolved when the job starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import param

from apps.table_state import PagedState
from jobs.errors import BulkdeskError
from jobs.grid.columns import COLUMNS, CORE, OPTIONAL, SORTABLE
from jobs.people.permissions import Actor
from jobs.reports.queries import Page
from jobs.service import JobService
from jobs.sources.accounts import AccountFilter, AccountSelection

ANY = "Any"
UNASSIGNED = "Unassigned"
_FILTERS = [
    "client",
    "portfolio",
    "status",
    "state",
    "collector",
    "min_balance",
    "max_balance",
    "worked_from",
    "worked_to",
    "text",
]


#: How each filter reads in the line above the grid ("state = TX, text = smith").
_WORDS = {
    "collector": "assigned to",
    "min_balance": "balance from",
    "max_balance": "balance to",
    "worked_from": "last worked from",
    "worked_to": "last worked to",
}


class GridFilters(param.Parameterized):
    """The grid's filters as a person sets them (names; ids come from the choices)."""

    client = param.Selector(default=ANY, objects=[ANY], label="Client")
    portfolio = param.Selector(default=ANY, objects=[ANY], label="Portfolio")
    status = param.Selector(default=ANY, objects=[ANY], label="Status")
    state = param.String(default="", label="State (e.g. TX)")
    collector = param.Selector(default=ANY, objects=[ANY, UNASSIGNED], label="Assigned To")
    min_balance = param.Number(default=None, allow_None=True, label="Balance from")
    max_balance = param.Number(default=None, allow_None=True, label="Balance to")
    worked_from = param.CalendarDate(default=None, allow_None=True, label="Last worked from")
    worked_to = param.CalendarDate(default=None, allow_None=True, label="Last worked to")
    text = param.String(default="", label="Debtor, account or file number contains")

    def __init__(self, choices: Any, **params: Any) -> None:
        super().__init__(**params)
        self.clients = {name: i for i, name in choices.clients}
        self.portfolios = [(i, client, name) for i, client, name in choices.portfolios]
        self.collectors = {name: i for i, name, _active in choices.collectors}
        self.param.client.objects = [ANY, *self.clients]
        self.param.status.objects = [ANY, *choices.statuses]
        self.param.collector.objects = [ANY, UNASSIGNED, *self.collectors]
        self._portfolio_names()

    @param.depends("client", watch=True)
    def _portfolio_names(self) -> None:
        client = self.clients.get(self.client)
        names = [name for _i, owner, name in self.portfolios if client is None or owner == client]
        self.param.portfolio.objects = [ANY, *dict.fromkeys(names)]
        if self.portfolio not in self.param.portfolio.objects:
            self.portfolio = ANY

    def account_filter(self) -> AccountFilter:
        """The filter; raises InvalidInput for a bad value (a range that starts after it ends)."""
        client = self.clients.get(self.client)
        portfolio = next(
            (
                i
                for i, owner, name in self.portfolios
                if name == self.portfolio and (client is None or owner == client)
            ),
            None,
        )
        return AccountFilter.from_dict(
            {
                "client_id": client,
                "portfolio_id": portfolio,
                "status": None if self.status == ANY else self.status,
                "state": self.state.strip().upper() or None,
                "collector_id": self.collectors.get(self.collector),
                "unassigned": True if self.collector == UNASSIGNED else None,
                "min_balance": self.min_balance,
                "max_balance": self.max_balance,
                "worked_from": self.worked_from,
                "worked_to": self.worked_to,
                "text": self.text.strip() or None,
            }
        )

    def describe(self) -> str:
        """The filter in words ("client = Northwind Bank, state = TX", as the account
        search says it)."""
        parts = []
        for name in _FILTERS:
            value = getattr(self, name)
            if value in (None, "", ANY):
                continue
            label = _WORDS.get(name, name)
            if isinstance(value, dt.date):
                value = value.isoformat()
            parts.append(f"{label} = {value}")
        return ", ".join(parts) if parts else "all accounts"

    def clear(self) -> None:
        self.param.update({n: self.param[n].default for n in _FILTERS})


class AccountGridState(PagedState):
    """One page of accounts for ``actor``, the columns they chose, and their selection."""

    sort = param.String(default="file_number")
    error = param.String(default="", doc="Why the last filter was refused.")
    described = param.String(default="all accounts", doc="The applied filter, in words.")
    columns = param.List(default=[], doc="The optional columns shown (keys).")
    #: The selection: every match of the applied filter (less ``excluded``), or ``picked``.
    all_selected = param.Boolean(default=False)
    picked = param.Dict(default={}, doc="Account id → file number, checked one by one.")
    excluded = param.Dict(default={}, doc="Account id → file number, unchecked after all.")
    selected = param.Integer(default=0, doc="How many accounts are selected.")

    SORT_KEYS: ClassVar[dict[str, str]] = {COLUMNS[k].label: k for k in SORTABLE}
    DESCENDING_FIRST: ClassVar[frozenset[str]] = frozenset(
        {"current_balance", "last_worked", "last_payment_amount", "last_payment_date"}
    )
    EMPTY = "No accounts match these filters"
    NOUN = "account"

    def __init__(self, service: JobService, actor: Actor | str, **params: Any) -> None:
        self.service = service
        self.actor = service.actor(actor)
        self.filters = GridFilters(service.grid_choices(self.actor))
        self.applied = AccountFilter()
        prefs = service.grid_preferences(self.actor)
        params.setdefault("columns", prefs.columns)
        params.setdefault("page_size", prefs.page_size)
        super().__init__(**params)
        self.filters.param.watch(lambda *_: self.apply(), _FILTERS)
        self.param.watch(self._count, ["all_selected", "picked", "excluded", "total"])
        self.load()

    # -- filters and the page -------------------------------------------------------------

    def apply(self) -> None:
        """Show page 1 of what the filters say now. A select-all was of the previous filter,
        so it ends; accounts checked one by one stay checked."""
        try:
            flt = self.filters.account_filter()
        except BulkdeskError as error:
            self.error = str(error)
            return
        self.applied = flt
        if self.all_selected:
            self.clear_selection()
        if self.page != 1:
            self.page = 1
        else:
            self.load()

    def fetch(self) -> Page[dict[str, Any]]:
        try:
            page = self.service.account_grid(
                self.actor,
                self.applied,
                page=self.page,
                page_size=self.page_size,
                sort=self.sort,
                descending=self.descending,
            )
        except BulkdeskError as error:
            self.error = str(error)
            return Page([], 0, 1, self.page_size)
        self.error = ""
        self.described = self.filters.describe()
        return Page(page.rows, page.total, page.page, page.page_size)

    def show_columns(self, keys: list[str]) -> None:
        """Show these optional columns (keys or labels), and remember them for the user."""
        prefs = self.service.save_grid_preferences(self.actor, keys, self.page_size)
        self.columns = prefs.columns

    @param.depends("page_size", watch=True)
    def _remember_page_size(self) -> None:
        self.service.save_grid_preferences(self.actor, self.columns, self.page_size)

    def visible_columns(self) -> list[str]:
        return [*CORE, *(k for k in OPTIONAL if k in self.columns)]

    # -- the selection ----------------------------------------------------------------------

    def is_selected(self, account_id: int) -> bool:
        if self.all_selected:
            return account_id not in self.excluded
        return account_id in self.picked

    def check(self, account_id: int, file_number: str, checked: bool) -> None:
        """A row's checkbox: after select-all, unchecking records an exclusion."""
        if self.all_selected:
            excluded = dict(self.excluded)
            if checked:
                excluded.pop(account_id, None)
            else:
                excluded[account_id] = file_number
            self.excluded = excluded
            return
        picked = dict(self.picked)
        if checked:
            picked[account_id] = file_number
        else:
            picked.pop(account_id, None)
        self.picked = picked

    def select_all(self) -> None:
        """Select every account matching the applied filter, not only this page."""
        with param.parameterized.batch_call_watchers(self):
            self.picked = {}
            self.excluded = {}
            self.all_selected = True

    def clear_selection(self) -> None:
        with param.parameterized.batch_call_watchers(self):
            self.all_selected = False
            self.picked = {}
            self.excluded = {}

    def include_again(self, account_id: int) -> None:
        """Remove an exclusion: the account is selected again."""
        excluded = dict(self.excluded)
        excluded.pop(account_id, None)
        self.excluded = excluded

    def _count(self, *_: Any) -> None:
        if self.all_selected:
            self.selected = max(self.total - len(self.excluded), 0)
        else:
            self.selected = len(self.picked)

    def counter_text(self) -> str:
        """ "1,203 selected of 48,112" """
        return f"{self.selected:,} selected of {self.total:,}"

    def selection(self) -> AccountSelection:
        """What a job launched now acts on: the filter less the exclusions after select-all,
        else the accounts picked by hand."""
        if self.all_selected:
            return AccountSelection(
                filter=self.applied,
                excluded_ids=tuple(sorted(self.excluded)),
                all_accounts=self.applied.is_empty(),
            )
        return AccountSelection(account_ids=tuple(sorted(self.picked)))

    def selection_text(self) -> str:
        if self.all_selected:
            more = f", less {len(self.excluded):,} excluded" if self.excluded else ""
            if self.applied.is_empty():
                return f"every account{more}"
            return f"every account matching {self.described}{more}"
        return f"{len(self.picked):,} account{'s' * (len(self.picked) != 1)} picked by hand"
