"""The dramatiq broker for this process: in-process by default, Redis or RabbitMQ by URL."""

from __future__ import annotations

import logging
import threading

import dramatiq
from dramatiq import Broker, Worker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage, Retries

from jobs import runtime
from jobs.config import Settings
from jobs.errors import ConfigError
from jobs.worker.registry import QUEUE

log = logging.getLogger(__name__)

__all__ = ["QUEUE", "current", "install", "make_broker"]


def make_broker(settings: Settings) -> Broker:
    """A broker for ``settings.broker_url`` with Bulkdesk's middleware installed.

    Raises:
      ConfigError: for a URL scheme that is neither redis, amqp nor empty (``Settings``
        refuses those already).
    """
    from jobs.worker.leases import ChunkLeases
    from jobs.worker.reaper import Reaper

    url = settings.broker_url
    if settings.embedded_broker:
        broker: Broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url)
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise ConfigError(f"BULKDESK_BROKER_URL {url!r} is not redis://…, amqp://… or empty")
    # Before Retries, so that its after-hooks run after Retries has decided on a retry.
    broker.add_middleware(ChunkLeases(), before=Retries)
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(Reaper())
    # Messages sent by name (jobs.worker.registry.wake) need the queue known to the broker
    # even in a process that declares no actor.
    broker.declare_queue(QUEUE)
    return broker


_current: Broker | None = None
_current_lock = threading.Lock()


def current() -> Broker:
    """This process's broker: the one :func:`install` made current, or, on first use, one
    made from the settings (``BULKDESK_BROKER_URL``).

    Raises:
      ConfigError: for a broker URL Bulkdesk cannot use.
    """
    global _current
    with _current_lock:
        if _current is None:
            _current = make_broker(runtime.settings())
            dramatiq.set_broker(_current)
        return _current


def install(broker: Broker) -> None:
    """Make ``broker`` this process's broker (and dramatiq's global one)."""
    global _current
    with _current_lock:
        _current = broker
        dramatiq.set_broker(broker)


def start_in_process_worker(broker: Broker, threads: int) -> Worker:
    """Start worker threads inside this process (the embedded default); call ``stop()``."""
    worker = Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    log.info("in-process worker started with %d threads", threads)
    return worker


_shared: dict[int, Worker] = {}
_shared_lock = threading.Lock()


def shared_in_process_worker(broker: Broker, threads: int) -> Worker:
    """The one in-process worker of this process for ``broker``, started on first call.

    The dashboard's server set-up, a served notebook and an inline notebook can all ask for
    workers; only the first call starts them, so jobs never run on twice the threads.
    """
    with _shared_lock:
        worker = _shared.get(id(broker))
        if worker is None:
            worker = _shared[id(broker)] = start_in_process_worker(broker, threads)
        return worker


def stop_shared_in_process_worker(broker: Broker) -> None:
    """Stop the shared worker of ``broker``, if one runs (its current chunks finish)."""
    with _shared_lock:
        worker = _shared.pop(id(broker), None)
    if worker is not None:
        worker.stop()
