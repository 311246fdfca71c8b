"""Server set-up, run once per ``panel serve`` process (``--setup apps/serve.py``).

Brings the schema up to date and, on the embedded broker, starts the in-process dramatiq
worker threads that every session's jobs run on.
"""

from __future__ import annotations

import atexit
import logging

from jobs import runtime
from jobs.db import upgrade

log = logging.getLogger("bulkdesk.serve")


def setup() -> None:
    settings = runtime.settings()
    upgrade(settings.database_url)
    import jobs.actors  # noqa: F401  (declares the actors on the configured broker)
    from jobs import broker

    if settings.embedded_broker:
        worker = broker.start_in_process_worker(broker.current(), settings.worker_threads)
        atexit.register(worker.stop)
        log.info("Bulkdesk: %d in-process worker threads on %s", settings.worker_threads,
                 runtime.database())
    else:
        log.info("Bulkdesk: jobs go to %s; run `bulkdesk worker` to work them",
                 settings.broker_url)


setup()
