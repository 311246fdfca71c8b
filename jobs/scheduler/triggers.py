"""What starts a definition's run: its schedule, a campaign's end, a file arriving, a person.

:func:`fire` records one run: a ``jobs`` row (action ``definition_run``, Queued) and its
``definition_runs`` row, in one transaction with the audit event. The unique key
(definition, due time) makes a second fire of the same due time do nothing (None), whatever
the number of schedulers. A suspended definition's run is recorded Suspended and never runs;
a disabled definition is never fired on schedule (a person may still run it now).

Scheduled runs (:func:`fire_due`, called by the scheduler that holds the lease) and the
missed-run policy: each definition keeps ``next_due_at``. When it has come (``jobs.clock``),
the scheduler moves ``next_due_at`` on with a compare-and-set (``WHERE next_due_at = <the
value it read>``), in the transaction that records the run, so that only one scheduler fires
it. Due times missed while no scheduler was running (every worker stopped) fire **once**,
late, as one run for the newest missed due time, marked ``late`` with
``detail = {"late": true, "stands_for": n, "first_due": …, "last_due": …}``; the schedule then
goes on from now. A run fired more than ``LATE_AFTER`` seconds after its due time is marked
late too (``stands_for`` 1).

Dependencies are judged per business day (the due time's date in each definition's time
zone) when the run is about to start (:func:`prerequisites`): every prerequisite's newest run
of that day must have ended Ok or Partial. One that ended in Error, Warning or Incomplete, or
is Suspended, makes this run Skipped (Warning) with a message naming it; one not run yet (or
still running) makes this run wait, Queued, re-checked when a run ends and every few seconds;
a prerequisite with no run at all by the end of the business day makes it Skipped too.

The file-in trigger (:func:`poll_inbox`): the one enabled file-in definition's ``inbox`` folder
is polled by the lease holder; a settled file (unchanged for ``SETTLE_SECONDS``) is taken once
by an atomic rename into ``processed/<time>-<id>-<name>`` and fires a run with
``detail = {"file": <that path>, "name": <its name>}``; a file that cannot fire a run (empty, or
refused) goes to ``failed/<name>`` with the reason in ``failed/<name>.txt``. This is not the
imports' inbox (``jobs.imports.folder``), which imports CSV files as tasks.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from jobs import audit, clock, runtime
from jobs.db import Database
from jobs.errors import InvalidInput, NotFound
from jobs.models import (
    RUN_ACTION,
    Campaign,
    Definition,
    DefinitionDependency,
    DefinitionRun,
    DefinitionStep,
    DefinitionTrigger,
    Job,
    User,
    utcnow,
)
from jobs.scheduler import schedules, wakeups
from jobs.status import JobStatus, move

log = logging.getLogger(__name__)

#: A run fired this many seconds after its due time is marked late.
LATE_AFTER = 60.0
#: A file changed more recently than this is still being copied in.
SETTLE_SECONDS = 2.0
#: How many missed due times are counted at most for one late run.
_MISSED_LIMIT = 10_000

SCHEDULE, CAMPAIGN, FILE, MANUAL = "schedule", "campaign", "file", "manual"


# -- recording a run ---------------------------------------------------------------------


def fire(
    db: Database,
    definition_id: int,
    due_at: dt.datetime,
    fired_by: str,
    late: bool = False,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """Record a run of the definition for ``due_at`` and wake a worker for it.

    Returns:
      The run's job id, or None when that due time was fired already.

    Raises:
      NotFound: for an unknown definition.
    """
    with db.write_conn() as conn:
        job_id = record_run(conn, definition_id, due_at, fired_by, late=late, detail=detail)
    if job_id is not None:
        wake(db, [job_id])
    return job_id


def record_run(
    conn: Connection,
    definition_id: int,
    due_at: dt.datetime,
    fired_by: str,
    *,
    late: bool = False,
    detail: dict[str, Any] | None = None,
) -> int | None:
    """:func:`fire`'s records, in the caller's transaction (no message is sent)."""
    definition = conn.execute(
        select(Definition.__table__).where(Definition.id == definition_id)
    ).one_or_none()
    if definition is None:
        raise NotFound(f"There is no definition {definition_id}")
    due_at = due_at.astimezone(dt.UTC)
    taken = select(DefinitionRun.job_id).where(
        DefinitionRun.definition_id == definition_id, DefinitionRun.due_at == due_at
    )
    if conn.scalar(taken) is not None:
        return None
    detail = dict(detail or {})
    day = due_at.astimezone(schedules.zone(definition.timezone)).date()
    steps = [
        {
            "name": s.name,
            "kind": s.kind,
            "settings": s.settings,
            "next_success": s.next_success or None,
            "next_failure": s.next_failure or None,
        }
        for s in conn.execute(
            select(DefinitionStep.__table__)
            .where(DefinitionStep.definition_id == definition_id)
            .order_by(DefinitionStep.position, DefinitionStep.id)
        )
    ]
    now = utcnow()
    try:
        with conn.begin_nested():
            job_id = conn.execute(
                insert(Job)
                .values(
                    action=RUN_ACTION,
                    description=definition.name,
                    # The steps as they were when the run fired: an edit made meanwhile
                    # applies to later runs.
                    parameters={
                        "definition_id": definition_id,
                        "version": definition.version,
                        "steps": steps,
                    },
                    selection={
                        "kind": "definition",
                        "text": f"Definition {definition.name}",
                        "definition_id": definition_id,
                    },
                    owner_id=definition.owner_id,
                    status=int(JobStatus.QUEUED),
                    submitted_at=now,
                    total=len(steps),
                )
                .returning(Job.id)
            ).scalar_one()
            conn.execute(
                insert(DefinitionRun).values(
                    job_id=job_id,
                    definition_id=definition_id,
                    due_at=due_at,
                    business_day=day,
                    fired_by=fired_by,
                    late=late,
                    detail=detail,
                    wake_at=now + dt.timedelta(seconds=wakeups.RESEND_SECONDS),
                )
            )
    except IntegrityError:  # another scheduler recorded this due time a moment ago
        return None
    when = due_at.astimezone(schedules.zone(definition.timezone)).strftime("%Y-%m-%d %H:%M %Z")
    why = {SCHEDULE: "its schedule", CAMPAIGN: "a campaign's end", FILE: "a file"}.get(
        fired_by, "a person"
    )
    extra = f"; late, for {detail.get('stands_for', 1)} due time(s)" if late else ""
    audit.record(
        conn,
        audit.SUBMIT,
        job_id=job_id,
        actor_id=detail.get("by") if fired_by in (MANUAL, CAMPAIGN) else None,
        at=now,
        summary=f"Definition {definition.name!r} fired by {why} for {when}{extra}",
        details={"definition_id": definition_id, "fired_by": fired_by, "late": late, **detail},
    )
    if definition.suspended_at is not None:
        hold_back(conn, job_id, definition)
    return job_id


def hold_back(conn: Connection, job_id: int, definition: Any) -> None:
    """Record a Queued run Suspended (its definition is), with who suspended it and why."""
    who = conn.scalar(select(User.display_name).where(User.id == definition.suspended_by_id))
    reason = f": {definition.suspended_reason}" if definition.suspended_reason else ""
    sentence = f"Definition suspended by {who or 'someone'}{reason}"
    move(conn, job_id, JobStatus.SUSPENDED, error=sentence)
    conn.execute(update(DefinitionRun).where(DefinitionRun.job_id == job_id).values(wake_at=None))
    audit.record(
        conn,
        "suspended",
        job_id=job_id,
        actor_id=None,
        summary=f"Run {job_id} recorded Suspended, not run. {sentence}",
        details={"definition_id": definition.id},
    )


def wake(db: Database, job_ids: list[int]) -> None:
    """Send the run actor these runs; where no worker would hear (this process's in-process
    broker without workers, or a broker that is down), a worker's reaper sends them soon."""
    if not job_ids:
        return
    from jobs.worker import broker as worker_broker
    from jobs.worker import registry
    from jobs.worker.reaper import Reaper

    try:
        broker = worker_broker.current()
        if not runtime.settings().embedded_broker or Reaper.has_worker(broker):
            registry.wake(broker, "run", job_ids)
            return
    except Exception:
        log.warning("could not send runs %s to the broker; a reaper sends them", job_ids)
    with db.write_conn() as conn:
        wakeups.wake_now(conn, job_ids, utcnow())


# -- schedules ---------------------------------------------------------------------------

_bad_schedules: set[tuple[int, str | None]] = set()


def fire_due(db: Database, now: dt.datetime | None = None) -> list[int]:
    """Fire every enabled scheduled definition whose due time has come (the missed-run
    policy in the module's docstring); returns the runs' job ids."""
    now = now or clock.now()
    with db.read() as session:
        rows = session.execute(
            select(
                Definition.id,
                Definition.schedule,
                Definition.schedule_options,
                Definition.timezone,
                Definition.next_due_at,
            )
            .where(
                Definition.enabled.is_(True),
                Definition.trigger == DefinitionTrigger.SCHEDULED,
                or_(Definition.next_due_at <= now, Definition.next_due_at.is_(None)),
            )
            .order_by(Definition.next_due_at)
        ).all()
    fired: list[int] = []
    for row in rows:
        try:
            job_id = _fire_one(db, row, now)
        except (InvalidInput, ValueError) as error:  # a schedule that was valid when saved
            if (row.id, row.schedule) not in _bad_schedules:
                _bad_schedules.add((row.id, row.schedule))
                log.error("definition %s: schedule %r cannot run: %s", row.id, row.schedule, error)
            continue
        if job_id is not None:
            fired.append(job_id)
    wake(db, fired)
    return fired


def _fire_one(db: Database, row: Any, now: dt.datetime) -> int | None:
    moved = Definition.id == row.id, Definition.enabled.is_(True)
    if row.next_due_at is None:  # enabled without a next due time: it counts from now
        with db.write_conn() as conn:
            conn.execute(
                update(Definition)
                .where(*moved, Definition.next_due_at.is_(None))
                .values(next_due_at=schedules.next_due(row, now))
            )
        return None
    first = row.next_due_at
    count, last = schedules.due_between(row, first - dt.timedelta(microseconds=1), now)
    if count >= _MISSED_LIMIT:  # a frequent schedule missed for long: its newest due time
        _, last = schedules.due_between(row, now - dt.timedelta(days=1), now)
    due = last or first
    late = count > 1 or (now - due).total_seconds() > LATE_AFTER
    detail: dict[str, Any] = {}
    if late:
        detail = {
            "late": True,
            "stands_for": count,
            "first_due": first.isoformat(),
            "last_due": due.isoformat(),
        }
    following = schedules.next_due(row, now)
    with db.write_conn() as conn:
        won = conn.execute(
            update(Definition)
            .where(*moved, Definition.next_due_at == first)
            .values(next_due_at=following, last_due_at=due)
        ).rowcount
        if not won:  # another scheduler moved it first
            return None
        return record_run(conn, row.id, due, SCHEDULE, late=late, detail=detail)


# -- campaigns ---------------------------------------------------------------------------


def campaign_ended(db: Database, campaign_id: int, actor_id: int | None) -> int | None:
    """Fire the enabled campaign definition for a campaign that just ended (its
    ``ended_at`` committed); returns the run's job id, or None when there is no enabled
    campaign definition or this end fired already."""
    with db.read() as session:
        campaign = session.execute(
            select(Campaign.id, Campaign.name, Campaign.ended_at).where(Campaign.id == campaign_id)
        ).one_or_none()
        if campaign is None:
            raise NotFound(f"There is no campaign {campaign_id}")
        definition_id = session.scalar(
            select(Definition.id).where(
                Definition.trigger == DefinitionTrigger.CAMPAIGN, Definition.enabled.is_(True)
            )
        )
    if definition_id is None:
        return None
    detail = {"campaign_id": campaign.id, "campaign": campaign.name, "by": actor_id}
    return fire(db, definition_id, campaign.ended_at or clock.now(), CAMPAIGN, detail=detail)


# -- dependencies ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether a run may start: ``go``, ``wait`` (Queued, looked at again) or ``skip``
    (Skipped, Warning), with the sentence for the run."""

    decision: str
    message: str = ""


_UNFINISHED = {
    JobStatus.FAILED: "ended in Error",
    JobStatus.SKIPPED: "did not run (Warning)",
    JobStatus.STOPPED: "was stopped (Incomplete)",
    JobStatus.SUSPENDED: "is Suspended",
}


def prerequisites(
    conn: Connection, definition_id: int, business_day: dt.date, tz: str, now: dt.datetime
) -> Verdict:
    """Judge a run's prerequisites for its business day (rules in the module's docstring)."""
    needed = conn.execute(
        select(Definition.id, Definition.name)
        .join(DefinitionDependency, DefinitionDependency.prerequisite_id == Definition.id)
        .where(DefinitionDependency.definition_id == definition_id)
        .order_by(Definition.name)
    ).all()
    waiting: list[str] = []
    never_ran: list[str] = []
    for prerequisite in needed:
        newest = conn.execute(
            select(Job.id, Job.status)
            .join(DefinitionRun, DefinitionRun.job_id == Job.id)
            .where(
                DefinitionRun.definition_id == prerequisite.id,
                DefinitionRun.business_day == business_day,
                Job.deleted_at.is_(None),
            )
            .order_by(DefinitionRun.due_at.desc())
            .limit(1)
        ).one_or_none()
        if newest is None:
            never_ran.append(prerequisite.name)
            continue
        status = JobStatus(newest.status)
        if status in (JobStatus.COMPLETED, JobStatus.COMPLETED_WITH_EXCEPTIONS):
            continue
        if status in _UNFINISHED:
            return Verdict(
                "skip",
                f"Skipped: its prerequisite “{prerequisite.name}” {_UNFINISHED[status]} "
                f"(run {newest.id}, business day {business_day.isoformat()})",
            )
        waiting.append(prerequisite.name)
    if never_ran and now.astimezone(schedules.zone(tz)).date() > business_day:
        return Verdict(
            "skip",
            f"Skipped: its prerequisite “{never_ran[0]}” did not run on business day "
            f"{business_day.isoformat()}",
        )
    if waiting or never_ran:
        names = ", ".join(f"“{n}”" for n in [*waiting, *never_ran])
        return Verdict("wait", f"Waiting for its prerequisite {names} to end")
    return Verdict("go")


# -- the file-in trigger -----------------------------------------------------------------

_last_file_due = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
_file_lock = threading.Lock()


def poll_inbox(db: Database, settle: float = SETTLE_SECONDS) -> list[int]:
    """Take every settled file in the file-in definition's inbox; returns the runs fired."""
    with db.read() as session:
        found = session.execute(
            select(Definition.id, Definition.inbox).where(
                Definition.trigger == DefinitionTrigger.FILE_IN, Definition.enabled.is_(True)
            )
        ).one_or_none()
    if found is None or not (found.inbox or "").strip():
        return []
    root = Path(found.inbox).expanduser()
    if not root.is_dir():
        return []
    fired: list[int] = []
    now = time.time()
    for path in sorted(root.iterdir()):
        if not path.is_file() or path.name.startswith("."):
            continue
        try:
            if now - path.stat().st_mtime < settle:
                continue
        except FileNotFoundError:
            continue
        job_id = _take(db, found.id, root, path)
        if job_id is not None:
            fired.append(job_id)
    return fired


def _take(db: Database, definition_id: int, root: Path, path: Path) -> int | None:
    processed = root / "processed"
    processed.mkdir(exist_ok=True)
    kept = processed / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}-{path.name}"
    try:
        os.rename(path, kept)  # atomic: of two pollers, one gets it
    except FileNotFoundError:
        return None
    try:
        if kept.stat().st_size == 0:
            raise InvalidInput("The file is empty")
        for _ in range(5):
            job_id = fire(
                db, definition_id, _file_due(), FILE, detail={"file": str(kept), "name": path.name}
            )
            if job_id is not None:
                log.info("file-in %s fired run %s", path.name, job_id)
                return job_id
        raise RuntimeError("no free due time for the file's run")
    except Exception as error:
        failed = root / "failed"
        failed.mkdir(exist_ok=True)
        target = _free(failed / path.name)
        os.rename(kept, target)
        target.with_name(target.name + ".txt").write_text(f"{error}\n", encoding="utf-8")
        log.warning("file-in %s refused: %s", path.name, error)
        return None


def _file_due() -> dt.datetime:
    """Now, or a microsecond after the last file's due time (each file is its own run)."""
    global _last_file_due
    with _file_lock:
        _last_file_due = max(clock.now(), _last_file_due + dt.timedelta(microseconds=1))
        return _last_file_due


def _free(path: Path) -> Path:
    n, candidate = 1, path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
