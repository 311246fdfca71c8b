"""Export Accounts: a CSV file of the selection's accounts, sensitive columns masked.

The chunks collect (each item ends Ok, or an exception if its account is gone); ``finalize``
then writes the file in one streaming pass over the job's items (``jobs.exports.writer``),
in the last chunk's transaction, and records the export in the audit trail: who, how many
rows, which columns, which of them unmasked. Unmasking a sensitive column needs the
``unmask_sensitive_data`` permission, which the service checks (:meth:`needs`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Connection, literal, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause

from jobs import audit
from jobs.actions.base import AccountAction, ChunkContext, JobContext
from jobs.actions.params import param
from jobs.exports import templates, writer
from jobs.exports.masking import MASKS
from jobs.grid.columns import COLUMNS
from jobs.models import Job
from jobs.people.permissions import UNMASK_SENSITIVE

#: The audit trail's word for an export written.
EXPORT = "export"


@dataclass(frozen=True)
class ExportParams:
    template: str = param(
        label="Export template",
        help="A saved template's name; its columns and masking apply when no columns are given",
        required=False,
        default="",
    )
    columns: str = param(
        label="Columns",
        help="Comma-separated, in file order, e.g. file_number, debtor, ssn; default the "
        "grid's core columns",
        required=False,
        default="",
    )
    unmasked: str = param(
        label="Unmasked columns",
        help="Sensitive columns written in clear (needs the unmask permission); the others "
        "are masked",
        required=False,
        default="",
        cli="unmask",
    )
    file_format: str = param(label="Format", choices=("CSV",), default="CSV", cli="format")


class ExportAccounts(AccountAction):
    name = "export_accounts"
    label = "Export Accounts"
    cli_name = "export-accounts"
    summary = (
        "A CSV file of the selection's accounts with the chosen columns; SSN, birth date, "
        "email and phone are masked unless unmasked with the permission to."
    )
    Params = ExportParams

    # -- parameters ---------------------------------------------------------------------

    def validate(self, raw: dict[str, Any], session: Session) -> ExportParams:
        """The template's columns when none are given; columns and masking checked, and
        stored as keys, so that the job keeps what it exported whatever the template
        becomes later."""
        params: ExportParams = super().validate(raw, session)
        columns, unmasked = params.columns, params.unmasked
        if params.template:
            saved = templates.find(session, params.template)
            if not columns.strip():
                columns, unmasked = ",".join(saved.columns), ",".join(saved.unmasked)
        if not columns.strip():
            columns = ",".join(templates.DEFAULT_COLUMNS)
        keys, clear = templates.export_columns(columns, unmasked)
        return dataclasses.replace(params, columns=",".join(keys), unmasked=",".join(clear))

    def needs(self, params: ExportParams) -> list[str]:
        """Permissions beyond the action's own that these parameters need."""
        return [UNMASK_SENSITIVE] if params.unmasked else []

    def describe(self, params: ExportParams) -> str:
        columns, unmasked = _split(params.columns), _split(params.unmasked)
        masked = [COLUMNS[k].label for k in columns if k in MASKS and k not in unmasked]
        text = f"CSV of {len(columns)} columns"
        if masked:
            text += f"; masked: {', '.join(masked)}"
        if unmasked:
            text += f"; UNMASKED: {', '.join(COLUMNS[k].label for k in unmasked)}"
        return text

    # -- the engine's hooks -----------------------------------------------------------

    def exception_reason(
        self, account: FromClause, params: ExportParams, closed: list[str]
    ) -> ColumnElement[str]:
        # Reading is allowed on every account, closed and locked ones too.
        return literal("")

    def before_after(
        self, account: FromClause, params: ExportParams
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return literal("not in a file"), literal(f"a row of {self.describe(params)}")

    def plan(self, conn: Connection, job: JobContext) -> dict[str, Any]:
        return {"file": writer.file_name(job.job_id)}

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        """Nothing to change: the chunk's items end Ok and are collected by finalize."""

    def finalize(self, conn: Connection, job: JobContext) -> None:
        params: ExportParams = job.params
        columns, unmasked = _split(params.columns), _split(params.unmasked)
        name = job.plan.get("file") or writer.file_name(job.job_id)
        rows, size = writer.write_csv(
            conn, job.job_id, columns, unmasked, writer.export_dir() / name
        )
        plan = {**job.plan, "file": name, "rows": rows, "bytes": size}
        conn.execute(update(Job).where(Job.id == job.job_id).values(plan=plan))
        masked = [k for k in columns if k in MASKS and k not in unmasked]
        unmasked_words = ", ".join(COLUMNS[k].label for k in unmasked) or "none"
        audit.record(
            conn,
            EXPORT,
            job_id=job.job_id,
            actor_id=job.owner_id,
            summary=(
                f"Exported {rows:,} account{'s' * (rows != 1)} to {name}; "
                f"unmasked: {unmasked_words}"
            ),
            details={
                "rows": rows,
                "bytes": size,
                "file": name,
                "columns": columns,
                "masked": masked,
                "unmasked": unmasked,
            },
        )


def export_path(plan: dict[str, Any] | None) -> Path | None:
    """Where a finished export's file is, from its job's plan."""
    name = (plan or {}).get("file")
    return writer.export_dir() / name if name else None


def _split(text: str) -> list[str]:
    return [k for k in (part.strip() for part in (text or "").split(",")) if k]
