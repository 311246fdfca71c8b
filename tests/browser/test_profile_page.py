"""The Profile page in Chromium, as a user without any permission: the one-of choice drawn as
round radio buttons, a bad email address refused under its field (and the message gone once
the address is edited), the hint following the choice, and what was saved still there after
a reload."""

from __future__ import annotations

from playwright.sync_api import expect

WAIT = 30_000


def test_a_user_without_permissions_edits_their_profile_and_it_stays_saved(login, served_service):
    before = served_service.profile("carol")
    page = login("carol")
    try:
        page.get_by_role("button", name="Profile").click()
        choices = page.locator(".bd-profile-notify input[type=radio]")
        expect(choices).to_have_count(3, timeout=WAIT)
        # A one-of choice looks like one: round, not the checkboxes' square
        radius = choices.first.evaluate("e => getComputedStyle(e).borderTopLeftRadius")
        assert radius == "50%", f"radio buttons are drawn with a {radius} corner"

        email = page.locator(".bd-profile-email input")
        email.fill("carol at example")
        email.press("Enter")
        # A choice other than the one stored (and other than the default)
        assert before.notify != "failures"
        page.get_by_text(
            "Only jobs that failed, were stopped or ended with exceptions", exact=True
        ).click()
        save = page.get_by_role("button", name="Save")
        expect(save).to_be_enabled(timeout=WAIT)
        save.click()
        error = page.locator(".bd-email-error")
        expect(error).to_contain_text("email", timeout=WAIT)
        # Editing the address takes the refusal away
        email.fill("carol@bulkdesk.example")
        email.press("Enter")
        expect(error).to_have_text("", timeout=WAIT)
        expect(page.locator(".bd-hint")).to_contain_text(
            "An email goes to carol@bulkdesk.example when one of your jobs fails", timeout=WAIT
        )
        save.click()
        expect(page.locator(".bd-profile-saved")).to_contain_text("Saved", timeout=WAIT)

        page.reload()
        page.wait_for_selector(".bd-user", timeout=60_000)
        page.get_by_role("button", name="Profile").click()
        expect(page.locator(".bd-profile-email input")).to_have_value(
            "carol@bulkdesk.example", timeout=WAIT
        )
        radios = page.locator(".bd-profile-notify input[type=radio]")
        expect(radios.nth(1)).to_be_checked()
        expect(radios.first).not_to_be_checked()
        stored = served_service.profile("carol")
        assert (stored.email, stored.notify) == ("carol@bulkdesk.example", "failures")
    finally:
        served_service.set_profile("carol", notify=before.notify, email=before.email or "")
