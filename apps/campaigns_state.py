"""State of the Definitions page's campaigns list, without Panel: one page at a time from the
database, sorted there (running ones first, then newest first, until a column is chosen)."""

from __future__ import annotations

from typing import Any, ClassVar

from apps.table_state import PagedState
from jobs.definitions.campaigns import CampaignRow
from jobs.reports.queries import Page
from jobs.service import JobService


class CampaignsState(PagedState):
    """A page of the campaigns for ``user``.

    Parameters:
      service: the service API.
      user: the acting username.
    """

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "ID": "id",
        "Campaign": "name",
        "Client": "client",
        "Started": "started",
        "Ended": "ended",
    }
    DESCENDING_FIRST = frozenset({"started", "ended"})
    EMPTY = "No campaigns yet. A campaign's end runs the campaign definition."
    NOUN = "campaign"

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        self.service = service
        self.user = user
        params.setdefault("page_size", 10)
        super().__init__(**params)
        self.load()

    def fetch(self) -> Page[CampaignRow]:
        return self.service.definitions.campaign_page(
            self.user,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )
