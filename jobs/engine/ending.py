"""The one place where a job ends.

Every final status (Completed, Completed with exceptions, Failed, Stopped) is reached through
:func:`end_job`: it closes the items still pending as not processed, moves the status, writes
the audit event and tells the listeners that the job ended, all in the caller's transaction.
The completion email hangs from it (``jobs.outbound.completion``); a definition's next step
will hang from it too (:func:`add_listener`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, update

from jobs import audit, runtime
from jobs.db import Database
from jobs.models import ChunkState, ItemOutcome, Job, JobChunk, JobItem, utcnow
from jobs.outbound import completion, outbox
from jobs.status import JobStatus, move


@dataclass(frozen=True)
class JobEnded:
    """A job that just ended, and the deliveries its ending wrote (to send after commit)."""

    job_id: int
    status: JobStatus
    deliveries: list[int] = field(default_factory=list)


#: Called with (conn, job id, final status) in the ending transaction; returns the ids of
#: the deliveries it wrote to the outbox.
Listener = Callable[[Connection, int, JobStatus], list[int]]


class _EndedMeanwhile(Exception):
    """The status moved elsewhere while the items were being closed: undo the closing."""


def _completion_email(conn: Connection, job_id: int, status: JobStatus) -> list[int]:
    payload = completion.completion_payload(conn, job_id, runtime.settings())
    if payload is None:
        return []
    return [outbox.add(conn, kind="email", payload=payload, job_id=job_id)]


_listeners: list[Listener] = [_completion_email]


def add_listener(listener: Listener) -> None:
    """Hang something from every job's end (it runs in the ending transaction)."""
    _listeners.append(listener)


def end_job(
    conn: Connection,
    job_id: int,
    final: JobStatus,
    *,
    actor_id: int | None = None,
    error: str | None = None,
) -> JobEnded | None:
    """End a job with ``final`` status, in the caller's transaction.

    Items are closed before the status moves: a chunk being worked holds its items' locks
    and then wants the job's row, so taking the rows in that same order never deadlocks
    with it (PostgreSQL); the chunk then finds its job ended and rolls back. Chunks not yet
    worked are marked done, except one being worked right now (SKIP LOCKED), which marks
    itself done when it sees the job ended.

    Returns:
      What ended, or None when the job's status did not allow ``final`` (it ended already,
      or was deleted): then nothing was changed.

    Raises:
      _EndedMeanwhile: when the status moved while the items were being closed; the caller's
        transaction must roll back (:func:`halt` does).
    """
    assert final.is_final
    status = conn.scalar(select(Job.status).where(Job.id == job_id))
    if status is None or JobStatus(status).is_final:
        return None
    now = utcnow()
    closed = conn.execute(
        update(JobItem)
        .where(JobItem.job_id == job_id, JobItem.outcome == ItemOutcome.PENDING)
        .values(outcome=ItemOutcome.NOT_PROCESSED)
    ).rowcount
    moved = move(
        conn,
        job_id,
        final,
        ended_at=now,
        error=error,
        not_processed=Job.not_processed + closed,
        chunks_left=0,
    )
    if not moved:
        if closed:
            raise _EndedMeanwhile(job_id)
        return None
    waiting = (
        select(JobChunk.id)
        .where(JobChunk.job_id == job_id, JobChunk.state != ChunkState.DONE)
        .with_for_update(skip_locked=True)
    )
    conn.execute(
        update(JobChunk)
        .where(JobChunk.id.in_(waiting))
        .values(state=ChunkState.DONE, lease_owner=None, lease_until=None)
    )
    verb = {JobStatus.STOPPED: audit.STOP}.get(final, audit.END)
    audit.record(
        conn,
        verb,
        job_id=job_id,
        actor_id=actor_id,
        at=now,
        summary=f"Job {job_id} ended {final.label}" + (f": {error}" if error else ""),
        details={"status": final.label, **({"error": error} if error else {})},
    )
    deliveries = [d for listener in _listeners for d in listener(conn, job_id, final)]
    return JobEnded(job_id=job_id, status=final, deliveries=deliveries)


def halt(
    db: Database,
    job_id: int,
    target: JobStatus,
    *,
    actor_id: int | None,
    error: str | None = None,
) -> JobEnded | None:
    """End a job early (Stopped by a person, Failed by an error) in its own transaction.

    Returns:
      What ended, or None when its status no longer allowed it (nothing changed).
    """
    try:
        with db.write_conn() as conn:
            return end_job(conn, job_id, target, actor_id=actor_id, error=error)
    except _EndedMeanwhile:
        return None
