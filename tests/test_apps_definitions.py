"""The Definitions page and the Batch audit log as Panel objects in Python: the filtered list
and Show disabled, a definition's tabs, double-click settings, admin actions and the
read-only user, the form's errors by field, the 7-day rule at the field, Add, run details,
a definition run's steps in the Monitor, and the shell's addresses."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.batch_log import BatchLogPage
from apps.batch_log_state import BatchLogState, batch_status, today
from apps.definitions import DefinitionsPage
from apps.definitions_state import DefinitionForm, DefinitionListState, parse_options
from apps.run_view import RunSteps, RunView
from apps.shell import Shell
from jobs.db import Database
from jobs.service import JobService
from jobs.status import JobStatus
from tests.batch_log_support import add_run, make_definition


@pytest.fixture
def service(sqlite_db: Database) -> JobService:
    return JobService(sqlite_db)


@pytest.fixture
def defs(sqlite_db: Database) -> dict[str, int]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    billing = make_definition(sqlite_db, "Nightly billing")
    old = make_definition(sqlite_db, "Old <script>export</script>", enabled=False)
    run = add_run(
        sqlite_db,
        billing,
        now - dt.timedelta(minutes=5),
        JobStatus.FAILED,
        steps=[
            {"step_name": "Report", "kind": "report", "outcome": "ok", "output": "a.csv"},
            {"step_name": "Mail", "kind": "email", "outcome": "failed", "message": "refused"},
        ],
    )
    return {"billing": billing, "old": old, "run": run}


def names(state: DefinitionListState) -> list[str]:
    return [r.name for r in state.rows]


def test_the_list_hides_disabled_definitions_until_show_disabled_and_filters_by_text(service, defs):
    state = DefinitionListState(service, "alice")
    assert names(state) == ["Nightly billing"]

    state.show_disabled = True
    assert names(state) == ["Nightly billing", "Old <script>export</script>"]

    state.text = "nothing like this"
    assert state.rows == [] and "No definitions match" in state.EMPTY

    state.text = "billing"
    assert names(state) == ["Nightly billing"]


def test_a_user_reads_a_definition_with_every_write_control_disabled_and_saying_why(service, defs):
    page = DefinitionsPage(service, "carol")
    assert page.open_definition(defs["billing"])

    assert not page.can_define and page.refusal
    assert page.new_button.disabled and page.new_button.description == page.refusal
    assert page.open is not None
    assert page.open.detail.name == "Nightly billing"
    # The service refuses anyway, and the page says so
    assert not page.open.act("disable")
    assert page.open.failed and page.open.message


def test_two_clicks_on_a_step_row_show_its_settings(service, defs):
    page = DefinitionsPage(service, "alice")
    page.open_definition(defs["billing"])

    class Click:
        row = 1

    page._step_clicked(Click())
    assert page.open.selected_step == ""
    page._step_clicked(Click())
    assert page.open.selected_step == "Mail"
    shown = page.settings_view[0].object
    assert "Settings of step “Mail”" in shown
    assert "&lt;b&gt;done&lt;/b&gt;" in shown  # a setting's text is shown as text


def test_an_admin_suspends_with_a_reason_resumes_and_disables(service, defs):
    page = DefinitionsPage(service, "admin")
    page.open_definition(defs["billing"])
    st = page.open

    assert not st.act("suspend", "")  # a reason is needed
    assert st.failed
    assert st.act("suspend", "Month-end freeze")
    assert st.detail.suspended_reason == "Month-end freeze"
    assert st.act("resume")
    assert st.detail.suspended_at is None
    page._act("disable")
    assert not page.open.detail.enabled
    assert "Nightly billing" not in names(page.list)
    assert "name: Nightly billing" in page.open.export_yaml()


def test_the_form_puts_each_error_under_its_field_and_clears_it_when_the_value_changes(
    service, defs
):
    form = DefinitionForm(service, "admin")
    form.set_value("name", "")
    form.set_value("schedule", "every full moon")

    assert form.save() is None
    assert "name" in form.errors and "schedule" in form.errors
    form.set_value("name", "Weekly calls")
    assert "name" not in form.errors and "schedule" in form.errors

    form.set_value("schedule", "end_of_day")
    form.set_setting(0, "report", "call")
    saved = form.save()
    assert saved is not None, form.errors
    assert saved.name == "Weekly calls" and saved.steps[0].kind == "report"


def test_schedule_options_are_read_from_name_value_pairs():
    assert parse_options("at=18:00, weekday=mon, day=1") == {
        "at": "18:00",
        "weekday": "mon",
        "day": 1,
    }
    with pytest.raises(ValueError):
        parse_options("at 18:00")


def test_the_batch_log_refuses_eight_days_at_the_end_date_and_keeps_the_list(service, defs):
    state = BatchLogState(service, "carol")
    assert [r.job_id for r in state.rows] == [defs["run"]]

    state.until = state.since + dt.timedelta(days=7)
    assert not state.search()
    assert "at most 7 days" in state.errors["until"]
    assert [r.job_id for r in state.rows] == [defs["run"]]

    state.until = state.since + dt.timedelta(days=6)
    assert state.errors == {}
    assert state.search()


def test_add_brings_status_then_process_name_and_only_added_fields_narrow(service, defs):
    state = BatchLogState(service, "alice")
    state.statuses = ["Ok"]  # not added yet: neither counts
    state.process = "no such process"
    state.search()
    assert state.total == 1

    assert state.add_field() == "status"
    state.search()
    assert state.total == 0 and "status Ok" in state.summary()
    state.remove_field("status")
    assert state.statuses == []
    state.add_field()
    state.statuses = ["Ok"]
    state.search()
    assert state.total == 0 and "status Ok" in state.summary()

    assert state.add_field() == "process"
    assert not state.can_add and state.add_field() is None
    state.statuses = ["Error"]
    state.process = "nightly"
    state.search()
    assert state.total == 1 and "1 Error" in state.summary()


def test_status_icons_follow_seed_002():
    assert "✔" in batch_status(JobStatus.COMPLETED) and ">Ok<" in batch_status(JobStatus.COMPLETED)
    assert "✖" in batch_status(JobStatus.FAILED) and ">Error<" in batch_status(JobStatus.FAILED)
    assert "bd-batch-icon" not in batch_status(JobStatus.SUSPENDED)
    assert ">Warning<" in batch_status(JobStatus.SKIPPED)


def test_a_process_name_links_to_the_run_in_a_new_tab_and_the_detail_has_its_steps(service, defs):
    state = BatchLogState(service, "alice")
    cell = state.frame(state.rows)["Process name"].iloc[0]
    assert f'href="?page=batch-log&amp;run={defs["run"]}"' in cell or (
        f'href="?page=batch-log&run={defs["run"]}"' in cell
    )
    assert 'target="_blank"' in cell

    view = RunView(service, "alice", defs["run"])
    assert [s.step_name for s in view.run.steps] == ["Report", "Mail"]
    assert not view.moving
    missing = RunView(service, "alice", 987654)
    assert "There is no run 987654" in missing.heading.object


def test_a_definition_runs_steps_show_in_its_monitor_section(service, defs):
    section = RunSteps(service, "admin", defs["run"])
    assert list(section.steps.table.value["Step"]) == ["Report", "Mail"]


def test_the_shell_has_both_pages_at_their_addresses(service, defs):
    shell = Shell(service, "carol")
    shell.open_link("batch-log", None, None, str(defs["run"]))
    log = shell.built["Batch audit log"]
    assert isinstance(log, BatchLogPage) and log.run_view is not None
    assert shell.address.search() == f"?page=batch-log&run={defs['run']}"

    shell.open_link("definitions", None, str(defs["billing"]))
    assert isinstance(shell.built["Definitions"], DefinitionsPage)
    assert shell.address.search() == f"?page=definitions&definition={defs['billing']}"

    shell.go("Batch audit log")
    assert log.run_view is None and shell.address.search() == "?page=batch-log"


def test_today_is_the_servers_date():
    assert today() == dt.datetime.now().astimezone().date()


def test_a_definition_runs_status_view_in_the_monitor_has_its_step_history(service, defs):
    from apps.job_view import JobStatusView

    view = JobStatusView(service, "admin", job_id=defs["run"])

    assert view.run_steps is not None
    assert list(view.run_steps.steps.table.value["Step"]) == ["Report", "Mail"]
    assert "refused" in list(view.run_steps.steps.table.value["Message"])
    # It counts steps, not accounts, and has no items table of its own
    counters = view._counters.object
    assert "Steps" in counters and "Not reached" in counters and "Accounts" not in counters
    assert view._table not in view._layout.objects


def test_an_admin_starts_and_ends_a_campaign_and_a_user_may_not(service, defs):
    admin = DefinitionsPage(service, "admin")
    card = admin.campaigns
    card.name_input.value = "Spring <b>push</b>"
    card._start()
    assert "Spring <b>push</b>" in list(card.table.value["Campaign"])
    card.table.selection = [list(card.table.value["Campaign"]).index("Spring <b>push</b>")]
    assert not card.end.disabled
    card._end()
    assert "ended" in card.said.object and "&lt;b&gt;" in card.said.object

    user = DefinitionsPage(service, "carol")
    assert user.campaigns.end.disabled
    user.campaigns.table.selection = [0]
    assert user.campaigns.end.disabled


def test_the_campaigns_list_pages_and_sorts_on_the_server_and_a_choice_stays_on_its_page(
    service, defs
):
    for n in range(12):
        service.definitions.create_campaign("admin", f"Drive {n:02d}")
    card = DefinitionsPage(service, "admin").campaigns
    paged = card.paged
    assert len(card.table.value) == 10 and "12 campaigns" in paged.pager.object
    # Sorting by name sorts every campaign, from page 1
    paged.next_button.clicks += 1
    card.table.sorters = [{"field": "Campaign", "dir": "asc"}]
    assert card.state.page == 1
    assert list(card.table.value["Campaign"])[:3] == ["Drive 00", "Drive 01", "Drive 02"]
    assert card.table.titles["Campaign"] == "Campaign ▲"
    # A campaign chosen on one page is not "chosen" on the next: End has nothing to end
    card.table.selection = [0]
    assert not card.end.disabled
    paged.next_button.clicks += 1
    assert list(card.table.value["Campaign"]) == ["Drive 10", "Drive 11"]
    assert card.table.selection == [] and card.end.disabled
    # Back on its page, it is marked and may be ended again
    paged.previous_button.clicks += 1
    assert card.table.selection == [0] and not card.end.disabled
    # A new campaign shows where it goes: page 1, running ones first, newest first
    card.name_input.value = "Drive 12"
    card._start()
    assert card.state.page == 1 and card.table.value["Campaign"].iloc[0] == "Drive 12"


def test_an_admin_edits_a_definition_through_the_form(service, defs):
    page = DefinitionsPage(service, "admin")
    page.open_definition(defs["billing"])
    page.edit(page.open.detail)
    page.form.set_value("description", "Billing, every night")
    page.form.set_setting(1, "recipients", "billing@example.com")
    page.form.set_setting(2, "recipients", "ops@example.com")
    saved = page.form.save()
    assert saved is not None, page.form.errors
    assert saved.description == "Billing, every night" and saved.version > 1
    # An edit from the older copy is refused, with the reason at the top
    stale = DefinitionForm(service, "admin", page.open.detail)
    stale.set_value("description", "Older copy")
    assert stale.save() is None and stale.message


def test_the_log_follows_a_running_run_until_it_ends(service, sqlite_db, defs):
    from tests.helpers import force_status

    running = add_run(
        sqlite_db,
        defs["billing"],
        dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=1),
        JobStatus.IN_PROGRESS,
    )
    page = BatchLogPage(service, "alice", live=False)
    assert {r.job_id: r.status for r in page.state.rows}[running] == JobStatus.IN_PROGRESS

    force_status(sqlite_db, running, JobStatus.COMPLETED)
    page._tick()

    assert {r.job_id: r.status for r in page.state.rows}[running] == JobStatus.COMPLETED
    assert "1 Ok" in page.state.summary()


def test_the_row_marked_is_the_open_definition_wherever_the_list_puts_it(service, defs):
    page = DefinitionsPage(service, "admin")
    page.list.show_disabled = True  # the enabled one and the disabled one
    table = page.table.table
    assert len(table.value) >= 2
    chosen = int(table.value["ID"].iloc[0])
    page.open_definition(chosen)
    assert table.selection == [0]
    # The other order: the mark follows it to its new place
    page.list.sort_by(page.list.sort)
    ids = [int(i) for i in table.value["ID"]]
    assert ids[0] != chosen and table.selection == [ids.index(chosen)]
    # Filtered out of the list: nothing is marked, though it stays open below
    page.list.text = "no definition is called this"
    assert table.selection == [] and page.open is not None
    page.list.text = ""
    page.close()
    assert table.selection == []
