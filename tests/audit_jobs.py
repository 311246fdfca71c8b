"""A small, varied audit trail made through the service API, for audit and notebook tests."""

from __future__ import annotations

import time
from dataclasses import dataclass

from dramatiq import Broker, Worker

from jobs import runtime
from jobs.engine import execution
from jobs.service import JobService
from jobs.status import JobStatus
from jobs.worker import broker as broker_mod


@dataclass(frozen=True)
class AuditJobs:
    """The ids of the jobs :func:`make_audit_jobs` left behind, by how they ended."""

    completed: int
    with_exceptions: int
    stopped: int
    deleted_queued: int
    deleted_completed: int


def wait_until_final(service: JobService, job_id: int, timeout: float = 60) -> JobStatus:
    """Poll a job until its status is final.

    Returns:
      The final status.

    Raises:
      AssertionError: when it is not final after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = service.job("admin", job_id).summary.status
        if status.is_final:
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def make_audit_jobs(service: JobService, broker: Broker) -> AuditJobs:
    """Create a completed, an exceptions, a stopped and two deleted jobs, as different users.

    Parameters:
      service: the service over the seeded test database.
      broker: the stub broker, with no worker yet; one is started and stopped here.

    Returns:
      The jobs' ids.
    """
    # Given no worker yet: a job that is started but never worked, so it can be stopped,
    stopped = service.submit_bulk_interaction(
        "bob",
        description="Skip-trace notes",
        interaction_type="Note",
        outcome="Information only",
        group="Skip-trace batch",
        interaction_date="2026-11-02",
    ).id
    execution.start(service.db, stopped, runtime.settings().chunk_size)
    service.stop("admin", stopped)
    # and a Queued job its owner deletes before it runs.
    deleted_queued = service.submit_bulk_interaction(
        "dave",
        description="Texas courtesy calls",
        interaction_type="Call",
        outcome="No answer",
        account_filter={"state": "TX"},
        interaction_date="2026-11-02",
    ).id
    service.delete("dave", deleted_queued)

    worker: Worker = broker_mod.start_in_process_worker(broker, threads=2)
    try:
        completed = service.submit_bulk_interaction(
            "alice",
            description="Callback reminders",
            interaction_type="Call",
            outcome="Left message",
            group="Callback list — week 47",
            interaction_date="2026-11-02",
        ).id
        with_exceptions = service.submit_bulk_interaction(
            "dave",
            description="Dispute review notes",
            interaction_type="Note",
            outcome="Dispute raised",
            group="Dispute review",
            interaction_date="2026-11-02",
        ).id
        deleted_completed = service.submit_bulk_interaction(
            "alice",
            description="One-off letters",
            interaction_type="Letter",
            outcome="Information only",
            account_filter={"state": "VT"},
            interaction_date="2026-11-02",
        ).id
        for job_id in (completed, with_exceptions, deleted_completed):
            wait_until_final(service, job_id)
        service.delete("admin", deleted_completed)
        broker.join(broker_mod.QUEUE)
        worker.join()
    finally:
        worker.stop()
    return AuditJobs(
        completed=completed,
        with_exceptions=with_exceptions,
        stopped=stopped,
        deleted_queued=deleted_queued,
        deleted_completed=deleted_completed,
    )
