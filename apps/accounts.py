"""Account search: find accounts by group and filter, then "bulk update these".

One page of accounts at a time (``JobService.search_accounts``). The button hands the same
group and filter to the launch form. In a notebook::

    from apps.accounts import AccountSearch
    AccountSearch(service=JobService(), user="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.display import esc, not_permitted
from apps.launch import LaunchForm, criteria_widgets
from apps.launch_state import AccountCriteria
from jobs.errors import BulkdeskError
from jobs.people import permissions
from jobs.reports.queries import JobSummary
from jobs.service import JobService

COLUMNS = ["File number", "Debtor", "Account number", "Status", "State", "Balance", "Locked"]
PAGE_SIZE = 25


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
        self.criteria = AccountCriteria.for_service(service, self.actor)
        self.page = 1
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=COLUMNS),
            show_index=False,
            disabled=True,
            height=520,
            sizing_mode="stretch_width",
            layout="fit_columns",
            formatters={"Balance": {"type": "money", "symbol": "$", "precision": 2}},
        )
        self.info = pn.pane.HTML(css_classes=["bd-account-count"])
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        search = pn.widgets.Button(label="Search", button_type="primary", width=120)
        search.on_click(lambda _: self.search(1))
        bulk = pn.widgets.Button(
            label="Bulk update these",
            button_type="success",
            width=180,
            css_classes=["bd-bulk-these"],
        )
        bulk.on_click(lambda _: self.bulk_update())
        prev = pn.widgets.Button(label="‹ Previous", width=110)
        nxt = pn.widgets.Button(label="Next ›", width=110)
        prev.on_click(lambda _: self.search(max(1, self.page - 1)))
        nxt.on_click(lambda _: self.search(self.page + 1))
        self.modal = pn.Modal(width=900)
        self._layout = pn.Column(
            pn.pane.HTML('<h2 style="margin:0">Client search</h2>'),
            pn.Row(
                pn.Column(*criteria_widgets(self.criteria), pn.Row(search, bulk), width=340),
                pn.Column(
                    self.alert,
                    self.info,
                    self.table,
                    pn.Row(prev, nxt),
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            self.modal,
            sizing_mode="stretch_width",
        )
        self.search(1)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def search(self, page: int) -> None:
        try:
            result = self.service.search_accounts(
                self.actor,
                self.criteria.account_filter(),
                group_id=self.criteria.group_id(),
                page=page,
                page_size=PAGE_SIZE,
            )
        except BulkdeskError as error:
            self.alert.object = esc(error)
            self.alert.visible = True
            return
        if page > result.pages:
            return self.search(result.pages)
        self.alert.visible = False
        self.page = result.page
        self.table.value = pd.DataFrame(
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
                for a in result.rows
            ],
            columns=COLUMNS,
        )
        self.info.object = (
            f"<b>{result.total:,}</b> accounts match "
            f"({esc(self.criteria.describe())}) · page {result.page} of "
            f"{result.pages}"
        )

    def bulk_update(self) -> None:
        """Launch the form prefilled with this search's group and filter."""
        if self.on_bulk_update is not None:
            self.on_bulk_update(self.criteria)
            return
        form = LaunchForm(
            self.service, self.user, criteria=self.criteria, on_submitted=self._submitted
        )
        self.modal[:] = [form]
        self.modal.open = True

    def _submitted(self, job: JobSummary) -> None:
        self.modal.open = False
        if self.on_submitted is not None:
            self.on_submitted(job)
