"""The one paged table: server-side sort over every page, pager ends, empty states, and the
sort and page surviving the live refresh (Panel objects in Python)."""

from __future__ import annotations

import panel as pn
import pytest
from sqlalchemy import func, select

from apps.accounts import AccountSearch
from apps.job_view import JobStatusView
from apps.monitor import Monitor
from apps.paged_table import ROWS_WHEN_BUILT
from jobs.db import Database
from jobs.engine import execution
from jobs.models import Account
from jobs.reports import queries
from jobs.service import JobService


@pytest.fixture
def service(sqlite_db: Database) -> JobService:
    return JobService(sqlite_db)


def _jobs(service: JobService, n: int) -> list[int]:
    return [
        service.submit_bulk_interaction(
            "alice",
            description=f"Job number {i:02d}",
            account_filter={"state": "TX"},
            interaction_type="Note",
            outcome="Information only",
        ).id
        for i in range(n)
    ]


def click_header(table, title: str, direction: str = "asc") -> None:  # type: ignore[no-untyped-def]
    """What the browser sends when a person clicks a column header."""
    table.table.sorters = [{"field": title, "dir": direction}]


def test_sorting_by_a_column_sorts_every_page_and_starts_at_page_1(service):
    ids = _jobs(service, 30)
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10
    monitor.state.go(3)
    assert list(monitor.table.value["Job"]) == sorted(ids)[:10][::-1]  # newest first

    click_header(monitor.paged, "Job")

    assert monitor.state.page == 1 and (monitor.state.sort, monitor.state.descending) == (
        "id",
        False,
    )
    assert list(monitor.table.value["Job"]) == sorted(ids)[:10]
    assert monitor.table.sorters == []  # the table never re-sorts the page itself
    assert monitor.table.titles["Job"] == "Job ▲"
    assert monitor.table.titles["Action"] == "Action"
    # The same header again reverses the whole order
    click_header(monitor.paged, "Job")
    assert list(monitor.table.value["Job"]) == sorted(ids, reverse=True)[:10]
    assert monitor.table.titles["Job"] == "Job ▼"
    # Pages of a sort neither overlap nor skip
    seen = []
    for page in range(1, 4):
        monitor.state.go(page)
        seen += list(monitor.table.value["Job"])
    assert seen == sorted(ids, reverse=True)


def test_the_sort_and_page_survive_the_live_refresh(service):
    _jobs(service, 25)
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10
    click_header(monitor.paged, "Description")
    monitor.state.go(2)
    before = list(monitor.table.value["Job"])
    monitor.tick()
    assert monitor.state.page == 2 and monitor.state.sort == "description"
    assert list(monitor.table.value["Job"]) == before


def test_the_pager_ends_are_disabled_at_the_ends_and_a_page_can_be_typed(service):
    _jobs(service, 25)
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10
    paged = monitor.paged
    assert paged.first_button.disabled and paged.previous_button.disabled
    assert not paged.next_button.disabled
    paged.page_input.value = 3
    assert monitor.state.page == 3
    assert paged.next_button.disabled and paged.last_button.disabled
    assert not paged.previous_button.disabled
    assert "Page 3 of 3 · 25 jobs" in paged.pager.object
    paged.page_input.value = 99  # beyond the end: the last page
    assert monitor.state.page == 3


def test_last_goes_to_the_real_last_page_of_a_list_counted_only_in_part(service, monkeypatch):
    # Given 45 jobs, 10 a page, and a count that stops at the next 10 past the page shown
    monkeypatch.setattr(queries, "COUNT_STEP", 10)
    newest = _jobs(service, 45)[::-1]
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10
    # By job number, newest first (in submission order the count is exact: days' counts)
    monitor.state.sort_by("id")
    monitor.state.sort_by("id")
    paged = monitor.paged
    assert "Page 1 of 2+ · more than 20 jobs" in paged.pager.object
    starts: list[str] = []
    read_page = queries._read_page

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = read_page(*args, **kwargs)
        starts.append(result[2])
        return result

    monkeypatch.setattr(queries, "_read_page", recording)
    # When Last is clicked: the last page of all 45, not of the 20 counted
    paged.last_button.clicks += 1
    assert monitor.state.page == 5
    assert list(monitor.table.value["Job"]) == newest[40:]
    assert "Page 5 of 5 · 45 jobs" in paged.pager.object
    assert paged.next_button.disabled and paged.last_button.disabled
    # Previous, and a refresh, from there
    paged.previous_button.clicks += 1
    monitor.tick()
    assert monitor.state.page == 4 and list(monitor.table.value["Job"]) == newest[30:40]
    # (read past the end, then from the end; then back from the last page, and the
    # refresh from the page's own first job)
    assert starts == ["top", "end", "anchor", "anchor"]
    # From page 1, a page past the ones counted can be typed
    paged.first_button.clicks += 1
    assert not monitor.state.exact
    paged.page_input.value = 3
    assert monitor.state.page == 3 and list(monitor.table.value["Job"]) == newest[20:30]
    paged.page_input.value = 99  # beyond the end: the last page
    assert monitor.state.page == 5 and list(monitor.table.value["Job"]) == newest[40:]


def test_an_empty_list_says_so_in_words(service):
    _jobs(service, 2)
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.text = "nothing is called this"
    assert monitor.paged.empty.visible and not monitor.table.visible
    assert "No jobs match these filters" in monitor.paged.empty.object
    monitor.state.text = ""
    assert monitor.table.visible and not monitor.paged.empty.visible


def test_a_list_with_no_jobs_yet_says_how_to_launch_one_not_that_filters_exclude_them(service):
    monitor = Monitor(service=service, user="alice", live=False)
    assert monitor.paged.empty.visible
    assert "No jobs yet" in monitor.paged.empty.object
    assert "filters" not in monitor.paged.empty.object
    monitor.state.statuses = ["Completed"]
    assert "No jobs match these filters" in monitor.paged.empty.object


def test_a_jobs_items_sort_on_the_server(service, sqlite_db):
    job = service.submit_bulk_interaction(
        "alice",
        description="Items",
        group="Dispute review",
        interaction_type="Call",
        outcome="No answer",
    )
    for chunk in execution.start(sqlite_db, job.id, 1000).chunks:
        execution.claim(sqlite_db, chunk, "t", 30)
        execution.process_chunk(sqlite_db, chunk, "t")
    view = JobStatusView(service, "alice", job_id=job.id)
    view.items.page_size = 20
    click_header(view._table, "Outcome")
    assert set(view._items.value["Outcome"]) == {"Ok"}  # Ok (1) first
    click_header(view._table, "Outcome")
    # Then every exception (2) sorts before every Ok, though they are spread out
    assert set(view._items.value["Outcome"].head(10)) == {"Exception"}
    for _, group in view._items.value.groupby("Outcome"):
        assert group["#"].is_monotonic_increasing  # ties broken by item number


def test_accounts_sort_by_balance_over_every_match(service, sqlite_db):
    search = AccountSearch(service=service, user="alice")
    search.criteria.state = "TX"
    click_header(search.table_view, "Balance")
    click_header(search.table_view, "Balance")  # again: largest first
    with sqlite_db.read() as s:
        top = s.scalar(select(func.max(Account.current_balance)).where(Account.state == "TX"))
    assert search.table.value["Balance"].iloc[0] == float(top)
    assert search.table_view.state.descending
    # And an empty search says so
    search.criteria.text = "no debtor is called this"
    assert "No accounts match" in search.table_view.empty.object
    assert search.table_view.empty.visible


def test_every_table_drawn_gets_its_rows_again_once_the_browser_has_built_it(service):
    # Given the Monitor drawn (twice: a page shown again is drawn anew),
    monitor = Monitor(service, "alice", live=False)
    for _ in range(2):
        root = pn.panel(monitor).get_root()
        model = monitor.table._models[root.ref["id"]][0]
        # then every drawing's rows carry the browser's callback that shows rows which came
        # while the table was still being built (tests/browser/test_monitor_refresh.py).
        callbacks = model.source.js_property_callbacks["change:data"]
        assert [c.code for c in callbacks if ROWS_WHEN_BUILT in c.code], callbacks
