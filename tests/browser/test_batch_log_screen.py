"""The Batch audit log in Chromium: today's runs with seed 002's icons, the 7-day rule said at
the end date, Add bringing the status and process-name fields, and a run's detail opened
from its process name in a new browser tab at its own address."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.db import Database
from jobs.status import JobStatus
from tests.batch_log_support import add_run, make_definition, unique

SHOTS = Path("/tmp/shots")
WAIT = 30_000


@pytest.fixture
def runs(served):  # type: ignore[no-untyped-def]
    """A definition with five runs due in the last hour (Ok, Error, Warning, Suspended,
    Partial), the Error one with two steps."""
    db = Database(served.database_url)
    name = unique("Nightly <b>billing</b>")
    definition = make_definition(db, name)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.astimezone().hour == 0:  # keep "today" one day in the server's zone
        now += dt.timedelta(hours=1)
    ids = {}
    for i, status in enumerate(
        [
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.SKIPPED,
            JobStatus.SUSPENDED,
            JobStatus.COMPLETED_WITH_EXCEPTIONS,
        ]
    ):
        steps = (
            [
                {"step_name": "Report", "kind": "report", "outcome": "ok",
                 "message": "1,204 rows", "output": "var/runs/billing.csv",
                 "ended_at": now},
                {"step_name": "Mail", "kind": "email", "outcome": "failed",
                 "message": "<script>alert(1)</script> refused by the mail server",
                 "ended_at": now},
            ]
            if status == JobStatus.FAILED
            else []
        )  # fmt: skip
        ids[status] = add_run(
            db, definition, now - dt.timedelta(minutes=i + 1), status, steps=steps
        )
    db.dispose()
    return name, ids


def open_log(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Batch audit log").click()
    expect(page.locator(".bd-batch-log")).to_be_visible(timeout=WAIT)


def row(page, job_id: int):  # type: ignore[no-untyped-def]
    return page.locator(".bd-batch-log .tabulator-row").filter(
        has=page.locator(
            ".tabulator-cell[tabulator-field='Run']", has_text=re.compile(f"^{job_id}$")
        )
    )


def set_date(page, css: str, value: dt.date) -> None:  # type: ignore[no-untyped-def]
    field = page.locator(f"{css} input.flatpickr-input").first
    field.evaluate("(el, d) => el._flatpickr.setDate(d, true)", value.isoformat())


def test_todays_runs_show_seed_002_icons_and_more_than_seven_days_are_refused_at_the_end_date(
    login, runs
):
    SHOTS.mkdir(parents=True, exist_ok=True)
    name, ids = runs
    page = login("carol")  # a user without any permission reads the log all the same
    open_log(page)

    # Today is searched by default: the runs with their icons (Suspended has none)
    ok = row(page, ids[JobStatus.COMPLETED])
    expect(ok).to_contain_text("Ok", timeout=WAIT)
    expect(ok.locator(".bd-batch-icon")).to_have_text("✔")
    expect(row(page, ids[JobStatus.FAILED]).locator(".bd-batch-icon")).to_have_text("✖")
    expect(row(page, ids[JobStatus.SKIPPED])).to_contain_text("Warning")
    suspended = row(page, ids[JobStatus.SUSPENDED])
    expect(suspended).to_contain_text("Suspended")
    expect(suspended.locator(".bd-batch-icon")).to_have_count(0)
    # The name is shown as text, not as HTML
    expect(ok.locator(".bd-run-link")).to_have_text(name)
    expect(page.locator(".bd-batch-summary")).to_contain_text("1 Ok")
    page.screenshot(path=str(SHOTS / "batch-log-today.png"), full_page=True)

    # Eight days: refused under the end date, and the list stays as it was
    today = dt.datetime.now().astimezone().date()
    set_date(page, ".bd-until", today + dt.timedelta(days=7))
    page.get_by_role("button", name="Search").click()
    error = page.locator(".bd-error-until")
    expect(error).to_contain_text("at most 7 days", timeout=WAIT)
    expect(error).to_contain_text("8 days")
    expect(ok).to_be_visible()
    page.screenshot(path=str(SHOTS / "batch-log-eight-days.png"), full_page=True)

    # Seven days are fine, and the message goes as soon as the date changes
    set_date(page, ".bd-until", today + dt.timedelta(days=6))
    expect(error).to_be_hidden(timeout=WAIT)
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".bd-batch-summary")).to_contain_text(" to ", timeout=WAIT)
    expect(ok).to_be_visible()


def test_add_brings_status_and_process_name_fields_that_narrow_the_search(login, runs):
    name, ids = runs
    page = login("alice")
    open_log(page)
    expect(row(page, ids[JobStatus.COMPLETED])).to_be_visible(timeout=WAIT)

    page.get_by_role("button", name="+ Add").click()
    status = page.locator(".bd-status-field")
    expect(status).to_be_visible(timeout=WAIT)
    status.locator("input").first.click()
    page.get_by_role("option", name="Error", exact=True).click()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="+ Add").click()
    process = page.locator(".bd-process-field input")
    expect(process).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="+ Add")).to_be_disabled()
    process.fill(name.split()[-1])  # the unique tail
    process.press("Enter")

    expect(page.locator(".bd-batch-summary")).to_contain_text("status Error", timeout=WAIT)
    expect(page.locator(".bd-batch-log .tabulator-row")).to_have_count(1)
    expect(row(page, ids[JobStatus.FAILED])).to_be_visible()
    page.screenshot(path=str(SHOTS / "batch-log-filtered.png"), full_page=True)

    # A name nothing has: the list says so in words
    process.fill("no such process at all")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".bd-empty").first).to_contain_text("No runs were due", timeout=WAIT)


def test_a_process_name_opens_the_runs_detail_in_a_new_tab_at_its_own_address(login, runs):
    name, ids = runs
    page = login("bob")
    open_log(page)
    link = row(page, ids[JobStatus.FAILED]).locator(".bd-run-link")
    expect(link).to_have_attribute("target", "_blank", timeout=WAIT)

    with page.context.expect_page() as opened:
        link.click()
    detail = opened.value
    detail.wait_for_load_state()
    assert f"page=batch-log&run={ids[JobStatus.FAILED]}" in detail.url
    view = detail.locator(".bd-run-view")
    expect(view).to_contain_text(f"Run {ids[JobStatus.FAILED]}", timeout=WAIT)
    expect(view.locator(".bd-run-facts")).to_contain_text("Scheduled")
    expect(view.locator(".bd-run-facts")).to_contain_text("On time")
    expect(view.locator(".bd-run-facts")).to_contain_text("Error")
    steps = view.locator(".bd-run-steps")
    expect(steps).to_contain_text("Report")
    expect(steps).to_contain_text("var/runs/billing.csv")
    expect(steps).to_contain_text("<script>alert(1)</script> refused")
    detail.wait_for_timeout(500)
    detail.screenshot(path=str(SHOTS / "batch-log-run-detail.png"), full_page=True)
    # The first tab still shows the search
    expect(page.locator(".bd-batch-log")).to_be_visible()


def test_a_run_in_the_monitor_shows_its_step_history(login, runs):
    _, ids = runs
    page = login("admin")
    job = page.locator(".bd-jobs .tabulator-row").filter(
        has=page.locator(
            ".tabulator-cell[tabulator-field='Job']",
            has_text=re.compile(f"^{ids[JobStatus.FAILED]}$"),
        )
    )
    job.locator(".bd-status").click()
    section = page.get_by_role("dialog").locator(".bd-run-section")
    expect(section).to_contain_text("Definition run: step history", timeout=WAIT)
    expect(section.locator(".bd-run-steps")).to_contain_text("Mail")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "monitor-run-steps.png"), full_page=True)
