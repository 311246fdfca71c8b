"""When a scheduled definition is due: presets and cron expressions in a time zone.

A schedule is a preset or a cron expression (``Definition.schedule``), with the presets'
options in ``Definition.schedule_options``, read in the definition's IANA time zone:

- ``hourly``: every hour at ``minute`` (0–59, default 0);
- ``end_of_day``: every day at ``at`` ("HH:MM", default "18:00");
- ``weekly``: every ``weekday`` (mon … sun, default mon) at ``at``;
- ``monthly``: on ``day`` (1–31 or "last", default 1) at ``at``; a day past the end of a
  shorter month (31 in April) is that month's last day;
- anything else: a five-field cron expression (minute hour day month weekday), parsed by
  ``croniter`` (never here).

Daylight-saving changes follow the rule of Vixie cron, so that a schedule means what a
person reading it expects:

- a time of day that does not exist on the day the clocks go forward (01:30 in
  Europe/London on the last Sunday of March) runs that much later, at the same moment an
  unchanged clock would have shown it: 01:30 → 02:30 BST (01:30 UTC);
- a time of day that happens twice on the day the clocks go back runs once, at its first
  occurrence (01:30 BST, not again at 01:30 GMT);
- schedules that repeat through the day by the hour (``hourly``, or a cron expression whose
  hour field has a ``*``) follow elapsed time instead: they run in both occurrences of the
  repeated hour (25 hourly runs that day) and skip nothing when the clocks go forward
  (23 runs that day).

The time zone defaults to ``BULKDESK_TIMEZONE`` (``jobs.config.Settings.timezone``, UTC).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from jobs.errors import InvalidInput

HOURLY = "hourly"
END_OF_DAY = "end_of_day"
WEEKLY = "weekly"
MONTHLY = "monthly"

#: The presets, with what people call them.
PRESETS = {HOURLY: "Hourly", END_OF_DAY: "End of day", WEEKLY: "Weekly", MONTHLY: "Monthly"}
#: The options each preset takes.
PRESET_OPTIONS = {
    HOURLY: ("minute",),
    END_OF_DAY: ("at",),
    WEEKLY: ("weekday", "at"),
    MONTHLY: ("day", "at"),
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = dict(zip(WEEKDAYS, calendar.day_name, strict=True))
DEFAULT_AT = {END_OF_DAY: "18:00", WEEKLY: "08:00", MONTHLY: "06:00"}
_AT = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
#: Candidates looked at before a schedule counts as never due (a cron "30 2 31 2 *").
_MAX_CANDIDATES = 2_000
#: Wider than any clock change (they are one hour, at most two).
_WIDEST_CHANGE = dt.timedelta(hours=3)


class Scheduled(Protocol):
    """What :func:`next_due` reads of a definition (a ``Definition`` row, or any record)."""

    schedule: str | None
    schedule_options: dict[str, Any] | None
    timezone: str | None


@dataclass(frozen=True)
class _Plan:
    """A schedule reduced to a cron expression over wall-clock times, with the rules that
    croniter cannot say."""

    cron: str
    every_occurrence: bool  # runs in both occurrences of a repeated hour (elapsed time)
    month_day: int | str | None = None  # monthly: the day, clamped to the month's end


def default_timezone() -> str:
    """The configured default time zone (``BULKDESK_TIMEZONE``)."""
    from jobs import runtime

    return runtime.settings().timezone


def zone(tz: str | None) -> ZoneInfo:
    """The time zone called ``tz`` (empty: the configured default).

    Raises:
      InvalidInput: for a name that is no IANA time zone (field ``timezone``).
    """
    name = (tz or "").strip() or default_timezone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone {name!r}; use an IANA name such as UTC, Europe/London or "
            "America/New_York",
            field="timezone",
        ) from None


def check(schedule: str | None, options: dict[str, Any] | None, tz: str | None) -> None:
    """Refuse a schedule that cannot run, with a message for the field at fault.

    Raises:
      InvalidInput: field ``schedule``, ``schedule_options.<option>`` or ``timezone``.
    """
    zone(tz)
    _plan(schedule, options)


def next_due(definition: Scheduled, after: dt.datetime) -> dt.datetime:
    """The definition's first due time strictly after ``after``, in UTC.

    Raises:
      InvalidInput: for a schedule :func:`check` refuses.
      ValueError: for a naive ``after``, or a schedule that never comes due (a cron
        expression naming 31 February).
    """
    d = definition
    return next_due_for(d.schedule, d.schedule_options, d.timezone, after)


def next_due_for(
    schedule: str | None, options: dict[str, Any] | None, tz: str | None, after: dt.datetime
) -> dt.datetime:
    """:func:`next_due` from the schedule's parts."""
    if after.tzinfo is None:
        raise ValueError("next_due needs a timezone-aware time")
    found = _next(_plan(schedule, options), zone(tz), after.astimezone(dt.UTC))
    if found is None:
        raise ValueError(f"The schedule {schedule!r} never comes due")
    return found


def _next(plan: _Plan, where: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    # Walk wall-clock candidates from a little before ``after`` (the repeated hour can put
    # a later instant at an earlier wall time). Near a clock change wall-clock order is not
    # time order, so the walk goes on for the change's width and keeps the earliest.
    local = after.astimezone(where).replace(tzinfo=None) - _WIDEST_CHANGE
    it = croniter(plan.cron, local)
    best: dt.datetime | None = None
    best_wall: dt.datetime | None = None
    for _ in range(_MAX_CANDIDATES):
        try:
            wall: dt.datetime = it.get_next(dt.datetime)
        except CroniterBadDateError:  # croniter found no date at all
            break
        if plan.month_day is not None and wall.day != _month_day(plan.month_day, wall):
            continue
        if best_wall is not None and wall > best_wall + _WIDEST_CHANGE:
            break
        for instant in _instants(wall, where, plan.every_occurrence):
            if instant > after and (best is None or instant < best):
                best = instant
                if best_wall is None:
                    if not _near_change(where, instant):
                        return instant
                    best_wall = wall
    return best


def _near_change(where: ZoneInfo, instant: dt.datetime) -> bool:
    before = (instant - _WIDEST_CHANGE).astimezone(where).utcoffset()
    return before != (instant + _WIDEST_CHANGE).astimezone(where).utcoffset()


def due_between(
    definition: Scheduled, start: dt.datetime, end: dt.datetime, limit: int = 10_000
) -> tuple[int, dt.datetime | None]:
    """How many due times fall in (``start``, ``end``], and the last of them (at most
    ``limit`` are counted)."""
    count, last, at = 0, None, start
    while count < limit:
        at = next_due(definition, at)
        if at > end:
            break
        count, last = count + 1, at
    return count, last


def describe(schedule: str | None, options: dict[str, Any] | None, tz: str | None) -> str:
    """The schedule in words: "Every day at 18:00 (Europe/London)"."""
    name = (tz or "").strip() or default_timezone()
    options = options or {}
    kind = (schedule or "").strip()
    at = options.get("at") or DEFAULT_AT.get(kind, "")
    if kind == HOURLY:
        minute = int(options.get("minute", 0) or 0)
        text = "Every hour on the hour" if minute == 0 else f"Every hour at {minute} past"
    elif kind == END_OF_DAY:
        text = f"Every day at {at}"
    elif kind == WEEKLY:
        day = _WEEKDAY_NAMES.get(str(options.get("weekday", "mon")).lower()[:3], "Monday")
        text = f"Every {day} at {at}"
    elif kind == MONTHLY:
        day = options.get("day", 1)
        if str(day).lower() == "last":
            text = f"Monthly on the last day at {at}"
        elif int(day) > 28:
            text = f"Monthly on day {day} (or the month's last day) at {at}"
        else:
            text = f"Monthly on day {day} at {at}"
    else:
        text = f"Cron {kind!r}"
    return f"{text} ({name})"


# -- the rules -------------------------------------------------------------------------


def _plan(schedule: str | None, options: dict[str, Any] | None) -> _Plan:
    kind = (schedule or "").strip()
    options = dict(options or {})
    if not kind:
        raise InvalidInput(
            "A scheduled definition needs a schedule: hourly, end_of_day, weekly, monthly or "
            "a cron expression",
            field="schedule",
        )
    if kind not in PRESETS:
        return _cron(kind)
    allowed = PRESET_OPTIONS[kind]
    for key in options:
        if key not in allowed:
            raise InvalidInput(
                f"The {PRESETS[kind].lower()} schedule takes no option {key!r}; it takes "
                + ", ".join(allowed),
                field=f"schedule_options.{key}",
            )
    if kind == HOURLY:
        return _Plan(f"{_minute(options.get('minute', 0))} * * * *", every_occurrence=True)
    hour, minute = _at(options.get("at", DEFAULT_AT[kind]))
    if kind == END_OF_DAY:
        return _Plan(f"{minute} {hour} * * *", every_occurrence=False)
    if kind == WEEKLY:
        return _Plan(f"{minute} {hour} * * {_weekday(options.get('weekday', 'mon'))}", False)
    return _Plan(f"{minute} {hour} * * *", False, month_day=_day(options.get("day", 1)))


def _cron(expression: str) -> _Plan:
    fields = expression.split()
    if len(fields) != 5:
        raise InvalidInput(
            f"{expression!r} is neither a preset (hourly, end_of_day, weekly, monthly) nor a "
            "cron expression of five fields (minute hour day month weekday), e.g. "
            "'30 18 * * mon-fri'",
            field="schedule",
        )
    if not croniter.is_valid(expression):
        raise InvalidInput(
            f"{expression!r} is not a valid cron expression (minute hour day month weekday), "
            "e.g. '30 18 * * mon-fri'",
            field="schedule",
        )
    plan = _Plan(expression, every_occurrence="*" in fields[1])
    if _next(plan, ZoneInfo("UTC"), dt.datetime(2000, 1, 1, tzinfo=dt.UTC)) is None:
        raise InvalidInput(f"The cron expression {expression!r} never comes due", field="schedule")
    return plan


def _minute(value: Any) -> int:
    try:
        minute = int(value)
    except (TypeError, ValueError):
        minute = -1
    if isinstance(value, bool) or not 0 <= minute <= 59:
        raise InvalidInput(
            f"The minute must be a whole number from 0 to 59, not {value!r}",
            field="schedule_options.minute",
        )
    return minute


def _at(value: Any) -> tuple[int, int]:
    found = _AT.match(str(value).strip()) if isinstance(value, str) else None
    if found is None:
        raise InvalidInput(
            f"The time must be HH:MM on a 24-hour clock (e.g. 18:00), not {value!r}",
            field="schedule_options.at",
        )
    return int(found.group(1)), int(found.group(2))


def _weekday(value: Any) -> str:
    day = str(value).strip().lower()[:3]
    if day not in WEEKDAYS:
        raise InvalidInput(
            f"The weekday must be one of {', '.join(WEEKDAYS)}, not {value!r}",
            field="schedule_options.weekday",
        )
    return day


def _day(value: Any) -> int | str:
    if isinstance(value, str) and value.strip().lower() == "last":
        return "last"
    try:
        day = int(value)
    except (TypeError, ValueError):
        day = 0
    if isinstance(value, bool) or not 1 <= day <= 31:
        raise InvalidInput(
            f"The day of the month must be 1 to 31 or 'last', not {value!r}",
            field="schedule_options.day",
        )
    return day


def _month_day(day: int | str, wall: dt.datetime) -> int:
    last = calendar.monthrange(wall.year, wall.month)[1]
    return last if day == "last" else min(int(day), last)


def _instants(wall: dt.datetime, where: ZoneInfo, every_occurrence: bool) -> list[dt.datetime]:
    """The instants (UTC) a wall-clock time stands for in ``where``, by the module's rules."""
    first = wall.replace(tzinfo=where, fold=0).astimezone(dt.UTC)
    second = wall.replace(tzinfo=where, fold=1).astimezone(dt.UTC)
    if first == second:
        return [first]
    exists = first.astimezone(where).replace(tzinfo=None) == wall
    if not exists:
        # The clocks went forward over it: fold 0 reads it with the offset before the
        # change, i.e. the moment an unchanged clock would have shown it.
        return [first]
    return sorted({first, second}) if every_occurrence else [first]
