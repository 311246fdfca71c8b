"""Approval of communications end to end: a user without the send permission submits, a
supervisor or an admin approves (the emails reach a real SMTP server on loopback on the send
date, not before, by a clock the test moves) or rejects (nothing is sent, the submitter is
told). On SQLite and PostgreSQL, with the in-process broker and worker threads.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from jobs.cli.main import main
from jobs.errors import ActionNotAllowed, InvalidInput, NotFound, PermissionDenied
from jobs.models import AuditEvent, DeliveryState, ItemOutcome, Job, User
from jobs.people.permissions import APPROVE_COMMUNICATIONS, BULK_UPDATE
from jobs.status import JobStatus
from tests.comms_helpers import CLOCK_START, SCRIPT_NAME, deliveries, settled
from tests.helpers import wait_for

pytest_plugins = ["tests.smtp_server", "tests.comms_fixtures"]

SEND_DAY = (CLOCK_START + dt.timedelta(days=1)).date()


def _submit_email(service, user: str, ids: list[int], send_date: dt.date = SEND_DAY):
    return service.submit_to_accounts(
        user,
        "send_email",
        description="March payment reminders",
        account_ids=ids,
        template="Payment reminder",
        send_date=send_date.isoformat(),
    )


def _audit(db, job_id: int) -> list[str]:
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.job_id == job_id).order_by(AuditEvent.id)
            )
        )


def _status(db, job_id: int) -> JobStatus:
    with db.read() as s:
        return JobStatus(s.scalar(select(Job.status).where(Job.id == job_id)))


def test_an_approved_communication_waits_for_its_send_date_then_the_emails_arrive(
    db, service, targets, mail_to, manual_clock, stub_worker
):
    # Given bob, who may run bulk jobs but not send, schedules emails for tomorrow
    job = _submit_email(service, "bob", targets.all)

    # Then it waits for approval: nothing starts, nothing is written to the outbox
    assert job.status is JobStatus.AWAITING_APPROVAL
    time.sleep(1.5)  # a reaper sweep or two
    assert _status(db, job.id) is JobStatus.AWAITING_APPROVAL
    waiting = service.approvals("dave")
    assert [r.id for r in waiting.rows] == [job.id]
    assert waiting.rows[0].can_decide and waiting.rows[0].send_date == SEND_DAY
    assert service.approvals("bob").rows[0].can_decide is False  # his own: read-only

    # When dave, a supervisor, approves it
    assert service.approve("dave", job.id) is JobStatus.QUEUED

    # Then it is queued but does not start before its send date
    time.sleep(2.5)
    assert _status(db, job.id) is JobStatus.QUEUED
    assert deliveries(db, job.id) == [] and mail_to.messages == []

    # When the clock reaches the send date, a worker's reaper starts it
    manual_clock.advance(days=1)
    done = wait_for(service, "bob", job.id, timeout=30)

    # Then every account with a valid email address got one email; the others are exceptions
    assert done.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    sent = [d for d in settled(db, job.id, 6) if d.item_seq is not None]
    assert [d.state for d in sent] == [DeliveryState.SENT] * 6
    with db.read() as s:
        from jobs.models import Account

        emails = dict(s.execute(select(Account.id, Account.email)).all())
    expected = sorted(
        emails[i] for i in targets.all if i not in (targets.no_email, targets.bad_email)
    )
    arrived = mail_to.wait_for(7)  # six debtors, and bob's completion email
    to_debtors = [m for m in arrived if m["To"] != "bob@bulkdesk.example"]
    assert sorted(m["To"] for m in to_debtors) == expected
    exceptions = service.job_items("bob", job.id, outcome="Exception").rows
    assert sorted(r.message for r in exceptions) == ["No valid email address"] * 2

    # The debtor called like a script reads as text in the HTML part, and nothing runs
    script = next(m for m in to_debtors if m["To"] == emails[targets.script])
    html_part = script.get_body(preferencelist=("html",)).get_content()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; O&#x27;Brien &amp; Sons" in html_part
    assert "<script" not in html_part
    assert SCRIPT_NAME in script.get_body(preferencelist=("plain",)).get_content()
    assert "Our records show a balance of $" in html_part

    # And the approval is in the audit trail, between the submit and the start
    trail = _audit(db, job.id)
    assert trail[:3] == ["submit", "approve", "start"]


def test_a_rejected_communication_sends_nothing_and_its_submitter_is_told(
    db, service, targets, mail_to, manual_clock, stub_worker
):
    job = _submit_email(service, "bob", targets.all)

    # A reason is required; without one nothing changes
    with pytest.raises(InvalidInput, match="Give a reason") as refused:
        service.reject("dave", job.id, "   ")
    assert refused.value.field == "reason"
    assert _status(db, job.id) is JobStatus.AWAITING_APPROVAL

    # When dave rejects it with a reason
    assert service.reject("dave", job.id, "Wrong template for <b>disputes</b>") is JobStatus.STOPPED

    # Then it ended Stopped, its error says who and why, and it never starts
    detail = service.job("bob", job.id)
    assert detail.summary.status is JobStatus.STOPPED
    assert detail.error == "Rejected by Dave Supervisor: Wrong template for <b>disputes</b>"
    manual_clock.advance(days=2)
    time.sleep(2.5)
    assert service.job("bob", job.id).summary.started_at is None
    assert service.approvals("dave").rows == []

    # Bob is told by his completion email (his profile: failures and exceptions)
    (told,) = mail_to.wait_for(1)
    assert told["To"] == "bob@bulkdesk.example"
    assert told["Subject"].endswith(": Stopped")
    assert "Rejected by Dave Supervisor: Wrong template for <b>disputes</b>" in told.get_content()
    # and no debtor got anything
    assert [d.kind for d in deliveries(db, job.id)] == ["email"]
    assert deliveries(db, job.id)[0].payload["to"] == "bob@bulkdesk.example"
    assert _audit(db, job.id) == ["submit", "stop", "reject"]


def test_its_submitter_withdraws_a_request_and_nothing_is_ever_sent(
    db, service, targets, manual_clock, stub_worker
):
    job = _submit_email(service, "bob", targets.all)
    other = _submit_email(service, "bob", targets.all)

    # The submitter may withdraw, an approver who did not submit it may not, nor may others
    assert service.approval("bob", job.id).row.can_withdraw
    assert not service.approval("dave", job.id).row.can_withdraw
    with pytest.raises(PermissionDenied, match="Only the person who submitted"):
        service.withdraw("dave", job.id)
    with pytest.raises(NotFound):
        service.withdraw("alice", job.id)
    assert _status(db, job.id) is JobStatus.AWAITING_APPROVAL

    # When bob withdraws it, it ends Stopped and says so; it cannot then be approved
    assert service.withdraw("bob", job.id) is JobStatus.STOPPED
    detail = service.job("bob", job.id)
    assert detail.summary.status is JobStatus.STOPPED
    assert detail.error.startswith("Withdrawn by Bob")
    with pytest.raises(ActionNotAllowed, match="this job is Stopped"):
        service.approve("dave", job.id)
    with pytest.raises(ActionNotAllowed, match="Only jobs Awaiting approval can be withdrawn"):
        service.withdraw("bob", job.id)
    manual_clock.advance(days=2)
    time.sleep(2.5)
    assert service.job("bob", job.id).summary.started_at is None
    assert [d.payload.get("to") for d in deliveries(db, job.id)] in ([], ["bob@bulkdesk.example"])
    assert _audit(db, job.id) == ["submit", "stop", "withdraw"]

    # An admin may withdraw anyone's; and from the command line
    runner = CliRunner()
    refused = runner.invoke(main, ["withdraw", str(other.id), "--as", "dave"])
    assert refused.exit_code == 2 and "Only the person who submitted" in refused.output
    done = runner.invoke(main, ["withdraw", str(other.id), "--as", "admin"])
    assert done.exit_code == 0, done.output
    assert f"Job {other.id} withdrawn" in done.output
    assert _status(db, other.id) is JobStatus.STOPPED


def test_a_user_with_the_send_permission_queues_directly(db, service, targets, manual_clock):
    job = _submit_email(service, "alice", targets.all)

    assert job.status is JobStatus.QUEUED
    assert service.needs_approval("alice", "send_email") is False
    assert service.needs_approval("bob", "send_email") is True
    assert service.needs_approval("bob", "send_sms") is True
    assert service.needs_approval("bob", "change_status") is False


def test_only_admins_and_supervisors_decide_and_never_on_their_own_job(
    db, service, targets, mail_to, manual_clock
):
    job = _submit_email(service, "bob", targets.all)

    # bob may not approve (his own, and he is no approver); alice does not even see it
    with pytest.raises(PermissionDenied, match="Only an admin or a supervisor"):
        service.approve("bob", job.id)
    with pytest.raises(NotFound, match=f"Job {job.id} was not found"):
        service.approve("alice", job.id)
    with pytest.raises(NotFound):
        service.approval("alice", job.id)
    assert service.approvals("alice").rows == []

    # A supervisor who may approve but not send cannot approve what he submitted himself
    with db.write_conn() as conn:
        conn.execute(
            update(User)
            .where(User.username == "alice")
            .values(permissions=[BULK_UPDATE, APPROVE_COMMUNICATIONS])
        )
    own = _submit_email(service, "alice", targets.all)
    assert own.status is JobStatus.AWAITING_APPROVAL
    with pytest.raises(PermissionDenied, match="a communication you submitted"):
        service.approve("alice", own.id)

    # An admin approves; a second decision is refused with the status it found
    assert service.approve("admin", job.id) is JobStatus.QUEUED
    with pytest.raises(ActionNotAllowed, match="this job is Queued"):
        service.reject("dave", job.id, "too late")
    with pytest.raises(ActionNotAllowed, match="Only jobs Awaiting approval"):
        service.approve("dave", job.id)


def test_a_send_date_in_the_past_is_refused(db, service, targets, manual_clock):
    with pytest.raises(InvalidInput, match="is in the past") as refused:
        _submit_email(service, "bob", targets.all, send_date=CLOCK_START.date() - dt.timedelta(1))
    assert refused.value.field == "send_date"


def test_the_cli_lists_approves_and_rejects(db, service, targets, manual_clock):
    first = _submit_email(service, "bob", targets.all)
    second = _submit_email(service, "bob", targets.all)
    runner = CliRunner()

    listed = runner.invoke(main, ["approvals", "--as", "dave"])
    assert listed.exit_code == 0, listed.output
    assert "2 waiting for approval" in listed.output and f"#{first.id}" in listed.output

    refused = runner.invoke(main, ["approve", str(first.id), "--as", "bob"])
    assert refused.exit_code == 2 and "Only an admin or a supervisor" in refused.output

    approved = runner.invoke(main, ["approve", str(first.id), "--as", "admin"])
    assert approved.exit_code == 0, approved.output
    assert f"Job {first.id} approved and queued; it sends on {SEND_DAY}" in approved.output

    no_reason = runner.invoke(main, ["reject", str(second.id), "--as", "admin"])
    assert no_reason.exit_code == 2  # --reason is required
    rejected = runner.invoke(
        main, ["reject", str(second.id), "--as", "admin", "--reason", "Not before the audit"]
    )
    assert rejected.exit_code == 0, rejected.output
    assert service.job("bob", second.id).summary.status is JobStatus.STOPPED
    assert service.job("bob", first.id).summary.status is JobStatus.QUEUED


def test_items_of_an_approved_job_record_the_address_and_the_message(
    db, service, targets, mail_to, manual_clock, stub_worker
):
    job = _submit_email(service, "bob", targets.valid, send_date=CLOCK_START.date())
    service.approve("dave", job.id)  # due at once: its send date is today
    done = wait_for(service, "bob", job.id, timeout=30)

    assert done.status is JobStatus.COMPLETED and done.ok == len(targets.valid)
    rows = service.job_items("bob", job.id).rows
    assert all(r.outcome == ItemOutcome.LABELS[ItemOutcome.OK] for r in rows)
    assert all("@" in r.payload["before"] for r in rows)
    assert {r.payload["after"] for r in rows} == {"Email “Payment reminder” queued"}


def test_the_approvals_page_marks_the_communication_being_read_where_it_now_is(
    db, service, targets, manual_clock
):
    from apps.approvals import ApprovalsPage

    jobs = [_submit_email(service, "bob", targets.all[:1]).id for _ in range(3)]
    page = ApprovalsPage(service, "dave", live=False)
    table = page.paged.table
    assert [r.id for r in page.state.rows] == jobs  # oldest first
    table.selection = [0]
    assert page.state.chosen.row.id == jobs[0]
    # The list in the other order: the mark follows the communication being read (the
    # table alone would keep marking the first row, now another job's)
    page.state.sort_by("submitted")
    assert [r.id for r in page.state.rows] == jobs[::-1]
    assert table.selection == [2] and page.state.chosen.row.id == jobs[0]
    # Closing it leaves nothing marked
    page.state.choose(None)
    assert table.selection == []
