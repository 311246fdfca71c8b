"""Schedules: presets and cron expressions in a time zone, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
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
