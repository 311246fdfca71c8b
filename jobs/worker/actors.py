"""The dramatiq actors: start a job, work a chunk. Messages carry ids, never objects.

Importing this module sets up the broker from the environment, so that
``dramatiq jobs.worker.actors`` starts worker processes for the configured broker.
"""

from __future__ import annotations

import logging
import sys
import time

import dramatiq
from dramatiq.middleware import CurrentMessage

from jobs import runtime
from jobs.engine import execution
from jobs.errors import BulkdeskError, ConfigError
from jobs.worker import broker as _broker
from jobs.worker.leases import CHUNK_ACTOR, START_ACTOR

log = logging.getLogger(__name__)

try:
    dramatiq.set_broker(_broker.make_broker(runtime.settings()))
except (
    ConfigError
) as error:  # `dramatiq jobs.worker.actors` with bad settings: one line, not a trace
    print(f"Bulkdesk cannot start: {error}", file=sys.stderr)
    raise SystemExit(2) from None

# Bulk work wants few, quick retries: a chunk that fails three times fails its job.
# Bulkdesk's own errors (a vanished group, say) are not retried: they would recur.
RETRIES = {"max_retries": 3, "min_backoff": 500, "max_backoff": 5_000}


@dramatiq.actor(
    actor_name=START_ACTOR,
    queue_name=_broker.QUEUE,
    time_limit=15 * 60_000,
    throws=(BulkdeskError,),
    **RETRIES,
)
def start_job(job_id: int) -> None:
    """Snapshot a Queued job's targets and send one message per chunk."""
    settings = runtime.settings()
    db = runtime.database()
    for chunk_id in execution.start(db, job_id, settings.chunk_size, settings.chunks_in_flight):
        run_chunk.send(chunk_id)


@dramatiq.actor(
    actor_name=CHUNK_ACTOR,
    queue_name=_broker.QUEUE,
    time_limit=5 * 60_000,
    throws=(BulkdeskError,),
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
    if result is not None and result.next_chunk is not None:
        run_chunk.send(result.next_chunk)


ALL = (start_job, run_chunk)
