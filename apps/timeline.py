"""The timeline: one lane per job on the Monitor's page, submitted → started → ended.

Waiting (submitted → started) is a thin, light bar; running (started → ended, or now) a thick
bar; both in the status colour, with hover details. It shares the Monitor's state: selecting a
row highlights its lane, tapping a lane selects the row. On its own, in a notebook::

    from apps.timeline import Timeline
    Timeline(service=JobService(), user="alice")
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn
from bokeh.models import DatetimeTickFormatter

from apps.display import status_color
from apps.live import start_live
from apps.monitor_state import MonitorState
from jobs.models import utcnow
from jobs.reports.queries import JobSummary
from jobs.service import JobService

# Clock times at every zoom level (Bokeh's default shows "500ms" for sub-second spans).
TIME_TICKS = DatetimeTickFormatter(
    milliseconds="%H:%M:%S.%3N",
    seconds="%H:%M:%S",
    minsec="%H:%M:%S",
    minutes="%H:%M",
    hourmin="%H:%M",
    hours="%H:%M",
    days="%b %d",
    months="%b %Y",
    years="%Y",
)

COLUMNS = [
    "x0",
    "y0",
    "x1",
    "y1",
    "job",
    "description",
    "status",
    "phase",
    "start",
    "end",
    "color",
    "line",
    "width",
]
HOVER = [
    ("Job", "@job"),
    ("Description", "@description"),
    ("Status", "@status"),
    ("Phase", "@phase"),
    ("From", "@start"),
    ("To", "@end"),
]


def _tint(color: str, share: float = 0.55) -> str:
    """``color`` mixed with white: the waiting bars' lighter shade."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c + (255 - c) * share):02x}" for c in (r, g, b))


def _local(value: dt.datetime) -> pd.Timestamp:
    # Bokeh shows naive datetimes as they are: give it the server's wall-clock time.
    return pd.Timestamp(value.astimezone().replace(tzinfo=None))


def timeline_frame(
    jobs: list[JobSummary], selected_id: int | None, now: dt.datetime | None = None
) -> pd.DataFrame:
    """The bars for ``jobs``: lane ``n-1-i`` for the i-th job (the first on top)."""
    now = now or utcnow()
    rows = []
    for i, job in enumerate(jobs):
        lane = len(jobs) - 1 - i
        color = status_color(job.status)
        line, width = ("#111827", 2.5) if job.id == selected_id else (color, 0.5)
        label = f"#{job.id}"
        waiting_end = job.started_at or job.ended_at or now
        rows.append(
            (
                _local(job.submitted_at),
                lane - 0.13,
                _local(waiting_end),
                lane + 0.13,
                label,
                job.description,
                job.status.label,
                "waiting",
                _fmt(job.submitted_at),
                _fmt(job.started_at),
                _tint(color),
                line,
                width,
            )
        )
        if job.started_at is not None:
            end = job.ended_at or now
            rows.append(
                (
                    _local(job.started_at),
                    lane - 0.36,
                    _local(end),
                    lane + 0.36,
                    label,
                    job.description,
                    job.status.label,
                    "running",
                    _fmt(job.started_at),
                    _fmt(job.ended_at) if job.ended_at else "now",
                    color,
                    line,
                    width,
                )
            )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("x0", "x1"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


def _fmt(value: dt.datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "not yet"


class Timeline(pn.viewable.Viewer):
    """Jobs over time for one user; linked to a Monitor when given its ``state``."""

    def __init__(
        self,
        service: JobService,
        user: str,
        state: MonitorState | None = None,
        live: bool = True,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        owns_state = state is None
        self.state = state or MonitorState(service, user)
        self._jobs: list[JobSummary] = []
        self._frame = timeline_frame(self.state.jobs, self.state.selected_id)
        self._pipe = hv.streams.Pipe(data=self._frame)
        bars = hv.DynamicMap(self._bars, streams=[self._pipe])
        self._tap = hv.streams.Selection1D(source=bars)
        self._tap.add_subscriber(self._tapped)
        self._pane = pn.pane.HoloViews(bars, sizing_mode="stretch_width", min_height=200)
        self.state.param.watch(self._update, ["version", "selected_id"])
        self._live = start_live(self.state.load) if live and owns_state else None
        self._update()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane

    def _bars(self, data: pd.DataFrame) -> hv.Rectangles:
        lanes = max(len(self._jobs), 1)
        ticks = [(len(self._jobs) - 1 - i, f"#{j.id}") for i, j in enumerate(self._jobs)]
        now = _local(utcnow())
        xlim = (now - pd.Timedelta(hours=1), now) if data.empty else (None, None)
        return hv.Rectangles(data, kdims=["x0", "y0", "x1", "y1"], vdims=COLUMNS[4:]).opts(
            color="color",
            line_color="line",
            line_width="width",
            nonselection_fill_alpha=1.0,
            nonselection_line_alpha=1.0,
            selection_fill_alpha=1.0,
            selection_line_alpha=1.0,
            tools=["hover", "tap"],
            hover_tooltips=HOVER,
            active_tools=["tap"],
            yticks=ticks or None,
            ylim=(-0.6, lanes - 0.4),
            xlim=xlim,
            responsive=True,
            height=max(200, 24 * lanes + 70),
            xlabel="",
            ylabel="Job",
            framewise=True,
            title="Jobs over time (this page) — thin: waiting, thick: running",
            xformatter=TIME_TICKS,
            fontsize={"title": 11},
            toolbar="right",
            default_tools=["pan", "wheel_zoom", "reset"],
        )

    def _update(self, *_: Any) -> None:
        self._jobs = list(self.state.jobs)
        frame = timeline_frame(self._jobs, self.state.selected_id)
        if not frame.equals(self._frame):
            self._frame = frame
            self._pipe.send(frame)

    def _tapped(self, index: list[int]) -> None:
        if not index:
            return
        label = self._frame["job"].iloc[index[0]] if index[0] < len(self._frame) else None
        if label:
            self.state.selected_id = int(label.lstrip("#"))

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()
