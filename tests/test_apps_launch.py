"""The launch form, the account search and the shell as Panel objects in Python."""

from __future__ import annotations

import pytest

from apps.accounts import AccountSearch
from apps.launch import LaunchForm
from apps.monitor import Monitor
from apps.shell import Shell
from jobs.db import Database
from jobs.service import JobService
from jobs.sources.accounts import AccountFilter


@pytest.fixture
def service(sqlite_db: Database) -> JobService:
    return JobService(sqlite_db)


def test_the_count_of_accounts_follows_the_selection(service):
    form = LaunchForm(service=service, user="alice")
    # No group and no filter: the form asks for one instead of offering every account
    assert form.state.target_count is None
    assert "Choose a group, accounts or at least one account filter" in form.count.object

    form.state.criteria.state = "tx"

    texas = service.count_targets("alice", form.state.criteria.selection())
    assert 0 < form.state.target_count == texas
    assert f"{texas:,}</b> accounts" in form.count.object
    # A group narrows the filter: the count is that of both together
    form.state.criteria.group = "Dispute review"
    both = service.count_targets(
        "alice", service.account_selection(group="Dispute review", account_filter={"state": "TX"})
    )
    assert both < texas and form.state.target_count == both
    assert f"{both:,}</b> account" in form.count.object


def test_a_bad_filter_shows_its_message_instead_of_a_count(service):
    form = LaunchForm(service=service, user="alice")

    form.state.criteria.param.update(min_balance=500, max_balance=100)

    assert form.state.target_count is None
    assert "minimum balance is above the maximum" in form.count.object


def test_an_invalid_form_shows_the_services_message_and_queues_nothing(service):
    form = LaunchForm(service=service, user="alice")
    form.state.criteria.state = "TX"

    assert form.submit() is None  # no description

    # The message shows under the description, where the person must act
    pane = form.field_errors["description"]
    assert pane.visible and "Give the job a description" in pane.object
    assert not form.error.visible
    assert set(form.state.errors) == {"description"}
    assert service.list_jobs("alice").total == 0
    # And it clears once the description is typed
    form.state.description = "Now described"
    assert not pane.visible


def test_a_selection_matching_nothing_is_refused(service):
    form = LaunchForm(service=service, user="alice")
    form.state.param.update(description="Nobody")
    form.state.criteria.text = "no debtor is called this"

    assert form.submit() is None

    assert "matches no accounts" in form.error.object


def test_submitting_queues_the_job_and_the_monitor_shows_it_at_once(service):
    submitted = []
    form = LaunchForm(service=service, user="bob", on_submitted=submitted.append)
    monitor = Monitor(service=service, user="bob", live=False)
    form.state.criteria.group = "Dispute review"
    form.state.description = "Dispute <b>notes</b>"
    form.state.values = {
        **form.state.values,
        "interaction_type": "Call",
        "outcome": "Left message",
        "note": "Called, left a message",
    }

    job = form.submit()

    assert job is not None and submitted == [job]
    assert not form.error.visible
    monitor.show_job(job.id)
    assert list(monitor.table.value["Job"]) == [job.id]
    assert monitor.table.selection == [0]
    detail = service.job("bob", job.id)
    assert detail.parameters["interaction_type"] == "Call"
    assert "Dispute review" in detail.selection_text


def test_the_account_search_hands_its_filter_to_the_launch_form(service):
    chosen = []
    search = AccountSearch(service=service, user="alice", on_bulk_update=chosen.append)
    search.criteria.param.update(state="CA", account_status="Open")
    search.search(1)
    total = service.search_accounts("alice", AccountFilter(state="CA", status="Open")).total
    assert f"<b>{total:,}</b> accounts match" in search.info.object
    assert len(search.table.value) == 25

    search.bulk_update()
    form = LaunchForm(service=service, user="alice", criteria=chosen[0])

    assert form.state.criteria.account_filter() == AccountFilter(state="CA", status="Open")
    assert form.state.target_count == total


def test_the_shell_shows_the_monitor_and_a_not_permitted_page_to_carol(service):
    alice = Shell(service, "alice")
    carol = Shell(service, "carol")
    stranger = Shell(service, "mallory")

    assert isinstance(alice.built["Monitor"], Monitor)
    assert "Monitor" in alice.nav.options
    # carol starts on the first page open to her, not on "Not permitted"
    assert carol.nav.value == "Definitions" and "Definitions" in carol.built
    assert "no Bulkdesk user called mallory" in stranger.content[0][0].object
    carol.go("Launch")
    refusal = carol.content[0][0].object
    assert "Not permitted" in refusal and "open <b>Launch</b>" in refusal
    assert 'href="?page=batch-log">Batch audit log</a>' in refusal
    assert "?page=monitor" not in refusal


def test_the_shell_goes_to_the_monitor_after_a_launch(service):
    shell = Shell(service, "alice")
    shell.go("Launch")
    form = shell.built["Launch"]
    form.state.criteria.state = "TX"
    form.state.description = "From the shell"

    job = form.submit()

    assert shell.nav.value == "Monitor"
    monitor = shell.built["Monitor"]
    assert monitor.state.selected_id == job.id
    assert job.id in set(monitor.table.value["Job"])


def test_the_form_is_the_chosen_actions_own_and_shows_a_dry_run_before_queueing(service):
    form = LaunchForm(service=service, user="alice")
    assert form.state.action == "Add Interaction"
    # When the person picks Change Status
    form.state.action = "Change Status"
    # Then its one field is offered, with the active statuses only
    (status_widget,) = [w for w in form.fields if hasattr(w, "options")]
    assert status_widget.label == "New status"
    assert "On hold" in status_widget.options and "Legal review" not in status_widget.options
    form.state.criteria.group = "Dispute review"
    form.state.description = "Disputes on hold"
    status_widget.value = "On hold"
    assert form.queue_button.disabled  # nothing to queue before the review

    # When they review it
    preview = form.review()

    # Then the dry run shows, and the job can be queued; nothing was written yet
    assert preview is not None and preview.touch > 0
    assert form.preview.visible and form.state.preview is preview
    assert f"Would change {preview.touch:,} of {preview.total:,}" in form.preview[0].object
    assert not form.queue_button.disabled
    assert service.list_jobs("alice").total == 0
    # And changing an input asks for a new review
    form.state.criteria.state = "TX"
    assert form.queue_button.disabled and not form.preview.visible

    form.review()
    job = form.submit()
    assert job is not None and job.action == "change_status"
    assert service.job("alice", job.id).parameters == {"to": "On hold"}


def test_a_refused_field_shows_its_message_under_that_field(service):
    form = LaunchForm(service=service, user="alice")
    form.state.criteria.group = "Dispute review"
    form.state.description = "Long note"
    form.state.set_value("note", "x" * 2001)

    assert form.review() is None

    note_error = form.field_errors["note"]
    assert note_error.visible and "the limit is 2,000" in note_error.object
    assert not form.field_errors["description"].visible
    form.state.set_value("note", "short")
    assert not note_error.visible


def test_a_link_opens_the_page_or_the_job_it_names(service):
    from apps.job_view import JobStatusView
    from apps.profile import ProfilePage

    mine = service.submit_bulk_interaction(
        "alice",
        description="Linked",
        group="Dispute review",
        interaction_type="Call",
        outcome="No answer",
    )
    theirs = service.submit_bulk_interaction(
        "bob",
        description="Not alice's",
        group="Dispute review",
        interaction_type="Call",
        outcome="No answer",
    )
    shell = Shell(service, "alice")
    shell.open_link("monitor", str(mine.id))  # the completion email's ?page=monitor&job=N
    monitor = shell.built["Monitor"]
    assert isinstance(monitor.view, JobStatusView) and monitor.view.job_id == mine.id
    assert monitor.job_modal.open

    other = Shell(service, "alice")
    other.open_link("monitor", str(theirs.id))
    assert other.built["Monitor"].view is None
    assert "was not found" in other.built["Monitor"].state.message

    shell.open_link("PROFILE", None)
    assert shell.nav.value == "Profile" and isinstance(shell.built["Profile"], ProfilePage)
    # A title of several words is hyphenated in the address, and read back either way
    shell.go("All System Tasks")
    assert shell.address.search() == "?page=all-system-tasks"
    shell.go("Profile")
    shell.open_link("all-system-tasks", None)
    assert shell.nav.value == "All System Tasks"
    shell.go("Profile")
    shell.open_link("All System Tasks", None)
    assert shell.nav.value == "All System Tasks"
    # A page with an address of its own is found by its hyphenated title too
    shell.open_link("batch-audit-log", None)
    assert shell.nav.value == "Batch audit log" and not shell.notice.visible
    # A link to no page says so where the person lands, until they go elsewhere
    shell.open_link("reports", None)
    assert shell.nav.value == "Batch audit log" and shell.notice.visible
    assert "no page called “reports”" in shell.notice.object
    assert "“Monitor”" in shell.notice.object
    shell.go("Monitor")
    assert not shell.notice.visible
    # What the link says is shown as text: no markup of its own, HTML or Markdown
    shell.open_link("[Sign in again](https://elsewhere.example) <b>now</b>", None)
    assert "&lt;b&gt;now&lt;/b&gt;" in shell.notice.object
    notice = shell.notice.get_root()
    assert "<a" not in notice.text and "href" not in notice.text
    # carol, without the bulk permission, still has her profile
    carol = Shell(service, "carol")
    carol.open_link("profile", None)
    assert isinstance(carol.built["Profile"], ProfilePage)
    assert "Not permitted" not in str(carol.content[0])


def test_text_fields_count_their_characters_against_the_limit(service):
    form = LaunchForm(service=service, user="alice")
    counters = [o for o in form.parameters.objects if "bd-counter" in o.css_classes]
    (description_count,) = counters
    assert "0 / 200" in description_count.object
    form.state.description = "x" * 200
    assert "200 / 200 — the limit" in description_count.object
    note_count = next(o for o in form.fields if "bd-counter" in getattr(o, "css_classes", []))
    note = next(w for w in form.fields if getattr(w, "label", "") == "Note")
    assert note.max_length == 2000  # the browser refuses more than the limit
    note.value = "hello"
    assert "5 / 2,000" in note_count.object


def test_the_header_says_where_you_are_and_a_half_filled_form_survives_a_page_switch(service):
    shell = Shell(service, "alice")
    assert "Monitor" in shell.where.object
    shell.go("Launch")
    assert "Launch" in shell.where.object
    form = shell.built["Launch"]
    form.state.description = "Half filled"
    form.state.action = "Change Status"
    shell.go("Accounts")
    shell.go("Launch")
    assert shell.built["Launch"] is form
    assert (form.state.description, form.state.action) == ("Half filled", "Change Status")


def test_no_page_or_dialog_uses_a_panel_spelling_that_panel_has_deprecated(service):
    """Panel 1.x warns (PendingDeprecationWarning) for ``name=`` on widgets and for
    ``button_type``/``button_style``; the project's own code uses ``label``, ``color`` and
    ``variant``. Every page is built as admin, and every toolbar dialog of the grid opened."""
    import warnings
    from pathlib import Path

    from apps.account_grid import AccountGrid
    from apps.account_grid_export import ExportList

    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        shell = Shell(service, "admin")
        for title in shell.pages:
            shell.go(title)
        grid = shell.built["Accounts"]
        assert isinstance(grid, AccountGrid)
        grid.state.select_all()
        for name in grid.actions:
            grid.open_action(name)
        # A job's status view, and a definition's tabs
        job = service.submit_bulk_interaction(
            "admin",
            description="Warned?",
            group="Dispute review",
            interaction_type="Note",
            outcome="Information only",
        )
        shell.open_link("monitor", str(job.id))
        shell.open_link("definitions", None, definition="1")
        # A finished export's download button (built only for an export that succeeded)
        ExportList(service, "admin")._download(service.job("admin", job.id).summary)
    ours = [
        f"{Path(w.filename).relative_to(root)}:{w.lineno}: {w.message}"
        for w in caught
        if issubclass(w.category, PendingDeprecationWarning | DeprecationWarning)
        and Path(w.filename).resolve().is_relative_to(root / "apps")
    ]
    assert ours == []
