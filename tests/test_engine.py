"""Bulk interaction jobs end to end on the in-process broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from jobs import runtime
from jobs.engine import execution, recovery
from jobs.errors import InvalidInput, NotFound, PermissionDenied
from jobs.models import (
    Account,
    AuditEvent,
    ChunkState,
    Group,
    GroupMember,
    Interaction,
    ItemOutcome,
    Job,
    JobChunk,
    JobItem,
)
from jobs.reports.queries import JobFilter
from jobs.sources.accounts import AccountFilter
from jobs.status import JobStatus
from tests.helpers import assert_completed, interactions_per_account, wait_for

CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Voicemail left"}


def _group_id(db, name: str) -> int:
    with db.read() as s:
        return s.scalar(select(Group.id).where(Group.name == name))


def test_a_job_on_a_group_gives_every_workable_account_one_interaction(db, service, stub_worker):
    # Given a static group that includes closed and locked accounts
    group = _group_id(db, "Dispute review")
    with db.read() as s:
        members = s.execute(
            select(Account.id, Account.status, Account.locked)
            .join(GroupMember, GroupMember.account_id == Account.id)
            .where(GroupMember.group_id == group)
        ).all()
    workable = {m.id for m in members if m.status != "Closed" and not m.locked}
    blocked = {m.id for m in members} - workable
    assert workable and blocked, "the seed's dispute group must mix workable and blocked accounts"

    # When alice adds an interaction to the group
    job = service.submit_bulk_interaction(
        "alice", description="Dispute follow-up", group="Dispute review", **CALL
    )
    done = wait_for(service, "alice", job.id)

    # Then it completes with exceptions, one interaction per workable account, none elsewhere
    assert done.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert (done.total, done.ok, done.exceptions) == (len(members), len(workable), len(blocked))
    assert interactions_per_account(db, job.id) == {a: 1 for a in workable}
    exceptions = service.job_items("alice", job.id, outcome="Exception", page_size=500)
    assert {r.account_id for r in exceptions.rows} == blocked
    assert all(
        r.message in ("Account is closed", "Account is locked; bulk updates are not allowed")
        for r in exceptions.rows
    )
    # And the audit trail has its submit, start and end
    actions = [e.action for e in service.job("alice", job.id).events]
    assert actions == ["submit", "start", "end"]


def test_a_job_whose_accounts_are_all_workable_ends_completed(db, service, stub_worker):
    job = service.submit_bulk_interaction(
        "bob",
        description="Texas open",
        account_filter={"state": "TX", "status": "Open", "locked": False},
        **CALL,
    )
    done = wait_for(service, "bob", job.id)
    assert done.status is JobStatus.COMPLETED
    assert done.ok == done.total > 0 and done.exceptions == 0
    # And the account search shows them worked today
    found = service.search_accounts(
        "bob", AccountFilter(state="TX", status="Open", locked=False), page_size=500
    )
    assert found.total == done.total
    assert {a["last_worked"] for a in found.rows} == {dt.date.today()}


def test_a_job_runs_in_chunks_of_the_configured_size(db, service, stub_worker):
    job = service.submit_bulk_interaction(
        "alice", description="Chunked", account_filter={"min_balance": 0}, **CALL
    )
    done = wait_for(service, "alice", job.id)
    with db.read() as s:
        sizes = s.scalars(
            select(JobChunk.seq_hi - JobChunk.seq_lo + 1)
            .where(JobChunk.job_id == job.id)
            .order_by(JobChunk.id)
        ).all()
    assert sum(sizes) == done.total
    assert max(sizes) == runtime.settings().chunk_size
    assert len(sizes) == -(-done.total // runtime.settings().chunk_size)


def test_stopping_a_running_job_leaves_its_unprocessed_accounts_untouched(db, service, stub_broker):
    # Given a job slowed down so that it is mid-way when stopped
    slow = dataclasses.replace(runtime.settings(), chunk_pause=0.3, chunk_size=50)
    runtime.configure(slow)
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        job = service.submit_bulk_interaction(
            "alice", description="Stop me", account_filter={"min_balance": 0}, **CALL
        )
        wait_for(service, "alice", job.id, until=lambda s: s.ok > 0)
        # When alice stops it
        stopped = service.stop("alice", job.id)
        # Then it is Stopped at once
        assert stopped.status is JobStatus.STOPPED
        time.sleep(1.0)  # chunks in flight finish their pause and roll back
        after = service.job("alice", job.id).summary
    finally:
        worker.stop()
    assert after.status is JobStatus.STOPPED
    assert after.ok + after.exceptions + after.not_processed == after.total
    assert after.not_processed > 0
    with db.read() as s:
        pending = s.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.PENDING)
        )
        applied = s.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.job_id == job.id)
        )
        untouched = s.scalar(
            select(func.count())
            .select_from(JobItem)
            .join(
                Interaction,
                (Interaction.account_id == JobItem.account_id) & (Interaction.job_id == job.id),
            )
            .where(JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.NOT_PROCESSED)
        )
    assert pending == 0
    assert applied == after.ok
    assert untouched == 0
    events = [(e.action, e.actor) for e in service.job("alice", job.id).events]
    assert ("stop", "Alice Analyst") in events


def test_a_deleted_queued_job_never_runs(db, service, stub_broker):
    # Given a Queued job (no worker is running yet)
    job = service.submit_bulk_interaction(
        "bob", description="Never mind", group="Callback list — week 47", **CALL
    )
    assert job.status is JobStatus.QUEUED
    # When bob deletes it, and only then a worker starts
    service.delete("bob", job.id)
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        stub_broker.join("bulkdesk", timeout=10_000)
        time.sleep(0.3)
    finally:
        worker.stop()
    # Then it did nothing, is gone from the lists, and the audit trail remembers it
    with db.read() as s:
        job_row = s.get(Job, job.id)
        assert job_row.status == JobStatus.QUEUED and job_row.deleted_at is not None
        assert (
            s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id)) == 0
        )
        assert (
            s.scalar(
                select(func.count()).select_from(Interaction).where(Interaction.job_id == job.id)
            )
            == 0
        )
        deletion = s.scalar(
            select(AuditEvent).where(AuditEvent.job_id == job.id, AuditEvent.action == "delete")
        )
    assert deletion.details["description"] == "Never mind"
    assert "Bob Builder deleted job" in deletion.summary
    assert job.id not in [j.id for j in service.list_jobs("admin").rows]
    with pytest.raises(NotFound, match="was not found"):
        service.job("bob", job.id)


def test_a_redelivered_chunk_never_applies_an_item_twice(db, service, stub_broker):
    job = service.submit_bulk_interaction(
        "alice", description="Twice?", group="Callback list — week 47", **CALL
    )
    chunk_ids = execution.start(db, job.id, chunk_size=50).chunks
    first = chunk_ids[0]
    assert execution.claim(db, first, "worker-a", 30)
    applied = execution.process_chunk(db, first, "worker-a")
    assert applied is not None and applied.ok + applied.exceptions == 50
    # When the same chunk is handed to another worker as if its lease had been lost
    with db.write_conn() as conn:
        conn.execute(
            update(JobChunk)
            .where(JobChunk.id == first)
            .values(state=ChunkState.RUNNING, lease_owner="worker-b")
        )
    again = execution.process_chunk(db, first, "worker-b")
    # Then nothing is applied twice
    assert again is not None and (again.ok, again.exceptions) == (0, 0)
    assert set(interactions_per_account(db, job.id).values()) == {1}
    # And a claim on a finished chunk is refused
    assert not execution.claim(db, first, "worker-c", 30)


def test_a_job_whose_group_vanished_before_it_started_fails_with_the_reason(
    db, service, stub_broker
):
    with db.write() as s:
        temp = Group(name="Temporary list", kind="static")
        s.add(temp)
        s.flush()
        s.add_all(GroupMember(group_id=temp.id, account_id=a) for a in range(1, 21))
        group = temp.id
    job = service.submit_bulk_interaction(
        "alice", description="Vanishing group", group=group, **CALL
    )
    with db.write_conn() as conn:
        conn.execute(delete(GroupMember).where(GroupMember.group_id == group))
        conn.execute(delete(Group).where(Group.id == group))
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=1)
    try:
        done = wait_for(service, "alice", job.id)
    finally:
        worker.stop()
    assert done.status is JobStatus.FAILED
    assert f"Group {group} does not exist" in service.job("alice", job.id).error


def test_the_reaper_hands_back_a_chunk_whose_worker_died(db, service, stub_broker):
    job = service.submit_bulk_interaction(
        "alice", description="Orphan", group="Callback list — week 47", **CALL
    )
    chunk_ids = execution.start(db, job.id, chunk_size=50).chunks
    # A worker claimed a chunk and died: its lease has run out
    assert execution.claim(db, chunk_ids[0], "dead-worker", lease_seconds=-1)
    found = recovery.sweep(db)
    assert found.send_chunks == [chunk_ids[0]]
    # A busy worker leaves waiting chunks alone, however long they wait: they are in a queue
    assert recovery.sweep(db, stale_seconds=0).send_chunks == []
    # An idle one takes chunks waiting longer than a moment for lost, once
    found = recovery.sweep(db, idle=True, stale_seconds=0)
    assert sorted(found.send_chunks) == sorted(chunk_ids)
    assert recovery.sweep(db, idle=True, stale_seconds=60).send_chunks == []
    # At a worker's start, every waiting chunk of a running job is sent again
    found = recovery.sweep(db, at_boot=True)
    assert sorted(found.send_chunks) == sorted(chunk_ids)


def test_a_worker_start_resumes_jobs_left_queued_and_half_done(db, service, stub_broker):
    # Given a job queued while no broker message survived, and one half done
    queued = service.submit_bulk_interaction(
        "alice", description="Lost message", group="Dispute review", **CALL
    )
    half = service.submit_bulk_interaction(
        "bob", description="Half done", group="Callback list — week 47", **CALL
    )
    chunk_ids = execution.start(db, half.id, chunk_size=50).chunks
    assert execution.claim(db, chunk_ids[0], "gone", 30)
    execution.process_chunk(db, chunk_ids[0], "gone")
    stub_broker.flush_all()
    # When a worker starts
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        first = wait_for(service, "alice", queued.id)
        second = wait_for(service, "bob", half.id)
    finally:
        worker.stop()
    # Then both finish, with every account worked once
    assert_completed(first)
    assert_completed(second)
    assert set(interactions_per_account(db, half.id).values()) == {1}


def test_jobs_list_newest_first_one_page_at_a_time(db, service, stub_broker):
    ids = [
        service.submit_bulk_interaction(
            "alice", description=f"Job {n}", group="Dispute review", **CALL
        ).id
        for n in range(7)
    ]
    page1 = service.list_jobs("alice", page=1, page_size=3)
    page3 = service.list_jobs("alice", page=3, page_size=3)
    assert [j.id for j in page1.rows] == ids[::-1][:3]
    assert [j.id for j in page3.rows] == ids[:1]
    assert (page1.total, page1.pages) == (7, 3)
    found = service.list_jobs("alice", JobFilter(text="job 4"))
    assert [j.description for j in found.rows] == ["Job 4"]
    queued = service.list_jobs("alice", JobFilter(statuses=[JobStatus.QUEUED]))
    assert queued.total == 7


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"group": "No such group"}, None, "Group 'No such group' does not exist"),
        (
            {"group": None, "account_filter": {"min_balance": 99_999_999}},
            "selection",
            "matches no accounts",
        ),
        ({"group": None, "account_filter": {"state": "Texas"}}, "state", "no state 'Texas'"),
        ({"account_filter": {"status": "Opn"}}, "status", "no account status 'Opn'"),
        ({"account_filter": {"client_id": 999}}, "client_id", "no client number 999"),
        ({"group": None}, "selection", "Choose a group, accounts or at least one account filter"),
        ({"note": "x" * 2001}, "note", "the limit is 2,000"),
        ({"interaction_type": "Telepathy"}, "interaction_type", "Choose an interaction type"),
        ({"description": "   "}, "description", "Give the job a description"),
        ({"description": "d" * 201}, "description", "the limit is 200"),
        ({"interaction_date": "31/12/2026"}, "interaction_date", "is not a date"),
        ({"account_filter": {"colour": "red"}}, "filter", "Unknown account filter: colour"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_queued(
    db, service, stub_broker, change, field, message
):
    values = {"description": "Bad input", "group": "Dispute review", **CALL, **change}
    with pytest.raises((InvalidInput, NotFound), match=message) as caught:
        service.submit_bulk_interaction("alice", **values)
    if field:
        assert caught.value.field == field
    assert service.list_jobs("admin").total == 0


def test_html_in_a_description_is_kept_as_the_text_typed(db, service, stub_broker):
    text = '<script>alert("x")</script> & <b>bold</b>'
    job = service.submit_bulk_interaction("alice", description=text, group="Dispute review", **CALL)
    assert service.job("alice", job.id).summary.description == text


def test_unknown_job_ids_are_reported_as_not_found(db, service):
    for bad in (999_999, "abc"):
        with pytest.raises(NotFound):
            service.job("admin", bad)
        with pytest.raises(NotFound):
            service.stop("admin", bad)
        with pytest.raises(NotFound):
            service.delete("admin", bad)


def test_a_user_without_the_bulk_update_permission_cannot_submit(db, service):
    with pytest.raises(PermissionDenied, match="Bulk Update - Interactions"):
        service.submit_bulk_interaction("carol", description="Nope", group="Dispute review", **CALL)
    with pytest.raises(NotFound, match="no user called"):
        service.submit_bulk_interaction(
            "mallory", description="Nope", group="Dispute review", **CALL
        )


def test_a_job_queued_by_another_process_is_picked_up_by_the_in_process_worker(
    db, service, stub_worker
):
    # Given a dashboard-like process working the embedded broker (leases of 30 s, so the
    # quiet-spell recovery would not act within this test)
    runtime.configure(dataclasses.replace(runtime.settings(), lease_seconds=30))
    # When the CLI, another process with its own in-process broker, queues a job
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "BULKDESK_BROKER_URL": "",
    }
    cli = Path(sys.executable).parent / "bulkdesk"
    out = subprocess.run(
        [
            str(cli),
            "submit",
            "add-interaction",
            "--as",
            "alice",
            "--group",
            "Dispute review",
            "--description",
            "From the CLI",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    job_id = int(out.split()[1])
    # Then this process's worker runs it a moment later
    done = wait_for(service, "alice", job_id, timeout=20)
    assert_completed(done)
