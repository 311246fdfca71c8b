"""Finding unfinished work in the database and handing it back to the workers.

The database is the source of truth; broker messages are only wake-ups. A message can be
lost (a worker killed with its prefetched messages, an in-process broker restarted), so
every worker process runs :func:`sweep` now and then:

- a chunk whose lease expired (its worker died mid-chunk) is queued again at once;
- when the whole system has been quiet for a lease period (no live lease, no progress),
  chunks and Queued jobs still waiting are sent again, since their messages must be lost;
- at worker start, every Queued job and waiting chunk is sent again (an in-process broker
  loses its messages with its process);
- a Stopped or Failed job whose items were not closed is closed.

Duplicate messages are harmless: a chunk is claimed once and only pending items are applied.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Connection, and_, exists, func, select, update

from jobs.db import Database
from jobs.execution import close_unprocessed
from jobs.models import ChunkState, Job, JobChunk, utcnow
from jobs.status import JobStatus


@dataclass
class SweepResult:
    """What a sweep found: jobs to start and chunks to send."""

    start_jobs: list[int] = field(default_factory=list)
    send_chunks: list[int] = field(default_factory=list)
    closed_jobs: list[int] = field(default_factory=list)


def sweep(
    db: Database,
    lease_seconds: float,
    *,
    at_boot: bool = False,
    new_queued: tuple[float, float] | None = None,
) -> SweepResult:
    """Find lost work; the caller sends the messages.

    Parameters:
      db: the database.
      lease_seconds: how long a lease lasts, and how long a quiet spell must be.
      at_boot: send every waiting job and chunk again, not only stale ones.
      new_queued: (youngest, oldest) age in seconds of Queued jobs to start whether or not
        the system is quiet: with the in-process broker, a job submitted by another process
        (the CLI, a notebook) has no message here, so it is picked up a moment after submit.
    """
    now = utcnow()
    stale_before = now - dt.timedelta(seconds=lease_seconds)
    found = SweepResult()
    in_progress = select(Job.id).where(Job.status == JobStatus.IN_PROGRESS)
    with db.write_conn() as conn:
        found.send_chunks += (
            conn.execute(
                update(JobChunk)
                .where(JobChunk.state == ChunkState.RUNNING, JobChunk.lease_until < now)
                .values(
                    state=ChunkState.QUEUED, lease_owner=None, lease_until=None, enqueued_at=now
                )
                .returning(JobChunk.id)
            )
            .scalars()
            .all()
        )
        if at_boot or _quiet(conn, now, stale_before):
            waiting_since = now if at_boot else stale_before
            found.send_chunks += (
                conn.execute(
                    update(JobChunk)
                    .where(
                        JobChunk.state == ChunkState.QUEUED,
                        JobChunk.enqueued_at <= waiting_since,
                        JobChunk.job_id.in_(in_progress),
                    )
                    .values(enqueued_at=now)
                    .returning(JobChunk.id)
                )
                .scalars()
                .all()
            )
            found.start_jobs += _queued_jobs(conn, submitted_before=waiting_since)
        if new_queued is not None and not at_boot:
            youngest, oldest = new_queued
            fresh = _queued_jobs(
                conn,
                submitted_before=now - dt.timedelta(seconds=youngest),
                submitted_after=now - dt.timedelta(seconds=oldest),
            )
            found.start_jobs += [job for job in fresh if job not in found.start_jobs]
        found.closed_jobs = list(
            conn.execute(
                select(Job.id).where(
                    Job.status.in_([JobStatus.STOPPED, JobStatus.FAILED]), Job.chunks_left > 0
                )
            ).scalars()
        )
    for job_id in found.closed_jobs:
        close_unprocessed(db, job_id)
    return found


def _queued_jobs(
    conn: Connection, *, submitted_before: dt.datetime, submitted_after: dt.datetime | None = None
) -> list[int]:
    conds = [
        Job.status == JobStatus.QUEUED,
        Job.deleted_at.is_(None),
        Job.submitted_at <= submitted_before,
    ]
    if submitted_after is not None:
        conds.append(Job.submitted_at > submitted_after)
    return list(conn.execute(select(Job.id).where(*conds).order_by(Job.id)).scalars())


def _quiet(conn, now: dt.datetime, stale_before: dt.datetime) -> bool:  # type: ignore[no-untyped-def]
    """No live lease anywhere and no job progress since ``stale_before``."""
    live_lease = conn.scalar(
        select(
            exists().where(and_(JobChunk.state == ChunkState.RUNNING, JobChunk.lease_until >= now))
        )
    )
    if live_lease:
        return False
    last = conn.scalar(
        select(func.max(Job.last_progress_at)).where(Job.status == JobStatus.IN_PROGRESS)
    )
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return last is None or last < stale_before
