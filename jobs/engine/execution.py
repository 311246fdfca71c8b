"""Running a job: snapshot its source's items, plan, split them into chunks, work each chunk.

Each chunk is worked in one transaction: the action's effects, the items' outcomes and the
job's counters commit together or not at all. A worker first claims a chunk with a lease
(committed on its own, kept alive by a heartbeat) so that a crashed worker's chunk can be
found and handed to another; the chunk transaction only applies items still pending, so a
redelivered chunk never applies an item twice.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, insert, or_, select, update

from jobs import audit, clock
from jobs.actions import ChunkContext, JobContext, get_action
from jobs.db import Database
from jobs.engine.ending import end_job
from jobs.errors import BulkdeskError
from jobs.models import ChunkState, ItemOutcome, Job, JobChunk, JobItem, utcnow
from jobs.sources import source_from_dict
from jobs.sources.accounts import count_drift
from jobs.status import JobStatus, move

log = logging.getLogger(__name__)


class JobNoLongerRunning(BulkdeskError):
    """The job was stopped, failed or deleted while a chunk was being worked."""


_sqlite_writers: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def _one_writer(db: Database) -> Iterator[None]:
    """On SQLite, let this process's threads take the write lock one at a time.

    SQLite has one writer at a time anyway. Worker threads that meet its lock wait in its busy
    handler, which sleeps in growing steps (up to 100 ms) and so leaves the database idle after
    each commit; queueing on a Python lock hands the turn over at once. With 4 worker threads
    a 1,000,000-item job ran 10.0 s before, 6.4 s after (the speed of a single thread).
    Other processes still queue on SQLite's own lock. No effect on PostgreSQL.
    """
    if not db.is_sqlite:
        yield
        return
    lock = _sqlite_writers.setdefault(str(db.url), threading.Lock())
    with lock:
        yield


@dataclass(frozen=True)
class ChunkResult:
    """What working a chunk did, and the messages to send after its commit: the chunk it let
    into the queue, and the deliveries (emails) its job's ending wrote."""

    ok: int
    exceptions: int
    job_finished: JobStatus | None = None
    next_chunk: int | None = None
    deliveries: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class Started:
    """A started job's chunks to send now, or the deliveries of a job that ended at once."""

    chunks: list[int] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)


def start(db: Database, job_id: int, chunk_size: int, in_flight: int | None = None) -> Started:
    """Move a Queued job to In progress, snapshot its source's items, plan, and plan chunks.

    The status moves first, in one guarded statement that also checks the job is not
    deleted; nothing else happens unless that statement moved it, so a start racing a delete
    (or a duplicate start message) does nothing. The action's ``plan`` runs after the
    snapshot, in the same transaction, and is stored on the job.

    Parameters:
      db: the database.
      job_id: the job to start.
      chunk_size: items per chunk (one dramatiq message each).
      in_flight: chunks sent to the broker now; each finished chunk sends the next, so one
        job never holds more than this many places in the queue (fair share between jobs).
        None: every chunk at once (for callers that work the chunks themselves).

    Returns:
      The chunks to send; none when the job was not Queued any more (already started by a
      duplicate message, deleted, stopped) or had nothing to do (then it ended Completed).
    """
    with db.read() as session:
        queued = session.execute(
            select(Job.selection, Job.not_before).where(
                Job.id == job_id, Job.status == JobStatus.QUEUED, Job.deleted_at.is_(None)
            )
        ).one_or_none()
    if queued is not None and (queued.not_before is None or queued.not_before <= clock.now()):
        # Slow preparation (a file's rows staged) in transactions of its own, before the
        # snapshot's write transaction: on SQLite that one holds the database's write lock.
        source_from_dict(queued.selection).prepare(db, job_id)
    now = utcnow()
    with db.write() as session:
        conn = session.connection()
        if _not_due(conn, job_id):
            return Started()
        if not move(conn, job_id, JobStatus.IN_PROGRESS, started_at=now, last_progress_at=now):
            return Started()
        job = session.get(Job, job_id)
        audit.record(
            conn, audit.START, job_id=job_id, actor_id=None, at=now, summary=f"Job {job_id} started"
        )
        total = source_from_dict(job.selection).snapshot(session, job_id)
        drift = count_drift(job.selection.get("count_at_submit"), total)
        if drift:  # the selection changed between submit and start: the job says so
            audit.record(conn, "selection", job_id=job_id, actor_id=None, at=now, summary=drift)
        action = get_action(job.action)
        context = JobContext(
            job_id=job_id,
            owner_id=job.owner_id,
            params=action.load(job.parameters),
            plan={},
            now=now,
        )
        plan = action.plan(conn, context) if total else None
        conn.execute(update(Job).where(Job.id == job_id).values(total=total, plan=plan))
        if total == 0:
            ended = end_job(conn, job_id, JobStatus.COMPLETED)
            return Started(deliveries=ended.deliveries if ended else [])
        ranges = [(lo, min(lo + chunk_size - 1, total)) for lo in range(1, total + 1, chunk_size)]
        in_flight = len(ranges) if in_flight is None else in_flight
        conn.execute(
            insert(JobChunk.__table__),
            [
                {
                    "job_id": job_id,
                    "seq_lo": lo,
                    "seq_hi": hi,
                    "state": ChunkState.QUEUED if n < in_flight else ChunkState.PLANNED,
                    "enqueued_at": now if n < in_flight else None,
                }
                for n, (lo, hi) in enumerate(ranges)
            ],
        )
        conn.execute(update(Job).where(Job.id == job_id).values(chunks_left=len(ranges)))
        chunk_ids = session.scalars(
            select(JobChunk.id)
            .where(JobChunk.job_id == job_id, JobChunk.state == ChunkState.QUEUED)
            .order_by(JobChunk.id)
        ).all()
    return Started(chunks=list(chunk_ids))


def _not_due(conn: Connection, job_id: int) -> bool:
    """A job scheduled for later (``not_before``, e.g. a send date) stays Queued; its start
    message is forgotten (``last_progress_at`` emptied) so that a reaper starts it once due."""
    not_before = conn.scalar(select(Job.not_before).where(Job.id == job_id))
    if not_before is None or not_before <= clock.now():
        return False
    conn.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(last_progress_at=None)
    )
    return True


def claim(db: Database, chunk_id: int, owner: str, lease_seconds: float) -> bool:
    """Take the lease on a chunk unless it is done or another live worker holds it."""
    now = utcnow()
    with _one_writer(db), db.write_conn() as conn:
        result = conn.execute(
            update(JobChunk)
            .where(
                JobChunk.id == chunk_id,
                JobChunk.state != ChunkState.DONE,
                or_(
                    JobChunk.state == ChunkState.QUEUED,
                    JobChunk.lease_owner == owner,
                    JobChunk.lease_until.is_(None),
                    JobChunk.lease_until < now,
                ),
            )
            .values(
                state=ChunkState.RUNNING,
                lease_owner=owner,
                attempts=JobChunk.attempts + 1,
                lease_until=now + dt.timedelta(seconds=lease_seconds),
            )
        )
        return result.rowcount == 1


def release(db: Database, chunk_id: int, owner: str) -> None:
    """Give a chunk back (its work rolled back) so that a retry can claim it."""
    with _one_writer(db), db.write_conn() as conn:
        conn.execute(
            update(JobChunk)
            .where(
                JobChunk.id == chunk_id,
                JobChunk.lease_owner == owner,
                JobChunk.state == ChunkState.RUNNING,
            )
            .values(state=ChunkState.QUEUED, lease_owner=None, lease_until=None)
        )


def extend_leases(db: Database, owners: dict[int, str], lease_seconds: float) -> None:
    """Heartbeat: push the leases of the chunks this process is working further out."""
    if not owners:
        return
    until = utcnow() + dt.timedelta(seconds=lease_seconds)
    with _one_writer(db), db.write_conn() as conn:
        for chunk_id, owner in owners.items():
            conn.execute(
                update(JobChunk)
                .where(
                    JobChunk.id == chunk_id,
                    JobChunk.lease_owner == owner,
                    JobChunk.state == ChunkState.RUNNING,
                )
                .values(lease_until=until)
            )


def process_chunk(db: Database, chunk_id: int, owner: str) -> ChunkResult | None:
    """Work one claimed chunk in one transaction.

    Returns:
      The counts applied, or None when there was nothing to do (chunk done, lease lost, job
      no longer In progress).

    A job that ended (stopped, failed) while its chunk was worked rolls the whole chunk
    back: none of its effects remain, its items end "not processed", and the chunk is done.
    """
    try:
        with _one_writer(db), db.write_conn() as conn:
            return _work_chunk(conn, chunk_id, owner)
    except JobNoLongerRunning:
        log.info("chunk %s rolled back: its job ended meanwhile", chunk_id)
        with _one_writer(db), db.write_conn() as conn:
            _retire(conn, chunk_id)
        return None


def _retire(conn: Connection, chunk_id: int) -> None:
    """A chunk of a job that ended is never worked: done, so no sweep sends it again."""
    conn.execute(
        update(JobChunk)
        .where(JobChunk.id == chunk_id)
        .values(state=ChunkState.DONE, lease_owner=None, lease_until=None)
    )


def _work_chunk(conn: Connection, chunk_id: int, owner: str) -> ChunkResult | None:
    now = utcnow()
    # FOR UPDATE (PostgreSQL): a claim or lease expiry of this chunk waits for this
    # transaction, then sees it done, so a lease that ran out mid-chunk cannot lead to a
    # second worker applying the same items. (SQLite's write lock already serialises them.)
    chunk = conn.execute(
        select(
            JobChunk.job_id, JobChunk.seq_lo, JobChunk.seq_hi, JobChunk.state, JobChunk.lease_owner
        )
        .where(JobChunk.id == chunk_id)
        .with_for_update()
    ).one_or_none()
    if chunk is None or chunk.state == ChunkState.DONE or chunk.lease_owner != owner:
        return None
    job = conn.execute(
        select(Job.status, Job.action, Job.parameters, Job.owner_id, Job.plan).where(
            Job.id == chunk.job_id
        )
    ).one()
    if job.status != JobStatus.IN_PROGRESS:
        if JobStatus(job.status).is_final:
            _retire(conn, chunk_id)
        return None
    action = get_action(job.action)
    ctx = ChunkContext(
        job_id=chunk.job_id,
        owner_id=job.owner_id,
        params=action.load(job.parameters),
        plan=job.plan or {},
        now=now,
        seq_lo=chunk.seq_lo,
        seq_hi=chunk.seq_hi,
    )
    exceptions = action.mark_exceptions(conn, ctx)
    action.apply(conn, ctx)
    ok = conn.execute(
        update(JobItem).where(ctx.pending()).values(outcome=ItemOutcome.OK, **action.ok_values(ctx))
    ).rowcount
    counters = conn.execute(
        update(Job)
        .where(Job.id == chunk.job_id, Job.status == JobStatus.IN_PROGRESS)
        .values(
            ok=Job.ok + ok,
            exceptions=Job.exceptions + exceptions,
            chunks_left=Job.chunks_left - 1,
            last_progress_at=now,
        )
        .returning(Job.chunks_left, Job.exceptions)
    ).one_or_none()
    if counters is None:
        raise JobNoLongerRunning(f"Job {chunk.job_id} is no longer In progress")
    _retire(conn, chunk_id)
    if counters.chunks_left == 0:
        action.finalize(conn, ctx)
        final = JobStatus.COMPLETED_WITH_EXCEPTIONS if counters.exceptions else JobStatus.COMPLETED
        ended = end_job(conn, chunk.job_id, final)
        return ChunkResult(
            ok=ok,
            exceptions=exceptions,
            job_finished=ended.status if ended else None,
            deliveries=ended.deliveries if ended else [],
        )
    return ChunkResult(
        ok=ok, exceptions=exceptions, next_chunk=_admit_next(conn, chunk.job_id, now)
    )


def _admit_next(conn: Connection, job_id: int, now: dt.datetime) -> int | None:
    """Let the job's next planned chunk into the queue, in the finished chunk's transaction.

    Each finished chunk admits one, so a job keeps its window of chunks in flight, and a
    chunk is admitted once however often the finished one is redelivered. If the process
    dies before sending it, the chunk is Queued without a message and the reaper sends it.
    SKIP LOCKED (PostgreSQL): two chunks finishing at once admit two different chunks.
    """
    chunk_id = conn.scalar(
        select(JobChunk.id)
        .where(JobChunk.job_id == job_id, JobChunk.state == ChunkState.PLANNED)
        .order_by(JobChunk.seq_lo)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if chunk_id is None:
        return None
    conn.execute(
        update(JobChunk)
        .where(JobChunk.id == chunk_id)
        .values(state=ChunkState.QUEUED, enqueued_at=now)
    )
    return chunk_id


def error_for_people(exception: BaseException) -> str:
    """The sentence a job's owner sees for the error that interrupted it.

    Bulkdesk's own errors are already written for people; anything else (a database or
    broker failure) is named by kind only, never with its SQL or driver text, which goes to
    the worker's log instead.
    """
    if isinstance(exception, BulkdeskError):
        return str(exception)
    return (
        f"The job was interrupted by an unexpected error ({type(exception).__name__}); "
        "the details are in the worker's log"
    )
