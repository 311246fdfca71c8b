"""The engine's contracts, each broken on purpose somewhere in these tests' history:

- a job's items come from its source, and an action's ``plan`` runs once after the snapshot,
  is stored on the job and reaches every chunk; ``finalize`` runs once after the last chunk;
- every final status goes through the one place a job ends (items closed, audit, listeners);
- the status machine's guard: a job moves only from an allowed status;
- outside effects go through the outbox: a rolled-back chunk leaves none, a redelivered
  delivery is sent once, a failing one is retried and then shown on its job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, delete, func, select, update

from jobs import audit, runtime
from jobs.actions import register
from jobs.actions.add_interaction import AddInteraction
from jobs.actions.base import ChunkContext, JobContext
from jobs.actions.params import param
from jobs.config import Settings
from jobs.db import json_object
from jobs.engine import ending, execution, recovery
from jobs.models import (
    AuditEvent,
    Delivery,
    DeliveryState,
    GroupMember,
    ItemOutcome,
    Job,
    JobItem,
)
from jobs.outbound import outbox
from jobs.status import JobStatus, move
from tests.helpers import assert_completed, force_status, wait_for


@dataclass(frozen=True)
class TallyParams:
    label: str = param(label="Label", default="tally", required=False)


class Tally(AddInteraction):
    """A test action: plans a seed, stamps it on every item, and counts its finalize calls."""

    name = "test_tally"
    label = "Tally (test)"
    cli_name = "test-tally"
    Params = TallyParams

    def check(self, params: TallyParams, session) -> None:  # type: ignore[no-untyped-def]
        return None

    def describe(self, params: TallyParams) -> str:
        return params.label

    def plan(self, conn: Connection, job: JobContext) -> dict:
        total = conn.scalar(select(func.count()).where(JobItem.job_id == job.job_id))
        return {"seed": 42, "planned_for": total}

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        conn.execute(
            update(JobItem)
            .where(chunk.pending())
            .values(payload=json_object("seed", chunk.plan["seed"]))
        )

    def finalize(self, conn: Connection, job: JobContext) -> None:
        audit.record(conn, "finalize", job_id=job.job_id, actor_id=None, summary="finalized")


class Flaky(Tally):
    """A test action whose first chunk writes an email to the outbox, then fails."""

    name = "test_flaky"
    cli_name = "test-flaky"

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        outbox.add(conn, kind="email", payload={"to": "x@example.com"}, job_id=chunk.job_id)
        if chunk.seq_lo == 1:
            raise RuntimeError("the first chunk always fails")


@pytest.fixture(autouse=True, scope="module")
def _test_actions():
    """The test actions, registered only while these tests run."""
    from jobs.actions import ACTIONS

    for action in (Tally(), Flaky()):
        register(action)
    yield
    for name in (Tally.name, Flaky.name):
        ACTIONS.pop(name)


def _calls(service, description: str):  # type: ignore[no-untyped-def]
    """alice's Add Interaction job on the "Dispute review" group (Queued)."""
    return service.submit_bulk_interaction(
        "alice",
        description=description,
        group="Dispute review",
        interaction_type="Call",
        outcome="No answer",
    )


@pytest.fixture
def ended_jobs():
    """Every job end the listeners hear of, while the test runs."""
    heard: list[tuple[int, JobStatus]] = []

    def listener(conn, job_id, status):  # type: ignore[no-untyped-def]
        heard.append((job_id, status))
        return []

    ending.add_listener(listener)
    yield heard
    ending._listeners.remove(listener)


def _events(db, job_id: int, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.job_id == job_id, AuditEvent.action == action)
            )
        )


def test_plan_runs_once_after_the_snapshot_and_reaches_every_chunk(db, service, stub_worker):
    job = service.submit_to_accounts(
        "alice", "test_tally", description="Plan", group="Dispute review"
    )
    done = wait_for(service, "alice", job.id)
    assert_completed(done)
    with db.read() as s:
        stored = s.scalar(select(Job.plan).where(Job.id == job.id))
        payloads = list(
            s.scalars(
                select(JobItem.payload).where(
                    JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.OK
                )
            )
        )
    # The plan saw the whole snapshot, and is kept on the job
    assert stored == {"seed": 42, "planned_for": done.total}
    # Every chunk got it (the test fixture's chunk size is 250; this group spans one chunk,
    # so the next test covers many)
    assert payloads and all(p == {"seed": 42} for p in payloads)


def test_finalize_runs_once_after_the_last_of_many_chunks(db, service, stub_worker):
    runtime.configure(Settings(database_url=str(db.url), chunk_size=100), db=db)
    job = service.submit_to_accounts(
        "alice", "test_tally", description="Many chunks", account_filter={"min_balance": 0}
    )
    done = wait_for(service, "alice", job.id)
    assert done.total > 1000
    assert len(_events(db, job.id, "finalize")) == 1
    with db.read() as s:
        unstamped = s.scalar(
            select(func.count()).where(
                JobItem.job_id == job.id,
                JobItem.outcome == ItemOutcome.OK,
                JobItem.payload.is_(None),
            )
        )
    assert unstamped == 0


def test_every_final_status_goes_through_the_one_place_a_job_ends(
    db, service, stub_broker, ended_jobs
):
    # Completed with exceptions, at the last chunk
    a = _calls(service, "Ends")
    for chunk in execution.start(db, a.id, 1000).chunks:
        execution.claim(db, chunk, "t", 30)
        execution.process_chunk(db, chunk, "t")
    # Stopped by a person, with its items closed as not processed
    b = _calls(service, "Stopped")
    execution.start(db, b.id, 10)
    stopped = service.stop("admin", b.id)
    # Failed, by an error
    c = _calls(service, "Failed")
    execution.start(db, c.id, 10)
    ending.halt(db, c.id, JobStatus.FAILED, actor_id=None, error="It broke")
    # Completed with nothing to do: the group emptied between submit and start
    d = service.submit_bulk_interaction(
        "alice",
        description="Empty",
        group="Callback list — week 47",
        interaction_type="Call",
        outcome="No answer",
    )
    with db.write_conn() as conn:
        members = conn.execute(select(GroupMember.__table__)).all()
        conn.execute(delete(GroupMember).where(GroupMember.group_id == members[0].group_id))
    try:
        execution.start(db, d.id, 10)
    finally:
        with db.write_conn() as conn:
            conn.execute(
                GroupMember.__table__.insert(),
                [dict(m._mapping) for m in members if m.group_id == members[0].group_id],
            )

    assert ended_jobs == [
        (a.id, JobStatus.COMPLETED_WITH_EXCEPTIONS),
        (b.id, JobStatus.STOPPED),
        (c.id, JobStatus.FAILED),
        (d.id, JobStatus.COMPLETED),
    ]
    assert stopped.not_processed == stopped.total > 0 and stopped.processed == 0
    failed = service.job("alice", c.id)
    assert failed.summary.not_processed == failed.summary.total and failed.error == "It broke"
    for job_id in (a.id, b.id, c.id, d.id):
        ends = _events(db, job_id, audit.END) + _events(db, job_id, audit.STOP)
        assert len(ends) == 1
        with db.read() as s:
            pending = s.scalar(
                select(func.count()).where(
                    JobItem.job_id == job_id, JobItem.outcome == ItemOutcome.PENDING
                )
            )
        assert pending == 0
    # And a job ends once: a second end is refused and heard by nobody
    assert ending.halt(db, b.id, JobStatus.FAILED, actor_id=None) is None
    assert len(ended_jobs) == 4


def test_a_chunk_of_a_stopped_job_changes_nothing_and_is_retired(db, service, stub_broker):
    job = _calls(service, "Late chunk")
    (chunk,) = execution.start(db, job.id, 1000).chunks
    assert execution.claim(db, chunk, "late", 30)
    service.stop("alice", job.id)
    assert execution.process_chunk(db, chunk, "late") is None
    assert service.job("alice", job.id).summary.ok == 0
    # Nothing is left for the reaper to send again
    assert recovery.sweep(db, at_boot=True).send_chunks == []


def test_a_status_moves_only_from_an_allowed_one(db, service):
    job = _calls(service, "Guard")
    force_status(db, job.id, JobStatus.STOPPED)
    with db.write_conn() as conn:
        # A late start, or a late last chunk, cannot revive or complete a stopped job
        assert not move(conn, job.id, JobStatus.IN_PROGRESS)
        assert not move(conn, job.id, JobStatus.COMPLETED)
    assert service.job("alice", job.id).summary.status is JobStatus.STOPPED


def test_a_chunk_that_rolls_back_sends_nothing(db, service, stub_broker):
    job = service.submit_to_accounts(
        "alice", "test_flaky", description="Rolls back", group="Dispute review"
    )
    (chunk,) = execution.start(db, job.id, 1000).chunks
    execution.claim(db, chunk, "t", 30)
    with pytest.raises(RuntimeError):
        execution.process_chunk(db, chunk, "t")
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Delivery)) == 0
        pending = s.scalar(
            select(func.count()).where(
                JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.PENDING
            )
        )
    assert pending == service.job("alice", job.id).summary.total


def _job_with_delivery(db, service, payload: dict) -> tuple[int, int]:
    job = _calls(service, "Outbox")
    with db.write_conn() as conn:
        delivery = outbox.add(conn, kind="email", payload=payload, job_id=job.id)
    return job.id, delivery


MAIL = {"to": "alice@bulkdesk.example", "subject": "Bulkdesk test", "body": "Hello"}


def test_a_delivery_sent_twice_is_delivered_once(db, service, tmp_path: Path):
    settings = Settings(database_url=str(db.url), outbox_dir=str(tmp_path / "outbox"))
    _, delivery = _job_with_delivery(db, service, MAIL)
    first = outbox.deliver(db, delivery, settings)
    again = outbox.deliver(db, delivery, settings)
    assert first is not None and again is None
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    with db.read() as s:
        row = s.get(Delivery, delivery)
    assert (row.state, row.attempts, row.sent_to) == (DeliveryState.SENT, 1, first)


def test_a_failing_delivery_is_retried_then_shown_on_its_job(db, service, unused_port: int):
    settings = Settings(
        database_url=str(db.url),
        smtp_url=f"smtp://127.0.0.1:{unused_port}",
        delivery_attempts=2,
    )
    job_id, delivery = _job_with_delivery(db, service, MAIL)
    # The first attempt fails and waits for a retry
    assert outbox.deliver(db, delivery, settings) is None
    with db.read() as s:
        row = s.get(Delivery, delivery)
    assert (row.state, row.attempts) == (DeliveryState.PENDING, 1)
    assert row.last_error
    # The retry is due after its backoff, and a reaper then sends it again (once)
    with db.write_conn() as conn:
        conn.execute(update(Delivery).values(due_at=row.created_at))
    assert recovery.sweep(db).send_deliveries == [delivery]
    assert recovery.sweep(db).send_deliveries == []
    # The last attempt fails too: the delivery is Failed, and the job says so
    assert outbox.deliver(db, delivery, settings) is None
    with db.read() as s:
        assert s.get(Delivery, delivery).state == DeliveryState.FAILED
    events = [e.summary for e in service.job("alice", job_id).events]
    assert any(
        "The email to alice@bulkdesk.example could not be sent after 2 attempts" in e
        for e in events
    )
    # And nothing sends it again
    assert recovery.sweep(db, at_boot=True).send_deliveries == []


@pytest.fixture
def unused_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# PostgreSQL only: SQLite has no row locks, so a stop marks every chunk of the job done at once.
@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_a_chunk_held_while_its_job_is_stopped_is_retired_when_worked(db, service, stub_broker):
    # Given a chunk whose row a worker holds (PostgreSQL row lock) while its job is stopped
    from jobs.models import ChunkState, JobChunk

    job = _calls(service, "Held chunk")
    (chunk,) = execution.start(db, job.id, 1000).chunks
    assert execution.claim(db, chunk, "held", 30)
    with db.engine.connect() as held:
        held.execute(select(JobChunk.id).where(JobChunk.id == chunk).with_for_update())
        service.stop("alice", job.id)  # the stop skips the locked chunk
        held.rollback()
    # When the worker works it
    assert execution.process_chunk(db, chunk, "held") is None
    # Then it is done, and no reaper will ever send it again
    with db.read() as s:
        assert s.get(JobChunk, chunk).state == ChunkState.DONE
    assert service.job("alice", job.id).summary.ok == 0
