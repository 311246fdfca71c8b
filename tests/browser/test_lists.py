"""Lists, addresses and forms in the served dashboard: server-side sort across pages, empty
states, reload and the back button, field errors and counters, Enter in the search."""

from __future__ import annotations

import datetime as dt
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import insert

from jobs.models import Job
from jobs.status import JobStatus

WAIT = 60_000


def _finished_jobs(service, owner_id: int, n: int, tag: str) -> None:  # type: ignore[no-untyped-def]
    """Set-up only: ``n`` finished jobs written straight to the served app's database."""
    now = dt.datetime.now(dt.UTC)
    with service.db.write_conn() as conn:
        conn.execute(
            insert(Job),
            [
                {
                    "action": "add_interaction",
                    "description": f"{tag} {i:02d}",
                    "parameters": {},
                    "selection": {"text": "test rows"},
                    "owner_id": owner_id,
                    "status": int(JobStatus.COMPLETED),
                    "submitted_at": now - dt.timedelta(minutes=n - i),
                    "started_at": now - dt.timedelta(minutes=n - i),
                    "ended_at": now - dt.timedelta(minutes=n - i),
                    "total": 1,
                    "ok": 1,
                }
                for i in range(n)
            ],
        )


def first_job(page: Page) -> str:
    return (
        page.locator(".bd-jobs .tabulator-row")
        .first.locator(".tabulator-cell[tabulator-field=Job]")
        .inner_text()
        .strip()
    )


def test_sorting_a_column_sorts_every_page_on_the_server(login, served_service):
    dave = served_service.actor("dave")
    _finished_jobs(served_service, dave.id, 30, f"Sortable {uuid.uuid4().hex[:4]}")
    lowest = served_service.list_jobs("dave", sort="id", descending=False, page_size=1).rows[0]
    page = login("dave")
    # Given dave on the last page of his jobs, newest first
    page.locator(".bd-jobs").wait_for()
    page.get_by_role("button", name="Last »").click()
    expect(page.locator(".bd-pager")).to_contain_text("Page 2 of", timeout=WAIT)
    # When he sorts by Job
    page.locator(".bd-jobs .tabulator-col-title", has_text="Job").first.click()
    # Then the first row is his first job, on page 1, and the header says how it is sorted
    expect(page.locator(".bd-pager")).to_contain_text("Page 1 of", timeout=WAIT)
    expect(page.locator(".bd-jobs .tabulator-col-title", has_text="Job ▲")).to_be_visible()
    assert first_job(page) == str(lowest.id)
    # And only that arrow: Tabulator's own arrows (of the page only) are not drawn
    sorters = page.locator(".bd-jobs .tabulator-col-sorter")
    assert sorters.count() > 0
    assert set(sorters.evaluate_all("els => els.map(e => getComputedStyle(e).display)")) == {"none"}
    # And the pager's ends: at page 1, "First" and "Previous" are disabled
    expect(page.get_by_role("button", name="« First")).to_be_disabled()
    expect(page.get_by_role("button", name="‹ Previous")).to_be_disabled()
    # And the sort survives the live refresh
    page.wait_for_timeout(2500)
    assert first_job(page) == str(lowest.id)


def test_an_empty_list_says_so(login):
    page = login("bob")
    search = page.get_by_placeholder("Description or job number")
    search.fill("no job is called this")
    search.press("Enter")
    expect(page.locator(".bd-empty")).to_contain_text("No jobs match these filters", timeout=WAIT)


def test_reload_keeps_the_page_and_the_open_job_and_back_goes_back(login, served_service):
    job = served_service.submit_bulk_interaction(
        "alice",
        description=f"Addressed {uuid.uuid4().hex[:4]}",
        account_filter={"state": "VT"},
        interaction_type="Note",
        outcome="Information only",
    )
    page = login("alice")
    page.goto(page.url.split("?")[0] + f"?page=monitor&job={job.id}")
    expect(page.get_by_text("Bulk Interaction Job Status")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("dialog")).to_contain_text(f"Job {job.id}:")
    page.reload()
    expect(page.get_by_role("dialog")).to_contain_text(f"Job {job.id}:", timeout=WAIT)
    page.locator(".pnx-dialog-close:visible").first.click()
    page.get_by_role("button", name="Accounts").click()
    expect(page.locator(".bd-account-count")).to_be_visible(timeout=WAIT)
    assert "page=accounts" in page.url
    page.reload()
    expect(page.locator(".bd-account-count")).to_be_visible(timeout=WAIT)
    page.go_back()
    expect(page.locator(".bd-jobs")).to_be_visible(timeout=WAIT)
    assert "page=monitor" in page.url


def test_a_refused_field_says_why_under_it_and_counters_follow_the_typing(login):
    page = login("alice")
    page.get_by_role("button", name="Launch").click()
    form = page.locator(".bd-page")
    description = form.get_by_placeholder("Shown in the job list")
    description.fill("Fifteen letters")
    expect(form.locator(".bd-counter-description")).to_contain_text("15 / 200", timeout=WAIT)
    description.fill("x" * 250)  # the browser refuses more than the limit
    expect(form.locator(".bd-counter-description")).to_contain_text("200 / 200 — the limit")
    description.fill("")
    description.press("Enter")
    form.locator(".bd-group select").select_option(label="Dispute review")
    page.get_by_role("button", name="Review (dry run)").click()
    error = form.locator(".bd-error-description")
    expect(error).to_contain_text("Give the job a description", timeout=WAIT)
    description.fill("Now described")
    description.press("Enter")
    expect(error).to_be_hidden(timeout=WAIT)


def test_enter_searches_accounts_and_bulk_update_uses_what_was_searched(login):
    page = login("alice")
    page.get_by_role("button", name="Accounts").click()
    state = page.locator(".bd-state input")
    state.fill("VT")
    state.press("Enter")
    expect(page.locator(".bd-account-count")).to_contain_text("state = VT", timeout=WAIT)
    count = page.locator(".bd-account-count b").first.inner_text()
    expect(page.locator(".bd-bulk-these")).to_contain_text(f"Bulk update these {count} accounts")
    page.locator(".bd-bulk-these button").click()
    expect(page.locator(".bd-count")).to_contain_text(f"This will touch {count}", timeout=WAIT)
