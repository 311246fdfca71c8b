"""What must hold whatever people and workers do at the same moment (issue "Trust").

A start racing a delete never runs a deleted job; a small job is not starved behind a big one;
a job queued by another process starts as soon as a worker is idle; a job interrupted by an
unexpected error tells its owner in a sentence; a worker that stops cleanly hands its work back.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from jobs import runtime
from jobs.actions.add_interaction import AddInteraction
from jobs.engine import execution
from jobs.errors import ActionNotAllowed
from jobs.models import Interaction, ItemOutcome, Job, JobChunk, JobItem
from jobs.status import JobStatus
from jobs.worker import actors as actors_mod
from jobs.worker import broker as broker_mod
from tests.helpers import assert_completed, interactions_per_account, wait_for

CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Voicemail left"}
RACES = 200


def test_a_start_racing_a_delete_never_runs_the_deleted_job(db, service, stub_broker):
    # Given Queued jobs (no worker runs: the test itself plays the worker)
    outcomes = {"deleted": 0, "started": 0}
    for n in range(RACES):
        job = service.submit_bulk_interaction(
            "bob", description=f"Race {n}", group="Callback list — week 47", **CALL
        )
        # When a worker starts each one at the very moment bob deletes it
        gate = threading.Barrier(2)
        started: list[list[int]] = []

        def start(
            job_id: int = job.id,
            gate: threading.Barrier = gate,
            started: list[list[int]] = started,
        ) -> None:
            gate.wait()
            started.append(execution.start(db, job_id, chunk_size=250).chunks)

        worker = threading.Thread(target=start)
        worker.start()
        gate.wait()
        try:
            service.delete("bob", job.id)
            outcomes["deleted"] += 1
        except ActionNotAllowed:
            outcomes["started"] += 1
        worker.join(30)
        assert started, "the start did not return"
        for chunk_id in started[0]:  # whatever start handed out is worked, as a worker would
            if execution.claim(db, chunk_id, "racer", 30):
                execution.process_chunk(db, chunk_id, "racer")
    # Then no deleted job has a single item or interaction, and every other job ran
    with db.read() as s:
        deleted_with_work = s.scalar(
            select(func.count(func.distinct(Job.id)))
            .select_from(Job)
            .join(JobItem, JobItem.job_id == Job.id, isouter=True)
            .join(Interaction, Interaction.job_id == Job.id, isouter=True)
            .where(
                Job.deleted_at.is_not(None),
                (JobItem.seq.is_not(None)) | (Interaction.id.is_not(None)),
            )
        )
        ran = s.scalar(select(func.count()).select_from(Job).where(Job.status != JobStatus.QUEUED))
        live = s.scalar(select(func.count()).select_from(Job).where(Job.deleted_at.is_(None)))
    assert deleted_with_work == 0
    assert outcomes["deleted"] + outcomes["started"] == RACES
    assert ran == live == outcomes["started"]


def test_a_job_deleted_between_the_starts_read_and_its_move_never_runs(
    db, service, stub_broker, monkeypatch
):
    # Given a Queued job, and a start that has already read it as Queued and not deleted:
    # the source's prepare runs between that read and the move to In progress, so the
    # delete is made there, from another connection, deterministically
    job = service.submit_bulk_interaction(
        "bob", description="Deleted mid-start", group="Callback list — week 47", **CALL
    )
    from jobs.sources.base import Source

    def delete_then_prepare(self, db_, job_id):
        service.delete("bob", job_id)

    monkeypatch.setattr(Source, "prepare", delete_then_prepare)
    # When the start goes on to move the job to In progress
    started = execution.start(db, job.id, chunk_size=250)
    # Then it did nothing: no chunk to work, no item, no interaction, still Queued + deleted
    assert started.chunks == [] and started.deliveries == []
    with db.read() as s:
        row = s.get(Job, job.id)
        items = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job.id))
        done = s.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.job_id == job.id)
        )
        chunks = s.scalar(
            select(func.count()).select_from(JobChunk).where(JobChunk.job_id == job.id)
        )
    assert row.deleted_at is not None and row.status == JobStatus.QUEUED
    assert row.started_at is None
    assert items == 0 and done == 0 and chunks == 0


def test_a_small_job_submitted_behind_a_big_one_finishes_first(db, service, stub_broker):
    # Given a big job of many slow chunks, running on two worker threads, with a window of
    # four chunks per job in the queue
    runtime.configure(
        dataclasses.replace(runtime.settings(), chunk_size=50, chunk_pause=0.2, chunks_in_flight=4)
    )
    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        big = service.submit_bulk_interaction(
            "alice", description="Everyone", account_filter={"min_balance": 0}, **CALL
        )
        wait_for(service, "alice", big.id, until=lambda s: s.processed >= 100)
        # When bob submits a small job
        small = service.submit_bulk_interaction(
            "bob", description="A few", group="Dispute review", **CALL
        )
        small_done = wait_for(service, "bob", small.id, timeout=60)
        big_then = service.job("alice", big.id).summary
        big_done = wait_for(service, "alice", big.id, timeout=120)
    finally:
        worker.stop()
    # Then the small job ended while the big one was still running, and both did all
    assert big_then.status is JobStatus.IN_PROGRESS, "the small job waited for the big one"
    assert big_then.processed < big_then.total
    assert small_done.processed == small_done.total and big_done.processed == big_done.total
    assert set(interactions_per_account(db, big.id).values()) == {1}


def _submit_from_another_process(db, description: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": db.url.render_as_string(hide_password=False),
        "BULKDESK_BROKER_URL": "",
    }
    cli = Path(sys.executable).parent / "bulkdesk"
    return subprocess.Popen(
        [
            str(cli),
            "submit",
            "add-interaction",
            "--as",
            "alice",
            "--group",
            "Dispute review",
            "--description",
            description,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_jobs_queued_at_once_by_other_processes_all_start_while_a_worker_is_idle(
    db, service, stub_worker
):
    # Given a dashboard-like process with an idle in-process worker (30 s leases, so that no
    # lease expiry can be what starts the jobs)
    runtime.configure(dataclasses.replace(runtime.settings(), lease_seconds=30))
    # When eight CLI processes, each with its own in-process broker, queue a job at once
    procs = [_submit_from_another_process(db, f"From process {n}") for n in range(8)]
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
    with db.read() as s:
        job_ids = list(s.scalars(select(Job.id).where(Job.description.like("From process %"))))
    assert len(job_ids) == 8
    # Then this process's worker starts and finishes every one of them
    waits = []
    for job_id in job_ids:
        done = wait_for(service, "alice", job_id, timeout=30)
        assert_completed(done)
        waits.append((done.started_at - done.submitted_at).total_seconds())
    # A Queued job is picked up about a second after it appears; 10 s is far beyond that and
    # far below the lease-period waits this replaced
    assert max(waits) < 10, waits


def test_an_unexpected_error_fails_the_job_with_a_sentence_not_sql(
    db, service, stub_worker, monkeypatch
):
    # Given an action whose statement hits a database error
    def broken_apply(self, conn, chunk):  # type: ignore[no-untyped-def]
        conn.execute(text("SELECT secret_column FROM no_such_table"))

    monkeypatch.setattr(AddInteraction, "apply", broken_apply)
    job = service.submit_bulk_interaction(
        "alice", description="Doomed", group="Dispute review", **CALL
    )
    # When its retries run out
    done = wait_for(service, "alice", job.id, timeout=60)
    # Then it is Failed, and alice reads a sentence without the SQL or the driver's text
    assert done.status is JobStatus.FAILED
    error = service.job("alice", job.id).error
    kind = "OperationalError" if db.is_sqlite else "ProgrammingError"
    assert error == (
        f"The job was interrupted by an unexpected error ({kind}); "
        "the details are in the worker's log"
    )
    assert "no_such_table" not in error and "SELECT" not in error
    # And nothing of the chunk stayed: no item is Ok, no interaction was written
    assert interactions_per_account(db, job.id) == {}
    with db.read() as s:
        ok = s.scalar(
            select(func.count())
            .select_from(JobItem)
            .where(JobItem.job_id == job.id, JobItem.outcome == ItemOutcome.OK)
        )
    assert ok == 0


@pytest.mark.slow
def test_ctrl_c_during_submit_wait_hands_the_job_to_the_other_workers_at_once(sqlite_db, tmp_path):
    # Given a dashboard-like process working the embedded broker
    from jobs.service import JobService

    service = JobService(sqlite_db)
    runtime.configure(dataclasses.replace(runtime.settings(), lease_seconds=30))
    broker = broker_mod.make_broker(runtime.settings())
    actors_mod.use(broker)
    worker = broker_mod.start_in_process_worker(broker, threads=2)
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": str(sqlite_db.url),
        "BULKDESK_BROKER_URL": "",
        "BULKDESK_CHUNK_SIZE": "50",
        "BULKDESK_CHUNK_PAUSE": "0.3",
        "BULKDESK_LEASE_SECONDS": "30",
    }
    cli = Path(sys.executable).parent / "bulkdesk"
    try:
        # And `bulkdesk submit --wait` working a job with its own in-process worker
        watching = subprocess.Popen(
            [
                str(cli),
                "submit",
                "add-interaction",
                "--as",
                "alice",
                "--min-balance",
                "0",
                "--description",
                "Interrupted",
                "--wait",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        job_id = None
        while time.monotonic() < deadline and job_id is None:
            with sqlite_db.read() as s:
                job_id = s.scalar(
                    select(Job.id).where(Job.description == "Interrupted", Job.ok > 0)
                )
            time.sleep(0.1)
        assert job_id is not None, "the CLI's job never made progress"
        # When the person presses Ctrl-C
        watching.send_signal(signal.SIGINT)
        out, _ = watching.communicate(timeout=60)
        interrupted_at = time.monotonic()
        done = wait_for(service, "alice", job_id, timeout=120)
        taken_over_in = time.monotonic() - interrupted_at
    finally:
        worker.stop()
        broker.close()
    # Then the command says the job goes on and exits 130, and the other worker finishes it
    assert watching.returncode == 130, out
    assert "The job goes on" in out
    assert done.status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS)
    assert done.processed == done.total and done.not_processed == 0
    assert set(interactions_per_account(sqlite_db, job_id).values()) == {1}
    # well before a lease of 30 s could have run out
    assert taken_over_in < 30, taken_over_in


def test_a_worker_stopping_cleanly_hands_back_the_messages_only_its_queue_held(
    db, service, stub_broker
):
    # Given chunks sent to this process's in-process broker, whose queue ends with it
    from jobs.engine import recovery
    from jobs.worker.actors import run_chunk
    from jobs.worker.reaper import Reaper

    job = service.submit_bulk_interaction(
        "alice", description="Handed back", account_filter={"min_balance": 0}, **CALL
    )
    chunk_ids = execution.start(db, job.id, chunk_size=500, in_flight=3).chunks
    # (as if this process's worker were booted but its threads busy elsewhere)
    Reaper._with_workers.add(stub_broker)
    for chunk_id in chunk_ids:
        run_chunk.send(chunk_id)
    # Fresh messages are not taken for lost by another idle worker
    assert recovery.sweep(db, idle=True, stale_seconds=60).send_chunks == []
    # When this process's worker shuts down with them still in its queue
    reaper = next(m for m in stub_broker.middleware if isinstance(m, Reaper))
    reaper.before_worker_shutdown(stub_broker, None)
    # Then any other idle worker sends them again at its next sweep, and only once
    assert sorted(recovery.sweep(db, idle=True, stale_seconds=60).send_chunks) == chunk_ids
    assert recovery.sweep(db, idle=True, stale_seconds=60).send_chunks == []
