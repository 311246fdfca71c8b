"""Account search: find accounts by group and filter, then "bulk update these".

One page of accounts at a time (``JobService.search_accounts``), sorted on the server.
Changing a criterion searches (Enter in a text field); the count line and "Bulk update these"
always describe what the table shows, and the button hands that group and filter to the
launch form. In a notebook::

    from apps.accounts import AccountSearch
    AccountSearch(service=JobService(), user="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.accounts_state import AccountSearchState
from apps.display import esc, not_permitted
from apps.launch import LaunchForm, criteria_widgets
from apps.launch_state import AccountCriteria
from apps.paged_table import PagedTable
from jobs.people import permissions
from jobs.reports.queries import JobSummary
from jobs.service import JobService

COLUMNS = ["File number", "Debtor", "Account number", "Status", "State", "Balance", "Locked"]
PAGE_SIZE = 25


def account_rows(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                a["file_number"],
                a["debtor_name"],
                a["account_number"],
                a["status"],
                a["state"],
                float(a["current_balance"]),
                "yes" if a["locked"] else "",
            )
            for a in rows
        ],
        columns=COLUMNS,
    )


class AccountSearch(pn.viewable.Viewer):
    """Search accounts as ``user``; ``on_bulk_update(criteria)`` opens the launch form."""

    def __init__(
        self,
        service: JobService,
        user: str,
        on_bulk_update: Callable[[AccountCriteria], None] | None = None,
        on_submitted: Callable[[JobSummary], None] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.actor = service.actor(user)
        self.on_bulk_update = on_bulk_update
        self.on_submitted = on_submitted
        if not self.actor.has(permissions.BULK_UPDATE):
            self._layout = not_permitted(self.actor)
            return
        self.state = AccountSearchState(service, self.actor, page_size=PAGE_SIZE)
        self.criteria = self.state.criteria
        self.table_view = PagedTable(
            self.state,
            account_rows,
            key="File number",
            height=520,
            css_classes=["bd-accounts"],
            formatters={"Balance": {"type": "money", "symbol": "$", "precision": 2}},
        )
        self.table = self.table_view.table
        self.info = pn.pane.HTML(css_classes=["bd-account-count"])
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        search = pn.widgets.Button(label="Search", color="primary", width=120)
        search.on_click(lambda _: self.state.search())
        self.bulk = pn.widgets.Button(
            label="Bulk update these",
            color="success",
            width=260,
            css_classes=["bd-bulk-these"],
        )
        self.bulk.on_click(lambda _: self.bulk_update())
        self.modal = pn.Modal(width=900)
        self._layout = pn.Column(
            pn.pane.HTML('<h2 style="margin:0">Client search</h2>'),
            pn.Row(
                pn.Column(*criteria_widgets(self.criteria), pn.Row(search), self.bulk, width=340),
                pn.Column(self.alert, self.info, self.table_view, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            ),
            self.modal,
            sizing_mode="stretch_width",
        )
        self.state.param.watch(self._show, ["version", "error"])
        self.state.load()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def search(self, page: int = 1) -> None:
        """Search what the criteria say now (``page``: then go to that page)."""
        self.state.search()
        if page != 1:
            self.state.go(page)

    def _show(self, *_: Any) -> None:
        s = self.state
        self.alert.object = esc(s.error)
        self.alert.visible = bool(s.error)
        self.info.object = (
            f"<b>{s.total:,}</b> account{'s' if s.total != 1 else ''} match ({esc(s.described)})"
        )
        self.bulk.label = (
            f"Bulk update these {s.total:,} accounts" if s.total else "Bulk update these"
        )
        self.bulk.disabled = not s.total

    def bulk_update(self) -> None:
        """Launch the form prefilled with the searched group and filter (what the table
        shows, not what is typed but not searched yet)."""
        if self.on_bulk_update is not None:
            self.on_bulk_update(self.state.searched)
            return
        form = LaunchForm(
            self.service, self.user, criteria=self.state.searched, on_submitted=self._submitted
        )
        self.modal[:] = [form]
        self.modal.open = True

    def _submitted(self, job: JobSummary) -> None:
        self.modal.open = False
        if self.on_submitted is not None:
            self.on_submitted(job)
