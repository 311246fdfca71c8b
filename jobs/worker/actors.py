"""The dramatiq actors: start a job, work a chunk, deliver an outside effect.

Messages carry ids, never objects. Actors opt into Bulkdesk's middleware by options, as
dramatiq's own ``AgeLimit`` reads ``max_age``:

- ``chunk_lease=True``: :class:`~jobs.worker.leases.ChunkLeases` claims the chunk named by
  the first argument before the actor runs, and keeps the claim alive;
- ``fails_job="job"`` or ``"chunk"``: when its retries run out, the job (named by the first
  argument, or the job of that chunk) ends Failed with the error;
- ``resends="job"``, ``"chunk"``, ``"delivery"`` or ``"run"``: the
  :class:`~jobs.worker.reaper.Reaper` sends this actor the ids of that kind of lost work it finds.

This is the worker's entry module: importing it sets up the broker from the environment
(``jobs.worker.broker.current``) with the middleware only workers need (the imports' file-in
folder), so that ``dramatiq jobs.worker.actors`` starts worker processes for the configured
broker. Nothing below it imports it: the service wakes these actors by name
(``jobs.worker.registry.wake``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable

import dramatiq
from dramatiq.middleware import CurrentMessage

from jobs import runtime
from jobs.definitions import runner
from jobs.engine import execution
from jobs.errors import BulkdeskError, ConfigError
from jobs.imports.folder import FileInWatcher
from jobs.outbound import outbox
from jobs.scheduler.loop import Scheduler
from jobs.worker import broker as _broker
from jobs.worker.registry import ACTOR_NAMES, QUEUE


def _add_worker_middleware(broker: dramatiq.Broker) -> None:
    """What runs in worker processes besides the actors: the imports' file-in folder, and
    the job definitions' scheduler (one active among all processes, by a lease)."""
    if not any(isinstance(m, FileInWatcher) for m in broker.middleware):
        broker.add_middleware(FileInWatcher())
    if not any(isinstance(m, Scheduler) for m in broker.middleware):
        broker.add_middleware(Scheduler())


try:
    _add_worker_middleware(_broker.current())
except ConfigError as error:  # `dramatiq jobs.worker.actors` with bad settings: one line
    print(f"Bulkdesk cannot start: {error}", file=sys.stderr)
    raise SystemExit(2) from None

# Bulk work wants few, quick retries: a chunk that fails three times fails its job.
# Bulkdesk's own errors (a vanished group, say) are not retried: they would recur.
RETRIES = {"max_retries": 3, "min_backoff": 500, "max_backoff": 5_000}


@dramatiq.actor(
    actor_name=ACTOR_NAMES["job"],
    queue_name=QUEUE,
    time_limit=15 * 60_000,
    throws=(BulkdeskError,),
    fails_job="job",
    resends="job",
    **RETRIES,
)
def start_job(job_id: int) -> None:
    """Snapshot a Queued job's items and send its first chunks."""
    settings = runtime.settings()
    started = execution.start(
        runtime.database(), job_id, settings.chunk_size, settings.chunks_in_flight
    )
    send_chunks(started.chunks)
    send_deliveries(started.deliveries)


@dramatiq.actor(
    actor_name=ACTOR_NAMES["chunk"],
    queue_name=QUEUE,
    time_limit=5 * 60_000,
    throws=(BulkdeskError,),
    chunk_lease=True,
    fails_job="chunk",
    resends="chunk",
    **RETRIES,
)
def run_chunk(chunk_id: int) -> None:
    """Work one chunk (claimed by the ChunkLeases middleware before this runs)."""
    pause = runtime.settings().chunk_pause
    if pause:
        time.sleep(pause)
    message = CurrentMessage.get_current_message()
    owner = message.message_id if message else f"direct-{chunk_id}"
    result = execution.process_chunk(runtime.database(), chunk_id, owner)
    if result is not None:
        send_chunks([result.next_chunk] if result.next_chunk is not None else [])
        send_deliveries(result.deliveries)


# Retries of a delivery are the outbox's own (recorded, with backoff, then shown on the
# job), so the broker does not retry it.
@dramatiq.actor(
    actor_name=ACTOR_NAMES["delivery"],
    queue_name=QUEUE,
    time_limit=2 * 60_000,
    max_retries=0,
    resends="delivery",
)
def deliver(delivery_id: int) -> None:
    """Send one outside effect (an email) from the outbox, once."""
    outbox.deliver(runtime.database(), delivery_id, runtime.settings())


# A run's steps wait for their jobs and deliveries without holding a thread: the actor
# returns, and a reaper sends it again when it is time to look (jobs.scheduler.wakeups).
@dramatiq.actor(
    actor_name=ACTOR_NAMES["run"],
    queue_name=QUEUE,
    time_limit=30 * 60_000,
    throws=(BulkdeskError,),
    fails_job="job",
    resends="run",
    **RETRIES,
)
def run_definition(job_id: int) -> None:
    """Take a job definition's run as far as it goes now (``jobs.definitions.runner``)."""
    message = CurrentMessage.get_current_message()
    owner = message.message_id if message else f"direct-{job_id}"
    worked = runner.work(runtime.database(), job_id, owner)
    send_deliveries(worked.deliveries)


def send_chunks(chunk_ids: Iterable[int]) -> None:
    for chunk_id in chunk_ids:
        run_chunk.send(chunk_id)


def send_deliveries(delivery_ids: Iterable[int]) -> None:
    for delivery_id in delivery_ids:
        deliver.send(delivery_id)


ALL = (start_job, run_chunk, deliver, run_definition)


def use(broker: dramatiq.Broker) -> None:
    """Make ``broker`` the one this process sends to, and bind Bulkdesk's actors (and the
    workers' middleware) to it."""
    _broker.install(broker)
    _add_worker_middleware(broker)
    for actor in ALL:
        actor.broker = broker
        broker.declare_actor(actor)
