"""Bounded reads for screens, notebooks and the CLI: one page at a time, role-scoped.

Nothing here loads a whole table: lists are ``LIMIT``/``OFFSET`` over indexed orderings,
counts come from the same ``WHERE`` clause, and progress comes from the job's own counters.
The job list counts only so far past the page shown (:data:`COUNT_STEP`), and a read given
the last one's position (``Page.anchor``) starts from the nearest place it knows instead of
skipping every job above the page, so a refresh costs the same on page 1 and on page 40,000,
with a million jobs as with a thousand.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Select,
    and_,
    column,
    func,
    literal,
    or_,
    select,
    table,
    true,
    tuple_,
)
from sqlalchemy import text as sql_text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.functions import FunctionElement

from jobs.actions import ACTIONS
from jobs.errors import InvalidInput
from jobs.models import Account, AuditEvent, ItemOutcome, Job, JobItem, User, utcnow
from jobs.people import permissions
from jobs.people.permissions import Actor
from jobs.reports import job_days
from jobs.status import JobStatus

T = TypeVar("T")

MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and how many rows the whole list has.

    ``exact`` False: the list has more than ``total`` rows (the job list stops counting a
    little past the page shown, see :func:`list_jobs`); ``pages`` is then a lower bound too.
    """

    rows: list[T]
    total: int
    page: int
    page_size: int
    exact: bool = True
    #: Where the page was read (the job list's :class:`JobListPosition`): passed back to the
    #: next read of the same list, it lets that read start from here instead of the top.
    anchor: Any = field(default=None, compare=False, repr=False)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def check_page_request(
    noun: str, sort: str, sorts: Sequence[str], page_size: int, limit: int
) -> None:
    """Refuse a page of ``noun`` (plural) asked in an order it does not have (field
    ``sort``; an empty key, a list's own default order, is not named among the choices) or
    of a size outside 1..``limit`` (field ``page_size``).

    Raises:
      InvalidInput: naming the field, and what may be asked.
    """
    if sort not in sorts:
        keys = ", ".join(k for k in sorts if k)
        raise InvalidInput(f"Cannot sort {noun} by {sort!r}; sort by one of: {keys}", field="sort")
    if not 1 <= page_size <= limit:
        raise InvalidInput(f"A page has 1 to {limit} {noun}; {page_size} asked", field="page_size")


@dataclass(frozen=True)
class JobSummary:
    """A row of the job table, with what the viewing user may do to it."""

    id: int
    description: str
    action: str
    action_label: str
    owner_id: int
    owner: str
    status: JobStatus
    submitted_at: dt.datetime
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    total: int
    ok: int
    exceptions: int
    not_processed: int
    can_stop: bool
    can_delete: bool
    stop_refusal: str | None
    delete_refusal: str | None
    #: A job scheduled for later (a send date): it is not started before this time.
    not_before: dt.datetime | None = None

    @property
    def status_label(self) -> str:
        return self.status.label

    @property
    def processed(self) -> int:
        """Items worked: succeeded or exceptions (not the ones left unprocessed)."""
        return self.ok + self.exceptions

    @property
    def progress(self) -> float:
        """Share of items processed, 0..1 (1 for a finished job with no items); a stopped
        job's unprocessed items do not count."""
        if self.total == 0:
            return 1.0 if self.status.is_final else 0.0
        return self.processed / self.total

    def elapsed(self, now: dt.datetime | None = None) -> float | None:
        if self.started_at is None:
            return None
        end = self.ended_at or now or utcnow()
        return max((end - self.started_at).total_seconds(), 0.0)

    def rate(self, now: dt.datetime | None = None) -> float | None:
        """Items per second since the job started."""
        elapsed = self.elapsed(now)
        if not elapsed or not (self.ok + self.exceptions):
            return None
        return (self.ok + self.exceptions) / elapsed

    def seconds_left(self, now: dt.datetime | None = None) -> float | None:
        rate = self.rate(now)
        if self.status != JobStatus.IN_PROGRESS or not rate:
            return None
        return (self.total - self.processed - self.not_processed) / rate


@dataclass(frozen=True)
class JobDetail:
    """Everything about one job: its summary, parameters, selection and history."""

    summary: JobSummary
    parameters: dict[str, Any]
    parameters_text: str
    selection: dict[str, Any]
    selection_text: str
    error: str | None
    events: list[AuditRow] = field(default_factory=list)
    #: (job id, ``retry`` | ``undo`` | ``step``): the job this one was made from (``step``:
    #: a job definition's run submitted it).
    parent: tuple[int, str] | None = None
    #: The retries and undos made from this job that the viewer may see: (id, link, status).
    children: list[tuple[int, str, JobStatus]] = field(default_factory=list)

    def links(self) -> list[str]:
        """The job's links in words: "Retry of job 12", "Undone by job 15"."""
        words = {"retry": "Retry of job {}", "undo": "Undo of job {}", "step": "Step of run {}"}
        back = {
            "retry": "Exceptions retried by job {} ({})",
            "undo": "Undone by job {} ({})",
            "step": "Step job {} ({})",
        }
        out = [words[self.parent[1]].format(self.parent[0])] if self.parent else []
        out += [back[link].format(i, status.label) for i, link, status in self.children]
        return out


@dataclass(frozen=True)
class ItemRow:
    seq: int
    account_id: int | None
    file_number: str | None
    debtor_name: str | None
    outcome: str
    message: str | None
    #: What the action recorded on the item (``before`` / ``after`` for a status change).
    payload: dict[str, Any] | None = None

    @property
    def change(self) -> str:
        """ "Open → On hold" when the item recorded a before and after, else empty."""
        if not self.payload or "before" not in self.payload:
            return ""
        return f"{self.payload.get('before') or '—'} → {self.payload.get('after') or '—'}"


@dataclass(frozen=True)
class AuditRow:
    at: dt.datetime
    action: str
    job_id: int | None
    actor: str | None
    summary: str
    details: dict[str, Any]


@dataclass(frozen=True)
class JobFilter:
    """The monitor's filters; empty means every job the user may see."""

    statuses: Sequence[JobStatus] = ()
    owner_id: int | None = None
    text: str | None = None
    submitted_from: dt.date | None = None
    submitted_to: dt.date | None = None
    action: str | None = None


def _clamp(page: int, page_size: int) -> tuple[int, int]:
    return max(page, 1), min(max(page_size, 1), MAX_PAGE_SIZE)


def job_conditions(actor: Actor, flt: JobFilter) -> list[ColumnElement[bool]]:
    """The ``WHERE`` of the job list: role scoping (admins every job, users their own, deleted
    jobs never) and the filters."""
    conds = _scope(actor, flt)
    if flt.statuses:
        conds.append(Job.status.in_([int(s) for s in flt.statuses]))
    if flt.action:
        conds.append(Job.action == flt.action)
    text = _search_text(flt)
    if text:
        match = contains_text(Job.description, text)
        number = _job_number(text)
        conds.append(match if number is None else or_(match, Job.id == number))
    if flt.submitted_from:
        start = dt.datetime.combine(flt.submitted_from, dt.time(), tzinfo=dt.UTC)
        conds.append(Job.submitted_at >= start)
    if flt.submitted_to:
        end = dt.datetime.combine(flt.submitted_to + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        conds.append(Job.submitted_at < end)
    return conds


def _scope(actor: Actor, flt: JobFilter) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Job.deleted_at.is_(None)]
    owner = _owner_scope(actor, flt)
    if owner is not None:
        conds.append(Job.owner_id == owner)
    return conds


def _owner_scope(actor: Actor, flt: JobFilter) -> int | None:
    """The one owner whose jobs are listed, or None for every owner (an admin's list)."""
    if not actor.is_admin:
        return actor.id
    return flt.owner_id


def _search_text(flt: JobFilter) -> str:
    return (flt.text or "").strip()


#: Job numbers are 32-bit integers on PostgreSQL: a longer number is no job's.
_MAX_JOB_NUMBER = 2**31 - 1


def _job_number(text: str) -> int | None:
    """The job number a search for ``text`` also finds ("4242"), if it is one."""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    return int(text) if int(text) <= _MAX_JOB_NUMBER else None


class contains_text(FunctionElement[bool]):  # noqa: N801  (an SQL operator, named like one)
    """``column`` contains ``text``, ignoring case; ``%`` and ``_`` in it are plain characters.

    ``LIKE`` on SQLite, which ignores ASCII case (as ``lower()`` does there, at a third of the
    cost), and ``ILIKE`` on PostgreSQL, which the pg_trgm index ``ix_jobs_description_trgm``
    serves (case folding follows the database's locale there).
    """

    type = Boolean()
    inherit_cache = True
    name = "contains_text"

    def __init__(self, column: Any, text: str) -> None:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        super().__init__(column, literal(f"%{escaped}%"))


@compiles(contains_text)
def _contains_text_sqlite(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} LIKE {pattern} ESCAPE '\\')"


@compiles(contains_text, "postgresql")
def _contains_text_postgresql(element: contains_text, compiler: Any, **kw: Any) -> str:
    column, pattern = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} ILIKE {pattern})"  # backslash is PostgreSQL's default LIKE escape


def _summary_select() -> Select[Any]:
    return select(Job, User.display_name).join(User, User.id == Job.owner_id)


#: What a job's line in a list shows: read as plain rows through the connection, not as
#: ``Job`` objects (their parameters, selection and plan are JSON a list never shows, and
#: the ORM's loading of 25 jobs cost more than the query).
SUMMARY_COLUMNS = (
    Job.id,
    Job.description,
    Job.action,
    Job.owner_id,
    Job.status,
    Job.submitted_at,
    Job.started_at,
    Job.ended_at,
    Job.total,
    Job.ok,
    Job.exceptions,
    Job.not_processed,
    Job.not_before,
)


def summarize(actor: Actor, job: Any, owner: str) -> JobSummary:
    """A job's line in a list, from a ``Job`` or a row of :data:`SUMMARY_COLUMNS`."""
    status = JobStatus(job.status)
    stop_no = permissions.stop_refusal(actor, job.owner_id, status)
    delete_no = permissions.delete_refusal(actor, job.owner_id, status)
    action = ACTIONS.get(job.action)
    return JobSummary(
        id=job.id,
        description=job.description,
        action=job.action,
        action_label=action.label if action else job.action,
        owner_id=job.owner_id,
        owner=owner,
        status=status,
        submitted_at=job.submitted_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        total=job.total,
        ok=job.ok,
        exceptions=job.exceptions,
        not_processed=job.not_processed,
        can_stop=stop_no is None,
        can_delete=delete_no is None,
        stop_refusal=stop_no,
        delete_refusal=delete_no,
        not_before=job.not_before,
    )


#: The job list's sort keys. Each sorts the whole filtered list, the job number breaking ties:
#: ``owner`` by the owner's display name, ``status`` and ``action`` by their labels (what the
#: table shows), ``description`` in the database's collation (code point order on SQLite
#: and on a C or C.UTF-8 PostgreSQL), ``started`` and ``ended`` with the jobs that have not
#: started (ended) yet after every time: last going up, first going down.
JOB_SORTS = ("id", "description", "submitted", "started", "ended", "status", "action", "owner")

#: The job list counts matching jobs up to the next multiple of this past the page shown,
#: and says "more than" beyond it (``Page.exact`` False).
COUNT_STEP = 10_000

_COLUMNS: dict[str, Any] = {
    "id": Job.id,
    "description": Job.description,
    "submitted": Job.submitted_at,
    "started": Job.started_at,
    "ended": Job.ended_at,
    "status": Job.status,
    "action": Job.action,
    "owner": Job.owner_id,
}
_GROUPED = {"status", "action", "owner"}
_NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Run:
    """A stretch of a sorted job list that one index walk yields in order: the jobs matching
    ``where``, ordered by ``keys`` (the job id last)."""

    where: tuple[ColumnElement[bool], ...]
    keys: tuple[Any, ...]
    descending: bool

    def order(self) -> list[Any]:
        # deleted_at first, though it is NULL in every row listed: PostgreSQL sees that an
        # index led by deleted_at gives the keys' order only when ORDER BY names it (``IS
        # NULL`` does not make a column constant for its planner, ``=`` would).
        keys = (Job.deleted_at, *self.keys)
        return [k.desc() if self.descending else k.asc() for k in keys]

    def after(self, values: Sequence[Any], *, inclusive: bool = False) -> ColumnElement[bool]:
        """The jobs that come after the one whose keys are ``values`` (and it, if
        ``inclusive``)."""
        if len(self.keys) == 1:
            mine, theirs = self.keys[0], literal(values[0], self.keys[0].type)
        else:
            mine = tuple_(*self.keys)
            theirs = tuple_(*(literal(v, k.type) for k, v in zip(self.keys, values, strict=True)))
        if self.descending:
            return mine <= theirs if inclusive else mine < theirs
        return mine >= theirs if inclusive else mine > theirs

    def reversed(self) -> _Run:
        return replace(self, descending=not self.descending)

    def narrowed(self, cond: ColumnElement[bool]) -> _Run:
        return replace(self, where=(*self.where, cond))


#: A job's place in the runs of a sort: the run's number and the job's keys in it.
_Place = tuple[int, tuple[Any, ...]]

#: A page this many pages or fewer from the last one read (a refresh, Next, Previous) is
#: read from it, in a list whose pages come from the counts of days (``_page_by_day``).
ANCHOR_PAGES = 10

#: A job list's live refresh re-counts the jobs at most this often (seconds) while its page
#: shows the same jobs; in between it keeps the count of its last read.
RECOUNT_SECONDS = 10.0


@dataclass(frozen=True)
class JobListPosition:
    """Where a page of the job list was read (``Page.anchor``), for the next read of the same
    list: the list's identity (viewer, filters, sort, page size, the sort's runs), how many
    jobs came before the page's first, the first and last jobs' places, and the count.

    Given back to :func:`list_jobs` as ``anchor``, the next read starts from the nearest
    place it knows of: the top, the anchor's first job (a refresh of the page reads from it
    by its keys; a page near it skips only the jobs in between, forward or backward), or the
    end of the list when its length is known exactly (a page past the middle walks the sort
    backward from the end). Positions are those of the last read: a job inserted or deleted
    above the page since then does not move the page's jobs (page 1 is always read from the
    top, so new jobs show there).
    """

    identity: tuple[Any, ...]
    offset: int
    first: _Place | None
    last: _Place | None
    ids: tuple[int, ...]
    total: int
    exact: bool
    counted_at: float


def list_jobs(
    session: Session,
    actor: Actor,
    flt: JobFilter,
    *,
    page: int = 1,
    page_size: int = 25,
    sort: str = "submitted",
    descending: bool = True,
    oldest_first: bool = False,
    anchor: JobListPosition | None = None,
) -> Page[JobSummary]:
    """One page of the jobs the actor may see, sorted by ``sort`` (one of :data:`JOB_SORTS`)
    over the whole filtered list, the job number breaking ties, so pages never overlap or skip.

    A page is a walk of one index per run of the sort order (``ix_jobs_live_*`` for an admin,
    ``ix_jobs_owner_live_*`` for one owner's jobs), reading job ids only up to the page, then
    the page's 25 jobs. The count goes on from the page to the next multiple of
    :data:`COUNT_STEP` and stops there: ``exact`` is False past it ("more than 10,000 jobs"
    on page 1). A text filter first looks for its jobs in the description index (pg_trgm on
    PostgreSQL); up to :data:`COUNT_STEP` of them are counted exactly and sorted here.

    Parameters:
      oldest_first: the same as ``sort="submitted", descending=False`` (older callers).
      anchor: the ``anchor`` of an earlier page of this list (a :class:`JobListPosition`;
        ignored if it is another list's): the walk starts from the nearest place it knows
        (the page's own first job for a refresh, the end for a page past the middle of a
        list of known length), and the count of its read is kept for
        :data:`RECOUNT_SECONDS` while the page shows the same jobs.

    Raises:
      InvalidInput: for an unknown sort key.
    """
    _check_sort(sort)
    if oldest_first:
        sort, descending = "submitted", False
    page, page_size = _clamp(page, page_size)
    offset = (page - 1) * page_size
    limit = COUNT_STEP * ((offset + page_size) // COUNT_STEP + 1)
    labels = _labels(session, actor, flt, sort)
    text = _search_text(flt)
    found = _text_matches(session, actor, flt, sort) if text else None
    if found is not None:
        # Few enough matches to have them all: sort them here, as the runs would.
        found.sort(key=_sort_key(sort, labels), reverse=descending)
        ids = [row[0] for row in found[offset : offset + page_size]]
        return Page(_summaries(session, actor, ids), len(found), page, page_size)
    conds = job_conditions(actor, flt)
    runs = _runs(sort, descending, labels)
    identity = (actor.id, actor.is_admin, flt, sort, descending, page_size, tuple(labels.items()))
    known = anchor if isinstance(anchor, JobListPosition) and anchor.identity == identity else None
    if sort == "submitted" and not (text or flt.statuses or flt.action):
        # In submission order, by owner and days only: the page from the days' counts.
        return _page_by_day(
            session, actor, flt, conds, runs, offset, page, page_size, identity, known
        )
    places, before, start = _read_page(session, conds, runs, offset, page_size, known)
    ids = [keys[-1] for _, keys in places]
    total, exact, counted_at = before + len(ids), True, time.monotonic()
    fresh = known is not None and counted_at - known.counted_at < RECOUNT_SECONDS
    if places and len(ids) == page_size:
        if fresh and (start == "end" or (known.offset, known.ids) == (offset, tuple(ids))):
            # The same page as a moment ago, or one counted from the known end: its count.
            total, exact, counted_at = known.total, known.exact, known.counted_at
        elif start != "top" or not (text or _filtered(actor, flt)):
            # Every job in scope, or a page found from a known place: count on from the
            # page, in the run's own index.
            counted = total + _count_after(session, conds, runs, places[-1], limit - total + 1)
            total, exact = (counted, True) if counted <= limit else (limit, False)
        else:
            if text and not _filtered(actor, flt) and limit == COUNT_STEP:
                counted = limit + 1  # _text_matches found more than COUNT_STEP already
            else:
                # Filtered: count from the start, so the planner may read a filter's index.
                counted = _count(session, conds, limit + 1)
            total, exact = (counted, True) if counted <= limit else (limit, False)
    position = _position(identity, offset, places, total, exact, counted_at)
    return Page(_summaries(session, actor, ids), total, page, page_size, exact, position)


def _position(
    identity: tuple[Any, ...],
    offset: int,
    places: list[_Place],
    total: int,
    exact: bool,
    counted_at: float,
) -> JobListPosition:
    """Where a page of ``places`` was read, for the next read of the same list."""
    ids = tuple(keys[-1] for _, keys in places)
    first, last = (places[0], places[-1]) if places else (None, None)
    return JobListPosition(identity, offset, first, last, ids, total, exact, counted_at)


def _page_by_day(
    session: Session,
    actor: Actor,
    flt: JobFilter,
    conds: list[ColumnElement[bool]],
    runs: list[_Run],
    offset: int,
    page: int,
    page_size: int,
    identity: tuple[Any, ...],
    known: JobListPosition | None,
) -> Page[JobSummary]:
    """A page of a list in submission order filtered by nothing but its owner and days:
    the live jobs counted per day (``jobs.reports.job_days``) give the exact total and the
    day the page starts in, and the walk skips only that day's jobs above it (a page
    anywhere in 1,000,000 jobs: 9–16 ms, where skipping every job above it took up to
    88 ms). A refresh, or a page a few pages from the ``known`` one, is read from it as
    :func:`_read_page` does, so the page keeps its jobs while new ones arrive above it."""
    (run,) = runs
    owner, days = _owner_scope(actor, flt), {"first": flt.submitted_from, "last": flt.submitted_to}
    places: list[_Place] = []
    if offset < ANCHOR_PAGES * page_size or (
        known is not None
        and known.first is not None
        and abs(offset - known.offset) <= ANCHOR_PAGES * page_size
    ):
        # Near the top, or near the page read last: from there (_read_page's choice)
        total = job_days.total(session, owner, **days)
        places, _, _ = _read_page(session, conds, runs, offset, page_size, known)
    else:
        total, place = job_days.locate(session, owner, offset, descending=run.descending, **days)
        if place is not None:
            places, _ = _walk(
                session, [*conds, place.start], [(0, run)], offset - place.before, page_size
            )
    position = _position(identity, offset, places, total, True, time.monotonic())
    return Page(
        _summaries(session, actor, list(position.ids)), total, page, page_size, True, position
    )


def _filtered(actor: Actor, flt: JobFilter) -> bool:
    """Whether filters other than the text narrow the list beyond the role's scope."""
    return len(job_conditions(actor, replace(flt, text=None))) > len(_scope(actor, flt))


def iter_jobs(
    session: Session,
    actor: Actor,
    flt: JobFilter,
    *,
    sort: str = "submitted",
    descending: bool = True,
    batch: int = MAX_PAGE_SIZE,
) -> Iterator[JobSummary]:
    """Every job of the list in its order, read ``batch`` at a time from where the last batch
    ended (no ``OFFSET``): for exports, which would cost O(n²) page by page.

    Raises:
      InvalidInput: for an unknown sort key (at once, not when the first job is read).
    """
    _check_sort(sort)
    return _iter_jobs(session, actor, flt, sort, descending, batch)


def _iter_jobs(
    session: Session, actor: Actor, flt: JobFilter, sort: str, descending: bool, batch: int
) -> Iterator[JobSummary]:
    labels = _labels(session, actor, flt, sort)
    found = _text_matches(session, actor, flt, sort) if _search_text(flt) else None
    if found is not None:
        found.sort(key=_sort_key(sort, labels), reverse=descending)
        for start in range(0, len(found), batch):
            yield from _summaries(session, actor, [row[0] for row in found[start : start + batch]])
        return
    conds = job_conditions(actor, flt)
    for run in _runs(sort, descending, labels):
        after: list[ColumnElement[bool]] = []
        while True:
            rows = session.execute(
                select(*run.keys)
                .where(*conds, *run.where, *after)
                .order_by(*run.order())
                .limit(batch)
            ).all()
            yield from _summaries(session, actor, [row[-1] for row in rows])
            if len(rows) < batch:
                break
            after = [run.after(rows[-1])]


def _check_sort(sort: str) -> None:
    if sort not in JOB_SORTS:
        raise InvalidInput(
            f"Jobs cannot be sorted by {sort!r}; by one of: {', '.join(JOB_SORTS)}", field="sort"
        )


def _runs(sort: str, descending: bool, labels: dict[Any, str]) -> list[_Run]:
    """The sort order as runs, each one index walk: one run for most keys; the jobs with a
    time, then those without, for ``started``/``ended``; one run per label for the others."""
    column = _COLUMNS[sort]
    if sort in ("started", "ended"):
        runs = [
            _Run((column.is_not(None),), (column, Job.id), descending),
            _Run((column.is_(None),), (Job.id,), descending),
        ]
    elif sort in _GROUPED:
        groups: dict[str, list[Any]] = defaultdict(list)
        for value, label in labels.items():
            groups[label].append(value)
        runs = [
            _Run((column.in_(sorted(values)),), (Job.id,), descending)
            for _, values in sorted(groups.items())
        ]
    elif sort == "id":
        runs = [_Run((), (Job.id,), descending)]
    else:
        runs = [_Run((), (column, Job.id), descending)]
    return runs[::-1] if descending else runs


def _labels(session: Session, actor: Actor, flt: JobFilter, sort: str) -> dict[Any, str]:
    """For the sorts by label: each value the list can hold → what the table shows for it."""
    if sort == "status":
        return {int(s): s.label for s in (flt.statuses or JobStatus)}
    if sort == "action":
        names = [flt.action] if flt.action else _action_names(session, _scope(actor, flt))
        return {n: ACTIONS[n].label if n in ACTIONS else n for n in names}
    if sort == "owner":
        owners = select(User.id, User.display_name)
        scoped = _owner_scope(actor, flt)
        if scoped is not None:
            owners = owners.where(User.id == scoped)
        return {i: name for i, name in session.execute(owners).all()}
    return {}


def _action_names(session: Session, scope: list[ColumnElement[bool]]) -> list[str]:
    """The actions the scoped jobs ran: one index seek per action, not a scan of every job."""
    names: list[str] = []
    while True:
        after = [Job.action > names[-1]] if names else []
        name = session.scalar(
            select(Job.action).where(*scope, *after).order_by(Job.deleted_at, Job.action).limit(1)
        )
        if name is None:
            return names
        names.append(name)


def _sort_key(sort: str, labels: dict[Any, str]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """The sort order of the runs, for ``(job id, sort column)`` rows sorted in Python."""
    if sort in ("started", "ended"):
        return lambda row: (row[1] is None, row[1] or _NEVER, row[0])
    if sort in _GROUPED:
        return lambda row: (labels.get(row[1], str(row[1])), row[0])
    return lambda row: (row[1], row[0])


def _text_matches(
    session: Session, actor: Actor, flt: JobFilter, sort: str
) -> list[Sequence[Any]] | None:
    """Every ``(job id, sort column)`` the filters select, if the text matches no more than
    :data:`COUNT_STEP` descriptions; None if it matches more (then the runs find a page
    quickly: the text is common).

    The text is looked for with role scoping alone, so that SQLite reads the description
    index without touching a job row (and PostgreSQL uses its trigram index); the other
    filters then apply to those few jobs.
    """
    text = _search_text(flt)
    scope = _scope(actor, flt)
    match = contains_text(Job.description, text)
    indexed = _full_text_ids(session, text)
    candidates = None
    if indexed is not None:
        candidates = session.scalars(indexed.limit(FULL_TEXT_PROBE + 1)).all()
    if candidates is not None and len(candidates) <= FULL_TEXT_PROBE:
        # SQLite's trigram index named the few jobs: read them by primary key (the unary +
        # keeps SQLite from scanning the description index instead), LIKE confirms each.
        query = select(Job.id).where(Job.id.in_(candidates), not_indexed(*scope, match))
    else:
        query = select(Job.id).where(*scope, match)
    matched = session.scalars(query.limit(COUNT_STEP + 1)).all()
    if len(matched) > COUNT_STEP:
        return None
    ids = set(matched)
    number = _job_number(text)
    if number is not None:
        ids.add(number)
    if not ids:
        return []
    others = job_conditions(actor, replace(flt, text=None))
    column = _COLUMNS[sort]
    keys = (Job.id,) if column is Job.id else (Job.id, column)
    rows = session.execute(select(*keys).where(Job.id.in_(ids), not_indexed(*others))).all()
    return [(row[0], row[-1]) for row in rows]


#: A text the trigram index finds in at most this many descriptions is looked up through it;
#: a commoner one is found faster by the description index (the first page fills at once).
FULL_TEXT_PROBE = 2_000
#: Databases (by URL) that have the ``jobs_fts`` trigram index (migration 0011).
_HAS_FULL_TEXT: dict[str, bool] = {}


def _full_text_ids(session: Session, text: str) -> Select[tuple[int]] | None:
    """The ids of jobs whose description may contain ``text``, from SQLite's trigram index
    (a phrase query: the trigram tokenizer matches it as a substring, ignoring case, and
    every character is plain, ``%``, ``_``, ``\\`` and quotes too); None where there is none
    (PostgreSQL, an SQLite without FTS5) or it cannot answer (fewer than three characters,
    which have no trigram: the description index's ``LIKE`` finds those). The caller's
    ``LIKE`` confirms each id (the index folds more than ASCII case)."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite" or len(text) < 3:
        return None
    url = str(bind.url)
    if url not in _HAS_FULL_TEXT:
        _HAS_FULL_TEXT[url] = bool(
            session.scalar(
                sql_text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs_fts'")
            )
        )
    if not _HAS_FULL_TEXT[url]:
        return None
    fts = table("jobs_fts", column("rowid"))
    phrase = '"' + text.replace('"', '""') + '"'
    return select(fts.c.rowid).where(sql_text("jobs_fts MATCH :phrase").bindparams(phrase=phrase))


class not_indexed(FunctionElement[bool]):  # noqa: N801  (an SQL operator, named like one)
    """All of ``conds``, which SQLite must not read an index for: a few jobs by primary key
    are checked against them, rather than every job through a ``deleted_at`` index (which it
    prefers without statistics). A unary ``+`` on SQLite; the plain conditions elsewhere."""

    type = Boolean()
    inherit_cache = True
    name = "not_indexed"

    def __init__(self, *conds: ColumnElement[bool]) -> None:
        super().__init__(and_(true(), *conds))


@compiles(not_indexed)
def _not_indexed_sqlite(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return f"+({compiler.process(element.clauses, **kw)})"


@compiles(not_indexed, "postgresql")
def _not_indexed_postgresql(element: not_indexed, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


def _read_page(
    session: Session,
    conds: list[ColumnElement[bool]],
    runs: list[_Run],
    offset: int,
    size: int,
    known: JobListPosition | None,
) -> tuple[list[_Place], int, str]:
    """The places of the page's jobs, walked from the nearest known place: the top of the
    list, the ``known`` page's first job (forward from it, or backward for a page above it),
    or the end of a list whose length is known exactly (backward, for a page past the
    middle). A walk from a known place that finds fewer jobs than it should (the list
    changed) is done again from the top.

    Returns:
      The places; how many jobs come before the page (``offset``, or fewer when the list is
      shorter); and where the walk started: ``top``, ``anchor`` or ``end``.
    """
    ways: list[tuple[int, str]] = [(offset, "top")]
    if known is not None and known.first is not None:
        if offset >= known.offset:
            ways.append((offset - known.offset, "anchor"))
        else:
            ways.append((max(known.offset - offset - size, 0), "anchor"))
    if known is not None and known.exact and offset < known.total:
        ways.append((max(known.total - offset - size, 0), "end"))
    skip, start = min(ways, key=lambda way: way[0])  # the top first on a tie
    if start == "anchor" and known is not None and known.first is not None:
        index, keys = known.first
        if offset >= known.offset:
            chain = [(index, runs[index].narrowed(runs[index].after(keys, inclusive=True)))]
            chain += [(i, runs[i]) for i in range(index + 1, len(runs))]
            places, _ = _walk(session, conds, chain, skip, size)
            if places:
                return places, offset, start
        else:
            wanted = min(size, known.offset - offset)
            back = runs[index].reversed()
            chain = [(index, back.narrowed(back.after(keys)))]
            chain += [(i, runs[i].reversed()) for i in range(index - 1, -1, -1)]
            places, _ = _walk(session, conds, chain, skip, wanted)
            if len(places) == wanted:
                return places[::-1], offset, start
    elif start == "end" and known is not None:
        wanted = min(size, known.total - offset)
        chain = [(i, runs[i].reversed()) for i in range(len(runs) - 1, -1, -1)]
        places, _ = _walk(session, conds, chain, skip, wanted)
        if len(places) == wanted:
            return places[::-1], offset, start
    places, before = _walk(session, conds, list(enumerate(runs)), offset, size)
    return places, before, "top"


def _walk(
    session: Session,
    conds: list[ColumnElement[bool]],
    runs: list[tuple[int, _Run]],
    offset: int,
    limit: int,
) -> tuple[list[_Place], int]:
    """Up to ``limit`` jobs after the first ``offset`` of the runs taken in turn (each with
    its number in the sort's runs).

    Returns:
      The jobs' places (run number, keys); and how many jobs were skipped (``offset``, or
      fewer when the runs hold fewer).
    """
    places: list[_Place] = []
    skip = offset
    for index, run in runs:
        rows = session.execute(
            select(*run.keys)
            .where(*conds, *run.where)
            .order_by(*run.order())
            .offset(skip)
            .limit(limit - len(places))
        ).all()
        if rows:
            skip = 0
            places += [(index, tuple(row)) for row in rows]
            if len(places) == limit:
                break
        elif skip:
            # The run has fewer jobs than are skipped: count them (a plain count, which
            # SQLite does faster than a count of a LIMITed subquery).
            where = [*conds, *run.where]
            skip -= session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    return places, offset - skip


def _count_after(
    session: Session,
    conds: list[ColumnElement[bool]],
    runs: list[_Run],
    last: _Place,
    cap: int,
) -> int:
    """How many jobs come after ``last`` (a run's index and a job's keys), up to ``cap``."""
    index, keys = last
    counted = 0
    for number in range(index, len(runs)):
        run = runs[number]
        where = [*conds, *run.where, *([run.after(keys)] if number == index else [])]
        counted += _count(session, where, cap - counted)
        if counted >= cap:
            break
    return counted


def _count(session: Session, conds: list[ColumnElement[bool]], cap: int) -> int:
    """How many jobs match ``conds``, counting no further than ``cap``."""
    matching = select(Job.id).where(*conds).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


def _summaries(session: Session, actor: Actor, ids: list[int]) -> list[JobSummary]:
    """The jobs ``ids``, in that order, in one query by primary key, each owner's name by a
    subquery per job (joined to users instead, SQLite may walk each owner's jobs)."""
    if not ids:
        return []
    owner = select(User.display_name).where(User.id == Job.owner_id).scalar_subquery()
    rows = session.connection().execute(
        select(*SUMMARY_COLUMNS, owner.label("owner")).where(Job.id.in_(ids))
    )
    jobs = {job.id: job for job in rows}
    return [summarize(actor, jobs[i], jobs[i].owner) for i in ids if i in jobs]


def find_job(session: Session, actor: Actor, job_id: int) -> tuple[Job, str] | None:
    """A job that is not deleted and that the actor may see, with its owner's name."""
    row = session.execute(
        _summary_select().where(Job.id == job_id, Job.deleted_at.is_(None))
    ).one_or_none()
    if row is None or not permissions.can_see(actor, row[0].owner_id):
        return None
    return row[0], row[1]


def job_events(session: Session, job_id: int) -> list[AuditRow]:
    actor = aliased(User)
    rows = session.execute(
        select(AuditEvent, actor.display_name)
        .outerjoin(actor, actor.id == AuditEvent.actor_id)
        .where(AuditEvent.job_id == job_id)
        .order_by(AuditEvent.at, AuditEvent.id)
    ).all()
    return [_audit_row(event, name) for event, name in rows]


def _audit_row(event: AuditEvent, name: str | None) -> AuditRow:
    return AuditRow(
        at=event.at,
        action=event.action,
        job_id=event.job_id,
        actor=name,
        summary=event.summary,
        details=event.details,
    )


#: Sort keys of a job's items, and what they sort by (the item number breaks ties).
ITEM_SORTS = {
    "seq": JobItem.seq,
    "file_number": Account.file_number,
    "debtor": Account.debtor_name,
    "outcome": JobItem.outcome,
    "message": JobItem.message,
}


def item_page(
    session: Session,
    job_id: int,
    *,
    outcome: int | None = None,
    page: int = 1,
    page_size: int = 50,
    sort: str = "seq",
    descending: bool = False,
) -> Page[ItemRow]:
    """One page of a job's per-item outcomes, sorted over all of the job's items (by default
    in snapshot order).

    Raises:
      InvalidInput: for an unknown sort key.
    """
    if sort not in ITEM_SORTS:
        raise InvalidInput(
            f"Items cannot be sorted by {sort!r}; by one of: {', '.join(ITEM_SORTS)}",
            field="sort",
        )
    column = ITEM_SORTS[sort]
    order = [column.desc() if descending else column.asc(), JobItem.seq.asc()]
    page, page_size = _clamp(page, page_size)
    conds = [JobItem.job_id == job_id]
    if outcome is not None:
        conds.append(JobItem.outcome == outcome)
    total = session.scalar(select(func.count()).select_from(JobItem).where(*conds)) or 0
    rows = session.execute(
        item_rows_select(job_id, outcome)
        .order_by(None)
        .order_by(*order)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    return Page(
        [
            ItemRow(
                seq=r.seq,
                account_id=r.account_id,
                file_number=r.file_number,
                debtor_name=r.debtor_name,
                outcome=ItemOutcome.LABELS[r.outcome],
                message=r.message,
                payload=r.payload,
            )
            for r in rows
        ],
        total,
        page,
        page_size,
    )


def item_rows_select(job_id: int, outcome: int | None = None) -> Select[Any]:
    """All of a job's items with their accounts, for streaming exports."""
    query = (
        select(
            JobItem.seq,
            JobItem.account_id,
            Account.file_number,
            Account.debtor_name,
            JobItem.outcome,
            JobItem.message,
            JobItem.payload,
        )
        .outerjoin(Account, Account.id == JobItem.account_id)
        .where(JobItem.job_id == job_id)
        .order_by(JobItem.seq)
    )
    if outcome is not None:
        query = query.where(JobItem.outcome == outcome)
    return query


def job_children(session: Session, who: Actor, job_id: int) -> list[tuple[int, str, JobStatus]]:
    """The retries and undos made from ``job_id`` that ``who`` may see, oldest first."""
    query = select(Job.id, Job.link, Job.status).where(
        Job.parent_job_id == job_id, Job.deleted_at.is_(None)
    )
    if not who.is_admin:
        query = query.where(Job.owner_id == who.id)
    return [(i, link, JobStatus(st)) for i, link, st in session.execute(query.order_by(Job.id))]
