"""The state of a paged, server-sorted list, without Panel.

Every list of the dashboard (the Monitor's jobs, a job's items, the account search) is one
page read from the database at a time, sorted on the server over the whole result: a
subclass says how to read a page (:meth:`PagedState.fetch`) and which sort keys its columns
have; :class:`apps.paged_table.PagedTable` draws it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import param

from jobs.reports.queries import Page

PAGE_SIZES = [10, 25, 50, 100]
#: A page number past the end of any list (``go_last`` of a list not counted to its end).
PAST_THE_END = 10**9


class PagedState(param.Parameterized):
    """A page of a list, its sort, and how many rows the whole list has."""

    page = param.Integer(default=1, bounds=(1, None))
    page_size = param.Selector(default=25, objects=PAGE_SIZES, label="Rows per page")
    sort = param.String(default="", doc="The sort key the list is sorted by.")
    descending = param.Boolean(default=False)
    total = param.Integer(default=0, doc="Rows of the whole list (a lower bound if not exact).")
    exact = param.Boolean(default=True, doc="False: there are at least ``total`` rows.")
    rows = param.List(default=[], doc="The rows of the current page.")
    version = param.Integer(default=0, doc="Bumped whenever the page was re-read.")

    #: Column title → sort key, for the columns that can be sorted.
    SORT_KEYS: ClassVar[dict[str, str]] = {}
    #: Sort keys whose first click sorts newest or largest first.
    DESCENDING_FIRST: ClassVar[frozenset[str]] = frozenset()
    #: Said in words when the list is empty.
    EMPTY: ClassVar[str] = "Nothing to show"
    #: What a row is called ("job", "account").
    NOUN: ClassVar[str] = "row"

    def fetch(self) -> Page[Any]:
        """Read the current page (``page``, ``page_size``, ``sort``, ``descending``)."""
        raise NotImplementedError

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        #: Where the last page was read (``Page.anchor``), for a list that reads the next
        #: page or the refresh from there (the Monitor's jobs).
        self.anchor: Any = None

    def load(self) -> None:
        """Re-read the current page; a page that emptied (deletes) moves to the last one."""
        result = self.fetch()
        self.anchor = getattr(result, "anchor", None)
        if not result.rows and self.page > 1 and result.total:
            self.page = max(1, -(-result.total // self.page_size))
            return
        with param.parameterized.batch_call_watchers(self):
            self.total = result.total
            self.exact = getattr(result, "exact", True)
            if result.rows != self.rows:
                self.rows = list(result.rows)
            self.version += 1

    @param.depends("page", "page_size", watch=True)
    def _paged(self) -> None:
        self.load()

    def go(self, page: int) -> None:
        """Go to ``page``, kept within 1 .. the last page. While the count is a lower bound
        (``exact`` False) any later page may be asked for: past the end, the list's last
        page shows."""
        page = max(int(page), 1)
        if self.exact:
            page = min(page, self.pages)
        if page != self.page:
            self.page = page

    def go_last(self) -> None:
        """The last page; one past every counted page first when the count is a lower bound
        (the read past the end counts the list and moves to its last page)."""
        self.go(self.pages if self.exact else PAST_THE_END)

    def sort_by(self, key: str) -> None:
        """Sort the whole list by ``key``: again by the same key reverses the order. The
        list then starts at page 1."""
        if key == self.sort:
            descending = not self.descending
        else:
            descending = key in self.DESCENDING_FIRST
        with param.parameterized.discard_events(self):
            self.sort = key
            self.descending = descending
        if self.page != 1:
            self.page = 1
        else:
            self.load()

    def sort_mark(self, column: str) -> str:
        """ " ▲" or " ▼" for the column the list is sorted by, else empty."""
        if self.sort and self.SORT_KEYS.get(column) == self.sort:
            return " ▼" if self.descending else " ▲"
        return ""

    def pager_text(self) -> str:
        if not self.total:
            return self.EMPTY
        noun = self.NOUN + ("" if self.total == 1 and self.exact else "s")
        count = f"{self.total:,}" if self.exact else f"more than {self.total:,}"
        pages = f"{self.pages:,}" if self.exact else f"{self.pages:,}+"
        return f"Page {self.page:,} of {pages} · {count} {noun}"
