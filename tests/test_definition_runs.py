"""Definitions' runs on the in-process broker, on SQLite and PostgreSQL: the step graph, a
real bulk-action child job, deliveries, dependencies, suspend, Stop, recovery, triggers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time

import pytest
from sqlalchemy import func, select, update

from jobs import runtime
from jobs.definitions import runner
from jobs.engine import recovery
from jobs.models import (
    Account,
    AuditEvent,
    Campaign,
    Definition,
    DefinitionRun,
    Delivery,
    DeliveryState,
    Job,
    RunStep,
    User,
    utcnow,
)
from jobs.scheduler import triggers
from jobs.status import JobStatus
from tests.scheduler_support import (
    make_definition,
    probe_step,
    runs_of,
    status_of,
    steps_of,
    user_id,
    wait_run,
)

NOW = dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def probe(db, tmp_path, monkeypatch):
    yield from probe_step(db, tmp_path, monkeypatch)


def _fire(db, definition_id, due=NOW, **kw):
    return triggers.fire(db, definition_id, due, kw.pop("fired_by", "manual"), **kw)


def _emails_to(db, job_id, address):
    with db.read() as s:
        return [
            p
            for p in s.scalars(select(Delivery.payload).where(Delivery.job_id == job_id))
            if p.get("to") == address
        ]


def test_a_run_whose_steps_all_succeed_ends_ok_and_tells_the_success_recipients(
    db, probe, stub_worker
):
    # Given a report-then-mail definition with success and failure recipients
    d = make_definition(
        db,
        "Daily report",
        [
            {"name": "Report", "settings": {"output": "report.csv"}, "next_success": "Mail"},
            {"name": "Mail"},
        ],
        success_recipients="ops@example.com, boss@example.com",
        failure_recipients="oncall@example.com",
    )
    # When it fires
    job_id = _fire(db, d)
    # Then both steps ran in order and the run is Ok
    assert wait_run(db, job_id) is JobStatus.COMPLETED
    assert JobStatus.COMPLETED.batch_label == "Ok"
    assert [(n, o) for n, o, _ in steps_of(db, job_id)] == [("Report", "ok"), ("Mail", "ok")]
    with db.read() as s:
        report = s.scalar(select(RunStep.output).where(RunStep.job_id == job_id, RunStep.seq == 1))
        job = s.get(Job, job_id)
        assert (job.action, job.description, job.total, job.ok) == (
            "definition_run",
            "Daily report",
            2,
            2,
        )
        assert job.selection["definition_id"] == d
    assert report and report.endswith(f"runs/{job_id}/report.csv") and os.path.isfile(report)
    # And each success recipient got an email linking to the run; no failure email
    (mail,) = _emails_to(db, job_id, "ops@example.com")
    assert len(_emails_to(db, job_id, "boss@example.com")) == 1
    assert not _emails_to(db, job_id, "oncall@example.com")
    assert "Ok" in mail["subject"] and "Daily report" in mail["subject"]
    assert f"?page=monitor&job={job_id}" in mail["body"] and "Report: ok" in mail["body"]


def test_a_failure_taken_by_its_failure_step_ends_partial_and_tells_the_failure_recipients(
    db, probe, stub_worker
):
    d = make_definition(
        db,
        "Partial",
        [
            {
                "name": "Report",
                "settings": {"fail": True, "message": "no data"},
                "next_success": "Mail",
                "next_failure": "Alert",
            },
            {"name": "Mail"},
            {"name": "Alert"},
        ],
        success_recipients="ops@example.com",
        failure_recipients="oncall@example.com",
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert [(n, o) for n, o, _ in steps_of(db, job_id)] == [("Report", "failed"), ("Alert", "ok")]
    (mail,) = _emails_to(db, job_id, "oncall@example.com")
    assert "Partial" in mail["subject"]
    assert not _emails_to(db, job_id, "ops@example.com")
    with db.read() as s:
        job = s.get(Job, job_id)
    assert (job.ok, job.exceptions, job.not_processed) == (1, 1, 1)  # Mail never ran
    assert "no data" in job.error


def test_a_failure_without_a_failure_step_ends_the_run_in_error(db, probe, stub_worker):
    d = make_definition(
        db,
        "Error",
        [
            {"name": "Report", "settings": {"raise": "disk full"}, "next_success": "Mail"},
            {"name": "Mail"},
        ],
        failure_recipients="oncall@example.com",
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.FAILED
    assert JobStatus.FAILED.batch_label == "Error"
    assert steps_of(db, job_id) == [("Report", "failed", "disk full")]
    (mail,) = _emails_to(db, job_id, "oncall@example.com")
    assert "Error" in mail["subject"] and "disk full" in mail["body"]


def test_a_failure_step_that_itself_fails_ends_the_run_in_error(db, probe, stub_worker):
    d = make_definition(
        db,
        "Failure fails",
        [
            {"name": "Report", "settings": {"fail": True}, "next_failure": "Alert"},
            {
                "name": "Alert",
                "settings": {"fail": True, "message": "mail server down"},
                "next_failure": "Report",
            },
        ],
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.FAILED
    assert [(n, o) for n, o, _ in steps_of(db, job_id)] == [
        ("Report", "failed"),
        ("Alert", "failed"),
    ]
    with db.read() as s:
        assert "Alert" in s.scalar(select(Job.error).where(Job.id == job_id))


def test_a_bulk_action_step_waits_for_its_real_child_job(db, probe, stub_worker, restore_statuses):
    # Given a definition whose first step changes the status of open Texas accounts
    with db.read() as s:
        targets = set(
            s.scalars(select(Account.id).where(Account.state == "TX", Account.status == "Open"))
        )
    assert targets
    d = make_definition(
        db,
        "Hold Texas",
        [
            {
                "name": "Hold",
                "kind": "bulk_action",
                "settings": {
                    "action": "change_status",
                    "parameters": {"to": "On hold"},
                    "filter": {"state": "TX", "status": "Open"},
                },
                "next_success": "After",
            },
            {"name": "After"},
        ],
    )
    # When it runs
    job_id = _fire(db, d)
    assert wait_run(db, job_id, timeout=60) is JobStatus.COMPLETED, steps_of(db, job_id)
    # Then the step submitted a real Change Status job as the run's child, waited for it,
    # and only then went on
    with db.read() as s:
        hold, after = s.execute(
            select(RunStep).where(RunStep.job_id == job_id).order_by(RunStep.seq)
        ).scalars()
        child = s.get(Job, hold.child_job_id)
        changed = set(
            s.scalars(
                select(Account.id).where(Account.id.in_(targets), Account.status == "On hold")
            )
        )
    assert child.action == "change_status" and child.parent_job_id == job_id
    assert JobStatus(child.status) in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS)
    assert hold.outcome == "ok" and f"Job {child.id} ended" in hold.message
    assert after.started_at >= child.ended_at
    assert changed and changed <= targets


def test_an_email_step_waits_for_its_delivery(db, probe, stub_worker):
    d = make_definition(
        db,
        "Mail it",
        [
            {"name": "Report", "settings": {"output": "r.csv"}, "next_success": "Mail"},
            {
                "name": "Mail",
                "kind": "email",
                "settings": {"recipients": ["client@example.com"], "subject": "Report {day}"},
            },
        ],
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.COMPLETED, steps_of(db, job_id)
    (mail,) = _emails_to(db, job_id, "client@example.com")
    assert mail["attachments"][0]["filename"] == "r.csv"
    with db.read() as s:
        step = s.execute(select(RunStep).where(RunStep.job_id == job_id, RunStep.seq == 2)).scalar()
        states = set(s.scalars(select(Delivery.state).where(Delivery.id.in_(step.deliveries))))
    assert step.outcome == "ok" and states == {DeliveryState.SENT}


def test_a_dependent_run_is_warning_when_its_prerequisite_ended_in_error(db, probe, stub_worker):
    pre = make_definition(db, "Pre-invoice", [{"name": "P", "settings": {"fail": True}}])
    dep = make_definition(db, "Invoicer", depends_on=[pre])
    first = _fire(db, pre)
    assert wait_run(db, first) is JobStatus.FAILED
    job_id = _fire(db, dep, NOW + dt.timedelta(minutes=5))
    assert wait_run(db, job_id) is JobStatus.SKIPPED
    assert JobStatus.SKIPPED.batch_label == "Warning"
    assert steps_of(db, job_id) == []  # it never ran
    with db.read() as s:
        error = s.scalar(select(Job.error).where(Job.id == job_id))
    assert "“Pre-invoice” ended in Error" in error and f"run {first}" in error


@pytest.fixture
def on_now_s_day():
    """The scheduling clock runs from NOW in real time, so NOW's business day is not over
    (with the wall clock, a dependent waiting on a prerequisite of a past day is Skipped)."""
    from jobs import clock

    began = utcnow()
    clock.use(lambda: NOW + (utcnow() - began))
    yield
    clock.use(None)


def test_a_dependent_run_waits_for_its_prerequisite_of_the_same_day(
    db, probe, stub_worker, on_now_s_day
):
    # Given a dependent that fires before its prerequisite has run that business day
    pre = make_definition(db, "Pre", [{"name": "P", "settings": {"sleep": 0.5}}])
    dep = make_definition(db, "Dep", depends_on=[pre])
    job_id = _fire(db, dep)
    time.sleep(1.0)
    # Then it waits, Queued
    assert status_of(db, job_id) is JobStatus.QUEUED
    # When the prerequisite runs and ends Ok
    pre_job = _fire(db, pre, NOW + dt.timedelta(minutes=1))
    assert wait_run(db, pre_job) is JobStatus.COMPLETED
    ended = time.monotonic()
    # Then the dependent runs at once (woken by the prerequisite's end)
    assert wait_run(db, job_id) is JobStatus.COMPLETED
    assert time.monotonic() - ended < 3


def test_a_suspended_definitions_run_is_recorded_suspended_and_not_run_until_resumed(
    db, probe, stub_worker
):
    d = make_definition(
        db,
        "Held",
        suspended_at=utcnow(),
        suspended_by_id=user_id(db),
        suspended_reason="month-end freeze",
    )
    held = _fire(db, d)
    time.sleep(0.5)
    assert status_of(db, held) is JobStatus.SUSPENDED
    assert JobStatus.SUSPENDED.batch_label == "Suspended"
    assert steps_of(db, held) == [] and probe.calls == {}
    with db.read() as s:
        assert "month-end freeze" in s.scalar(select(Job.error).where(Job.id == held))
    # When it is resumed, the next due run runs; the suspended one stays as it was
    with db.write_conn() as conn:
        conn.execute(update(Definition).where(Definition.id == d).values(suspended_at=None))
    later = _fire(db, d, NOW + dt.timedelta(days=1))
    assert wait_run(db, later) is JobStatus.COMPLETED
    assert status_of(db, held) is JobStatus.SUSPENDED


def test_a_due_time_fires_once_however_often_it_is_fired(db, probe, stub_worker):
    d = make_definition(db, "Once")
    first = _fire(db, d, fired_by="schedule")
    assert _fire(db, d, fired_by="schedule") is None
    assert wait_run(db, first) is JobStatus.COMPLETED
    assert len(runs_of(db, d)) == 1


def test_stop_is_checked_between_steps(db, probe, stub_worker, service):
    d = make_definition(
        db,
        "Stoppable",
        [{"name": "Slow", "settings": {"sleep": 1.0}, "next_success": "Next"}, {"name": "Next"}],
    )
    job_id = _fire(db, d)
    wait_run(db, job_id, until=lambda st: st is JobStatus.IN_PROGRESS)
    service.stop("admin", job_id)
    time.sleep(2.0)
    assert status_of(db, job_id) is JobStatus.STOPPED
    assert [n for n, _, _ in steps_of(db, job_id)] == ["Slow"]
    assert (job_id, "Next") not in probe.calls


def test_a_run_whose_worker_died_mid_step_resumes_and_adopts_the_step_s_deliveries(db, probe):
    # Given a run whose worker died after its email step had queued the email, before the
    # step's outcome was written (no worker runs in this test: the steps are worked by hand)
    d = make_definition(
        db,
        "Crash",
        [
            {"name": "Report", "next_success": "Mail"},
            {
                "name": "Mail",
                "kind": "email",
                "settings": {"recipients": ["x@example.com"], "attach": "none"},
            },
        ],
    )
    job_id = triggers.fire(db, d, NOW, "manual")
    assert runner.work(db, job_id, "first", lease_seconds=5).waiting
    with db.read() as s:
        (email,) = s.scalars(select(Delivery.id).where(Delivery.job_id == job_id)).all()
    with db.write_conn() as conn:  # the step's row as a dead worker leaves it
        conn.execute(
            update(RunStep)
            .where(RunStep.job_id == job_id, RunStep.seq == 2)
            .values(outcome="running", deliveries=[])
        )
        conn.execute(
            update(DefinitionRun)
            .where(DefinitionRun.job_id == job_id)
            .values(lease_owner="dead", lease_until=utcnow() - dt.timedelta(seconds=1))
        )
        conn.execute(update(Delivery).where(Delivery.id == email).values(state=DeliveryState.SENT))
    # When a reaper sweeps: the run is sent again
    found = recovery.sweep(db)
    assert job_id in found.send_runs and job_id not in found.start_jobs
    runner.work(db, job_id, "second", lease_seconds=5)
    # Then the step waited for the email it had queued, instead of queueing another
    assert status_of(db, job_id) is JobStatus.COMPLETED
    assert len(_emails_to(db, job_id, "x@example.com")) == 1
    assert probe.calls[(job_id, "Report")] == 1


def test_a_run_whose_worker_died_in_a_step_without_effects_runs_that_step_again(db, probe):
    d = make_definition(db, "Rerun", [{"name": "Report", "settings": {"output": "r.csv"}}])
    job_id = triggers.fire(db, d, NOW, "manual")
    # A worker claimed it, started the step, and died
    assert runner.claim(db, job_id, "dead", 0.1)
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(status=int(JobStatus.IN_PROGRESS)))
        conn.execute(
            RunStep.__table__.insert().values(
                job_id=job_id,
                seq=1,
                step_name="Report",
                kind="probe",
                outcome="running",
                message="",
                deliveries=[],
            )
        )
    assert not runner.work(db, job_id, "other", lease_seconds=5).status  # still held
    time.sleep(0.2)
    assert job_id in recovery.sweep(db).send_runs
    runner.work(db, job_id, "other", lease_seconds=5)
    assert status_of(db, job_id) is JobStatus.COMPLETED
    assert steps_of(db, job_id)[0][:2] == ("Report", "ok")
    assert probe.calls[(job_id, "Report")] == 1


def test_a_queued_run_is_never_sent_to_start_job(db, probe):
    d = make_definition(db, "Never start_job")
    job_id = triggers.fire(db, d, NOW, "manual")
    with db.write_conn() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(submitted_at=utcnow() - dt.timedelta(hours=1))
        )
        conn.execute(
            update(DefinitionRun)
            .where(DefinitionRun.job_id == job_id)
            .values(wake_at=utcnow() - dt.timedelta(seconds=1))
        )
    found = recovery.sweep(db, at_boot=True, idle=True)
    assert job_id not in found.start_jobs and found.send_runs == [job_id]


def test_the_end_of_a_campaign_fires_the_campaign_definition(db, probe, stub_worker):
    d = make_definition(db, "End of campaign", trigger="campaign")
    ended = utcnow()
    with db.write_conn() as conn:
        campaign = conn.execute(
            Campaign.__table__.insert()
            .values(name="Spring drive", started_at=ended, ended_at=ended)
            .returning(Campaign.id)
        ).scalar_one()
    job_id = triggers.campaign_ended(db, campaign, user_id(db))
    assert wait_run(db, job_id) is JobStatus.COMPLETED
    (run, _status) = runs_of(db, d)[0]
    assert (run.fired_by, run.detail["campaign"]) == ("campaign", "Spring drive")
    assert triggers.campaign_ended(db, campaign, user_id(db)) is None  # once


def test_a_file_arriving_in_the_inbox_fires_one_run_and_is_moved(db, probe, stub_worker, tmp_path):
    # Given the file-in definition's inbox with a settled file and an empty one
    inbox = tmp_path / "ftpin"
    inbox.mkdir()
    d = make_definition(db, "FTPin", trigger="file_in", inbox=str(inbox))
    (inbox / "calls.csv").write_text("id\n1\n", encoding="utf-8")
    (inbox / "empty.csv").write_text("", encoding="utf-8")
    (inbox / ".partial").write_text("x", encoding="utf-8")
    # When the scheduler polls it (twice: a file is taken once)
    fired = triggers.poll_inbox(db, settle=0) + triggers.poll_inbox(db, settle=0)
    # Then one run fired for the file, which was moved to processed/
    (job_id,) = fired
    assert wait_run(db, job_id) is JobStatus.COMPLETED
    (run, _status) = runs_of(db, d)[0]
    kept = run.detail["file"]
    assert run.fired_by == "file" and os.path.dirname(kept) == str(inbox / "processed")
    assert kept.endswith("-calls.csv") and os.path.isfile(kept)
    assert probe.inputs[job_id] == kept
    # And the empty file went to failed/ with the reason; the hidden one stays
    assert (inbox / "failed" / "empty.csv").exists()
    assert "empty" in (inbox / "failed" / "empty.csv.txt").read_text()
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [".partial"]


def test_a_disabled_definition_does_not_fire_on_schedule(db, probe):
    d = make_definition(db, "Off", enabled=False, next_due_at=NOW - dt.timedelta(minutes=1))
    assert triggers.fire_due(db, NOW) == []
    assert runs_of(db, d) == []


def test_firing_writes_the_submit_to_the_audit_trail(db, probe):
    d = make_definition(db, "Audited", timezone="Europe/London")
    job_id = triggers.fire(db, d, NOW, "schedule")
    with db.read() as s:
        event = s.execute(select(AuditEvent).where(AuditEvent.job_id == job_id)).scalar_one()
        run = s.get(DefinitionRun, job_id)
    assert event.action == "submit" and "fired by its schedule for 2026-12-04 18:00 GMT" in (
        event.summary
    )
    assert run.business_day == dt.date(2026, 12, 4)


def test_firing_a_suspended_definition_records_the_run_suspended_at_once(db, probe):
    # No worker runs: the fire itself records it Suspended, with who and why
    d = make_definition(
        db,
        "Held at fire",
        suspended_at=utcnow(),
        suspended_by_id=user_id(db),
        suspended_reason="audit",
    )
    job_id = triggers.fire(db, d, NOW, "schedule")
    assert status_of(db, job_id) is JobStatus.SUSPENDED
    with db.read() as s:
        run = s.get(DefinitionRun, job_id)
        assert run.wake_at is None
        assert "Ada Admin: audit" in s.scalar(select(Job.error).where(Job.id == job_id))


def test_a_run_shows_in_the_monitor_like_any_job(db, probe, stub_worker, service):
    d = make_definition(db, "In the Monitor", [{"name": "A", "next_success": "B"}, {"name": "B"}])
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.COMPLETED
    detail = service.job("admin", job_id)
    assert detail.summary.description == "In the Monitor"
    assert detail.parameters_text == f"Definition {d} (version 1): A → B"
    assert detail.selection_text == "Definition In the Monitor"
    assert [e.action for e in detail.events][:3] == ["submit", "start", "end"]
    assert "Job definition run" not in [a.label for a in service.actions("admin")]


def test_the_in_process_workers_scheduler_fires_a_due_run_within_about_a_second(
    db, probe, stub_worker
):
    # Given the embedded default: the worker's own scheduler thread (no other process)
    due = utcnow() + dt.timedelta(seconds=1.5)
    d = make_definition(db, "Embedded", schedule="hourly", next_due_at=due)
    # When its due time comes, Then it fires and runs, about on time, once
    deadline = time.monotonic() + 15
    while not runs_of(db, d) and time.monotonic() < deadline:
        time.sleep(0.05)
    ((run, _status),) = runs_of(db, d)
    assert wait_run(db, run.job_id) is JobStatus.COMPLETED
    with db.read() as s:
        started = s.scalar(select(Job.started_at).where(Job.id == run.job_id))
        next_due = s.scalar(select(Definition.next_due_at).where(Definition.id == d))
    assert run.due_at == due and not run.late and run.fired_by == "schedule"
    assert 0 <= (started - due).total_seconds() < 1.5
    assert next_due > due and next_due.minute == 0  # the schedule goes on: the next hour


def test_two_pollers_of_the_inbox_take_each_file_once(db, probe, tmp_path):
    import threading

    inbox = tmp_path / "ftpin"
    inbox.mkdir()
    d = make_definition(db, "FTPin twice", trigger="file_in", inbox=str(inbox))
    for n in range(20):
        (inbox / f"f{n:02}.csv").write_text(f"row {n}\n", encoding="utf-8")
    fired: list[int] = []
    barrier = threading.Barrier(2)

    def poll() -> None:
        barrier.wait()
        fired.extend(triggers.poll_inbox(db, settle=0))

    threads = [threading.Thread(target=poll) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runs = [r for r, _ in runs_of(db, d)]
    assert len(fired) == len(set(fired)) == len(runs) == 20
    assert sorted(r.detail["name"] for r in runs) == [f"f{n:02}.csv" for n in range(20)]
    assert len(list((inbox / "processed").iterdir())) == 20


def test_a_report_emailed_and_copied_to_a_folder_runs_with_the_real_step_types(
    db, probe, stub_worker, tmp_path
):
    # Given the two-step job: a call report, then email it, then copy it to a folder
    target = tmp_path / "drop"
    target.mkdir()
    d = make_definition(
        db,
        "Call report delivered",
        [
            {
                "name": "Report",
                "kind": "report",
                "settings": {"report": "call"},
                "next_success": "Mail",
            },
            {
                "name": "Mail",
                "kind": "email",
                "settings": {"recipients": ["client@example.com"], "subject": "Calls {day}"},
                "next_success": "Copy",
            },
            {"name": "Copy", "kind": "copy", "settings": {"destination": str(target)}},
        ],
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id, timeout=60) is JobStatus.COMPLETED, steps_of(db, job_id)
    # Then each step ran once, ok, the email carried the report, the folder got it
    assert [(n, o) for n, o, _ in steps_of(db, job_id)] == [
        ("Report", "ok"),
        ("Mail", "ok"),
        ("Copy", "ok"),
    ]
    with db.read() as s:
        report = s.scalar(select(RunStep.output).where(RunStep.job_id == job_id, RunStep.seq == 1))
    (mail,) = _emails_to(db, job_id, "client@example.com")
    assert mail["attachments"][0]["path"] == report
    assert [p.name for p in target.iterdir()] == [os.path.basename(report)]


def test_a_dependent_whose_prerequisite_never_ran_that_day_is_skipped_once_the_day_is_over(
    db, probe
):
    from jobs import clock

    pre = make_definition(db, "Never runs", enabled=False)
    dep = make_definition(db, "Waits", depends_on=[pre], timezone="Europe/London")
    job_id = triggers.fire(db, dep, NOW, "schedule")
    manual = clock.ManualClock(NOW + dt.timedelta(hours=5))  # 23:00 in London
    clock.use(manual)
    try:
        assert runner.work(db, job_id, "w", lease_seconds=5).waiting
        assert status_of(db, job_id) is JobStatus.QUEUED
        manual.set(NOW + dt.timedelta(hours=6, minutes=1))  # the next day in London
        runner.work(db, job_id, "w", lease_seconds=5)
    finally:
        clock.use(None)
    assert status_of(db, job_id) is JobStatus.SKIPPED
    with db.read() as s:
        error = s.scalar(select(Job.error).where(Job.id == job_id))
    assert error == (
        "Skipped: its prerequisite “Never runs” did not run on business day 2026-12-04"
    )


OWNER = "admin@bulkdesk.example"  # the definitions' owner; completion email "all"


def _open_accounts(db):
    with db.read() as s:
        return s.scalar(select(func.count()).where(Account.status == "Open"))


def test_stopping_a_run_stops_the_job_its_bulk_action_step_launched(
    db, probe, stub_worker, service, restore_statuses
):
    # Given a run whose bulk-action step's job is working, slowly, on every open account
    runtime.configure(
        dataclasses.replace(runtime.settings(), chunk_size=10, chunk_pause=0.2), db=db
    )
    assert _open_accounts(db) > 300
    d = make_definition(
        db,
        "Hold everything",
        [
            {
                "name": "Hold",
                "kind": "bulk_action",
                "settings": {
                    "action": "change_status",
                    "parameters": {"to": "On hold"},
                    "filter": {"status": "Open"},
                },
                "next_success": "After",
            },
            {"name": "After"},
        ],
        failure_recipients="oncall@example.com",
    )
    job_id = _fire(db, d)

    def child_working():
        with db.read() as s:
            child = s.scalar(select(Job).where(Job.parent_job_id == job_id))
            return child is not None and child.status == JobStatus.IN_PROGRESS and child.ok > 0

    deadline = time.monotonic() + 30
    while not child_working():
        assert time.monotonic() < deadline, steps_of(db, job_id)
        time.sleep(0.05)
    # When a person stops the run, as any job is stopped
    service.stop("admin", job_id)
    # Then the child job is stopped too, by the same person, before it reached every account
    with db.read() as s:
        child = s.scalar(select(Job).where(Job.parent_job_id == job_id))
        stop = s.scalar(
            select(AuditEvent).where(AuditEvent.job_id == child.id, AuditEvent.action == "stop")
        )
    assert JobStatus(child.status) is JobStatus.STOPPED
    assert child.ok + child.exceptions < child.total and child.not_processed > 0
    assert stop is not None and stop.actor_id == user_id(db)
    assert f"its run {job_id} was stopped by Ada Admin" in child.error
    time.sleep(1.0)  # no chunk of the child goes on, the run does not move on
    with db.read() as s:
        after = s.get(Job, child.id)
    assert (after.ok, after.exceptions) == (child.ok, child.exceptions)
    # And the run ends Incomplete, its step recorded stopped, the next step never reached
    assert status_of(db, job_id) is JobStatus.STOPPED
    assert JobStatus.STOPPED.batch_label == "Incomplete"
    ((name, outcome, message),) = steps_of(db, job_id)
    assert (name, outcome) == ("Hold", "stopped")
    assert f"Job {child.id} was stopped with the run" in message
    assert (job_id, "After") not in probe.calls
    # And the failure recipients are told; the owner hears of the run, not of its step's job
    (mail,) = _emails_to(db, job_id, "oncall@example.com")
    assert "Incomplete" in mail["subject"]
    assert len(_emails_to(db, job_id, OWNER)) == 1
    assert not _emails_to(db, child.id, OWNER)


def test_a_dependent_run_recorded_warning_tells_the_failure_recipients_why(db, probe, stub_worker):
    # Given a dependent with failure recipients, whose prerequisite ended in Error
    pre = make_definition(db, "Pre-invoice", [{"name": "P", "settings": {"fail": True}}])
    dep = make_definition(
        db,
        "Invoicer",
        depends_on=[pre],
        success_recipients="ops@example.com",
        failure_recipients="oncall@example.com, billing@example.com",
    )
    first = _fire(db, pre)
    assert wait_run(db, first) is JobStatus.FAILED
    # When the dependent comes due
    job_id = _fire(db, dep, NOW + dt.timedelta(minutes=5))
    assert wait_run(db, job_id) is JobStatus.SKIPPED
    # Then each failure recipient is emailed that it was skipped, naming the prerequisite
    (mail,) = _emails_to(db, job_id, "oncall@example.com")
    assert len(_emails_to(db, job_id, "billing@example.com")) == 1
    assert not _emails_to(db, job_id, "ops@example.com")
    assert "Invoicer" in mail["subject"] and "Warning" in mail["subject"]
    assert "“Pre-invoice” ended in Error" in mail["body"] and f"run {first}" in mail["body"]
    assert f"?page=monitor&job={job_id}" in mail["body"]


def test_the_owners_all_preference_emails_a_run_only_when_it_did_not_end_ok(db, probe, stub_worker):
    # Given an hourly definition and a failing one, owned by a person whose completion
    # email preference is "all"
    with db.read() as s:
        assert s.scalar(select(User.notify).where(User.email == OWNER)) == "all"
    hourly = make_definition(db, "Hourly", schedule="hourly", options={"minute": 0})
    broken = make_definition(db, "Broken", [{"name": "P", "settings": {"fail": True}}])
    # When the hourly one runs three times, Ok, and the other ends in Error
    ok_runs = [_fire(db, hourly, NOW + dt.timedelta(hours=h)) for h in range(3)]
    failed = _fire(db, broken)
    assert [wait_run(db, j) for j in ok_runs] == [JobStatus.COMPLETED] * 3
    assert wait_run(db, failed) is JobStatus.FAILED
    # Then the owner got no email for the Ok runs, and one for the failed run
    assert [_emails_to(db, j, OWNER) for j in ok_runs] == [[], [], []]
    (mail,) = _emails_to(db, failed, OWNER)
    assert "Failed" in mail["subject"] and "did not end Ok" in mail["body"]
    # And a person's own job still gets its email under "all"
    from jobs.outbound.completion import wants_email

    assert wants_email("all", JobStatus.COMPLETED)
    assert not wants_email("all", JobStatus.COMPLETED, run=True)
    assert not wants_email("none", JobStatus.FAILED, run=True)


class _StopThenSubmit:
    """A bulk-action step whose run is stopped while it submits (the stop lands between the
    step's start and its job's submission)."""

    kind = "stop_then_bulk"

    def run(self, ctx):
        from jobs.definitions.steps.bulk_action import BulkActionStep

        ctx.service.stop("admin", ctx.job_id)
        return BulkActionStep().run(ctx)


def test_a_job_submitted_as_its_run_is_stopped_is_stopped_with_it(
    db, probe, stub_worker, restore_statuses, monkeypatch
):
    from jobs.definitions import steps

    runtime.configure(
        dataclasses.replace(runtime.settings(), chunk_size=10, chunk_pause=0.2), db=db
    )
    monkeypatch.setitem(steps.STEP_TYPES, _StopThenSubmit.kind, _StopThenSubmit())
    d = make_definition(
        db,
        "Stopped while submitting",
        [
            {
                "name": "Hold",
                "kind": _StopThenSubmit.kind,
                "settings": {
                    "action": "change_status",
                    "parameters": {"to": "On hold"},
                    "filter": {"status": "Open"},
                },
                "next_success": "After",
            },
            {"name": "After"},
        ],
    )
    job_id = _fire(db, d)
    assert wait_run(db, job_id) is JobStatus.STOPPED
    deadline = time.monotonic() + 10
    while True:
        with db.read() as s:  # the step first: it is written in the same transaction
            step = s.scalar(select(RunStep).where(RunStep.job_id == job_id))
            child = s.scalar(select(Job).where(Job.parent_job_id == job_id))
        if child is not None and step.child_job_id == child.id:
            break
        assert time.monotonic() < deadline, steps_of(db, job_id)
        time.sleep(0.05)
    # The job the step submitted after the stop is deleted (not started yet: no items) or
    # stopped part way (its items not all worked)
    if child.deleted_at is None:
        assert JobStatus(child.status) is JobStatus.STOPPED
        assert child.ok + child.exceptions < child.total
    else:
        assert JobStatus(child.status) is JobStatus.QUEUED and child.total == 0
    assert step.outcome == "stopped" and f"Job {child.id}, submitted as the run" in step.message
    assert (job_id, "After") not in probe.calls
