"""The Definitions page in Chromium: Show disabled, a definition's tabs and its step graph,
double-click for a step's settings, a user's read-only page, an admin's form with the error
under the field, suspend with a reason, YAML export and an import previewed first, and a
definition's own address."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from jobs.db import Database
from tests.batch_log_support import make_definition, unique

SHOTS = Path("/tmp/shots")
WAIT = 30_000


@pytest.fixture
def definitions(served):  # type: ignore[no-untyped-def]
    db = Database(served.database_url)
    tail = unique("")[1:]
    found = {
        "tail": tail,
        "enabled": f"Nightly billing {tail}",
        "disabled": f"Retired <i>export</i> {tail}",
    }
    found["enabled_id"] = make_definition(db, found["enabled"])
    found["disabled_id"] = make_definition(db, found["disabled"], enabled=False)
    db.dispose()
    return found


def open_page(page, tail: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Definitions").click()
    box = page.locator(".bd-definitions-filter input")
    box.fill(tail)
    box.press("Enter")
    # The filter has applied once every row shown is one of this test's: a click before
    # then lands on a row of the unfiltered list, which the filtered one replaces.
    expect(rows(page).filter(has_text=tail).first).to_be_visible(timeout=WAIT)
    expect(rows(page).filter(has_not_text=tail)).to_have_count(0, timeout=WAIT)


def rows(page):  # type: ignore[no-untyped-def]
    return page.locator(".bd-definitions .tabulator-row")


def test_show_disabled_and_a_users_read_only_definition_with_its_tabs(login, definitions):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = login("alice")
    open_page(page, definitions["tail"])
    expect(rows(page)).to_have_count(1, timeout=WAIT)
    expect(rows(page).first).to_contain_text(definitions["enabled"])

    page.locator(".bd-show-disabled input").check()
    expect(rows(page)).to_have_count(2, timeout=WAIT)
    expect(page.locator(".bd-definitions")).to_contain_text(definitions["disabled"])  # as text

    # Read-only: told why, the write controls disabled
    expect(page.locator(".bd-read-only")).to_contain_text("Read-only")
    expect(page.get_by_role("button", name="+ New definition")).to_be_disabled()
    rows(page).filter(has_text=definitions["enabled"]).click()
    expect(page.locator(".bd-definition-title")).to_contain_text(definitions["enabled"])
    for name in ("Edit", "Disable", "Suspend…", "Run now"):
        expect(page.get_by_role("button", name=name, exact=True)).to_be_disabled()
    assert f"definition={definitions['enabled_id']}" in page.url

    # Steps: the table, the picture, and a step's settings on double-click
    steps = page.locator(".bd-steps")
    expect(steps).to_contain_text("Alert")
    expect(page.locator(".bd-step-graph canvas").first).to_be_visible(timeout=WAIT)
    steps.locator(".tabulator-row").nth(1).locator("[tabulator-field='Name']").dblclick()
    expect(page.locator(".bd-step-settings")).to_contain_text(
        "Settings of step “Mail”", timeout=WAIT
    )
    expect(page.locator(".bd-step-settings")).to_contain_text("<b>done</b>")
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "definitions-user-steps.png"), full_page=True)

    page.locator(".bd-definition-tabs").get_by_text("Schedules", exact=True).click()
    expect(page.locator(".bd-schedules")).to_contain_text("Every day at 18:00")
    page.locator(".bd-definition-tabs").get_by_text("History", exact=True).click()
    expect(page.locator(".bd-changes")).to_contain_text("created")
    expect(page.locator(".bd-last-steps")).to_contain_text("never ran")
    page.screenshot(path=str(SHOTS / "definitions-user-history.png"), full_page=True)


def test_an_admin_creates_with_errors_under_the_fields_suspends_and_imports(
    login, definitions, tmp_path
):
    page = login("admin")
    open_page(page, definitions["tail"])
    expect(rows(page)).to_have_count(1, timeout=WAIT)

    # The form: an unnamed definition is refused, the message under Name
    page.get_by_role("button", name="+ New definition").click()
    form = page.locator(".bd-definition-form")
    expect(form).to_be_visible(timeout=WAIT)
    form.locator(".bd-form-schedule input").fill("every full moon")
    form.locator(".bd-form-schedule input").press("Tab")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".bd-error-name")).to_be_visible(timeout=WAIT)
    expect(page.locator(".bd-error-schedule")).to_be_visible()
    page.screenshot(path=str(SHOTS / "definitions-form-errors.png"), full_page=True)
    name = f"Weekly calls {definitions['tail']}"
    form.locator(".bd-form-name input").fill(name)
    form.locator(".bd-form-name input").press("Tab")
    expect(page.locator(".bd-error-name")).to_be_hidden(timeout=WAIT)
    form.locator(".bd-form-schedule input").fill("weekly")
    form.locator(".bd-form-schedule input").press("Tab")
    form.locator(".bd-form-schedule_options input").fill("weekday=mon, at=07:30")
    form.locator(".bd-form-schedule_options input").press("Tab")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".bd-definition-title")).to_contain_text(name, timeout=WAIT)
    expect(page.locator(".bd-definition-message")).to_contain_text("Saved")

    # Suspend needs a reason; with one it is said in the title
    page.get_by_role("button", name="Suspend…").click()
    expect(page.locator(".bd-definition-message")).to_contain_text("reason", timeout=WAIT)
    page.locator(".bd-suspend-reason input").fill("Month-end freeze")
    page.locator(".bd-suspend-reason input").press("Tab")
    page.get_by_role("button", name="Suspend…").click()
    expect(page.locator(".bd-definition-title")).to_contain_text("Month-end freeze", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "definitions-admin-suspended.png"), full_page=True)

    # Export, then import it back under another name: previewed first
    with page.expect_download() as download:
        page.get_by_role("button", name="Export YAML").click()
    text = Path(download.value.path()).read_text()
    assert f"name: {name}" in text
    copy = tmp_path / "copy.yaml"
    copy.write_text(text.replace(name, f"Copied calls {definitions['tail']}"))
    page.locator(".bd-importer").get_by_text("Import YAML").click()
    page.locator(".bd-import-file input[type=file]").set_input_files(str(copy))
    page.wait_for_timeout(500)
    page.get_by_role("button", name="Preview (dry run)").click()
    expect(page.locator(".bd-import-result")).to_contain_text("Would create", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "definitions-import-preview.png"), full_page=True)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".bd-import-result")).to_contain_text("Created", timeout=WAIT)
    expect(page.locator(".bd-definitions")).to_contain_text("Copied calls", timeout=WAIT)


def test_a_definitions_address_opens_it(login, served, definitions):
    page = login("bob")
    page.goto(f"{served.url}/app?page=definitions&definition={definitions['enabled_id']}")
    expect(page.locator(".bd-definition-title")).to_contain_text(
        definitions["enabled"], timeout=WAIT
    )
    page.goto(f"{served.url}/app?page=definitions&definition=987654")
    expect(page.locator(".bd-definition-missing")).to_be_visible(timeout=WAIT)


def test_both_screens_load_offline_without_console_errors(browser, served, definitions):
    from browser_tooling import log_in
    from lab_tooling import Offline

    context, record = Offline.context(browser, viewport={"width": 1500, "height": 1000})
    try:
        page = context.new_page()
        record.watch(page)
        log_in(page, served, "admin")
        open_page(page, definitions["tail"])
        rows(page).first.click()
        expect(page.locator(".bd-step-graph canvas").first).to_be_visible(timeout=WAIT)
        page.get_by_role("button", name="Batch audit log").click()
        expect(page.locator(".bd-batch-fields")).to_be_visible(timeout=WAIT)
        page.wait_for_timeout(1000)
        assert record.blocked == [], f"asked outside loopback: {record.blocked}"
        assert record.resource_errors() == [], record.console
        errors = [m for m in record.console if m.startswith(("error", "pageerror"))]
        assert errors == [], errors
    finally:
        context.close()


def test_run_now_shows_the_run_in_the_list_until_it_ends_without_refresh(login, definitions):
    # Given an admin on a definition that never ran
    page = login("admin")
    open_page(page, definitions["tail"])
    row = rows(page).filter(has_text=definitions["enabled"])
    expect(row).to_contain_text("never ran", timeout=WAIT)
    row.click()
    expect(page.locator(".bd-definition-title")).to_contain_text(
        definitions["enabled"], timeout=WAIT
    )
    # When they press Run now
    page.get_by_role("button", name="Run now", exact=True).click()
    expect(page.locator(".bd-definition-message")).to_contain_text("queued", timeout=WAIT)
    # Then the list's Last run follows the run to its end by itself (no Refresh pressed)
    last_run = row.locator("[tabulator-field='Last run']")
    expect(last_run).not_to_contain_text("never ran", timeout=WAIT)
    expect(last_run).to_contain_text(re.compile("Ok|Error|Warning|Partial"), timeout=60_000)
