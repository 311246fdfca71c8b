"""Per-session live refresh: a periodic callback that stops when its session ends."""

from __future__ import annotations

import logging
from collections.abc import Callable

import panel as pn
from panel.io.callbacks import PeriodicCallback

log = logging.getLogger(__name__)

PERIOD_MS = 1000


def start_live(callback: Callable[[], None], period: int = PERIOD_MS) -> PeriodicCallback:
    """Call ``callback`` every ``period`` ms in this session (server or notebook).

    Errors are logged, not raised, so one bad tick does not end the refresh.
    """

    def tick() -> None:
        try:
            callback()
        except Exception:
            log.exception("live refresh failed")

    periodic = pn.state.add_periodic_callback(tick, period=period)
    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.on_session_destroyed(lambda _ctx: periodic.stop())
    return periodic
