"""Chunk leases: claim before work, heartbeat during it, and fail the job when retries run out.

Like django_dramatiq's AdminMiddleware, this one place records a message's life in the
database, so that job and chunk state never depend on the broker remembering anything.
Actors opt in by options (see ``jobs.worker.actors``): ``chunk_lease`` and ``fails_job``.
"""

from __future__ import annotations

import logging
import threading

from dramatiq import Broker, Message, Middleware
from dramatiq.middleware import SkipMessage
from sqlalchemy import select

from jobs import runtime
from jobs.engine import ending, execution
from jobs.models import JobChunk
from jobs.status import JobStatus
from jobs.worker import registry

log = logging.getLogger(__name__)


def _option(broker: Broker, message: Message, name: str) -> object:
    try:
        return broker.get_actor(message.actor_name).options.get(name)
    except Exception:  # an actor this process does not know: no option
        return None


class ChunkLeases(Middleware):
    """Claims a chunk before a ``chunk_lease`` actor runs, and keeps the claim alive while
    it does; ends the job Failed when a ``fails_job`` actor has used up its retries."""

    actor_options = {"chunk_lease", "fails_job"}

    def __init__(self) -> None:
        self._held: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name="bulkdesk-heartbeat", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: object) -> None:
        self._stop.set()

    def before_process_message(self, broker: Broker, message: Message) -> None:
        if not _option(broker, message, "chunk_lease"):
            return
        chunk_id = int(message.args[0])
        settings = runtime.settings()
        if not execution.claim(
            runtime.database(), chunk_id, message.message_id, settings.lease_seconds
        ):
            raise SkipMessage(f"chunk {chunk_id} is done or held by another worker")
        with self._lock:
            self._held[chunk_id] = message.message_id

    def after_process_message(
        self,
        broker: Broker,
        message: Message,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        if _option(broker, message, "chunk_lease"):
            chunk_id = int(message.args[0])
            with self._lock:
                self._held.pop(chunk_id, None)
            if exception is not None:
                execution.release(runtime.database(), chunk_id, message.message_id)
        if exception is not None and message.failed:
            self._fail_job(broker, message, exception)

    def after_skip_message(self, broker: Broker, message: Message) -> None:
        if _option(broker, message, "chunk_lease"):
            with self._lock:
                self._held.pop(int(message.args[0]), None)

    def _fail_job(self, broker: Broker, message: Message, exception: BaseException) -> None:
        """Retries are exhausted: the error interrupts the job, which ends Failed."""
        job_id = _job_of(_option(broker, message, "fails_job"), message)
        if job_id is None:
            return
        log.error("job %s failed", job_id, exc_info=exception)
        ended = ending.halt(
            runtime.database(),
            job_id,
            JobStatus.FAILED,
            actor_id=None,
            error=execution.error_for_people(exception),
        )
        if ended is not None:
            registry.send(broker, "delivery", ended.deliveries)

    def _beat(self) -> None:
        settings = runtime.settings()
        interval = max(settings.lease_seconds / 6, 0.5)
        while not self._stop.wait(interval):
            with self._lock:
                held = dict(self._held)
            try:
                execution.extend_leases(runtime.database(), held, settings.lease_seconds)
            except Exception:  # a missed beat is survivable; the next one retries
                log.exception("heartbeat failed")


def _job_of(kind: object, message: Message) -> int | None:
    if kind == "job":
        return int(message.args[0])
    if kind == "chunk":
        with runtime.database().read() as session:
            return session.scalar(select(JobChunk.job_id).where(JobChunk.id == message.args[0]))
    return None
