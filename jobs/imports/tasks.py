"""Import tasks as the screens, the CLI and notebooks see them: submit, list, the task's data
and messages, the messages' export, and saved views of the task list.

``jobs.service.JobService`` delegates here; the acting user is checked the same way as for
every job (admins see every task, a user their own).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from jobs.errors import InvalidInput, NotFound
from jobs.imports import storage
from jobs.imports.specs import EXPORT_HEADINGS, MATCH_RULES, import_type
from jobs.imports.statuses import RowStatus
from jobs.models import Account, ImportMatch, ImportRow, ImportTask, Job, TaskView, User
from jobs.reports.queries import JobSummary, Page
from jobs.sources.file_rows import FileRows
from jobs.status import JobStatus

if TYPE_CHECKING:
    from jobs.db import Database
    from jobs.people.permissions import Actor, ActorLike
    from jobs.reports.queries import JobDetail
    from jobs.sources import Source


class JobService(Protocol):
    """What these functions need of ``jobs.service.JobService``, which delegates here (a
    protocol, so that this module does not import the service back)."""

    db: Database

    def actor(self, who: ActorLike) -> Actor: ...

    def job(self, actor: ActorLike, job_id: int) -> JobDetail: ...

    def submit(
        self,
        actor: ActorLike,
        action: str,
        source: Source,
        parameters: dict[str, Any],
        description: str,
    ) -> JobSummary: ...


IMPORT_ACTIONS = ("import_accounts", "import_interactions", "import_payments")
MAX_PAGE = 500

#: The All System Tasks grid's columns: key → title. The default view shows the first nine.
TASK_COLUMNS = {
    "name": "Name",
    "type": "Type",
    "file": "File",
    "submitted": "Submitted",
    "started": "Started",
    "ended": "Ended",
    "status": "Status",
    "rows": "Rows",
    "errors": "Errors",
    "owner": "Submitted by",
    "match_by": "Matched by",
    "created": "Created",
    "updated": "Updated",
    "imported": "Imported",
    "no_match": "No match",
    "ambiguous": "Multiple matches",
    "size": "File size",
    "encoding": "Encoding",
    "id": "Task",
}
DEFAULT_VIEW = "System Task List"
DEFAULT_COLUMNS = (
    "name",
    "type",
    "file",
    "submitted",
    "started",
    "ended",
    "status",
    "rows",
    "errors",
)

_SORTS = {
    "id": Job.id,
    "name": Job.description,
    "type": Job.action,
    "file": ImportTask.file_name,
    "submitted": Job.submitted_at,
    "started": Job.started_at,
    "ended": Job.ended_at,
    "status": Job.status,
    "rows": Job.total,
    "errors": Job.exceptions,
}


@dataclass(frozen=True)
class TaskRow:
    """One import task in the All System Tasks grid."""

    id: int
    name: str
    type: str
    file: str
    submitted: dt.datetime
    started: dt.datetime | None
    ended: dt.datetime | None
    status: JobStatus
    rows: int
    errors: int
    owner: str
    owner_id: int
    processed: int
    match_by: str
    created: int
    updated: int
    imported: int
    no_match: int
    ambiguous: int
    size: int
    encoding: str

    def value(self, key: str) -> Any:
        if key == "status":
            return self.status.label
        return getattr(self, key)


@dataclass(frozen=True)
class TaskDetail:
    """The Task Data tab: the job and the import's figures and parameters."""

    summary: JobSummary
    import_type: str
    file_name: str
    file_size: int
    match_by: str
    encoding: str
    delimiter: str
    headings: list[str]
    rows: int
    created: int
    updated: int
    imported: int
    invalid: int
    no_match: int
    ambiguous: int
    #: "File import has failed: …" (a wrong heading), or the error that interrupted it.
    error: str | None

    @property
    def failed_whole(self) -> bool:
        return bool(self.error and self.error.startswith("File import has failed"))

    def figures(self) -> list[tuple[str, str]]:
        """The Task Data grid: (field, value) in order."""
        s = self.summary
        return [
            ("File name", self.file_name),
            ("File size", f"{self.file_size:,} bytes"),
            ("Import type", self.import_type.capitalize()),
            ("Matching rule", self.match_by),
            ("Encoding", self.encoding or "—"),
            ("Delimiter", self.delimiter or "—"),
            ("Status", s.status.label),
            ("Rows", f"{self.rows:,}"),
            ("Created", f"{self.created:,}"),
            ("Updated", f"{self.updated:,}"),
            ("Imported", f"{self.imported:,}"),
            ("Failed", f"{self.invalid + self.no_match + self.ambiguous:,}"),
            ("Invalid", f"{self.invalid:,}"),
            ("No match", f"{self.no_match:,}"),
            ("Multiple matches", f"{self.ambiguous:,}"),
            ("Submitted by", s.owner),
            ("Submitted", _iso(s.submitted_at)),
            ("Started", _iso(s.started_at)),
            ("Ended", _iso(s.ended_at)),
        ]


def submit(
    service: JobService,
    actor: ActorLike,
    kind: str,
    path: str | Path,
    *,
    file_name: str | None = None,
    match_by: str | None = None,
    description: str | None = None,
    keep: bool = False,
) -> JobSummary:
    """Queue an import of the CSV file at ``path`` as a job.

    Parameters:
      kind: accounts, interactions or payments.
      path: the file; copied into the imports folder unless ``keep`` (it is there already).
      file_name: the name shown (default the file's own).
      match_by: account_id, ssn or name_birth (default the type's).

    Raises:
      InvalidInput: unknown type or matching rule, an empty file; PermissionDenied;
        NotFound: no such file.
    """
    itype = import_type(kind)
    rule = itype.check_rule(match_by)
    source_path = Path(path)
    if not source_path.is_file():
        raise NotFound(f"There is no file {str(path)!r}")
    who = service.actor(actor)
    from jobs.people import permissions

    action = f"import_{itype.name}"
    from jobs.actions import get_action

    permissions.require(who, get_action(action).permission)
    name = storage.safe_name(file_name or source_path.name)
    stored = source_path.resolve() if keep else storage.keep_copy(source_path)
    source = FileRows(
        import_type=itype.name, path=str(stored), file_name=name, size=stored.stat().st_size
    )
    text = description or f"Import {itype.name}: {name}"
    return service.submit(who, action, source, {"match_by": rule}, text[:200])


def list_tasks(
    service: JobService,
    actor: ActorLike,
    *,
    page: int = 1,
    page_size: int = 25,
    sort: str = "submitted",
    descending: bool = True,
    status: str | None = None,
) -> Page[TaskRow]:
    """One page of the import tasks the actor may see, sorted over all of them on the server."""
    who = service.actor(actor)
    if sort not in _SORTS:
        raise InvalidInput(f"Tasks cannot be sorted by {sort!r}", field="sort")
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE)
    where = [Job.action.in_(IMPORT_ACTIONS), Job.deleted_at.is_(None)]
    if not who.is_admin:
        where.append(Job.owner_id == who.id)
    if status:
        code = next((s for s in JobStatus if s.label == status), None)
        if code is None:
            raise InvalidInput(f"There is no status {status!r}", field="status")
        where.append(Job.status == int(code))
    column = _SORTS[sort]
    order = [column.desc() if descending else column.asc(), Job.id.desc()]
    with service.db.read() as session:
        total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
        rows = session.execute(
            select(Job, ImportTask, User.display_name)
            .join(User, User.id == Job.owner_id)
            .outerjoin(ImportTask, ImportTask.job_id == Job.id)
            .where(*where)
            .order_by(*order)
            .limit(page_size)
            .offset((page - 1) * page_size)
        ).all()
    return Page([_task_row(j, t, owner) for j, t, owner in rows], total, page, page_size)


def task(service: JobService, actor: ActorLike, job_id: int | str) -> TaskDetail:
    """The task's data (Task Data tab).

    Raises:
      NotFound: not an import task, or one the actor may not see.
    """
    detail = service.job(actor, job_id)
    s = detail.summary
    if s.action not in IMPORT_ACTIONS:
        raise NotFound(f"Job {s.id} is not an import task")
    with service.db.read() as session:
        t = session.get(ImportTask, s.id)
    sel = detail.selection
    rule = (detail.parameters or {}).get("match_by", "account_id")
    return TaskDetail(
        summary=s,
        import_type=sel.get("import_type", ""),
        file_name=sel.get("file_name", ""),
        file_size=int(sel.get("size") or 0),
        match_by=MATCH_RULES.get(rule, (rule,))[0],
        encoding=t.encoding if t else "",
        delimiter=t.delimiter if t else "",
        headings=[h for h, k in t.headings if k] if t else [],
        rows=t.rows if t else 0,
        created=t.created if t else 0,
        updated=t.updated if t else 0,
        imported=t.imported if t else 0,
        invalid=t.invalid if t else 0,
        no_match=t.no_match if t else 0,
        ambiguous=t.ambiguous if t else 0,
        error=detail.error,
    )


def statuses_present(service: JobService, actor: ActorLike, job_id: int | str) -> list[str]:
    """The row statuses this import produced (the messages' status filter lists only these)."""
    d = task(service, actor, job_id)
    found = [
        (RowStatus.CREATED, d.created),
        (RowStatus.UPDATED, d.updated),
        (RowStatus.IMPORTED, d.imported),
        (RowStatus.INVALID, d.invalid),
        (RowStatus.NO_MATCH, d.no_match),
        (RowStatus.MULTIPLE_MATCHES, d.ambiguous),
    ]
    labels = [s.label for s, n in found if n]
    rest = d.rows - sum(n for _, n in found)
    if rest > 0:
        final = d.summary.status.is_final
        labels.append(RowStatus.NOT_PROCESSED.label if final else RowStatus.PENDING.label)
    return labels


def _messages_select(job_id: int, final: bool, status: str | None):  # type: ignore[no-untyped-def]
    r = ImportRow.__table__
    m = ImportMatch.__table__
    a = Account.__table__
    account = func.coalesce(m.c.account_id, r.c.matched_account_id)
    query = (
        select(r, m.c.account_id.label("match_id"), a.c.file_number.label("account"))
        .outerjoin(m, (m.c.job_id == r.c.job_id) & (m.c.seq == r.c.seq))
        .outerjoin(a, a.c.id == account)
        .where(r.c.job_id == job_id)
    )
    if status:
        try:
            code = RowStatus.from_label(status)
        except ValueError:
            raise InvalidInput(f"There is no row status {status!r}", field="status") from None
        if code == RowStatus.NOT_PROCESSED and final:
            code = RowStatus.PENDING
        query = query.where(r.c.status == int(code))
    return query


#: The keys of a message row's own values (next to the file's headings).
ROW, STATUS, MESSAGE, ACCOUNT = "_row", "_status", "_message", "_account"

_MESSAGE_SORTS = {"row": "seq", "status": "status", "message": "problem"}


def messages(
    service: JobService,
    actor: ActorLike,
    job_id: int | str,
    *,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
    sort: str = "row",
    descending: bool = False,
) -> tuple[list[str], Page[dict[str, Any]]]:
    """One page of the Task Messages: the file's columns, row, status, message (and the
    account), one row per matching account where a row matched several.

    Returns:
      (the file's headings, the page).
    """
    d = task(service, actor, job_id)
    if sort not in _MESSAGE_SORTS:
        raise InvalidInput(f"Messages cannot be sorted by {sort!r}", field="sort")
    page, page_size = max(page, 1), min(max(page_size, 1), MAX_PAGE)
    final = d.summary.status.is_final
    query = _messages_select(d.summary.id, final, status)
    r = ImportRow.__table__
    column = r.c[_MESSAGE_SORTS[sort]]
    order = [column.desc() if descending else column.asc(), r.c.seq, "match_id"]
    with service.db.read() as session:
        heads = _headings(session, d.summary.id)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        found = session.execute(
            query.order_by(*order).limit(page_size).offset((page - 1) * page_size)
        ).mappings()
        rows = [_message_row(row, heads, final) for row in found]
    return [h for h, _ in heads], Page(rows, total, page, page_size)


def export_messages_csv(
    service: JobService, actor: ActorLike, job_id: int | str, status: str | None = None
) -> Iterator[str]:
    """The Task Messages as CSV, in pieces: the file's own columns (as the file had them, so
    the rows can be fixed and imported again), then Import Row, Import Status, Import Message
    and Import Account, which an import ignores."""
    d = task(service, actor, job_id)
    final = d.summary.status.is_final
    query = _messages_select(d.summary.id, final, status)

    def lines() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        with service.db.read() as session:
            heads = _headings(session, d.summary.id)
            writer.writerow([h for h, _ in heads] + list(EXPORT_HEADINGS))
            result = session.execute(
                query.order_by(ImportRow.__table__.c.seq, "match_id"),
                execution_options={"yield_per": 5000},
            ).mappings()
            for n, row in enumerate(result, 1):
                shown = _message_row(row, heads, final)
                writer.writerow(
                    [shown[h] for h, _ in heads]
                    + [shown[ROW], shown[STATUS], shown[MESSAGE], shown[ACCOUNT]]
                )
                if n % 5000 == 0:
                    yield buf.getvalue()
                    buf.seek(0)
                    buf.truncate()
        yield buf.getvalue()

    return lines()


# -- views ------------------------------------------------------------------------------


def views(service: JobService, actor: ActorLike) -> dict[str, list[str]]:
    """The actor's views of the task list, the default one first: name → columns."""
    who = service.actor(actor)
    with service.db.read() as session:
        saved = session.execute(
            select(TaskView.name, TaskView.columns)
            .where(TaskView.user_id == who.id)
            .order_by(TaskView.name)
        ).all()
    return {DEFAULT_VIEW: list(DEFAULT_COLUMNS), **{n: list(c) for n, c in saved}}


def save_view(service: JobService, actor: ActorLike, name: str, columns: list[str]) -> None:
    """Save (or replace) one of the actor's views of the task list.

    Raises:
      InvalidInput: no name, the default view's name, or an unknown column.
    """
    who = service.actor(actor)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise InvalidInput("Give the view a name of at most 64 characters", field="name")
    if name == DEFAULT_VIEW:
        raise InvalidInput(f"{DEFAULT_VIEW!r} is the default view; choose another name", "name")
    unknown = [c for c in columns if c not in TASK_COLUMNS]
    if unknown or not columns:
        raise InvalidInput(
            "Choose columns among: " + ", ".join(TASK_COLUMNS.values()), field="columns"
        )
    with service.db.write() as session:
        existing = session.scalar(
            select(TaskView).where(TaskView.user_id == who.id, TaskView.name == name)
        )
        if existing is None:
            session.add(TaskView(user_id=who.id, name=name, columns=list(columns)))
        else:
            existing.columns = list(columns)
        try:
            session.flush()
        except IntegrityError:  # saved at the same moment elsewhere: the later one wins
            raise InvalidInput("That view was just saved elsewhere; try again", "name") from None


# -- helpers ----------------------------------------------------------------------------


def _headings(session: Any, job_id: int) -> list[tuple[str, str]]:
    t = session.get(ImportTask, job_id)
    return [(h, k) for h, k in t.headings if k] if t else []


def _message_row(row: Any, heads: list[tuple[str, str]], final: bool) -> dict[str, Any]:
    raw = row["raw"] or {}
    if isinstance(raw, str):
        import json

        raw = json.loads(raw)
    status = RowStatus(row["status"])
    if status == RowStatus.PENDING and final:
        status = RowStatus.NOT_PROCESSED
    out: dict[str, Any] = {h: raw.get(h, _text(row[k])) for h, k in heads}
    message = row["problem"] or ""
    # Keys of their own: a file may have a "Status" column too.
    out.update(
        {
            ROW: row["row_no"],
            STATUS: status.label,
            MESSAGE: message,
            ACCOUNT: row["account"] or "",
            "_seq": row["seq"],
        }
    )
    return out


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _task_row(job: Job, t: ImportTask | None, owner: str) -> TaskRow:
    sel = job.selection or {}
    rule = (job.parameters or {}).get("match_by", "account_id")
    return TaskRow(
        id=job.id,
        name=job.description,
        type=str(sel.get("import_type", job.action.removeprefix("import_"))).capitalize(),
        file=str(sel.get("file_name", "")),
        submitted=job.submitted_at,
        started=job.started_at,
        ended=job.ended_at,
        status=JobStatus(job.status),
        rows=t.rows if t else job.total,
        errors=job.exceptions,
        owner=owner,
        owner_id=job.owner_id,
        processed=job.ok + job.exceptions,
        match_by=MATCH_RULES.get(rule, (rule,))[0],
        created=t.created if t else 0,
        updated=t.updated if t else 0,
        imported=t.imported if t else 0,
        no_match=t.no_match if t else 0,
        ambiguous=t.ambiguous if t else 0,
        size=int(sel.get("size") or 0),
        encoding=t.encoding if t else "",
    )


def _iso(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"
