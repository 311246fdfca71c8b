"""The items of one job as a paged list, sorted on the server, without Panel."""

from __future__ import annotations

from typing import Any, ClassVar

import param

from apps.table_state import PagedState
from jobs.models import ItemOutcome
from jobs.reports.queries import ItemRow, Page
from jobs.service import JobService

OUTCOME_CHOICES = ["All", *ItemOutcome.LABELS.values()]


class JobItemsState(PagedState):
    """A page of a job's items, of one outcome or all."""

    outcome = param.Selector(default="All", objects=OUTCOME_CHOICES, label="Outcome")
    page_size = param.Selector(default=20, objects=[20, 50, 100], label="Rows per page")
    sort = param.String(default="seq")

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "#": "seq",
        "File number": "file_number",
        "Debtor": "debtor",
        "Outcome": "outcome",
        "Message": "message",
    }
    EMPTY = "No items with this outcome"
    NOUN = "item"

    def __init__(self, service: JobService, user: str, job_id: int, **params: Any) -> None:
        self.service = service
        self.user = user
        self.job_id = job_id
        super().__init__(**params)

    def fetch(self) -> Page[ItemRow]:
        return self.service.job_items(
            self.user,
            self.job_id,
            outcome=self.outcome,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )

    @param.depends("outcome", watch=True)
    def _outcome_changed(self) -> None:
        if self.page != 1:
            self.page = 1
        else:
            self.load()
