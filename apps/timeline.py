"""The timeline: one lane per job on the Monitor's page, submitted → started → ended.

Waiting (submitted → started) is a thin, light bar; running (started → ended, or now) a thick
bar; both in the status colour, with hover details. It shares the Monitor's state: selecting a
row highlights its lane, tapping a lane selects the row. The plot is as tall as the page has
jobs (a filter that leaves one job leaves one lane); with no jobs it says so in words. On its
own, in a notebook::

    from apps.timeline import Timeline
    Timeline(service=JobService(), user="alice")

A plain Bokeh figure whose glyph reads every style from a column: HoloViews (used before)
turns a column whose values are all alike into a constant, and back into a column when they
differ, and the browser draws the glyph in between against a source without that column
("attempted to retrieve property array for nonexistent field 'line_width'").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import (
    ColumnDataSource,
    DatetimeTickFormatter,
    FixedTicker,
    HoverTool,
    Range1d,
    TapTool,
)
from bokeh.plotting import figure

from apps.display import status_color
from apps.live import start_live
from apps.monitor_state import MonitorState
from jobs.models import utcnow
from jobs.reports.queries import JobSummary
from jobs.service import JobService

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
TITLE = "Jobs over time (this page) — thin: waiting, thick: running"
EMPTY = (
    "No jobs on this page, so there is nothing to draw: each job the Monitor lists gets a "
    "lane here, from submitted to ended."
)
#: Pixels per lane, and for the title, the time axis and its label around the lanes.
LANE_PX = 28
FRAME_PX = 100


def timeline_height(lanes: int) -> int:
    """The plot's height in pixels for ``lanes`` jobs (at least one lane's worth)."""
    return FRAME_PX + LANE_PX * max(lanes, 1)


def time_ticks() -> DatetimeTickFormatter:
    """One line of clock time per tick at every zoom level, to the millisecond for sub-second
    spans ("07:22:39.420"); the date is the axis label. Bokeh's own stacks three lines
    ("7:22:39.400 / 07:22:39 / Dec 03, 2026") and names sub-second ticks "400ms"."""
    return DatetimeTickFormatter(
        milliseconds="%H:%M:%S.%3N",
        seconds="%H:%M:%S",
        minsec="%H:%M:%S",
        minutes="%H:%M",
        hourmin="%H:%M",
        hours="%H:%M",
        days="%b %d",
        months="%b %Y",
        years="%Y",
        boundary_scaling=False,
        context=None,
    )


def _tint(color: str, share: float = 0.55) -> str:
    """``color`` mixed with white: the waiting bars' lighter shade."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{int(c + (255 - c) * share):02x}" for c in (r, g, b))


#: A timeline's bars: one array per column of ``COLUMNS`` (what the plot's source holds).
Bars = dict[str, np.ndarray]
#: The columns that hold numbers or times; the rest hold text.
_NUMBERS = {
    "x0": "datetime64[us]",
    "x1": "datetime64[us]",
    "y0": float,
    "y1": float,
    "width": float,
}


def _when(value: dt.datetime) -> tuple[dt.datetime, str]:
    """A time as the bars hold it: the server's wall-clock time without a zone (Bokeh shows
    naive datetimes as they are), and as hover text to the millisecond."""
    local = value.astimezone()
    return local.replace(tzinfo=None), f"{local:%Y-%m-%d %H:%M:%S}.{local.microsecond // 1000:03d}"


def timeline_bars(
    jobs: list[JobSummary], selected_id: int | None, now: dt.datetime | None = None
) -> Bars:
    """The bars for ``jobs``: lane ``n-1-i`` for the i-th job (the first on top).

    Plain arrays, not a DataFrame: the plot's source takes arrays, and building a frame for
    a page of 25 jobs (then reading it back) cost about 1 ms of every page change."""
    now = now or utcnow()
    columns: dict[str, list[Any]] = {column: [] for column in COLUMNS}
    add = [columns[column].append for column in COLUMNS]

    def bar(*values: Any) -> None:
        for append, value in zip(add, values, strict=True):
            append(value)

    current = _when(now)[0]
    for i, job in enumerate(jobs):
        lane = len(jobs) - 1 - i
        color = status_color(job.status)
        line, width = ("#111827", 2.5) if job.id == selected_id else (color, 0.5)
        label, status = f"#{job.id}", job.status.label
        submitted, submitted_text = _when(job.submitted_at)
        started, started_text = _when(job.started_at) if job.started_at else (None, "not yet")
        ended, ended_text = _when(job.ended_at) if job.ended_at else (None, "")
        waiting_end = started or ended or current
        bar(
            submitted,
            lane - 0.13,
            waiting_end,
            lane + 0.13,
            label,
            job.description,
            status,
            "waiting",
            submitted_text,
            started_text,
            _tint(color),
            line,
            width,
        )
        if started is not None:
            bar(
                started,
                lane - 0.36,
                ended or current,
                lane + 0.36,
                label,
                job.description,
                status,
                "running",
                started_text,
                ended_text or "now",
                color,
                line,
                width,
            )
    return {
        column: np.array(values, dtype=_NUMBERS.get(column, object))
        for column, values in columns.items()
    }


def same_bars(a: Bars, b: Bars) -> bool:
    """Whether two sets of bars draw the same."""
    return all(np.array_equal(a[column], b[column]) for column in COLUMNS)


#: A job that has waited this many times longer than the other jobs' whole span does not
#: set where the time axis starts: its bar comes in from the left edge.
LONG_WAIT = 4


def _focus(bars: Bars) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The times the axis shows: from the first submission to the last end, except that a
    job still waiting since long ago (awaiting approval for days) does not stretch the axis
    over days, shrinking every other bar to a sliver, when the others span much less."""
    last = pd.Timestamp(bars["x1"].max())
    first = pd.Timestamp(bars["x0"].min())
    never_started = (bars["phase"] == "waiting") & (bars["end"] == "not yet")
    others = bars["x0"][~never_started]
    if len(others):
        # Never after the end of any bar: a job stopped before it started (days ago) keeps
        # its bar on the axis.
        start = min(pd.Timestamp(others.min()), pd.Timestamp(bars["x1"].min()))
        if last - first > LONG_WAIT * max(last - start, pd.Timedelta(minutes=15)):
            return start, last
    return first, last


def day_label(bars: Bars) -> str:
    """The time axis's label: the day (or days) the axis shows, in the server's time."""
    if not len(bars["x0"]):
        return ""
    first, last = _focus(bars)
    if first.date() == last.date():
        return f"Server time, {first:%b %d, %Y}"
    return f"Server time, {first:%b %d, %Y} – {last:%b %d, %Y}"


def time_span(bars: Bars) -> tuple[float, float]:
    """The time axis's range for the bars, in Bokeh's milliseconds: from the first submission
    to the last end (see :func:`_focus` for a job waiting since long ago), with a margin of
    4 % (at least 10 ms) on either side."""
    first, last = _focus(bars)
    margin = max((last - first) * 0.04, pd.Timedelta(milliseconds=10))
    return _ms(first - margin), _ms(last + margin)


def _ms(value: Any) -> float:
    """A time as Bokeh sends it (milliseconds since 1970, naive times read as UTC)."""
    if isinstance(value, int | float):
        return float(value)
    return pd.Timestamp(value).value / 1e6


class Timeline(pn.viewable.Viewer):
    """Jobs over time for one user; linked to a Monitor when given its ``state``.

    The time axis follows the bars as they grow, until the person pans or zooms it; "Reset"
    (or another page of jobs) makes it follow again.
    """

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
        self._bars = timeline_bars([], None)
        self._source = ColumnDataSource(dict(self._bars))
        #: The time range last set to follow the bars (None: not yet).
        self._span: tuple[float, float] | None = None
        self.figure = self._figure()
        self._pane = pn.pane.Bokeh(self.figure, sizing_mode="stretch_width")
        # Shown and hidden as a whole: the Bokeh pane copies its figure's properties back
        # into its own parameters, so its ``visible`` is not ours to toggle.
        self._plot = pn.Column(self._pane, sizing_mode="stretch_width")
        self._empty = pn.pane.HTML(
            EMPTY,
            visible=False,
            css_classes=["bd-timeline-empty"],
            sizing_mode="stretch_width",
            styles={"color": "#374151", "font-size": "14px", "padding": "12px 4px"},
        )
        self._layout = pn.Column(
            self._empty, self._plot, sizing_mode="stretch_width", css_classes=["bd-timeline"]
        )
        self._source.selected.on_change("indices", lambda _attr, _old, new: self._tapped(new))
        self.state.param.watch(self._update, ["version", "selected_id"])
        self._live = start_live(self.state.load) if live and owns_state else None
        self._draw_lanes()
        self._update()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def lanes(self) -> int:
        """How many lanes the plot has: one per job on the page."""
        return len(self._jobs)

    @property
    def empty(self) -> bool:
        """True when there are no jobs to draw (the words show instead of the plot)."""
        return self._empty.visible

    @property
    def height(self) -> int:
        """The plot's height in pixels."""
        return int(self.figure.height)

    def _figure(self) -> Any:
        plot = figure(
            x_axis_type="datetime",
            # Explicit ranges: Bokeh's automatic ones warn "could not set initial ranges"
            # while there are no bars.
            x_range=Range1d(0, 1),
            y_range=Range1d(-0.6, 0.6),
            sizing_mode="stretch_width",
            height=timeline_height(0),
            title=TITLE,
            tools="xpan,xwheel_zoom,reset",
            active_drag="xpan",
            active_scroll=None,
            toolbar_location="above",
        )
        bars = plot.quad(
            left="x0",
            right="x1",
            bottom="y0",
            top="y1",
            source=self._source,
            fill_color="color",
            line_color="line",
            line_width="width",
            # The Monitor's selected job is drawn by the line columns; Bokeh's selection
            # would fade the other bars.
            selection_fill_alpha=1.0,
            selection_line_alpha=1.0,
            nonselection_fill_alpha=1.0,
            nonselection_line_alpha=1.0,
        )
        plot.add_tools(HoverTool(tooltips=HOVER, renderers=[bars]), TapTool(renderers=[bars]))
        plot.toolbar.logo = None
        plot.title.text_font_size = "13px"
        plot.xaxis.formatter = time_ticks()
        plot.xaxis.axis_label_text_font_size = "12px"
        plot.xaxis.axis_label_text_font_style = "normal"
        plot.xaxis.axis_label_text_color = "#4b5563"
        plot.yaxis.axis_label_text_font_size = "12px"
        plot.yaxis.axis_label_text_font_style = "normal"
        plot.yaxis.axis_label = "Job"
        plot.yaxis.ticker = FixedTicker(ticks=[])
        plot.ygrid.grid_line_color = None
        return plot

    def _update(self, *_: Any) -> None:
        jobs = list(self.state.jobs)
        bars = timeline_bars(jobs, self.state.selected_id)
        if jobs == self._jobs and same_bars(bars, self._bars):
            return
        new_lanes = [j.id for j in jobs] != [j.id for j in self._jobs]
        self._jobs, self._bars = jobs, bars
        # Changes to Bokeh models from a Panel callback go out through Panel's hold (the
        # callback may run without the document's lock); in a notebook they need a push.
        with pn.io.hold(self.figure.document):
            self._source.data = dict(bars)
            if new_lanes:
                self._draw_lanes()
            self._follow(bars, reset=new_lanes)
            self.figure.xaxis.axis_label = day_label(bars)
        pn.io.push_notebook(self._pane)

    def _draw_lanes(self) -> None:
        """The y axis, the height and the words for the jobs now on the page."""
        lanes = self.lanes
        plot = self.figure
        plot.y_range.update(start=-0.6, end=max(lanes, 1) - 0.4)
        plot.yaxis.ticker.ticks = list(range(lanes))
        plot.yaxis.major_label_overrides = {
            lanes - 1 - i: f"#{job.id}" for i, job in enumerate(self._jobs)
        }
        plot.height = timeline_height(lanes)
        self._empty.visible = lanes == 0
        self._plot.visible = lanes > 0

    def _follow(self, bars: Bars, reset: bool) -> None:
        """Fit the time axis to the bars, unless the person moved it (and ``reset`` is False)."""
        if not len(bars["x0"]):
            return
        x_range = self.figure.x_range
        if (
            not reset
            and self._span is not None
            and not _close((_ms(x_range.start), _ms(x_range.end)), self._span)
        ):
            return
        start, end = self._span = time_span(bars)
        x_range.update(start=start, end=end, reset_start=start, reset_end=end)

    def _tapped(self, index: list[int]) -> None:
        if not index:
            return
        labels = self._bars["job"]
        label = labels[index[0]] if index[0] < len(labels) else None
        if label:
            self.state.selected_id = int(label.lstrip("#"))
        # The highlight comes from the state's selection; Bokeh's own would linger.
        self._source.selected.indices = []

    def stop(self) -> None:
        if self._live is not None:
            self._live.stop()


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) < 1 and abs(a[1] - b[1]) < 1
