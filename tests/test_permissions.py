"""The rules of seed 000, enforced by the service: who sees, stops and deletes which job."""

from __future__ import annotations

import pytest

from jobs.errors import ActionNotAllowed, NotFound, PermissionDenied
from jobs.reports.queries import JobFilter
from jobs.status import DELETABLE, JobStatus
from tests.helpers import force_status

CALL = {"interaction_type": "Note", "outcome": "Information only", "group": "Dispute review"}
STATUSES = [s for s in JobStatus if s is not JobStatus.AWAITING_APPROVAL]


def _job(service, db, owner: str, status: JobStatus) -> int:
    job = service.submit_bulk_interaction(owner, description=f"{owner} {status.label}", **CALL)
    force_status(db, job.id, status)
    return job.id


def test_an_admin_sees_every_job_and_a_user_only_their_own(db, service, stub_broker):
    alices = {_job(service, db, "alice", JobStatus.QUEUED) for _ in range(3)}
    bobs = {_job(service, db, "bob", JobStatus.QUEUED) for _ in range(2)}
    assert {j.id for j in service.list_jobs("admin").rows} == alices | bobs
    assert {j.id for j in service.list_jobs("alice").rows} == alices
    assert {j.id for j in service.list_jobs("bob").rows} == bobs
    # A user's owner filter cannot widen what they see
    bob_id = service.actor("bob").id
    assert service.list_jobs("alice", JobFilter(owner_id=bob_id)).total == 3
    assert service.list_jobs("admin", JobFilter(owner_id=bob_id)).total == 2


@pytest.mark.parametrize("status", STATUSES, ids=lambda s: s.label)
@pytest.mark.parametrize("actor, owner", [("admin", "alice"), ("alice", "alice"), ("alice", "bob")])
def test_stop_is_allowed_only_on_in_progress_jobs_by_an_admin_or_the_owner(
    db, service, stub_broker, actor, owner, status
):
    job_id = _job(service, db, owner, status)
    may = status is JobStatus.IN_PROGRESS and (actor == "admin" or actor == owner)
    if actor != "admin" and actor != owner:
        # Other users' jobs are invisible to a user: not listed, not found
        assert job_id not in [j.id for j in service.list_jobs(actor).rows]
    listed = {j.id: j for j in service.list_jobs("admin").rows}[job_id]
    if actor == "admin":
        assert listed.can_stop == may
    if may:
        assert service.stop(actor, job_id).status is JobStatus.STOPPED
        return
    if actor != "admin" and actor != owner:
        # Someone else's job is "not found", in the same words as a job that never existed
        with pytest.raises(NotFound) as refused:
            service.stop(actor, job_id)
        assert str(refused.value) == f"Job {job_id} was not found; it may have been deleted"
    else:
        with pytest.raises(ActionNotAllowed) as refused:
            service.stop(actor, job_id)
        assert "Only jobs that are In progress can be stopped" in str(refused.value)
    assert service.job("admin", job_id).summary.status is status


@pytest.mark.parametrize("status", STATUSES, ids=lambda s: s.label)
@pytest.mark.parametrize("actor, owner", [("admin", "alice"), ("alice", "alice"), ("alice", "bob")])
def test_delete_is_allowed_only_in_the_listed_statuses_by_an_admin_or_the_owner(
    db, service, stub_broker, actor, owner, status
):
    job_id = _job(service, db, owner, status)
    may = status in DELETABLE and (actor == "admin" or actor == owner)
    if may:
        service.delete(actor, job_id)
        assert job_id not in [j.id for j in service.list_jobs("admin").rows]
        return
    if actor != "admin" and actor != owner:
        with pytest.raises(NotFound) as refused:
            service.delete(actor, job_id)
        assert str(refused.value) == f"Job {job_id} was not found; it may have been deleted"
    else:
        with pytest.raises(ActionNotAllowed) as refused:
            service.delete(actor, job_id)
        assert (
            "Only jobs that are Queued, Completed, Failed, Stopped or Completed with "
            "exceptions can be deleted" in str(refused.value)
        )
    assert job_id in [j.id for j in service.list_jobs("admin").rows]


def test_the_rules_give_readable_reasons_to_a_user_acting_on_someone_elses_job():
    from jobs.people.permissions import Actor, check_delete, check_stop

    alice = Actor(
        id=2,
        username="alice",
        display_name="Alice",
        role="user",
        permissions=frozenset({"bulk_update_interactions"}),
    )
    with pytest.raises(PermissionDenied, match="You can only stop jobs you created"):
        check_stop(alice, owner_id=3, status=JobStatus.IN_PROGRESS)
    with pytest.raises(PermissionDenied, match="You can only delete jobs you created"):
        check_delete(alice, owner_id=3, status=JobStatus.COMPLETED)
