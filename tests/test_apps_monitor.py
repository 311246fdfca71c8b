"""The Monitor, job views and timeline as Panel objects in Python: scoping, actions, refresh."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

from apps.job_view import JobDetailsView, JobStatusView
from apps.monitor import Monitor
from apps.timeline import Timeline, timeline_bars
from jobs.db import Database
from jobs.service import JobService
from jobs.status import JobStatus
from tests.helpers import force_status


@pytest.fixture
def service(sqlite_db: Database) -> JobService:
    return JobService(sqlite_db)


def submit(service: JobService, user: str, description: str, state: str = "TX") -> int:
    job = service.submit_bulk_interaction(
        user,
        description=description,
        interaction_type="Note",
        outcome="Information only",
        account_filter={"state": state},
    )
    return job.id


@pytest.fixture
def jobs(service: JobService, sqlite_db: Database) -> dict[str, int]:
    """alice: one In progress and one Completed job; bob: one Queued job."""
    ids = {
        "alice_running": submit(service, "alice", "Alice running"),
        "alice_done": submit(service, "alice", "Alice done"),
        "bob_queued": submit(service, "bob", "Bob queued"),
    }
    force_status(sqlite_db, ids["alice_running"], JobStatus.IN_PROGRESS)
    force_status(sqlite_db, ids["alice_done"], JobStatus.COMPLETED)
    return ids


def cell(monitor: Monitor, job_id: int, column: str) -> str:
    frame = monitor.table.value
    return str(frame.loc[frame["Job"] == job_id, column].iloc[0])


def test_a_user_sees_only_their_own_jobs_and_an_admin_sees_every_job(service, jobs):
    alice = Monitor(service=service, user="alice", live=False)
    admin = Monitor(service=service, user="admin", live=False)

    assert set(alice.table.value["Job"]) == {jobs["alice_running"], jobs["alice_done"]}
    assert set(admin.table.value["Job"]) == set(jobs.values())
    assert "by Bob Builder" in cell(admin, jobs["bob_queued"], "Description")


def test_the_owner_filter_is_offered_to_admins_only_and_narrows_the_list(service, jobs):
    alice = Monitor(service=service, user="alice", live=False)
    admin = Monitor(service=service, user="admin", live=False)
    assert alice.state.param.owner.objects == ["Everyone"]

    admin.state.owner = "Bob Builder"

    assert list(admin.table.value["Job"]) == [jobs["bob_queued"]]


def test_stop_shows_only_for_in_progress_jobs_and_delete_only_where_the_rules_allow(service, jobs):
    alice = Monitor(service=service, user="alice", live=False)
    admin = Monitor(service=service, user="admin", live=False)

    assert "Stop" in cell(alice, jobs["alice_running"], "Stop")
    assert cell(alice, jobs["alice_running"], "Delete") == ""
    assert cell(alice, jobs["alice_done"], "Stop") == ""
    assert "Delete" in cell(alice, jobs["alice_done"], "Delete")
    assert "Delete" in cell(admin, jobs["bob_queued"], "Delete")
    assert not alice.state.request("delete", jobs["alice_running"])
    assert alice.state.pending is None


def test_cancel_leaves_the_job_in_progress_and_ok_stops_it(service, jobs):
    monitor = Monitor(service=service, user="alice", live=False)
    job_id = jobs["alice_running"]

    assert monitor.state.request("stop", job_id)
    assert monitor.confirm.open
    assert f"Stop job {job_id} — Alice running? 0 of " in monitor.question.object
    assert "accounts are done; the rest will not be processed" in monitor.question.object
    monitor.state.cancel()
    assert not monitor.confirm.open
    assert service.job("alice", job_id).summary.status == JobStatus.IN_PROGRESS

    monitor.state.request("stop", job_id)
    monitor.state.confirm()

    assert service.job("alice", job_id).summary.status == JobStatus.STOPPED
    assert "Stopped" in cell(monitor, job_id, "Status")


def test_delete_ok_removes_the_job_and_cancel_keeps_it(service, jobs):
    monitor = Monitor(service=service, user="alice", live=False)
    job_id = jobs["alice_done"]

    monitor.state.request("delete", job_id)
    assert "? It disappears from the lists; the audit trail keeps" in monitor.question.object
    assert monitor.question.object.count("Delete job ") == 1
    monitor.state.cancel()
    assert job_id in set(monitor.table.value["Job"])

    monitor.state.request("delete", job_id)
    monitor.state.confirm()

    assert job_id not in set(monitor.table.value["Job"])
    assert monitor.state.total == 1


def test_a_refused_action_shows_the_services_message(service, jobs, sqlite_db):
    # Given a stop asked for while the job was In progress, which ended meanwhile
    monitor = Monitor(service=service, user="alice", live=False)
    job_id = jobs["alice_running"]
    monitor.state.request("stop", job_id)
    force_status(sqlite_db, job_id, JobStatus.COMPLETED)

    monitor.state.confirm()

    assert monitor.alert.visible
    assert "Only jobs that are In progress can be stopped" in monitor.alert.object


def test_a_user_without_the_permission_gets_a_not_permitted_page(service):
    monitor = Monitor(service=service, user="carol", live=False)

    assert not monitor.state.permitted
    assert "Not permitted" in monitor.__panel__()[0].object


def test_the_live_refresh_patches_rows_in_place_keeping_page_and_selection(
    service, jobs, sqlite_db
):
    monitor = Monitor(service=service, user="admin", live=False)
    monitor.state.selected_id = jobs["alice_done"]
    frame_before = monitor.table.value
    row = list(frame_before["Job"]).index(jobs["alice_done"])
    assert monitor.table.selection == [row]

    force_status(sqlite_db, jobs["bob_queued"], JobStatus.IN_PROGRESS)
    monitor.tick()

    assert monitor.table.value is frame_before  # patched, not replaced
    assert "In progress" in cell(monitor, jobs["bob_queued"], "Status")
    assert monitor.table.selection == [row]

    new_id = submit(service, "dave", "Dave new")
    monitor.tick()

    assert list(monitor.table.value["Job"])[0] == new_id
    assert monitor.table.selection == [row + 1]
    assert monitor.state.selected_id == jobs["alice_done"]


def test_only_one_page_is_read_and_filters_go_back_to_the_first_page(service, jobs):
    for n in range(12):
        submit(service, "alice", f"Bulk {n}")
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10

    monitor.state.next_page()
    assert monitor.state.page == 2
    assert len(monitor.table.value) == 4
    assert "Page 2 of 2 · 14 jobs" in monitor.paged.pager.object

    monitor.state.statuses = ["Completed"]
    assert monitor.state.page == 1
    assert list(monitor.table.value["Job"]) == [jobs["alice_done"]]
    monitor.state.statuses = []
    monitor.state.text = "bulk 1"
    assert set(monitor.table.value["Description"].str.contains("Bulk 1")) == {True}


def test_html_in_a_description_shows_as_text(service):
    submit(service, "alice", "<script>alert(1)</script>")
    monitor = Monitor(service=service, user="alice", live=False)

    shown = monitor.table.value["Description"].iloc[0]

    assert "<script>" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown


def test_the_status_view_shows_counters_pages_outcomes_and_exports_csv(service, jobs):
    job_id = jobs["bob_queued"]
    from jobs.engine import execution

    for chunk in execution.start(service.db, job_id, 1000).chunks:
        assert execution.claim(service.db, chunk, "test", 30)
        execution.process_chunk(service.db, chunk, "test")
    view = JobStatusView(service, "bob", job_id=job_id)
    summary = service.job("bob", job_id).summary

    assert "Bulk Interaction Job Status" in view._heading.object
    assert f"{summary.total:,}" in view._counters.object
    assert view._progress.value == 100
    assert len(view._items.value) == 20
    view.outcome = "Exception"
    assert set(view._items.value["Outcome"]) <= {"Exception"}
    csv_text = view._csv().getvalue().decode()
    assert (
        csv_text.splitlines()[0] == "seq,account_id,file_number,debtor,outcome,message,before,after"
    )
    assert len(csv_text.splitlines()) == summary.exceptions + 1


def test_the_details_view_shows_parameters_selection_owner_and_events(service, jobs):
    view = JobDetailsView(service, "admin", job_id=jobs["bob_queued"])

    text = view.__panel__()[0].object
    assert "Note — Information only" in text
    assert "state = TX" in text
    assert "Bob Builder" in text
    events = view.__panel__()[2].value
    assert list(events["Event"]) == ["submit"]


def test_a_user_cannot_open_someone_elses_job(service, jobs):
    view = JobDetailsView(service, "alice", job_id=jobs["bob_queued"])

    assert "was not found" in view.__panel__()[0].object


def test_the_timeline_draws_waiting_and_running_bars_and_selects_a_tapped_lane(service, jobs):
    monitor = Monitor(service=service, user="admin", live=False)
    frame = pd.DataFrame(timeline_bars(monitor.state.jobs, None))

    phases = frame.groupby("job")["phase"].apply(set).to_dict()
    assert phases[f"#{jobs['alice_running']}"] == {"waiting", "running"}
    assert phases[f"#{jobs['bob_queued']}"] == {"waiting"}

    timeline: Timeline = monitor.timeline
    bars = pd.DataFrame(timeline._bars)
    running = bars.index[bars["job"] == f"#{jobs['alice_done']}"][0]
    timeline._tapped([int(running)])
    assert monitor.state.selected_id == jobs["alice_done"]
    row = list(monitor.table.value["Job"]).index(jobs["alice_done"])
    assert monitor.table.selection == [row]
    bars = pd.DataFrame(timeline._bars)
    highlighted = bars[bars["width"] > 1]["job"]
    assert set(highlighted) == {f"#{jobs['alice_done']}"}


def test_components_render_as_panel_objects(service, jobs):
    for viewer in (
        Monitor(service=service, user="alice", live=False),
        Timeline(service=service, user="alice", live=False),
    ):
        assert viewer.__panel__().get_root() is not None


def test_a_stopped_job_shows_what_was_processed_and_what_was_not(service):
    # Given a job stopped after its first chunk of 100
    from apps.display import progress_bar
    from jobs.engine import execution

    job_id = submit(service, "alice", "Stopped half way", state="TX")
    first, *_ = execution.start(service.db, job_id, 100).chunks
    assert execution.claim(service.db, first, "test", 30)
    execution.process_chunk(service.db, first, "test")
    service.stop("alice", job_id)
    summary = service.job("alice", job_id).summary

    # Then the progress counts the processed items only, and says how many were not
    assert summary.processed == 100 < summary.total
    assert summary.not_processed == summary.total - 100
    bar = progress_bar(summary)
    assert f"100 of {summary.total:,}" in bar
    assert f"{summary.not_processed:,} not processed" in bar
    view = JobStatusView(service, "alice", job_id=job_id)
    assert "Processed" in view._counters.object and ">100<" in view._counters.object


def test_the_monitor_filters_by_action(service, jobs):
    other = service.submit_to_accounts(
        "alice",
        "change_status",
        description="Hold Texas",
        account_filter={"state": "TX"},
        to="On hold",
    )
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.action = "Change Status"
    assert list(monitor.table.value["Job"]) == [other.id]
    monitor.state.action = "Add Interaction"
    assert other.id not in list(monitor.table.value["Job"]) and len(monitor.table.value) == 2


def test_the_progress_column_says_waiting_for_queued_jobs_and_the_rate_for_running_ones(
    service, jobs
):
    from apps.display import progress_bar
    from jobs.engine import execution

    queued = service.job("bob", jobs["bob_queued"]).summary
    assert "waiting for a worker" in progress_bar(queued)
    # A job scheduled for a later send date says when, not that it waits for a worker
    later = dataclasses.replace(queued, not_before=queued.submitted_at + dt.timedelta(days=3))
    assert "scheduled for" in progress_bar(later) and "worker" not in progress_bar(later)
    waiting = dataclasses.replace(queued, status=JobStatus.AWAITING_APPROVAL)
    assert "awaiting approval" in progress_bar(waiting)
    running_id = submit(service, "alice", "Running with a rate")
    first, *_ = execution.start(service.db, running_id, 50).chunks
    execution.claim(service.db, first, "t", 30)
    execution.process_chunk(service.db, first, "t")
    running = service.job("alice", running_id).summary
    shown = progress_bar(running)
    assert f"50 of {running.total:,}" in shown
    assert "/s · " in shown and " left" in shown


def test_the_job_list_exports_what_the_filters_select_in_the_lists_order(service, jobs):
    import csv

    extra = submit(service, "alice", "Exported too")
    monitor = Monitor(service=service, user="alice", live=False)
    monitor.state.page_size = 10
    monitor.state.sort_by("id")
    rows = list(csv.DictReader(monitor._csv()))
    # Every job alice may see (not bob's), in the list's order, not only the page
    assert [int(r["job"]) for r in rows] == sorted(
        [jobs["alice_running"], jobs["alice_done"], extra]
    )
    assert rows[0]["owner"] == "Alice Analyst" and rows[0]["action"] == "Add Interaction"
    monitor.state.text = "Exported"
    assert [int(r["job"]) for r in csv.DictReader(monitor._csv())] == [extra]
