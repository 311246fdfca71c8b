"""The reaper: a thread in every worker process that hands lost work back to the workers."""

from __future__ import annotations

import logging
import threading
import weakref

import dramatiq
from dramatiq import Broker, Message, Middleware
from dramatiq.brokers.stub import StubBroker

from jobs import runtime
from jobs.engine import recovery
from jobs.worker import registry

log = logging.getLogger(__name__)

#: Seconds between sweeps: a lost message or an unsent Queued job waits about this long more.
INTERVAL = 1.0


class Reaper(Middleware):
    """Runs :func:`jobs.engine.recovery.sweep` at worker boot and every second after, and
    sends what it finds to the actors that declare that kind of work (``resends=…``).

    It also knows whether this worker has an idle thread (messages being worked versus
    worker threads): only then are long-waiting messages taken for lost. With the in-process
    broker it remembers the messages sent to this process's queue, which end with the
    process, and hands them back at a clean shutdown so that other workers take them at once.
    """

    actor_options = {"resends"}

    #: Brokers with a worker running in this process.
    _with_workers: weakref.WeakSet[Broker] = weakref.WeakSet()

    @classmethod
    def has_worker(cls, broker: Broker) -> bool:
        """True when a worker of this process works ``broker``'s queue."""
        return broker in cls._with_workers

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._threads = 0
        self._working: set[str] = set()
        self._local: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._broker: Broker | None = None

    # -- what this worker is doing -------------------------------------------------------

    def after_enqueue(self, broker: Broker, message: Message, delay: int | None) -> None:
        # Only where this process works the queue: elsewhere nothing would ever take the
        # entries out again (and the reaper's first-start rule covers those jobs anyway).
        local_queue = isinstance(broker, StubBroker) and broker in self._with_workers
        kind = _kind(broker, message) if local_queue else None
        if kind in ("job", "chunk"):
            with self._lock:
                self._local[message.message_id] = (kind, int(message.args[0]))

    def before_process_message(self, broker: Broker, message: Message) -> None:
        with self._lock:
            self._working.add(message.message_id)
            self._local.pop(message.message_id, None)

    def after_process_message(
        self,
        broker: Broker,
        message: Message,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        with self._lock:
            self._working.discard(message.message_id)

    def after_skip_message(self, broker: Broker, message: Message) -> None:
        with self._lock:
            self._working.discard(message.message_id)
            self._local.pop(message.message_id, None)

    @property
    def idle(self) -> bool:
        """True when at least one of this worker's threads has no message to work."""
        with self._lock:
            return len(self._working) < self._threads

    # -- the sweeping thread ---------------------------------------------------------------

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        self._threads = int(getattr(worker, "worker_threads", 1))
        self._broker = broker
        self._with_workers.add(broker)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulkdesk-reaper", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: object) -> None:
        self._with_workers.discard(broker)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not isinstance(broker, StubBroker):
            return  # Redis and RabbitMQ give a stopping consumer's messages back themselves
        with self._lock:
            local = list(self._local.values())
            self._local.clear()
        try:
            recovery.hand_back(
                runtime.database(),
                chunk_ids=[arg for kind, arg in local if kind == "chunk"],
                job_ids=[arg for kind, arg in local if kind == "job"],
            )
        except Exception:  # the next worker's boot sweep finds them anyway
            log.warning("could not hand back %d queued messages", len(local), exc_info=True)

    def _run(self) -> None:
        at_boot = True
        failing = False
        while True:
            try:
                self.sweep_once(at_boot=at_boot, idle=self.idle)
                at_boot = False
                if failing:
                    log.info("reaper: the database is reachable again")
                failing = False
            except Exception as exc:  # the database may be briefly unreachable; try again
                if not failing:
                    log.exception("reaper sweep failed; retrying every %.0f s", self.interval)
                else:
                    log.debug("reaper sweep failed again: %s", exc)
                failing = True
            if self._stop.wait(self.interval):
                return

    def sweep_once(self, *, at_boot: bool = False, idle: bool = False) -> recovery.SweepResult:
        """One sweep, and the messages it calls for sent to this worker's broker."""
        found = recovery.sweep(runtime.database(), at_boot=at_boot, idle=idle)
        broker = self._broker or dramatiq.get_broker()
        for kind, ids in found.by_kind().items():
            registry.send(broker, kind, ids)
        if found:
            log.info(
                "reaper: %d jobs started again, %d chunks and %d deliveries sent again",
                len(found.start_jobs),
                len(found.send_chunks),
                len(found.send_deliveries),
            )
        return found


def _kind(broker: Broker, message: Message) -> str | None:
    try:
        return broker.get_actor(message.actor_name).options.get("resends")
    except Exception:  # an actor this process does not know
        return None
