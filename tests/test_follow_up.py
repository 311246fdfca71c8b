"""The job view's Retry exceptions and Undo: shown only where the job allows them, previewed
first, queued only on "Queue it", refusals in the service's words."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, update

from apps.follow_up import FollowUp
from jobs.models import Account
from tests.helpers import wait_for

GROUP = "Dispute review"


@pytest.fixture
def db(sqlite_db):
    with sqlite_db.read() as s:
        before = [{"i": i, "s": st} for i, st in s.execute(select(Account.id, Account.status))]
    yield sqlite_db
    with sqlite_db.write_conn() as conn:
        t = Account.__table__
        conn.execute(
            update(t).where(t.c.id == bindparam("i")).values(status=bindparam("s")), before
        )


@pytest.fixture
def service(db):
    from jobs.service import JobService

    return JobService(db)


def test_retry_and_undo_are_previewed_then_queued_with_their_links(service, stub_worker):
    job = service.submit_to_accounts(
        "alice", "change_status", description="Disputes on hold", group=GROUP, to="On hold"
    )
    done = wait_for(service, "alice", job.id)
    assert done.exceptions and done.ok
    view = FollowUp(service, "alice", job.id)
    assert view.retry.visible and view.undo.visible

    # Undo… shows the preview; nothing is queued yet
    view.undo.clicks += 1
    assert "Undo this job: preview" in view._preview.object
    assert f"Would change {done.ok:,} of {done.ok:,} accounts" in view._preview.object
    assert service.list_jobs("alice").total == 1
    # Cancel closes it; Queue it queues the undo
    view.cancel.clicks += 1
    assert view._preview.object == "" and not view._confirm_row.visible
    view.undo.clicks += 1
    view.confirm.clicks += 1
    assert "queued: Undo of job" in view.message.object
    undo = service.list_jobs("alice").rows[0]
    assert undo.description == f"Undo of job {job.id}: Disputes on hold"
    wait_for(service, "alice", undo.id)
    view.update(service.job("alice", job.id).summary)
    assert f"Undone by job {undo.id}" in view._links.object
    # A second undo is refused, in the service's words
    view.undo.clicks += 1
    assert f"already undone by job {undo.id}" in view.message.object


def test_buttons_only_where_the_job_allows_them(service, stub_worker):
    job = service.submit_to_accounts(
        "alice",
        "add_interaction",
        description="Notes",
        group="Skip-trace batch",
        interaction_type="Note",
        outcome="Information only",
    )
    done = wait_for(service, "alice", job.id)
    view = FollowUp(service, "alice", job.id)
    assert not view.undo.visible  # Add Interaction cannot be undone
    assert view.retry.visible == (done.exceptions > 0)
