"""The reproducible audit's figures: what ran, for whom, how it ended, who stopped or deleted it.

Every figure comes from an aggregated (``GROUP BY``) or bounded (``LIMIT``) query, so a report
over years of jobs reads a few thousand rows at most. Nothing depends on the clock: the same
database and parameters give the same figures, in the same order, and the same CSV bytes.
Deleted jobs are included (they keep their row, with ``deleted_at`` set, and a ``delete`` event).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from jobs import audit
from jobs.db import Database
from jobs.errors import InvalidInput, NotFound
from jobs.models import AuditEvent, ItemOutcome, Job, JobItem, User
from jobs.status import JobStatus

#: Most jobs listed one by one (throughput, timeline); the aggregates always cover every job.
MAX_JOBS = 2000
#: Most stop and delete events listed.
MAX_EVENTS = 2000
#: Most distinct exception messages listed (the most frequent first).
MAX_MESSAGES = 200

#: Bulkdesk's mark, inline: the saved report's icon, so the file asks no host for anything.
ICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E"
    "%3Crect width='32' height='32' rx='7' fill='%231d4ed8'/%3E"
    "%3Crect x='6' y='8' width='20' height='4' rx='2' fill='%23fff'/%3E"
    "%3Crect x='6' y='14' width='14' height='4' rx='2' fill='%23fff'/%3E"
    "%3Crect x='6' y='20' width='18' height='4' rx='2' fill='%2393c5fd'/%3E%3C/svg%3E"
)
#: For ``page.save(..., resources=INLINE, template_variables=HTML_TEMPLATE_VARIABLES)``: with
#: them, Panel's page template links no favicon or touch icon from Panel's CDN, and the HTML
#: report opens offline as one self-contained file.
HTML_TEMPLATE_VARIABLES = {"app_favicon": ICON, "apple_icon": ICON}

SECTIONS = (
    "parameters",
    "jobs_by_status",
    "jobs_by_user",
    "events_by_action",
    "exceptions_by_message",
    "stops_and_deletes",
    "throughput",
)


@dataclass(frozen=True)
class AuditPeriod:
    """The days a report covers, both inclusive; ``None`` leaves that end open."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def parse(cls, date_from: str | dt.date | None, date_to: str | dt.date | None) -> AuditPeriod:
        """Read the report's period from parameters (``YYYY-MM-DD`` or empty).

        Raises:
          InvalidInput: for a value that is not a date, or a start after the end.
        """
        period = cls(_date(date_from, "date_from"), _date(date_to, "date_to"))
        if period.date_from and period.date_to and period.date_from > period.date_to:
            raise InvalidInput(
                f"The period starts on {period.date_from} after it ends on {period.date_to}",
                field="date_from",
            )
        return period

    @property
    def start(self) -> dt.datetime | None:
        """The first instant covered (UTC midnight of ``date_from``)."""
        if self.date_from is None:
            return None
        return dt.datetime.combine(self.date_from, dt.time(), tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime | None:
        """The first instant no longer covered (UTC midnight after ``date_to``)."""
        if self.date_to is None:
            return None
        return dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)

    def within(self, column: Any) -> list[ColumnElement[bool]]:
        """SQL conditions keeping a timestamp column inside the period."""
        conds: list[ColumnElement[bool]] = []
        if self.start is not None:
            conds.append(column >= self.start)
        if self.end is not None:
            conds.append(column < self.end)
        return conds

    @property
    def label(self) -> str:
        """The period in words, e.g. ``2026-11-01 to 2026-11-07`` or ``all time``."""
        if self.date_from and self.date_to:
            return f"{self.date_from.isoformat()} to {self.date_to.isoformat()}"
        if self.date_from:
            return f"from {self.date_from.isoformat()}"
        if self.date_to:
            return f"until {self.date_to.isoformat()}"
        return "all time"

    @property
    def slug(self) -> str:
        """The period for file names, e.g. ``2026-11-01_2026-11-07`` or ``all_all``."""
        first = self.date_from.isoformat() if self.date_from else "all"
        last = self.date_to.isoformat() if self.date_to else "all"
        return f"{first}_{last}"


@dataclass(frozen=True)
class AuditReport:
    """The audit's tables, each sorted so that the same data always gives the same order."""

    period: AuditPeriod
    user: str | None
    jobs_by_status: pd.DataFrame
    jobs_by_user: pd.DataFrame
    events_by_action: pd.DataFrame
    exceptions_by_message: pd.DataFrame
    stops_and_deletes: pd.DataFrame
    throughput: pd.DataFrame
    jobs_listed: int
    jobs_total: int

    @property
    def file_stem(self) -> str:
        """The report's file name without extension, e.g. ``audit_2026-11-01_2026-11-07_all``."""
        return file_stem(self.period, self.user)

    @property
    def truncated(self) -> bool:
        """True when more jobs matched than the per-job tables list."""
        return self.jobs_listed < self.jobs_total

    @property
    def scope(self) -> str:
        """Whose jobs the report covers, in words."""
        return f"jobs of {self.user}" if self.user else "all users' jobs"

    def figures(self) -> pd.DataFrame:
        """Every figure of the report in one long table: section, key, metric, value.

        Returns:
          One row per number or text, in section order then each table's own order; values
          are text (floats rounded to 3 places) so the CSV is the same byte for byte.
        """
        rows: list[tuple[str, str, str, str]] = [
            ("parameters", "period", "date_from", _text(self.period.date_from)),
            ("parameters", "period", "date_to", _text(self.period.date_to)),
            ("parameters", "scope", "user", self.user or "all"),
            ("parameters", "jobs", "total", str(self.jobs_total)),
            ("parameters", "jobs", "listed", str(self.jobs_listed)),
        ]
        keyed = {
            "jobs_by_status": (self.jobs_by_status, "status"),
            "jobs_by_user": (self.jobs_by_user, "username"),
            "events_by_action": (self.events_by_action, "action"),
            "exceptions_by_message": (self.exceptions_by_message, "message"),
            "stops_and_deletes": (self.stops_and_deletes, "event_id"),
            "throughput": (self.throughput, "job_id"),
        }
        for section, (frame, key) in keyed.items():
            for record in frame.to_dict("records"):
                for metric, value in record.items():
                    if metric != key:
                        rows.append((section, _text(record[key]), metric, _text(value)))
        return pd.DataFrame(rows, columns=["section", "key", "metric", "value"])

    def write_csv(self, path: Path) -> Path:
        """Write :meth:`figures` as CSV (UTF-8, ``\\n`` line ends) and return the path."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figures().to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        return path

    def timeline(self) -> pd.DataFrame:
        """Per listed job: label, submitted, started and ended as naive UTC times, for plotting."""
        frame = self.throughput
        out = pd.DataFrame(
            {
                "job": [
                    f"#{i} {d[:40]}"
                    for i, d in zip(frame["job_id"], frame["description"], strict=True)
                ],
                "status": frame["status"],
                "owner": frame["owner"],
            }
        )
        for column in ("submitted_at", "started_at", "ended_at"):
            out[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
        return out


def file_stem(period: AuditPeriod, user: str | None) -> str:
    """The file name (without extension) of the report for a period and user.

    Parameters:
      period: the period reported on.
      user: the username reported on, or empty for all users.

    Returns:
      ``audit_<from>_<to>_<user>``, with ``all`` for an open end or all users.
    """
    return f"audit_{period.slug}_{(user or '').strip() or 'all'}"


def build_report(
    db: Database,
    *,
    date_from: str | dt.date | None = None,
    date_to: str | dt.date | None = None,
    user: str | None = None,
) -> AuditReport:
    """Compute the audit of the jobs submitted (and events recorded) in a period.

    Parameters:
      db: the database.
      date_from: first day (``YYYY-MM-DD``, UTC); empty for no lower bound.
      date_to: last day, inclusive; empty for no upper bound.
      user: a username to report on only that person's jobs (and their own stops and
        deletes); empty for everyone.

    Returns:
      The report's tables.

    Raises:
      InvalidInput: for a bad date or period.
      NotFound: for a user that does not exist.
    """
    period = AuditPeriod.parse(date_from, date_to)
    username = (user or "").strip() or None
    with db.read() as session:
        owner_id = _user_id(session, username) if username else None
        job_conds = period.within(Job.submitted_at)
        if owner_id is not None:
            job_conds.append(Job.owner_id == owner_id)
        jobs_total = session.scalar(select(func.count()).select_from(Job).where(*job_conds)) or 0
        throughput = _throughput(session, job_conds)
        return AuditReport(
            period=period,
            user=username,
            jobs_by_status=_jobs_by_status(session, job_conds),
            jobs_by_user=_jobs_by_user(session, job_conds),
            events_by_action=_events_by_action(session, period, owner_id),
            exceptions_by_message=_exceptions_by_message(session, job_conds),
            stops_and_deletes=_stops_and_deletes(session, period, owner_id),
            throughput=throughput,
            jobs_listed=len(throughput),
            jobs_total=jobs_total,
        )


def _date(value: str | dt.date | None, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD)", field=field) from None


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def _user_id(session: Session, username: str) -> int:
    found = session.scalar(select(User.id).where(User.username == username))
    if found is None:
        raise NotFound(f"There is no user called {username!r}")
    return found


def _deleted() -> ColumnElement[int]:
    return func.sum(case((Job.deleted_at.is_not(None), 1), else_=0))


def _jobs_by_status(session: Session, conds: list[ColumnElement[bool]]) -> pd.DataFrame:
    """Every status (zeros included) with its jobs and their items' outcomes."""
    rows = {
        r.status: r
        for r in session.execute(
            select(
                Job.status,
                func.count().label("jobs"),
                func.sum(Job.total).label("items"),
                func.sum(Job.ok).label("ok"),
                func.sum(Job.exceptions).label("exceptions"),
                func.sum(Job.not_processed).label("not_processed"),
                _deleted().label("deleted"),
            )
            .where(*conds)
            .group_by(Job.status)
        )
    }
    records = []
    for status in JobStatus:
        r = rows.get(int(status))
        records.append(
            {
                "status": status.label,
                "code": int(status),
                "jobs": r.jobs if r else 0,
                "items": int(r.items or 0) if r else 0,
                "ok": int(r.ok or 0) if r else 0,
                "exceptions": int(r.exceptions or 0) if r else 0,
                "not_processed": int(r.not_processed or 0) if r else 0,
                "deleted": int(r.deleted or 0) if r else 0,
            }
        )
    return pd.DataFrame(records)


def _jobs_by_user(session: Session, conds: list[ColumnElement[bool]]) -> pd.DataFrame:
    """Each owner with jobs in the period: how many, how they ended, how many were deleted."""

    def count_of(*statuses: JobStatus) -> ColumnElement[int]:
        return func.sum(case((Job.status.in_([int(s) for s in statuses]), 1), else_=0))

    query = (
        select(
            User.username,
            User.display_name,
            func.count(Job.id).label("jobs"),
            count_of(JobStatus.COMPLETED).label("completed"),
            count_of(JobStatus.COMPLETED_WITH_EXCEPTIONS).label("with_exceptions"),
            count_of(JobStatus.STOPPED).label("stopped"),
            count_of(JobStatus.FAILED).label("failed"),
            _deleted().label("deleted"),
            func.sum(Job.total).label("items"),
            func.sum(Job.ok).label("ok"),
            func.sum(Job.exceptions).label("exceptions"),
        )
        .join(User, User.id == Job.owner_id)
        .where(*conds)
        .group_by(User.username, User.display_name)
        .order_by(User.username)
    )
    columns = [
        "username",
        "display_name",
        "jobs",
        "completed",
        "with_exceptions",
        "stopped",
        "failed",
        "deleted",
        "items",
        "ok",
        "exceptions",
    ]
    frame = pd.DataFrame([tuple(r) for r in session.execute(query)], columns=columns)
    return frame.astype({c: "int64" for c in columns[2:]})


def _event_scope(owner_id: int | None) -> list[ColumnElement[bool]]:
    """Events of one user's report: what they did, and what was done to their jobs."""
    if owner_id is None:
        return []
    owned = select(Job.id).where(Job.owner_id == owner_id).scalar_subquery()
    return [or_(AuditEvent.actor_id == owner_id, AuditEvent.job_id.in_(owned))]


def _events_by_action(session: Session, period: AuditPeriod, owner_id: int | None) -> pd.DataFrame:
    """How many audit events of each kind the period recorded."""
    query = (
        select(
            AuditEvent.action,
            func.count().label("events"),
            func.count(func.distinct(AuditEvent.job_id)).label("jobs"),
        )
        .where(*period.within(AuditEvent.at), *_event_scope(owner_id))
        .group_by(AuditEvent.action)
        .order_by(AuditEvent.action)
    )
    return pd.DataFrame(
        [tuple(r) for r in session.execute(query)], columns=["action", "events", "jobs"]
    ).astype({"events": "int64", "jobs": "int64"})


def _exceptions_by_message(session: Session, conds: list[ColumnElement[bool]]) -> pd.DataFrame:
    """Failed items grouped by their message, most frequent first."""
    message = func.coalesce(JobItem.message, "")
    query = (
        select(
            message.label("message"),
            func.count().label("items"),
            func.count(func.distinct(JobItem.job_id)).label("jobs"),
            func.min(JobItem.job_id).label("first_job"),
        )
        .join(Job, Job.id == JobItem.job_id)
        .where(JobItem.outcome == ItemOutcome.EXCEPTION, *conds)
        .group_by(message)
        .order_by(func.count().desc(), message)
        .limit(MAX_MESSAGES)
    )
    columns = ["message", "items", "jobs", "first_job"]
    frame = pd.DataFrame([tuple(r) for r in session.execute(query)], columns=columns)
    return frame.astype({"items": "int64", "jobs": "int64", "first_job": "int64"})


def _stops_and_deletes(session: Session, period: AuditPeriod, owner_id: int | None) -> pd.DataFrame:
    """Who stopped or deleted which job, and when, oldest first (deleted jobs included)."""
    actor = aliased(User)
    owner = aliased(User)
    query = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.action,
            AuditEvent.job_id,
            actor.username,
            Job.description,
            owner.username,
            Job.status,
            Job.deleted_at,
        )
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .outerjoin(Job, Job.id == AuditEvent.job_id)
        .outerjoin(owner, owner.id == Job.owner_id)
        .where(
            AuditEvent.action.in_([audit.STOP, audit.DELETE]),
            *period.within(AuditEvent.at),
            *_event_scope(owner_id),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(MAX_EVENTS)
    )
    records = [
        {
            "event_id": r[0],
            "at": r[1].isoformat(),
            "action": r[2],
            "job_id": r[3],
            "by": r[4] or "system",
            "description": r[5] or "",
            "owner": r[6] or "",
            "status_now": JobStatus(r[7]).label if r[7] is not None else "",
            "deleted": r[8] is not None,
        }
        for r in session.execute(query)
    ]
    columns = [
        "event_id",
        "at",
        "action",
        "job_id",
        "by",
        "description",
        "owner",
        "status_now",
        "deleted",
    ]
    return pd.DataFrame(records, columns=columns)


def _throughput(session: Session, conds: list[ColumnElement[bool]]) -> pd.DataFrame:
    """Per job (oldest first, at most MAX_JOBS): times, counts and items per second."""
    query = (
        select(
            Job.id,
            Job.description,
            User.username,
            Job.status,
            Job.submitted_at,
            Job.started_at,
            Job.ended_at,
            Job.total,
            Job.ok,
            Job.exceptions,
            Job.not_processed,
            Job.deleted_at,
        )
        .join(User, User.id == Job.owner_id)
        .where(*conds)
        .order_by(Job.submitted_at, Job.id)
        .limit(MAX_JOBS)
    )
    records = []
    for r in session.execute(query):
        seconds = (
            (r.ended_at - r.started_at).total_seconds() if r.started_at and r.ended_at else None
        )
        processed = r.ok + r.exceptions
        records.append(
            {
                "job_id": r.id,
                "description": r.description,
                "owner": r.username,
                "status": JobStatus(r.status).label,
                "deleted": r.deleted_at is not None,
                "submitted_at": r.submitted_at.isoformat(),
                "started_at": r.started_at.isoformat() if r.started_at else None,
                "ended_at": r.ended_at.isoformat() if r.ended_at else None,
                "total": r.total,
                "processed": processed,
                "not_processed": r.not_processed,
                "seconds": round(seconds, 3) if seconds is not None else None,
                "items_per_second": round(processed / seconds, 3) if seconds else None,
            }
        )
    columns = [
        "job_id",
        "description",
        "owner",
        "status",
        "deleted",
        "submitted_at",
        "started_at",
        "ended_at",
        "total",
        "processed",
        "not_processed",
        "seconds",
        "items_per_second",
    ]
    return pd.DataFrame(records, columns=columns)
