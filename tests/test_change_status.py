"""Change Status end to end: exactly the right accounts change, exceptions say why, each item
keeps its status before and after, and the dry run foretells the job without writing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from jobs.errors import InvalidInput
from jobs.models import Account, ItemOutcome, Job, JobItem
from jobs.status import JobStatus
from tests.helpers import wait_for

pytestmark = pytest.mark.usefixtures("restore_statuses")


def _group_accounts(db, name: str) -> dict[int, tuple[str, bool]]:
    with db.read() as s:
        rows = s.execute(
            text(
                "SELECT a.id, a.status, a.locked FROM accounts a "
                "JOIN group_members m ON m.account_id = a.id "
                "JOIN groups g ON g.id = m.group_id WHERE g.name = :n"
            ),
            {"n": name},
        ).all()
    return {i: (status, bool(locked)) for i, status, locked in rows}


def _statuses(db) -> dict[int, str]:
    with db.read() as s:
        return dict(s.execute(select(Account.id, Account.status)).all())


def test_change_status_changes_exactly_the_workable_accounts_and_records_before_and_after(
    db, service, stub_worker
):
    # Given the "Dispute review" group: disputes, with some closed and locked accounts
    members = _group_accounts(db, "Dispute review")
    before = _statuses(db)
    workable = {i for i, (status, locked) in members.items() if not locked and status != "Closed"}
    assert workable and len(workable) < len(members)

    # When alice changes their status to "On hold"
    job = service.submit_to_accounts(
        "alice",
        "change_status",
        description="Disputes on hold",
        group="Dispute review",
        to="On hold",
    )
    done = wait_for(service, "alice", job.id)

    # Then exactly the workable accounts are On hold, and no other account changed
    after = _statuses(db)
    changed = {i for i in after if after[i] != before[i]}
    assert changed == workable
    assert {after[i] for i in workable} == {"On hold"}
    assert done.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert (done.ok, done.exceptions, done.not_processed) == (
        len(workable),
        len(members) - len(workable),
        0,
    )
    # And each item says why it was an exception, or what it changed from and to
    with db.read() as s:
        items = s.execute(
            select(JobItem.account_id, JobItem.outcome, JobItem.message, JobItem.payload).where(
                JobItem.job_id == job.id
            )
        ).all()
    for account_id, outcome, message, payload in items:
        status, locked = members[account_id]
        if account_id in workable:
            assert outcome == ItemOutcome.OK
            assert payload == {"before": before[account_id], "after": "On hold"}
        elif locked:
            assert (outcome, message) == (
                ItemOutcome.EXCEPTION,
                "Account is locked; bulk updates are not allowed",
            )
        else:
            assert (outcome, message) == (ItemOutcome.EXCEPTION, "Account is closed")
    # And the job's items show the change in words
    page = service.job_items("alice", job.id, outcome="Ok", page_size=5)
    assert page.rows[0].change.endswith("→ On hold")


def test_accounts_already_in_the_status_are_exceptions(db, service, stub_worker):
    # Given open accounts in Texas (a saved filter)
    job = service.submit_to_accounts(
        "alice",
        "change_status",
        description="Already open",
        group="Texas open accounts",
        to="Open",
    )
    done = wait_for(service, "alice", job.id)
    # Then every one of them is "already Open", and nothing changed
    assert done.ok == 0 and done.exceptions == done.total > 0
    rows = service.job_items("alice", job.id, page_size=500).rows
    assert {r.message for r in rows} == {
        "Account is already Open",
        "Account is locked; bulk updates are not allowed",  # locked comes first
    }


def test_the_dry_run_foretells_the_job_and_writes_nothing(db, service, stub_worker):
    # Given a selection and a new status
    selection = service.account_selection(group="Dispute review")
    with db.read() as s:
        jobs_before = s.scalar(select(func.count()).select_from(Job))
    before = _statuses(db)

    # When alice asks for a dry run
    preview = service.dry_run("alice", "change_status", selection, {"to": "On hold"})

    # Then nothing was written
    assert _statuses(db) == before
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == jobs_before
    # And it shows the counts, the reasons and examples of before → after
    members = _group_accounts(db, "Dispute review")
    workable = [i for i, (st, locked) in members.items() if not locked and st != "Closed"]
    assert preview.total == len(members) and preview.touch == len(workable)
    assert set(preview.exceptions) == {
        "Account is locked; bulk updates are not allowed",
        "Account is closed",
    }
    assert preview.sample and all(s["after"] == "On hold" for s in preview.sample)
    assert all(s["before"] == before_status(db, s["file_number"]) for s in preview.sample)

    # And the job then does what the dry run said
    job = service.submit("alice", "change_status", selection, {"to": "On hold"}, "Real run")
    done = wait_for(service, "alice", job.id)
    assert (done.ok, done.exceptions) == (preview.touch, preview.exception_count)
    with db.read() as s:
        messages = dict(
            s.execute(
                select(JobItem.message, func.count())
                .where(JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.EXCEPTION)
                .group_by(JobItem.message)
            ).all()
        )
    assert messages == preview.exceptions


def before_status(db, file_number: str) -> str:
    with db.read() as s:
        return s.scalar(select(Account.status).where(Account.file_number == file_number))


@pytest.mark.parametrize(
    "to, message",
    [
        ("Legal review", "Choose a new status (Open, Promise to pay"),
        ("Onhold", "Choose a new status"),
        ("", "Choose a new status"),
    ],
)
def test_an_inactive_or_unknown_status_cannot_be_chosen(db, service, to, message):
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")) as caught:
        service.submit_to_accounts(
            "alice", "change_status", description="Bad", group="Dispute review", to=to
        )
    assert caught.value.field == "to"
    assert "Legal review" not in str(caught.value)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_the_form_offers_only_active_statuses(db, service):
    (field,) = service.action_fields("alice", "change_status")
    assert field.kind == "choice" and field.flag == "--to"
    assert "On hold" in field.options and "Legal review" not in field.options
    assert "Closed" in field.options  # closing accounts in bulk is allowed; closed ones are left


def test_a_user_without_the_permission_cannot_change_statuses(db, service):
    from jobs.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        service.submit_to_accounts(
            "carol", "change_status", description="No", group="Dispute review", to="On hold"
        )
    with pytest.raises(PermissionDenied):
        service.dry_run(
            "carol",
            "change_status",
            service.account_selection(group="Dispute review"),
            {"to": "On hold"},
        )


def test_excluded_accounts_are_left_alone(db, service, stub_worker):
    members = _group_accounts(db, "Dispute review")
    workable = sorted(i for i, (st, locked) in members.items() if not locked and st != "Closed")
    left_out = workable[:3]
    job = service.submit_to_accounts(
        "alice",
        "change_status",
        description="Most on hold",
        group="Dispute review",
        excluded_ids=left_out,
        to="On hold",
    )
    done = wait_for(service, "alice", job.id)
    assert done.total == len(members) - 3
    after = _statuses(db)
    assert all(after[i] == members[i][0] for i in left_out)
    with db.read() as s:
        in_job = set(s.scalars(select(JobItem.account_id).where(JobItem.job_id == job.id)))
    assert in_job == set(members) - set(left_out)
