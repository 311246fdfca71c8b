"""The scheduler thread: one in every worker process, one of them active (the lease holder).

:class:`Scheduler` is a dramatiq middleware, like the reaper (``jobs.worker.reaper``): at
worker boot it starts a thread, in-process broker included, that ticks ``TICK`` seconds
apart (4 times a second). Each tick holds the lease (``jobs.scheduler.lease``): the holder
renews it once a third of it has passed, the others read it and try to take it over only
once it has expired, so that a quiet tick writes nothing. Only the holder then

- fires the scheduled definitions whose ``next_due_at`` has come (``jobs.clock.now()``),
  moving ``next_due_at`` on with a compare-and-set (``jobs.scheduler.triggers.fire_due``,
  where the missed-run policy is: due times missed while nothing ran fire **once**, late,
  marked late with the number of due times the run stands for; the schedule then goes on
  from now);
- polls the file-in definition's inbox every ``INBOX_SECONDS``.

A due run is thus fired within a tick (plus the firing's own transaction) of its due time.
Should the holder die, its lease expires after ``lease.TTL`` seconds and the next tick of
another process takes over; runs due meanwhile fire then (late only beyond
``triggers.LATE_AFTER``). A clean shutdown gives the lease up at once. Even two active
schedulers (a holder that stalled past its lease) cannot fire a due time twice: the
compare-and-set, and the unique key (definition, due time) of ``definition_runs``.
"""

from __future__ import annotations

import logging
import threading
import time

from dramatiq import Broker, Middleware

from jobs import runtime
from jobs.scheduler import lease, triggers

log = logging.getLogger(__name__)

#: Seconds between ticks.
TICK = 0.25
#: Seconds between polls of the file-in inbox.
INBOX_SECONDS = 1.0


class Scheduler(Middleware):
    """Runs the scheduler thread in each worker process (see the module's docstring).

    Parameters:
      tick: seconds between ticks.
      ttl: seconds the lease lasts unless renewed.
      inbox_seconds: seconds between polls of the file-in inbox.
    """

    def __init__(
        self, tick: float = TICK, ttl: float = lease.TTL, inbox_seconds: float = INBOX_SECONDS
    ) -> None:
        self.tick = tick
        self.ttl = ttl
        self.inbox_seconds = inbox_seconds
        self.holder = lease.holder_id()
        self.active = False
        self._renew_after = 0.0  # monotonic time: the holder renews from then on
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_poll = 0.0

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulkdesk-scheduler", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.active:
            try:
                lease.release(runtime.database(), self.holder)
            except Exception:  # it expires by itself
                log.warning("scheduler: could not give the lease up", exc_info=True)
            self.active = False

    def _run(self) -> None:
        failing = False
        while not self._stop.is_set():
            try:
                self.tick_once()
                if failing:
                    log.info("scheduler: the database is reachable again")
                failing = False
            except Exception:  # the database may be briefly unreachable: try again
                if not failing:
                    log.exception("scheduler tick failed; retrying every %.2f s", self.tick)
                failing = True
            self._stop.wait(self.tick)

    def tick_once(self) -> list[int]:
        """One tick: hold the lease, and if held fire what is due; returns the runs fired."""
        db = runtime.database()
        held = self._hold(db)
        if held != self.active:
            log.info("scheduler %s: %s", self.holder, "active" if held else "standing by")
            self.active = held
        if not held:
            return []
        fired = triggers.fire_due(db)
        if time.monotonic() - self._last_poll >= self.inbox_seconds:
            self._last_poll = time.monotonic()
            fired += triggers.poll_inbox(db)
        return fired

    def _hold(self, db: object) -> bool:
        """Renew the lease when a third of it is used, and try to take it only once it has
        expired: a tick that changes nothing writes nothing (SQLite has one writer)."""
        if self.active and time.monotonic() < self._renew_after:
            return True
        if not self.active:
            state = lease.state(db)  # type: ignore[arg-type]
            if state is not None and state.holder != self.holder and state.live():
                return False
        held = lease.hold(db, self.holder, self.ttl)  # type: ignore[arg-type]
        if held:
            self._renew_after = time.monotonic() + self.ttl / 3
        return held
