"""All System Tasks in a real browser: upload a file, watch its progress, filter its messages
by status (only the statuses it produced are offered), export them; a wrong heading says
"File import has failed"; a saved view shows its extra columns."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser_tooling import ServedApp, log_in, serve_app
from playwright.sync_api import expect

SHOTS = Path(os.environ.get("BULKDESK_SHOTS", "")) if os.environ.get("BULKDESK_SHOTS") else None


@pytest.fixture(scope="module")
def served_tasks(sqlite_template: Path, browser: object) -> Iterator[ServedApp]:
    """The dashboard with the upload route; chunks of 25 rows, 0.3 s each, so a 1,000-row
    import runs for several seconds and its progress can be watched."""
    with serve_app(
        sqlite_template,
        chunk_pause=0.3,
        chunk_size=25,
        threads=2,
        extra_args=["--plugins", "apps.task_upload"],
    ) as app:
        yield app


@pytest.fixture
def tasks_page(browser, served_tasks):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    context.set_default_timeout(30_000)
    page = context.new_page()
    log_in(page, served_tasks, "alice")
    page.get_by_role("button", name="All System Tasks").click()
    expect(page.locator(".bd-importer")).to_be_visible()
    yield page
    context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    if SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _payments_file(tmp_path: Path, rows: int) -> Path:
    lines = ["Account ID,Amount,Paid On,Status"]
    for n in range(1, rows + 1):
        if n % 100 == 7:
            lines.append(f"{n},lots,2026-11-02,posted")  # Invalid
        elif n % 250 == 11:
            lines.append(f"{900000 + n},5,2026-11-02,posted")  # No match
        else:
            lines.append(f"{n},{n % 90 + 10}.25,2026-11-02,posted")
    path = tmp_path / "november-payments.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _upload(page, path: Path, kind: str = "Payments") -> None:  # type: ignore[no-untyped-def]
    page.locator(".bd-importer select").first.select_option(label=kind)
    # The server answers the choice (help text, the uploader's type) before the upload.
    expect(page.locator(".bd-import-help")).to_contain_text(f"{kind}: ")
    page.wait_for_timeout(500)
    page.locator("input.bd-upload-file").set_input_files(str(path))
    page.locator("button.bd-upload-button").click()


def test_upload_watch_filter_and_export_the_messages(tasks_page, tmp_path):
    page = tasks_page
    _upload(page, _payments_file(tmp_path, 1000))
    progress = page.locator(".bd-task-progress")
    expect(progress).to_contain_text("In progress", timeout=60_000)
    expect(page.locator(".bd-tasks")).to_contain_text("november-payments.csv")
    _shot(page, "tasks-in-progress")
    expect(progress).to_contain_text("Completed with exceptions", timeout=120_000)
    expect(progress).to_contain_text("1,000 of 1,000 rows")

    page.locator(".bk-tab", has_text="Task Messages").click()
    status = page.locator(".bd-status-filter select")
    expect(status).to_be_visible()
    offered = status.locator("option").all_inner_texts()
    assert offered == ["All", "Imported", "Invalid", "No match"]
    status.select_option("Invalid")
    messages = page.locator(".bd-task-messages")
    expect(messages).to_contain_text("Amount 'lots' is not an amount")
    expect(messages).not_to_contain_text("Imported")
    _shot(page, "tasks-messages-invalid")

    with page.expect_download() as download:
        page.locator(".bd-export-messages button").click()
    text = Path(download.value.path()).read_text()
    lines = text.splitlines()
    assert lines[0] == (
        "Account ID,Amount,Paid On,Status,Import Row,Import Status,Import Message,Import Account"
    )
    assert len(lines) == 1 + 10
    assert all(",Invalid,Amount 'lots'" in line for line in lines[1:])

    page.locator(".bk-tab", has_text="Task Data").click()
    data = page.locator(".bd-task-data")
    expect(data).to_contain_text("november-payments.csv")
    expect(data).to_contain_text("Account ID")
    _shot(page, "tasks-data")


def test_a_wrong_heading_shows_file_import_has_failed_at_the_top(tasks_page, tmp_path):
    page = tasks_page
    bad = tmp_path / "wrong.csv"
    bad.write_text("Acount ID,Amount,Paid On\n1,5,2026-11-02\n")
    _upload(page, bad)
    banner = page.locator(".bd-task-failed")
    expect(banner).to_contain_text("File import has failed", timeout=60_000)
    expect(banner).to_contain_text("'Acount ID' (column 1)")
    expect(page.locator(".bd-task-progress")).to_contain_text("Failed")
    _shot(page, "tasks-failed")


def test_a_refused_upload_says_why_where_the_person_acted(tasks_page, tmp_path):
    page = tasks_page
    empty = tmp_path / "empty.csv"
    empty.write_text("Account ID,Amount,Paid On\n")
    _upload(page, empty)
    expect(page.locator(".bd-upload-message")).to_contain_text("has no rows below its headings")


def test_a_saved_view_adds_its_columns_to_the_list(tasks_page, tmp_path):
    page = tasks_page
    _upload(page, _payments_file(tmp_path, 20))
    expect(page.locator(".bd-task-progress")).to_contain_text("Completed", timeout=60_000)
    page.get_by_text("View Manager").click()
    page.locator(".bd-importer").evaluate("e => e.scrollIntoView()")
    page.get_by_placeholder("View name").fill("With owner")
    # Type into the chooser's own search box (typing right after a click on the chooser could
    # land its first keys in the view name field).
    search = page.locator(".choices").first.locator("input.choices__input--cloned")
    search.click()
    expect(search).to_be_focused()
    search.press_sequentially("Submitted by")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.locator(".bd-save-view button").click()
    expect(page.locator(".bd-view-message")).to_contain_text("View 'With owner' saved")
    expect(
        page.locator(".bd-tasks .tabulator-col-title", has_text=re.compile("^Submitted by"))
    ).to_be_visible()
    _shot(page, "tasks-view")
