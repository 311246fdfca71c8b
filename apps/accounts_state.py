"""The account search as a paged list sorted on the server, without Panel.

``criteria`` is what the person is typing; a search copies it to ``searched``, and the page,
the count line and "Bulk update these" all follow ``searched``, so they always describe the
accounts the table shows. Changing a criterion searches at once (a text field commits on
Enter).
"""

from __future__ import annotations

from typing import Any, ClassVar

import param

from apps.launch_state import AccountCriteria
from apps.table_state import PagedState
from jobs.errors import BulkdeskError
from jobs.people.permissions import Actor
from jobs.reports.queries import Page
from jobs.service import JobService

_CRITERIA = ["group", "account_status", "state", "text", "min_balance", "max_balance"]


class AccountSearchState(PagedState):
    """Accounts matching the last searched group and filter."""

    sort = param.String(default="file_number")
    error = param.String(default="", doc="Why the last search was refused.")
    described = param.String(default="", doc="What the table shows, in words.")

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "File number": "file_number",
        "Debtor": "debtor",
        "Account number": "account_number",
        "Status": "status",
        "State": "state",
        "Balance": "balance",
    }
    EMPTY = "No accounts match"
    NOUN = "account"

    def __init__(self, service: JobService, actor: Actor, **params: Any) -> None:
        self.service = service
        self.actor = actor
        self.criteria = AccountCriteria.for_service(service, actor)
        self.searched = AccountCriteria.for_service(service, actor)
        super().__init__(**params)
        self.criteria.param.watch(lambda *_: self.search(), _CRITERIA)

    def search(self) -> None:
        """Search what the criteria say now, from page 1."""
        try:
            self.criteria.account_filter()
        except BulkdeskError as error:
            self.error = str(error)
            return
        self.searched.copy_from(self.criteria)
        if self.page != 1:
            self.page = 1
        else:
            self.load()

    def fetch(self) -> Page[dict[str, Any]]:
        try:
            page = self.service.search_accounts(
                self.actor,
                self.searched.account_filter(),
                group_id=self.searched.group_id(),
                page=self.page,
                page_size=self.page_size,
                sort=self.sort,
                descending=self.descending,
            )
        except BulkdeskError as error:
            self.error = str(error)
            return Page([], 0, 1, self.page_size)
        self.error = ""
        self.described = self.searched.describe()
        return page
