"""Schedules: presets and cron expressions in a time zone, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from jobs.errors import InvalidInput
from jobs.scheduler import schedules

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def _due_times(schedule, options, tz, start, count):
    definition = SimpleNamespace(schedule=schedule, schedule_options=options, timezone=tz)
    at, out = start, []
    for _ in range(count):
        at = schedules.next_due(definition, at)
        assert at.tzinfo is not None and at.utcoffset() == dt.timedelta(0)
        out.append(at)
    return out


def _local(times, where):
    return [t.astimezone(where).strftime("%m-%d %H:%M %Z") for t in times]


def test_end_of_day_at_a_time_skipped_by_the_spring_change_runs_an_hour_later_that_day():
    # Given a daily run at 01:30 in London; on 29 March 2026 the clocks go from 01:00 to 02:00
    times = _due_times(
        "end_of_day", {"at": "01:30"}, "Europe/London", dt.datetime(2026, 3, 27, 12, tzinfo=UTC), 3
    )
    # Then that day it runs at 02:30 BST (the moment an unchanged clock shows 01:30), once
    assert _local(times, LONDON) == ["03-28 01:30 GMT", "03-29 02:30 BST", "03-30 01:30 BST"]
    assert times[1] == dt.datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


def test_end_of_day_in_the_repeated_autumn_hour_runs_once_at_its_first_occurrence():
    times = _due_times(
        "end_of_day", {"at": "01:30"}, "Europe/London", dt.datetime(2026, 10, 24, 12, tzinfo=UTC), 2
    )
    assert _local(times, LONDON) == ["10-25 01:30 BST", "10-26 01:30 GMT"]


def test_hourly_follows_elapsed_time_25_runs_in_autumn_and_23_in_spring():
    autumn = _due_times(
        "hourly", {"minute": 30}, "Europe/London", dt.datetime(2026, 10, 24, 23, tzinfo=UTC), 25
    )
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(autumn, autumn[1:], strict=False))
    assert [t.astimezone(LONDON).date() for t in autumn] == [dt.date(2026, 10, 25)] * 25
    assert _local(autumn[1:3], LONDON) == ["10-25 01:30 BST", "10-25 01:30 GMT"]
    spring_day = [
        t
        for t in _due_times(
            "hourly", {}, "Europe/London", dt.datetime(2026, 3, 28, 23, tzinfo=UTC), 30
        )
        if t.astimezone(LONDON).date() == dt.date(2026, 3, 29)
    ]
    assert len(spring_day) == 23


def test_weekly_keeps_its_local_time_across_the_change():
    times = _due_times(
        "weekly",
        {"weekday": "sun", "at": "09:00"},
        "Europe/London",
        dt.datetime(2026, 3, 20, tzinfo=UTC),
        3,
    )
    assert _local(times, LONDON) == ["03-22 09:00 GMT", "03-29 09:00 BST", "04-05 09:00 BST"]
    assert [t.hour for t in times] == [9, 8, 8]  # in UTC


def test_monthly_on_day_31_runs_on_the_last_day_of_shorter_months():
    times = _due_times(
        "monthly", {"day": 31, "at": "06:00"}, "UTC", dt.datetime(2026, 1, 1, tzinfo=UTC), 4
    )
    assert [t.date().isoformat() for t in times] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
    ]
    last = _due_times("monthly", {"day": "last"}, "UTC", dt.datetime(2028, 2, 1, tzinfo=UTC), 1)
    assert last[0] == dt.datetime(2028, 2, 29, 6, 0, tzinfo=UTC)


def test_a_cron_at_a_fixed_time_in_new_yorks_spring_gap_runs_an_hour_later():
    # 8 March 2026: clocks go from 02:00 to 03:00 in New York
    times = _due_times(
        "30 2 * * *", {}, "America/New_York", dt.datetime(2026, 3, 7, 12, tzinfo=UTC), 3
    )
    assert _local(times, NEW_YORK) == ["03-08 03:30 EDT", "03-09 02:30 EDT", "03-10 02:30 EDT"]


def test_a_cron_with_a_wildcard_hour_runs_in_both_occurrences_of_the_repeated_hour():
    times = _due_times(
        "*/30 * * * *", {}, "Europe/London", dt.datetime(2026, 10, 25, 0, 0, tzinfo=UTC), 4
    )
    assert _local(times, LONDON) == [
        "10-25 01:30 BST",
        "10-25 01:00 GMT",
        "10-25 01:30 GMT",
        "10-25 02:00 GMT",
    ]
    assert all(b - a == dt.timedelta(minutes=30) for a, b in zip(times, times[1:], strict=False))


def test_next_due_is_strictly_after_the_given_time():
    at = dt.datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
    (after,) = _due_times("end_of_day", {"at": "18:00"}, "UTC", at, 1)
    assert after == at + dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("schedule", "options", "tz", "field", "words"),
    [
        ("", {}, "UTC", "schedule", "needs a schedule"),
        ("every day", {}, "UTC", "schedule", "five fields"),
        ("61 * * * *", {}, "UTC", "schedule", "not a valid cron expression"),
        ("30 2 31 2 *", {}, "UTC", "schedule", "never comes due"),
        ("0 0 * * * *", {}, "UTC", "schedule", "five fields"),
        ("hourly", {"minute": 60}, "UTC", "schedule_options.minute", "0 to 59"),
        ("end_of_day", {"at": "6pm"}, "UTC", "schedule_options.at", "HH:MM"),
        ("weekly", {"weekday": "someday"}, "UTC", "schedule_options.weekday", "mon, tue"),
        ("monthly", {"day": 32}, "UTC", "schedule_options.day", "1 to 31"),
        ("end_of_day", {"weekday": "mon"}, "UTC", "schedule_options.weekday", "takes no option"),
        ("hourly", {}, "Mars/Olympus", "timezone", "Unknown time zone 'Mars/Olympus'"),
    ],
)
def test_check_refuses_a_bad_schedule_with_a_message_for_the_field(
    schedule, options, tz, field, words
):
    with pytest.raises(InvalidInput) as caught:
        schedules.check(schedule, options, tz)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_check_accepts_presets_and_cron_expressions():
    for schedule, options in [
        ("hourly", {"minute": 15}),
        ("end_of_day", {"at": "18:00"}),
        ("weekly", {"weekday": "Friday", "at": "07:45"}),
        ("monthly", {"day": "last", "at": "23:59"}),
        ("30 18 * * mon-fri", {}),
    ]:
        schedules.check(schedule, options, "Europe/London")


def test_describe_says_the_schedule_in_words_with_its_time_zone():
    assert schedules.describe("end_of_day", {"at": "18:00"}, "Europe/London") == (
        "Every day at 18:00 (Europe/London)"
    )
    assert schedules.describe("hourly", {}, "UTC") == "Every hour on the hour (UTC)"
    assert schedules.describe("hourly", {"minute": 15}, "UTC") == "Every hour at 15 past (UTC)"
    assert schedules.describe("weekly", {"weekday": "fri", "at": "07:45"}, "UTC") == (
        "Every Friday at 07:45 (UTC)"
    )
    assert schedules.describe("monthly", {"day": 1}, "UTC") == "Monthly on day 1 at 06:00 (UTC)"
    assert schedules.describe("*/5 * * * *", {}, "UTC") == "Cron '*/5 * * * *' (UTC)"


def test_the_default_time_zone_comes_from_bulkdesk_timezone(monkeypatch):
    from jobs.config import Settings
    from jobs.errors import ConfigError

    monkeypatch.setenv("BULKDESK_TIMEZONE", "Europe/London")
    assert Settings.from_env().timezone == "Europe/London"
    monkeypatch.delenv("BULKDESK_TIMEZONE")
    assert Settings.from_env().timezone == "UTC"
    monkeypatch.setenv("BULKDESK_TIMEZONE", "Europe/Nowhere")
    with pytest.raises(ConfigError, match="BULKDESK_TIMEZONE='Europe/Nowhere'"):
        Settings.from_env()


# -- firing with a controllable clock (jobs.clock.use), on SQLite and PostgreSQL ------------


@pytest.fixture
def clock_at(db):
    """A stopped clock the scheduler reads; no definitions or lease before or after."""
    from jobs import clock
    from tests.scheduler_support import clear_all

    clear_all(db)
    manual = clock.ManualClock(dt.datetime(2026, 1, 1, tzinfo=UTC))
    clock.use(manual)
    yield manual
    clock.use(None)
    clear_all(db)


def _walk(db, clock_at, definition_id, instants):
    """Fire at each expected instant: nothing a second before, one on-time run at it."""
    from jobs.scheduler import triggers
    from tests.scheduler_support import runs_of

    clock_at.set(instants[0] - dt.timedelta(minutes=1))
    assert triggers.fire_due(db) == []  # counts its schedule from now
    for instant in instants:
        before = len(runs_of(db, definition_id))
        clock_at.set(instant - dt.timedelta(seconds=1))
        triggers.fire_due(db)
        assert len(runs_of(db, definition_id)) == before, f"fired before {instant}"
        clock_at.set(instant)
        triggers.fire_due(db)
        runs = runs_of(db, definition_id)
        assert len(runs) == before + 1, f"did not fire at {instant}"
        run = runs[-1][0]
        assert (run.due_at, run.late, run.fired_by) == (instant, False, "schedule")


def _z(*args):
    return dt.datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "options", "instants"),
    [
        # London, autumn: 25 Oct 2026 the clocks go back from 02:00 BST to 01:00 GMT
        (
            "hourly",
            {"minute": 30},
            [
                _z(2026, 10, 24, 23, 30),
                _z(2026, 10, 25, 0, 30),
                _z(2026, 10, 25, 1, 30),
                _z(2026, 10, 25, 2, 30),
            ],
        ),
        ("end_of_day", {"at": "01:30"}, [_z(2026, 10, 25, 0, 30), _z(2026, 10, 26, 1, 30)]),
        (
            "weekly",
            {"weekday": "sun", "at": "01:30"},
            [_z(2026, 10, 25, 0, 30), _z(2026, 11, 1, 1, 30)],
        ),
        ("monthly", {"day": 25, "at": "01:30"}, [_z(2026, 10, 25, 0, 30), _z(2026, 11, 25, 1, 30)]),
        ("30 1 * * *", {}, [_z(2026, 10, 25, 0, 30), _z(2026, 10, 26, 1, 30)]),
        # London, spring: 29 Mar 2026 the clocks go forward from 01:00 GMT to 02:00 BST
        (
            "end_of_day",
            {"at": "01:30"},
            [_z(2026, 3, 28, 1, 30), _z(2026, 3, 29, 1, 30), _z(2026, 3, 30, 0, 30)],
        ),
        ("hourly", {}, [_z(2026, 3, 29, 0, 0), _z(2026, 3, 29, 1, 0), _z(2026, 3, 29, 2, 0)]),
        ("0 9 * * mon-fri", {}, [_z(2026, 3, 27, 9, 0), _z(2026, 3, 30, 8, 0)]),
    ],
)
def test_scheduled_definitions_fire_at_the_right_instants_across_a_dst_change(
    db, clock_at, schedule, options, instants
):
    from tests.scheduler_support import make_definition

    d = make_definition(
        db, f"Scheduled {schedule}", schedule=schedule, options=options, timezone="Europe/London"
    )
    _walk(db, clock_at, d, instants)


def test_runs_missed_while_nothing_ran_fire_once_late_then_the_schedule_goes_on(db, clock_at):
    from jobs.models import Definition
    from jobs.scheduler import triggers
    from tests.scheduler_support import make_definition, runs_of

    # Given a daily 18:00 run last due on 1 December, and no scheduler until 5 December 19:00
    first = _z(2026, 12, 1, 18, 0)
    d = make_definition(db, "Daily", options={"at": "18:00"}, next_due_at=first)
    clock_at.set(_z(2026, 12, 5, 19, 0))
    # When a scheduler starts: the five missed due times fire once, late, as the newest one
    (job_id,) = triggers.fire_due(db)
    ((run, _status),) = runs_of(db, d)
    assert (run.job_id, run.due_at, run.late) == (job_id, _z(2026, 12, 5, 18, 0), True)
    assert run.detail["stands_for"] == 5
    assert run.detail["first_due"] == first.isoformat()
    assert triggers.fire_due(db) == []
    # Then the schedule goes on from now: the next run is on time
    with db.read() as s:
        assert s.get(Definition, d).next_due_at == _z(2026, 12, 6, 18, 0)
    clock_at.set(_z(2026, 12, 6, 18, 0))
    triggers.fire_due(db)
    assert [(r.due_at, r.late) for r, _ in runs_of(db, d)][-1] == (_z(2026, 12, 6, 18, 0), False)


def test_two_schedulers_racing_never_fire_a_due_time_twice(db, clock_at):
    # Given five hourly definitions, and two schedulers firing as fast as they can without
    # the lease (as a holder that stalled past its lease and another that took over would)
    import threading

    from jobs.scheduler import triggers
    from tests.scheduler_support import make_definition, runs_of

    start = _z(2026, 10, 24, 20, 0)
    ids = [
        make_definition(
            db,
            f"Hourly {n}",
            schedule="hourly",
            timezone="Europe/London",
            next_due_at=start + dt.timedelta(hours=1),
        )
        for n in range(5)
    ]
    clock_at.set(start)
    stop = threading.Event()
    errors: list[BaseException] = []

    def scheduler() -> None:
        while not stop.is_set():
            try:
                triggers.fire_due(db)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for t in threads:
        t.start()
    # When the clock moves an hour at a time through the autumn change (9 due times)
    for hour in range(1, 10):
        clock_at.advance(hours=1)
        deadline = time.monotonic() + 20
        while sum(len(runs_of(db, d)) for d in ids) < 5 * hour and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # both schedulers look again at the same due times
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    # Then every definition has each due time once, none missed, none late
    for d in ids:
        runs = [r for r, _ in runs_of(db, d)]
        due = [r.due_at for r in runs]
        assert len(due) == len(set(due)) == 9, due
        assert not any(r.late for r in runs)


def test_of_two_scheduler_threads_one_is_active_and_the_other_takes_over(db, clock_at):
    from jobs.scheduler import lease
    from jobs.scheduler.loop import Scheduler

    first, second = Scheduler(ttl=0.5), Scheduler(ttl=0.5)
    first.tick_once()
    second.tick_once()
    assert (first.active, second.active) == (True, False)
    assert lease.state(db).holder == first.holder
    time.sleep(0.7)  # the first stops ticking (it died)
    second.tick_once()
    assert second.active and lease.state(db).holder == second.holder
    first.tick_once()
    assert not first.active
