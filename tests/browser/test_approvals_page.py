"""The Approvals page and the launch form's Send for Approval, in headless Chromium.

A supervisor approves one communication and rejects another (a reason is required); the
submitter reads his own, without the buttons; a user without the send permission launches
an email with "Send for Approval".
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from jobs.status import JobStatus

WAIT = 60_000
#: Where the screenshots of these screens go (looked at by a person; not compared).
SHOTS = Path(os.environ.get("BULKDESK_SCREENSHOTS", "var/screenshots"))


def unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:6]}"


def send_for_approval(service, description: str) -> int:  # type: ignore[no-untyped-def]
    # Far enough ahead that the approved job waits (it must not send during the test)
    later = dt.date.today() + dt.timedelta(days=30)
    job = service.submit_to_accounts(
        "bob",
        "send_email",
        description=description,
        account_filter={"state": "NY"},
        template="Payment reminder",
        send_date=later.isoformat(),
    )
    assert job.status is JobStatus.AWAITING_APPROVAL
    return job.id


def open_approvals(page: Page) -> None:
    page.get_by_role("button", name="Approvals").click()
    expect(page.locator(".bd-page h2")).to_have_text("Approvals", timeout=WAIT)


def approval_row(page: Page, description: str):  # type: ignore[no-untyped-def]
    return page.locator(".bd-approvals .tabulator-row", has_text=description)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_a_supervisor_approves_one_communication_and_rejects_another(login, served_service):
    approve_me, reject_me = unique("New York reminders"), unique("New York <b>second</b> round")
    approved = send_for_approval(served_service, approve_me)
    rejected = send_for_approval(served_service, reject_me)

    page = login("dave")
    open_approvals(page)

    # He reads the first one: its message, and who it would reach
    approval_row(page, approve_me).click()
    detail = page.locator(".bd-approval-detail")
    expect(detail).to_contain_text(f"Job {approved}: {approve_me}", timeout=WAIT)
    expect(detail).to_contain_text("Subject: Your account {file_number} with {client}")
    expect(detail).to_contain_text("Would send")
    expect(page.locator(".bd-approval-sample")).to_contain_text("@")
    shot(page, "approvals.png")

    page.get_by_role("button", name="Approve").click()
    expect(page.locator(".bd-approval-done")).to_contain_text(
        f"Job {approved} approved and queued", timeout=WAIT
    )
    expect(approval_row(page, approve_me)).to_have_count(0)
    assert served_service.job("bob", approved).summary.status is JobStatus.QUEUED

    # The second: Reject without a reason is refused where he acted, and nothing changes
    approval_row(page, "second</b> round").click()
    expect(detail).to_contain_text(f"Job {rejected}", timeout=WAIT)
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".bd-error-reason")).to_contain_text("Give a reason", timeout=WAIT)
    assert served_service.job("bob", rejected).summary.status is JobStatus.AWAITING_APPROVAL

    page.get_by_placeholder("Why it is rejected").fill("Wrong state <script>x</script>")
    page.get_by_placeholder("Why it is rejected").press("Enter")
    page.get_by_role("button", name="Reject").click()
    expect(page.locator(".bd-approval-done")).to_contain_text(
        f"Job {rejected} rejected; nothing is sent and Bob Builder is told", timeout=WAIT
    )
    expect(approval_row(page, "second</b> round")).to_have_count(0)
    detail_of = served_service.job("bob", rejected)
    assert detail_of.summary.status is JobStatus.STOPPED
    assert detail_of.error == "Rejected by Dave Supervisor: Wrong state <script>x</script>"


def test_the_submitter_reads_his_own_waiting_communication_and_withdraws_it(login, served_service):
    mine = unique("Bob's New York reminders")
    send_for_approval(served_service, mine)

    page = login("bob")
    open_approvals(page)
    expect(page.locator(".bd-page")).to_contain_text("Only an admin or a supervisor can approve")
    approval_row(page, mine).click()
    detail = page.locator(".bd-approval-detail")
    expect(detail).to_contain_text(mine, timeout=WAIT)
    expect(detail.locator(".bd-read-only")).to_contain_text("Only an admin or a supervisor")
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_have_count(0)
    shot(page, "approvals-submitter.png")

    # He withdraws it: it leaves the list and is Stopped, nothing sent
    page.get_by_role("button", name="Withdraw").click()
    expect(page.locator(".bd-approval-done")).to_contain_text("withdrawn", timeout=WAIT)
    expect(approval_row(page, mine)).to_have_count(0, timeout=WAIT)
    job = next(j for j in served_service.list_jobs("bob").rows if j.description == mine)
    assert job.status is JobStatus.STOPPED


def test_a_user_without_the_send_permission_launches_with_send_for_approval(login):
    description = unique("New York reminder emails")
    page = login("bob")
    page.get_by_role("button", name="Launch").click()
    form = page.locator(".bd-page")
    form.get_by_role("button", name="Schedule Emails").click()
    expect(page.get_by_role("button", name="Send for Approval")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Queue the bulk update")).to_have_count(0)
    form.locator(".bd-state input").fill("TX")
    form.locator(".bd-state input").press("Enter")
    expect(page.locator(".bd-count")).to_contain_text("This will touch", timeout=WAIT)
    page.get_by_placeholder("Shown in the job list").fill(description)
    page.get_by_placeholder("Shown in the job list").press("Enter")
    page.get_by_role("button", name="Review (dry run)").click()
    preview = page.locator(".bd-preview")
    expect(preview).to_contain_text("Would change", timeout=WAIT)
    expect(preview).to_contain_text("No valid email address")
    expect(preview).to_contain_text('"Send for Approval" runs it')
    shot(page, "launch-send-for-approval.png")

    page.get_by_role("button", name="Send for Approval").click()
    expect(page.locator(".bd-page h2", has_text="Bulk update monitoring")).to_be_visible(
        timeout=WAIT
    )
    # The Monitor lists it Awaiting approval (read from a fresh page of the list)
    page.goto(page.url.split("?")[0] + "?page=monitor")
    expect(page.locator(".bd-jobs .tabulator-row", has_text=description)).to_contain_text(
        "Awaiting approval", timeout=WAIT
    )
