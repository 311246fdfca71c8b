"""The timeline fits what it shows: a lane per job on the page, the height of its lanes, words
when there are no jobs, and a glyph that never reads a column its data lacks."""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import pytest
from bokeh.core.serialization import Serializer
from bokeh.models import GlyphRenderer

from apps.monitor_state import MonitorState
from apps.timeline import (
    Timeline,
    day_label,
    same_bars,
    time_span,
    time_ticks,
    timeline_bars,
    timeline_height,
)
from jobs.db import Database
from jobs.service import JobService
from jobs.status import JobStatus
from tests.helpers import force_status


@pytest.fixture
def service(sqlite_db: Database) -> JobService:
    return JobService(sqlite_db)


def submit(service: JobService, description: str) -> int:
    return service.submit_bulk_interaction(
        "alice",
        description=description,
        interaction_type="Note",
        outcome="Information only",
        account_filter={"state": "WY"},
    ).id


@pytest.fixture
def many_jobs(service: JobService, sqlite_db: Database) -> list[int]:
    """25 of alice's jobs (a full page), the first of them running."""
    ids = [submit(service, f"Timeline job {n:02d}") for n in range(25)]
    force_status(sqlite_db, ids[0], JobStatus.IN_PROGRESS)
    return ids


def timeline_for(service: JobService) -> Timeline:
    state = MonitorState(service, "alice")
    return Timeline(service, "alice", state=state, live=False)


def lane_labels(timeline: Timeline) -> list[str]:
    overrides = timeline.figure.yaxis.major_label_overrides
    return [overrides[lane] for lane in sorted(overrides, reverse=True)]


def fields(glyph: object) -> dict[str, str]:
    """Glyph property → the column it reads, as Bokeh sends it to the browser."""
    serializer = Serializer()
    read = {}
    for name in glyph.properties_with_values(include_defaults=False):
        spec = glyph.lookup(name).property
        if name in glyph.dataspecs():
            sent = serializer.encode(spec.to_serializable(glyph, name, getattr(glyph, name)))
            if isinstance(sent, dict) and sent.get("type") == "field":
                read[name] = sent["field"]
    return read


def missing_columns(timeline: Timeline) -> list[tuple[str, str]]:
    """(glyph property, column) pairs where a glyph reads a column its source does not have."""
    missing = []
    for renderer in timeline.figure.select({"type": GlyphRenderer}):
        columns = set(renderer.data_source.data)
        for name in ("glyph", "selection_glyph", "nonselection_glyph", "hover_glyph"):
            glyph = getattr(renderer, name)
            if glyph is None or isinstance(glyph, str):
                continue
            missing += [(p, f) for p, f in fields(glyph).items() if f not in columns]
    return missing


def test_with_no_jobs_the_timeline_says_so_in_words_instead_of_an_empty_plot(service):
    timeline = timeline_for(service)

    assert timeline.lanes == 0
    assert timeline.empty
    assert not timeline._plot.visible
    assert "No jobs on this page" in timeline._empty.object


def test_one_job_gets_one_lane_and_a_plot_as_tall_as_one_lane(service):
    job_id = submit(service, "A single job")

    timeline = timeline_for(service)

    assert timeline.lanes == 1
    assert not timeline.empty and timeline._plot.visible
    assert timeline.height == timeline_height(1)
    assert (timeline.figure.y_range.start, timeline.figure.y_range.end) == (-0.6, 0.6)
    assert lane_labels(timeline) == [f"#{job_id}"]


def test_a_full_page_of_25_jobs_gets_25_lanes_newest_on_top(service, many_jobs):
    timeline = timeline_for(service)

    assert timeline.lanes == 25
    assert timeline.height == timeline_height(25) > timeline_height(1)
    assert timeline.figure.y_range.end == pytest.approx(24.6)
    assert lane_labels(timeline) == [f"#{i}" for i in reversed(many_jobs)]
    assert list(timeline.figure.yaxis.ticker.ticks) == list(range(25))


def test_after_a_filter_leaves_one_job_the_plot_keeps_no_lanes_of_the_earlier_page(
    service, many_jobs
):
    # Given the timeline of a full page
    timeline = timeline_for(service)
    assert timeline.lanes == 25

    # When a filter leaves one job
    timeline.state.text = "Timeline job 07"

    # Then one lane is drawn, and the plot is as tall as one lane
    assert timeline.lanes == 1
    assert timeline.height == timeline_height(1)
    assert timeline.figure.y_range.end == pytest.approx(0.6)
    assert lane_labels(timeline) == [f"#{many_jobs[7]}"]
    assert set(timeline._source.data["job"]) == {f"#{many_jobs[7]}"}

    # When a filter leaves none, the words show; when it is cleared, the 25 lanes are back
    timeline.state.text = "no job is called this"
    assert timeline.empty and timeline.lanes == 0 and len(timeline._source.data["job"]) == 0
    timeline.state.text = ""
    assert not timeline.empty and timeline.lanes == 25
    assert timeline.height == timeline_height(25)


def test_the_bars_glyph_never_reads_a_column_its_data_lacks(service, many_jobs):
    # Given a timeline that starts with no jobs on its page (the case that made Bokeh warn
    # "nonexistent field 'line_width'" when jobs arrived)
    timeline = timeline_for(service)
    timeline.state.text = "no job is called this"
    assert missing_columns(timeline) == []

    # When jobs arrive, one is selected, a filter leaves one, and it is unselected
    for change in (
        {"text": ""},
        {"selected_id": many_jobs[3]},
        {"text": "Timeline job 03"},
        {"selected_id": None},
        {"text": "no job is called this"},
    ):
        timeline.state.param.update(change)
        # Then every style the glyph reads is a column of its data, every time
        assert missing_columns(timeline) == []
    renderer = timeline.figure.select_one({"type": GlyphRenderer})
    assert fields(renderer.glyph) == {
        "left": "x0",
        "right": "x1",
        "bottom": "y0",
        "top": "y1",
        "fill_color": "color",
        "line_color": "line",
        "line_width": "width",
    }


def test_selecting_a_job_outlines_its_lane_and_tapping_a_lane_selects_its_job(service, many_jobs):
    timeline = timeline_for(service)

    timeline.state.selected_id = many_jobs[5]
    widths = dict(zip(timeline._source.data["job"], timeline._source.data["width"], strict=True))
    assert widths[f"#{many_jobs[5]}"] > 1 and widths[f"#{many_jobs[6]}"] < 1

    index = list(timeline._source.data["job"]).index(f"#{many_jobs[9]}")
    timeline._source.selected.indices = [index]
    assert timeline.state.selected_id == many_jobs[9]
    assert timeline._source.selected.indices == []


def test_sub_second_spans_get_one_line_clock_times_to_the_millisecond_and_the_day_below():
    ticks = time_ticks()
    assert ticks.milliseconds == "%H:%M:%S.%3N"
    assert ticks.seconds == "%H:%M:%S"
    assert ticks.context is None and not ticks.boundary_scaling

    start = dt.datetime(2026, 12, 3, 6, 50, 45, 400_000, tzinfo=dt.UTC)
    job = _FakeJob(1, start, start + dt.timedelta(seconds=0.02), start + dt.timedelta(seconds=0.12))
    bars = timeline_bars([job], None, now=start + dt.timedelta(seconds=1))
    frame = pd.DataFrame(bars)
    running = frame[frame["phase"] == "running"].iloc[0]
    assert (running["x1"] - running["x0"]).total_seconds() == pytest.approx(0.1)
    assert running["start"].endswith(".420") and running["end"].endswith(".520")
    assert day_label(bars).startswith("Server time, Dec 0")


def test_a_sub_second_job_gets_a_time_axis_about_as_long_as_the_job():
    start = dt.datetime(2026, 12, 3, 6, 50, 45, 400_000, tzinfo=dt.UTC)
    job = _FakeJob(1, start, start, start + dt.timedelta(seconds=0.1))

    first, last = time_span(timeline_bars([job], None))

    assert last - first == pytest.approx(120)  # milliseconds: the job and 10 ms either side


def test_a_job_waiting_for_days_does_not_squash_the_running_ones_into_slivers():
    now = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
    running = _FakeJob(2, now - dt.timedelta(minutes=20), now - dt.timedelta(minutes=19), None)
    running.status = JobStatus.IN_PROGRESS
    waiting = _FakeJob(1, now - dt.timedelta(days=3), None, None)
    waiting.status = JobStatus.AWAITING_APPROVAL

    bars = timeline_bars([running, waiting], None, now=now)
    first, last = time_span(bars)

    # The axis shows the last twenty minutes or so, not three days: the waiting job's bar
    # comes in from the left edge
    assert (last - first) / 60_000 == pytest.approx(20 * 1.08)
    assert "Dec 05" not in day_label(bars)  # the label names the days the axis shows
    # Alone, the waiting job sets the axis (there is nothing else to see)
    alone = timeline_bars([waiting], None, now=now)
    first, last = time_span(alone)
    assert (last - first) / 86_400_000 == pytest.approx(3 * 1.08)
    # A job stopped days ago before it ever started keeps its bar on the axis
    stopped = _FakeJob(4, now - dt.timedelta(days=3), None, now - dt.timedelta(days=2))
    stopped.status = JobStatus.STOPPED
    first, last = time_span(timeline_bars([running, waiting, stopped], None, now=now))
    assert (last - first) / 86_400_000 == pytest.approx(3 * 1.08)
    # A job that waited as long as the others ran sets it too
    recent = _FakeJob(3, now - dt.timedelta(minutes=30), None, None)
    recent.status = JobStatus.QUEUED
    first, last = time_span(timeline_bars([running, recent], None, now=now))
    assert (last - first) / 60_000 == pytest.approx(30 * 1.08)


def test_the_time_axis_follows_the_bars_until_the_person_moves_it(service, many_jobs):
    # Given a timeline with a running job, whose bar grows at every refresh
    timeline = timeline_for(service)
    x_range = timeline.figure.x_range
    assert (x_range.start, x_range.end) == time_span(timeline._bars)

    # When the person pans the axis, the refresh leaves it where they put it
    x_range.update(start=x_range.start - 60_000, end=x_range.end - 60_000)
    moved = (x_range.start, x_range.end)
    bars = timeline._bars
    time.sleep(0.01)
    timeline.state.load()
    assert not same_bars(timeline._bars, bars)  # the running bar grew
    assert (x_range.start, x_range.end) == moved

    # When another page of jobs comes (a filter), the axis fits the bars again
    timeline.state.text = "Timeline job 0"
    assert (x_range.start, x_range.end) == time_span(timeline._bars)
    assert (x_range.reset_start, x_range.reset_end) == time_span(timeline._bars)


class _FakeJob:
    """The fields of a JobSummary that the timeline's bars read."""

    def __init__(
        self,
        id: int,
        submitted: dt.datetime,
        started: dt.datetime | None,
        ended: dt.datetime | None,
    ):
        self.id = id
        self.description = "A quick one"
        self.status = JobStatus.COMPLETED
        self.submitted_at, self.started_at, self.ended_at = submitted, started, ended
