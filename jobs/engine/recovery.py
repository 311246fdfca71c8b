"""Finding unfinished work in the database and handing it back to the workers.

The database is the source of truth; broker messages are only wake-ups. A message can be
lost (a worker killed with the messages it had prefetched, an in-process broker whose process
ended, a broker that was down at submit), so every worker process runs :func:`sweep` about
once a second:

- a chunk whose lease expired (its worker died mid-chunk) is queued again at once;
- a Queued job that no broker with workers was told about (queued by the CLI or a notebook
  on the embedded broker, or while the broker was down) is started a second after submit;
- when this worker has an idle thread, chunks and Queued jobs whose message has waited longer
  than ``stale_seconds`` are sent again: an idle worker means the queue is empty, so those
  messages are lost or stuck in a dead worker's prefetch;
- at worker start, every Queued job and waiting chunk is sent again;
- outbox deliveries that are due (a retry, or one whose message never went out) and attempts
  lost with their worker are sent again (``jobs.outbound.outbox.claim_due``);
- job definitions' runs that are due a look (a wait is over, a message may be lost) or whose
  worker died mid-step are sent to the run actor (``jobs.scheduler.wakeups.claim_due``);
  a run's job (action ``definition_run``) is never sent to ``start_job``.

Each re-send is claimed with a guarded ``UPDATE … RETURNING`` that moves the waiting time
forward, so that of many worker processes only one sends it. Duplicate messages are harmless
anyway: a chunk is claimed once and only pending items are applied; a start only moves a
Queued job. Every query here is bounded by what is waiting now, never by the jobs ever run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, exists, or_, select, update

from jobs import clock
from jobs.db import Database
from jobs.models import RUN_ACTION, ChunkState, Job, JobChunk, utcnow
from jobs.outbound import outbox
from jobs.scheduler import wakeups
from jobs.status import JobStatus

#: How long a Queued job submitted without a message waits for a reaper (seconds).
UNSENT_JOB_GRACE = 1.0
#: How long a message may wait while a worker is idle before it counts as lost (seconds).
STALE_SECONDS = 2.0
#: A time long past, for work handed back at a clean shutdown: any reaper takes it at once.
_LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass
class SweepResult:
    """What a sweep found: jobs to start, chunks and deliveries to send."""

    start_jobs: list[int] = field(default_factory=list)
    send_chunks: list[int] = field(default_factory=list)
    send_deliveries: list[int] = field(default_factory=list)
    send_runs: list[int] = field(default_factory=list)

    def by_kind(self) -> dict[str, list[int]]:
        """The ids to send, by the kind of work an actor declares with ``resends``."""
        return {
            "job": self.start_jobs,
            "chunk": self.send_chunks,
            "delivery": self.send_deliveries,
            "run": self.send_runs,
        }

    def __bool__(self) -> bool:
        return any(self.by_kind().values())


def sweep(
    db: Database,
    *,
    at_boot: bool = False,
    idle: bool = False,
    stale_seconds: float = STALE_SECONDS,
) -> SweepResult:
    """Find lost work and claim it for re-sending; the caller sends the messages.

    Parameters:
      db: the database.
      at_boot: send every waiting job and chunk again, not only stale ones.
      idle: the calling worker has a free thread, so messages waiting longer than
        ``stale_seconds`` are not in any live queue.
      stale_seconds: see ``idle``.
    """
    now = utcnow()
    waited = now if at_boot else now - dt.timedelta(seconds=stale_seconds)
    chunk_conds = [JobChunk.state == ChunkState.RUNNING, JobChunk.lease_until < now]
    lost_chunk = [JobChunk.state == ChunkState.QUEUED, JobChunk.enqueued_at <= waited]
    job_conds = [
        Job.status == JobStatus.QUEUED,
        Job.deleted_at.is_(None),
        # A definition's run is woken through its own row (jobs.scheduler.wakeups).
        Job.action != RUN_ACTION,
        # A job scheduled for later (a send date) is started once it is due, not before.
        or_(Job.not_before.is_(None), Job.not_before <= clock.now()),
        or_(
            Job.last_progress_at.is_(None)
            & (Job.submitted_at <= now - dt.timedelta(seconds=UNSENT_JOB_GRACE)),
            *([Job.last_progress_at <= waited] if at_boot or idle else []),
        ),
    ]
    found = SweepResult()
    # Look first with a plain read, so that an uneventful sweep takes no write lock.
    with db.read() as session:
        checks = [exists().where(*chunk_conds), exists().where(*job_conds)]
        if at_boot or idle:
            checks.append(exists().where(*lost_chunk))
        due = outbox.any_due(session.connection(), now)
        runs_due = at_boot or wakeups.any_due(session.connection(), now)
        if not due and not runs_due and not any(session.scalar(select(c)) for c in checks):
            return found
    with db.write_conn() as conn:
        found.send_chunks += _claim(
            conn,
            JobChunk,
            chunk_conds,
            state=ChunkState.QUEUED,
            lease_owner=None,
            lease_until=None,
            enqueued_at=now,
        )
        if at_boot or idle:
            running = select(Job.id).where(Job.status == JobStatus.IN_PROGRESS)
            found.send_chunks += _claim(
                conn, JobChunk, [*lost_chunk, JobChunk.job_id.in_(running)], enqueued_at=now
            )
        found.start_jobs += _claim(conn, Job, job_conds, last_progress_at=now)
        if due:
            found.send_deliveries += outbox.claim_due(conn, now)
        if runs_due:
            found.send_runs += wakeups.claim_due(conn, now, at_boot=at_boot)
    return found


def _claim(conn: Connection, model: type, conds: list, **values: object) -> list[int]:  # type: ignore[type-arg]
    return list(conn.scalars(update(model).where(*conds).values(**values).returning(model.id)))


def hand_back(db: Database, *, chunk_ids: Iterable[int] = (), job_ids: Iterable[int] = ()) -> None:
    """A worker shutting down cleanly gives back messages only it held (an in-process
    broker's queue ends with its process): any other worker's next sweep sends them again."""
    chunk_ids, job_ids = sorted(set(chunk_ids)), sorted(set(job_ids))
    if not chunk_ids and not job_ids:
        return
    with db.write_conn() as conn:
        if chunk_ids:
            conn.execute(
                update(JobChunk)
                .where(JobChunk.id.in_(chunk_ids), JobChunk.state == ChunkState.QUEUED)
                .values(enqueued_at=_LONG_AGO)
            )
        if job_ids:
            conn.execute(
                update(Job)
                .where(Job.id.in_(job_ids), Job.status == JobStatus.QUEUED)
                .values(last_progress_at=None)
            )
