"""What a person does in the served dashboard, in headless Chromium."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

WAIT = 60_000


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def submit(service, user: str, description: str, state: str = "TX") -> int:  # type: ignore[no-untyped-def]
    return service.submit_bulk_interaction(
        user,
        description=description,
        interaction_type="Note",
        outcome="Information only",
        account_filter={"state": state},
    ).id


def row(page: Page, description: str):  # type: ignore[no-untyped-def]
    return page.locator(".bd-jobs .tabulator-row", has_text=description)


def launch(page: Page, description: str, *, status: str = "Any", state: str = "") -> None:
    """Fill the launch form for Add Interaction, review its dry run and queue it; the shell
    then shows the Monitor."""
    page.get_by_role("button", name="Launch").click()
    form = page.locator(".bd-page")
    expect(form.get_by_text("Launch a bulk update")).to_be_visible()
    form.locator(".bd-account-status select").select_option(label=status)
    if state:
        form.locator(".bd-state input").fill(state)
        form.locator(".bd-state input").press("Enter")
    expect(page.locator(".bd-count")).to_contain_text("This will touch", timeout=WAIT)
    page.get_by_placeholder("Shown in the job list").fill(description)
    page.get_by_placeholder("Shown in the job list").press("Enter")
    page.get_by_role("button", name="Review (dry run)").click()
    expect(page.locator(".bd-preview")).to_contain_text("Would change", timeout=WAIT)
    page.get_by_role("button", name="Queue the bulk update").click()
    expect(row(page, description)).to_be_visible(timeout=WAIT)


def test_alice_sees_only_her_own_jobs(login, served_service):
    mine, theirs = unique("Alice's follow-up"), unique("Bob's follow-up")
    submit(served_service, "alice", mine)
    submit(served_service, "bob", theirs)

    page = login("alice")

    expect(page.locator(".bd-user")).to_have_text("Alice Analyst")
    expect(row(page, mine)).to_be_visible(timeout=WAIT)
    expect(row(page, theirs)).to_have_count(0)


def test_an_admin_sees_every_job_and_may_filter_by_owner(login, served_service):
    alices, bobs = unique("Admin sees alice"), unique("Admin sees bob")
    submit(served_service, "alice", alices)
    submit(served_service, "bob", bobs)

    page = login("admin")

    expect(row(page, alices)).to_be_visible(timeout=WAIT)
    expect(row(page, bobs)).to_contain_text("by Bob Builder")
    page.locator(".bd-owner select").select_option(label="Bob Builder")
    expect(row(page, alices)).to_have_count(0, timeout=WAIT)
    expect(row(page, bobs)).to_be_visible()


def test_carol_without_the_permission_gets_a_not_permitted_page(login):
    page = login("carol")
    # She lands on the first page open to her
    expect(page.locator(".bd-where")).to_contain_text("Definitions", timeout=WAIT)

    page.locator(".bd-nav").get_by_text("Monitor", exact=True).click()
    refusal = page.locator(".bd-not-permitted")
    expect(refusal).to_contain_text("Not permitted", timeout=WAIT)
    expect(refusal).to_contain_text("open Monitor")
    expect(refusal.get_by_role("link", name="Batch audit log")).to_be_visible()
    expect(page.locator(".bd-jobs")).to_have_count(0)


def test_a_launched_job_runs_to_its_end_and_stop_and_delete_ask_first(login):
    page = login("alice")
    big, small = unique("Open accounts courtesy note"), unique("California notes")

    # When alice launches a big job and, once it runs, a small one behind it
    launch(page, big, status="Open")
    expect(row(page, big)).to_contain_text("In progress", timeout=WAIT)
    launch(page, small, state="CA")

    # Then the small one waits Queued while the big one is In progress, its progress moving
    expect(row(page, small)).to_contain_text("Queued", timeout=WAIT)
    expect(row(page, big)).to_contain_text("In progress", timeout=WAIT)
    progress = row(page, big).locator(".tabulator-cell[tabulator-field=Progress]")
    expect(progress).not_to_have_text(re.compile(r"^\s*0 of"), timeout=WAIT)
    seen = progress.inner_text()
    expect(progress).not_to_have_text(seen, timeout=WAIT)

    # Stop names the job; Cancel has the focus; Escape and Cancel leave it In progress
    question = page.locator(".bd-question")
    row(page, big).get_by_text("Stop", exact=True).click()
    expect(question).to_contain_text("Stop job ", timeout=WAIT)
    expect(question).to_contain_text(f"— {big}?")
    expect(question).to_contain_text("accounts are done; the rest will not be processed")
    expect(page.locator(".bd-cancel button")).to_be_focused(timeout=WAIT)
    page.keyboard.press("Escape")
    expect(question).to_be_hidden(timeout=WAIT)
    expect(row(page, big)).to_contain_text("In progress")
    row(page, big).get_by_text("Stop", exact=True).click()
    page.get_by_role("button", name="Cancel").click()
    expect(question).to_be_hidden()
    expect(row(page, big)).to_contain_text("In progress")
    # Stop → OK stops it
    row(page, big).get_by_text("Stop", exact=True).click()
    page.get_by_role("button", name="OK").click()
    expect(row(page, big)).to_contain_text("Stopped", timeout=WAIT)
    expect(row(page, big).get_by_text("Stop", exact=True)).to_have_count(0)

    # And the small one starts and ends, and Delete → OK removes it
    expect(row(page, small)).to_contain_text("In progress", timeout=WAIT)
    expect(row(page, small)).to_contain_text("Completed", timeout=WAIT)
    row(page, small).get_by_text("Delete", exact=True).click()
    expect(question).to_contain_text("Delete job ")
    expect(question).to_contain_text(f"— {small}? It disappears from the lists")
    page.get_by_role("button", name="OK").click()
    expect(row(page, small)).to_have_count(0, timeout=WAIT)


def test_the_status_icon_opens_the_job_status_and_the_action_its_details(login, served_service):
    description = unique("Status view")
    submit(served_service, "dave", description)
    page = login("dave")

    row(page, description).locator(".bd-status").click()
    expect(page.get_by_text("Bulk Interaction Job Status")).to_be_visible()
    expect(page.get_by_role("dialog").get_by_role("button", name="Export CSV")).to_be_visible()
    page.locator(".pnx-dialog-close:visible").first.click()
    row(page, description).locator(".bd-action").click()
    expect(page.get_by_text("Bulk update job details")).to_be_visible()
    expect(page.get_by_text("Dave Supervisor").first).to_be_visible()


def test_a_description_with_script_shows_as_text_and_never_runs(login, served_service):
    description = unique("<script>window.__bulkdesk_xss = 1</script><b>bold</b>")
    submit(served_service, "alice", description)
    dialogs: list[str] = []

    page = login("alice")
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    expect(row(page, description)).to_be_visible(timeout=WAIT)
    expect(row(page, description).locator(".bd-description")).to_have_text(description)
    assert page.evaluate("() => window.__bulkdesk_xss") is None
    assert dialogs == []
