"""The reaper: a thread in every worker process that hands lost work back to the workers."""

from __future__ import annotations

import logging
import threading

from dramatiq import Broker, Middleware
from dramatiq.brokers.stub import StubBroker

from jobs import recovery, runtime

log = logging.getLogger(__name__)

#: Seconds between sweeps with the in-process broker.
EMBEDDED_INTERVAL = 2.0


class Reaper(Middleware):
    """Runs :func:`jobs.recovery.sweep` at worker boot and every few seconds after."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval
        self._embedded = False
        self._stop = threading.Event()

    def before_worker_shutdown(self, broker: Broker, worker: object) -> None:
        self._stop.set()

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        self._embedded = isinstance(broker, StubBroker)
        self._stop.clear()
        threading.Thread(target=self._run, name="bulkdesk-reaper", daemon=True).start()

    def _run(self) -> None:
        settings = runtime.settings()
        interval = self.interval or max(min(settings.lease_seconds / 3, 10.0), 0.5)
        new_queued = None
        if self._embedded:
            # Only this process can work jobs sent to its in-process broker: pick up jobs that
            # other processes queued in the database about two seconds after they appear.
            interval = min(interval, EMBEDDED_INTERVAL)
            new_queued = (EMBEDDED_INTERVAL, 2.5 * EMBEDDED_INTERVAL)
        at_boot = True
        while True:
            try:
                self.sweep_once(at_boot=at_boot, new_queued=new_queued)
                at_boot = False
            except Exception:  # the database may be briefly unreachable; try again later
                log.exception("reaper sweep failed")
            if self._stop.wait(interval):
                return

    @staticmethod
    def sweep_once(
        *, at_boot: bool = False, new_queued: tuple[float, float] | None = None
    ) -> recovery.SweepResult:
        from jobs.actors import run_chunk, start_job

        found = recovery.sweep(
            runtime.database(),
            runtime.settings().lease_seconds,
            at_boot=at_boot,
            new_queued=new_queued,
        )
        for job_id in found.start_jobs:
            start_job.send(job_id)
        for chunk_id in found.send_chunks:
            run_chunk.send(chunk_id)
        if found.start_jobs or found.send_chunks or found.closed_jobs:
            log.info(
                "reaper: %d jobs started again, %d chunks sent again, %d jobs closed",
                len(found.start_jobs),
                len(found.send_chunks),
                len(found.closed_jobs),
            )
        return found
