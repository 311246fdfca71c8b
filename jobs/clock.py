"""The clock that decides when scheduled work may start: the wall clock, or one a test moves.

Only decisions about *when* work is due read it (a job's ``not_before``, a send date not in
the past); timestamps that record what happened keep ``jobs.models.utcnow``. A test freezes it
with :func:`use` and moves it forward by hand, and worker threads of the same process see the
same time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

from jobs.models import utcnow

Clock = Callable[[], dt.datetime]

_lock = threading.Lock()
_clock: Clock = utcnow


def now() -> dt.datetime:
    """The current time (timezone-aware, UTC)."""
    with _lock:
        clock = _clock
    return clock()


def today() -> dt.date:
    """Today's date in UTC, by :func:`now`."""
    return now().date()


def use(clock: Clock | None) -> None:
    """Read the time from ``clock`` from now on; None goes back to the wall clock."""
    global _clock
    with _lock:
        _clock = clock or utcnow


class ManualClock:
    """A clock that stands still until moved (for tests and demonstrations).

    Parameters:
      start: the time it shows first (timezone-aware).
    """

    def __init__(self, start: dt.datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._at = start
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self._at

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by a ``datetime.timedelta(**delta)``; returns the new time."""
        with self._lock:
            self._at += dt.timedelta(**delta)
            return self._at

    def set(self, at: dt.datetime) -> None:
        with self._lock:
            self._at = at
