"""Completion emails end to end: a job ends on the worker, its owner's profile decides, and
the email arrives at a real SMTP server on loopback (aiosmtpd) — once.

On SQLite and PostgreSQL, with the in-process broker and worker threads.
"""

from __future__ import annotations

import dataclasses
import time

import pytest
from sqlalchemy import delete, func, select, update

from jobs import runtime
from jobs.engine import execution, recovery
from jobs.models import Delivery, DeliveryState, Group, GroupMember, User
from jobs.status import JobStatus
from tests.helpers import wait_for

pytest_plugins = ["tests.smtp_server"]

CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Voicemail left"}
DASHBOARD = "https://bulkdesk.example.com/app"
#: Which endings each choice of "Job completion email" sends an email for.
SENT_FOR = {
    "all": {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
        JobStatus.STOPPED,
        JobStatus.FAILED,
    },
    "failures": {JobStatus.COMPLETED_WITH_EXCEPTIONS, JobStatus.STOPPED, JobStatus.FAILED},
    "none": set(),
}


@pytest.fixture
def mailing(db, smtp_server):
    """This process sends its emails to the loopback SMTP server; alice's profile is put
    back afterwards (the PostgreSQL database is shared by the session's tests)."""
    runtime.configure(
        dataclasses.replace(
            runtime.settings(),
            smtp_url=smtp_server.url,
            mail_from="Bulkdesk <bulkdesk@ops.example>",
            dashboard_url=DASHBOARD,
        )
    )
    with db.read() as s:
        before = s.execute(select(User.email, User.notify).where(User.username == "alice")).one()
    yield smtp_server
    with db.write_conn() as conn:
        conn.execute(
            update(User)
            .where(User.username == "alice")
            .values(email=before.email, notify=before.notify)
        )


def _deliveries(db, job_id: int) -> list[Delivery]:
    with db.read() as s:
        return list(s.scalars(select(Delivery).where(Delivery.job_id == job_id)))


def _settled(db, stub_broker, job_id: int, timeout: float = 20.0) -> list[Delivery]:
    """The job's deliveries once none is waiting or being sent any more."""
    deadline = time.monotonic() + timeout
    while True:
        # A failing job's start fails on purpose: that is not this wait's business
        stub_broker.join("bulkdesk", timeout=int(timeout * 1000), fail_fast=False)
        rows = _deliveries(db, job_id)
        if all(r.state in (DeliveryState.SENT, DeliveryState.FAILED) for r in rows):
            return rows
        assert time.monotonic() < deadline, f"deliveries still waiting: {rows}"
        time.sleep(0.05)


# -- how each ending is reached --------------------------------------------------------


def _completed(db, service) -> int:
    job = service.submit_bulk_interaction(
        "alice",
        description="Texas open calls",
        account_filter={"state": "TX", "status": "Open", "locked": False},
        **CALL,
    )
    return wait_for(service, "alice", job.id).id


def _with_exceptions(db, service) -> int:
    # The seed's dispute group mixes workable accounts with locked and closed ones
    job = service.submit_bulk_interaction(
        "alice", description="Dispute follow-up calls", group="Dispute review", **CALL
    )
    return wait_for(service, "alice", job.id).id


def _stopped_by_an_admin(db, service) -> int:
    runtime.configure(dataclasses.replace(runtime.settings(), chunk_pause=0.2, chunk_size=50))
    job = service.submit_bulk_interaction(
        "alice", description="Everyone with a balance", account_filter={"min_balance": 0}, **CALL
    )
    wait_for(service, "alice", job.id, until=lambda s: s.ok > 0)
    assert service.stop("admin", job.id).status is JobStatus.STOPPED
    return job.id


def _failed(db, service) -> int:
    with db.write() as s:
        temp = Group(name="Temporary list", kind="static")
        s.add(temp)
        s.flush()
        s.add_all(GroupMember(group_id=temp.id, account_id=a) for a in range(1, 21))
        group = temp.id
    # Nothing works the queue yet: the group vanishes before the job starts
    job = service.submit_bulk_interaction(
        "alice", description="Vanishing list", group=group, **CALL
    )
    with db.write_conn() as conn:
        conn.execute(delete(GroupMember).where(GroupMember.group_id == group))
        conn.execute(delete(Group).where(Group.id == group))
    return job.id


ENDINGS = {
    JobStatus.COMPLETED: _completed,
    JobStatus.COMPLETED_WITH_EXCEPTIONS: _with_exceptions,
    JobStatus.STOPPED: _stopped_by_an_admin,
    JobStatus.FAILED: _failed,
}


@pytest.mark.parametrize("ending", list(ENDINGS), ids=lambda s: s.name.lower())
@pytest.mark.parametrize("notify", ["all", "failures", "none"])
def test_the_owner_gets_the_email_their_profile_asks_for(
    db, service, mailing, stub_broker, notify, ending
):
    # Given alice's profile says when she wants an email
    service.set_profile("alice", notify=notify)
    from jobs.worker import broker as broker_mod

    # When her job ends so (a failing job fails at its start, once a worker runs)
    if ending is JobStatus.FAILED:
        job_id = _failed(db, service)
        worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    else:
        worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
        job_id = ENDINGS[ending](db, service)
    try:
        done = wait_for(service, "alice", job_id)
        assert done.status is ending
        sent = _settled(db, stub_broker, job_id)
    finally:
        worker.stop()

    # Then an email arrived if, and only if, her choice covers this ending
    if ending not in SENT_FOR[notify]:
        assert sent == []
        assert mailing.messages == []
        return
    assert [(d.state, d.attempts) for d in sent] == [(DeliveryState.SENT, 1)]
    assert sent[0].sent_to == mailing.url
    (message,) = mailing.wait_for(1)
    assert message["To"] == "alice@bulkdesk.example"
    assert message["From"] == "Bulkdesk <bulkdesk@ops.example>"
    assert message["Subject"] == f"Bulkdesk job {job_id} — {done.description}: {ending.label}"
    assert message["Message-ID"] == f"<bulkdesk-delivery-{sent[0].id}@ops.example>"
    body = message.get_content()
    assert f"Total:          {done.total:,}" in body
    assert f"Ok:             {done.ok:,}" in body
    assert f"Exceptions:     {done.exceptions:,}" in body
    assert f"Not processed:  {done.not_processed:,}" in body
    assert f"{DASHBOARD}?page=monitor&job={job_id}" in body
    if ending is JobStatus.FAILED:
        assert "does not exist" in body and "it did not start" in body
    if ending is JobStatus.STOPPED:
        assert done.not_processed > 0
    if ending is JobStatus.COMPLETED_WITH_EXCEPTIONS:
        assert done.exceptions > 0


def test_an_owner_without_an_address_gets_no_email_and_nothing_waits(
    db, service, mailing, stub_worker, stub_broker
):
    service.set_profile("alice", notify="all", email="")

    job_id = _with_exceptions(db, service)

    assert _settled(db, stub_broker, job_id) == []
    assert mailing.messages == []


def test_a_delivery_message_sent_twice_sends_one_email(db, service, mailing, stub_broker):
    # Given a job that ends on a chunk worked here, with its email waiting in the outbox
    service.set_profile("alice", notify="all")
    job = service.submit_bulk_interaction(
        "alice", description="Callbacks", group="Callback list — week 47", **CALL
    )
    stub_broker.flush_all()  # this test works the job itself
    (chunk,) = execution.start(db, job.id, chunk_size=100_000).chunks
    assert execution.claim(db, chunk, "here", 30)
    ended = execution.process_chunk(db, chunk, "here")
    assert ended is not None
    (delivery_id,) = ended.deliveries
    from jobs.worker import actors
    from jobs.worker import broker as broker_mod

    # When its delivery message reaches the queue twice, and two worker threads take them
    actors.send_deliveries([delivery_id, delivery_id])
    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        stub_broker.join("bulkdesk", timeout=20_000)
        # and once more after it was sent (a redelivery, a reaper that woke late)
        actors.send_deliveries([delivery_id])
        stub_broker.join("bulkdesk", timeout=20_000)
    finally:
        worker.stop()

    # Then exactly one email arrived, and the outbox tried once
    (message,) = mailing.wait_for(1)
    assert message["Message-ID"] == f"<bulkdesk-delivery-{delivery_id}@ops.example>"
    time.sleep(0.3)  # a second email would be on its way by now
    assert len(mailing.messages) == 1
    (row,) = _deliveries(db, job.id)
    assert (row.state, row.attempts) == (DeliveryState.SENT, 1)
    assert recovery.sweep(db, at_boot=True).send_deliveries == []


def test_a_refused_email_is_retried_and_arrives_once_the_server_takes_it(
    db, service, mailing, stub_broker
):
    # Given the mail server refuses for now
    service.set_profile("alice", notify="all")
    mailing.refuse("451 4.3.0 Mailbox busy, try again later")
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        job_id = _completed(db, service)
        deadline = time.monotonic() + 20
        while (
            not (rows := _deliveries(db, job_id)) or rows[0].attempts < 1 or not rows[0].last_error
        ):
            assert time.monotonic() < deadline, "the first attempt never happened"
            time.sleep(0.05)
        assert "refused the message: 451 4.3.0 Mailbox busy" in rows[0].last_error
        # When it takes mail again, the worker's reaper tries again after the backoff
        mailing.refuse(None)
        (message,) = mailing.wait_for(1, timeout=20)
    finally:
        worker.stop()

    # Then one email arrived, on the second attempt
    assert message["Subject"].startswith(f"Bulkdesk job {job_id} — Texas open calls")
    (row,) = _deliveries(db, job_id)
    assert (row.state, row.attempts, row.last_error) == (DeliveryState.SENT, 2, None)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 1
