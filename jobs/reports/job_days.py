"""Where a page of the job list falls, from the live jobs counted per day of submission.

``job_day_counts`` (migration 0022, kept by triggers on ``jobs``) holds, per UTC day, how
many live jobs were submitted that day: by each owner, and by everyone (owner 0). A list in
submission order with no filter but the owner and a range of days is those days' jobs in
turn, so the ``offset``-th job of it is in the day where the running sum of the days passes
``offset``: adding up a few thousand small rows finds it, and only that day's jobs above it
are walked (instead of every job above the page). The sum is the list's exact length.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, select, text
from sqlalchemy.orm import Session

from jobs.models import Job, JobDayCount

#: The owner of the rows that count every owner's jobs.
EVERYONE = 0


@dataclass(frozen=True)
class DayPlace:
    """The day a list position falls in: the jobs before that day's (in the list's order)
    and the condition that starts a walk at the day's first job."""

    day: dt.date
    before: int
    start: ColumnElement[bool]


def day_counts(
    session: Session,
    owner_id: int | None,
    *,
    first: dt.date | None = None,
    last: dt.date | None = None,
    descending: bool = True,
) -> list[tuple[dt.date, int]]:
    """The live jobs of each day with any, in the list's order (newest day first when
    ``descending``), for one owner or everyone (None), within ``first``..``last``."""
    query = select(JobDayCount.day, JobDayCount.live).where(
        JobDayCount.owner_id == (EVERYONE if owner_id is None else owner_id),
        JobDayCount.live > 0,
    )
    if first is not None:
        query = query.where(JobDayCount.day >= first)
    if last is not None:
        query = query.where(JobDayCount.day <= last)
    order = JobDayCount.day.desc() if descending else JobDayCount.day.asc()
    return [(day, live) for day, live in session.execute(query.order_by(order))]


def locate(
    counts: list[tuple[dt.date, int]], offset: int, *, descending: bool = True
) -> DayPlace | None:
    """The day holding the list's job number ``offset`` (0 is the first), or None past the
    end. ``counts`` are :func:`day_counts` in the same order."""
    before = 0
    for day, live in counts:
        if offset < before + live:
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            start = (
                Job.submitted_at < midnight + dt.timedelta(days=1)
                if descending
                else Job.submitted_at >= midnight
            )
            return DayPlace(day, before, start)
        before += live
    return None


def rebuild(conn: Connection) -> None:
    """Count every live job again (after a bulk load made with the triggers off, as the
    benchmarks fill a million jobs)."""
    day = (
        "date(submitted_at)"
        if conn.dialect.name == "sqlite"
        else "((submitted_at AT TIME ZONE 'UTC')::date)"
    )
    live = "FROM jobs WHERE deleted_at IS NULL"
    conn.execute(text("DELETE FROM job_day_counts"))
    conn.execute(
        text(
            f"INSERT INTO job_day_counts (owner_id, day, live) "
            f"SELECT {EVERYONE}, {day}, count(*) {live} GROUP BY {day} "
            f"UNION ALL SELECT owner_id, {day}, count(*) {live} GROUP BY owner_id, {day}"
        )
    )
