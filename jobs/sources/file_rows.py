"""The file rows source: a CSV file's rows are a job's items (imports, issue 11).

At the job's start, :meth:`FileRows.prepare` reads the headings (a wrong heading fails the
whole file: nothing is staged, the job ends Failed with "File import has failed: …") and
stages every row into ``import_rows`` (``jobs.imports.staging``: pandas chunks, set-based
inserts, one transaction per chunk, before the snapshot's transaction); then
:meth:`FileRows.snapshot`, in the start's transaction, records the task, marks duplicate keys
and numbers the items 1..n with one ``INSERT … SELECT``; an item has no account until its row
is matched, and it has no ``payload`` (its row, ``import_rows`` of the same job and ``seq``,
holds the row's number).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from jobs.db import Database
from jobs.errors import BulkdeskError, InvalidInput, NotFound
from jobs.models import ImportRow, ImportTask, ItemOutcome, Job, JobItem
from jobs.sources.base import Source


@dataclass(frozen=True)
class FileRows(Source):
    """The rows of an uploaded CSV file of one import type.

    Parameters:
      import_type: ``accounts``, ``interactions`` or ``payments``.
      path: where the file is stored (shared by the dashboard and the workers).
      file_name: its name as the person gave it.
      size: its size in bytes.
    """

    kind = "file_rows"

    import_type: str
    path: str
    file_name: str
    size: int = 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRows:
        try:
            return cls(
                import_type=str(data["import_type"]),
                path=str(data["path"]),
                file_name=str(data["file_name"]),
                size=int(data.get("size") or 0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(f"Not a file rows source: {exc}", field="selection") from exc

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}

    def check(self, session: Session) -> None:
        from jobs.imports.reading import count_lines
        from jobs.imports.specs import import_type

        import_type(self.import_type)
        path = Path(self.path)
        if not path.is_file():
            raise NotFound(f"The file {self.file_name!r} is not there any more; upload it again")
        if path.stat().st_size == 0 or count_lines(path) == 0:
            raise InvalidInput(
                f"The file {self.file_name!r} has no rows below its headings; nothing was queued",
                field="file",
            )

    def items(self, session: Session) -> Select[Any]:
        """None before the job starts: a file's rows become items when they are staged."""
        return select(
            literal(0, Integer).label("key"),
            null().label("account_id"),
            null().label("payload"),
        ).where(literal(False))

    def count(self, session: Session) -> int:
        """The number of lines below the headings (an estimate when quoted fields hold
        newlines; the job's total is exact once its rows are staged)."""
        from jobs.imports.reading import count_lines

        return count_lines(Path(self.path))

    def describe(self, session: Session) -> str:
        return f"file {self.file_name} ({self.import_type})"

    def _read_headings(self, match_by: str | None) -> tuple[Any, Any, str, Any, Path]:
        from jobs.imports import reading, specs

        itype = specs.import_type(self.import_type)
        rule = itype.check_rule(match_by)
        path = Path(self.path)
        if not path.is_file():
            raise reading.failed(f"the file {self.file_name!r} is not there any more")
        fmt = reading.sniff(path)
        return itype, fmt, rule, itype.resolve_headings(fmt.headings, rule), path

    def prepare(self, db: Database, job_id: int) -> None:
        """Check the headings and stage the file's rows, a chunk per transaction."""
        from jobs.imports import staging

        with db.read() as session:
            job = session.get(Job, job_id)
            match_by = (job.parameters or {}).get("match_by") if job else None
        itype, fmt, rule, headings, path = self._read_headings(match_by)
        try:
            staging.stage_file(db, job_id, path, fmt, headings, itype, rule)
        except BulkdeskError:
            # The file fails whole (a row pandas cannot read): nothing of it stays staged.
            with db.write_conn() as conn:
                conn.execute(delete(ImportRow).where(ImportRow.job_id == job_id))
            raise

    def snapshot(self, session: Session, job_id: int) -> int:
        from jobs.imports import staging

        conn: Connection = session.connection()
        job = session.get(Job, job_id)
        itype, fmt, rule, headings, path = self._read_headings(
            (job.parameters or {}).get("match_by") if job else None
        )
        conn.execute(
            insert(ImportTask).values(
                job_id=job_id,
                import_type=itype.name,
                file_name=self.file_name,
                file_size=path.stat().st_size,
                encoding=fmt.encoding,
                delimiter=fmt.delimiter_name,
                headings=[[h, k or ""] for h, k in headings],
                match_by=rule,
                rows=0,
                created=0,
                updated=0,
                imported=0,
                invalid=0,
                no_match=0,
                ambiguous=0,
            )
        )
        # The rows were staged by :meth:`prepare`, before this transaction.
        staged = conn.scalar(
            select(func.count()).select_from(ImportRow).where(ImportRow.job_id == job_id)
        )
        if conn.dialect.name == "postgresql":
            # Fresh statistics: the duplicates' and the chunks' joins are planned for the
            # rows just staged (with none, a nested loop rescanned them once per row).
            conn.exec_driver_sql("ANALYZE import_rows")
        staging.mark_duplicates(conn, job_id, itype, rule)
        rows = ImportRow.__table__
        numbered = select(literal(job_id), rows.c.seq, literal(ItemOutcome.PENDING)).where(
            rows.c.job_id == job_id
        )
        conn.execute(insert(JobItem).from_select(["job_id", "seq", "outcome"], numbered))
        conn.execute(update(ImportTask).where(ImportTask.job_id == job_id).values(rows=staged))
        return conn.scalar(
            select(func.coalesce(func.max(JobItem.seq), 0)).where(JobItem.job_id == job_id)
        )
