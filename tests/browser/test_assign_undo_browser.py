"""Assign from the launch page with the collector dialog, then Undo it from the job's status
view, each previewed first; a user without the permission is told no; in Chromium."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import expect

WAIT = 60_000
SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def row(page, description: str):  # type: ignore[no-untyped-def]
    return page.locator(".bd-jobs .tabulator-row", has_text=description)


def test_assign_with_the_collector_dialog_then_undo_it(login):
    SHOTS.mkdir(parents=True, exist_ok=True)
    description = f"Reassign pool {uuid.uuid4().hex[:6]}"
    page = login("admin")
    page.get_by_role("button", name="Launch").click()
    form = page.locator(".bd-page")
    form.locator(".bd-action").get_by_role("button", name="Assign To Collector").click()
    form.locator(".bd-group select").select_option(label="Big reassignment pool")
    # Search and add two collectors: one with a number, one for the rest
    search = form.locator(".bd-allocation-search input")
    search.press_sequentially("Mari", delay=50)
    page.screenshot(path=str(SHOTS / "assign-search.png"), full_page=True)
    page.get_by_text("Maria Gonzalez", exact=True).click()
    form.locator(".bd-allocation-count input").fill("3")
    form.locator(".bd-allocation-add button").click()
    expect(form.locator(".bd-allocation-list")).to_contain_text("Maria Gonzalez — 3 accounts")
    search.press_sequentially("Jam", delay=50)
    page.get_by_text("James Carter", exact=True).click()
    form.locator(".bd-allocation-add button").click()
    expect(form.locator(".bd-allocation-list")).to_contain_text(
        "James Carter — an even share of the rest"
    )
    page.get_by_placeholder("Shown in the job list").fill(description)
    page.get_by_role("button", name="Review (dry run)").click()
    expect(page.locator(".bd-preview")).to_contain_text("Would change", timeout=WAIT)
    page.screenshot(path=str(SHOTS / "assign-dialog.png"), full_page=True)
    page.get_by_role("button", name="Queue the bulk update").click()
    expect(row(page, description)).to_contain_text("Completed", timeout=WAIT)

    # The job's status view offers Undo; it previews, then queues
    row(page, description).locator(".bd-status").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Undo…").click()
    expect(dialog.locator(".bd-follow-preview")).to_contain_text("Undo this job: preview")
    expect(dialog.locator(".bd-follow-preview")).to_contain_text("Would change")
    page.screenshot(path=str(SHOTS / "undo-preview.png"), full_page=True)
    dialog.get_by_role("button", name="Queue it").click()
    expect(dialog.locator(".bd-follow-message")).to_contain_text("queued: Undo of job")
    expect(dialog.locator(".bd-links")).to_contain_text("Undone by job", timeout=WAIT)
    page.locator(".pnx-dialog-close:visible").first.click()
    expect(row(page, "Undo of job")).to_contain_text("Completed", timeout=WAIT)
