"""Write an export's CSV file in one streaming pass over the job's items.

The rows are read with a server-side cursor (PostgreSQL) or SQLite's lazy cursor, a batch at
a time, and written as they come: memory stays flat whatever the number of rows. The file is
written under a temporary name and renamed when complete, so a file with the job's name is
always whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, select

from jobs.exports.masking import MASKS
from jobs.grid.columns import COLUMNS
from jobs.models import (
    Account,
    AccountActivity,
    Client,
    Collector,
    ItemOutcome,
    JobItem,
    Portfolio,
)

BATCH = 5_000
#: A text cell starting with one of these is a formula to a spreadsheet: written with a
#: leading apostrophe, so that opening the file never runs what a debtor's name says.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def export_dir() -> Path:
    """``BULKDESK_EXPORT_DIR``, or ``exports`` under ``BULKDESK_VAR_DIR`` (default ``var/``)."""
    configured = os.environ.get("BULKDESK_EXPORT_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("BULKDESK_VAR_DIR", Path.cwd() / "var")) / "exports"


def file_name(job_id: int) -> str:
    return f"accounts-job-{job_id}.csv"


def rows_select(job_id: int, columns: list[str]) -> Select[Any]:
    """The exported values of a job's items that ended Ok, in item order."""
    return (
        select(*(COLUMNS[k].value.label(k) for k in columns))
        .select_from(JobItem)
        .join(Account, Account.id == JobItem.account_id)
        .join(Client, Client.id == Account.client_id)
        .join(Portfolio, Portfolio.id == Account.portfolio_id)
        .outerjoin(Collector, Collector.id == Account.collector_id)
        .outerjoin(AccountActivity, AccountActivity.account_id == Account.id)
        .where(JobItem.job_id == job_id, JobItem.outcome == ItemOutcome.OK)
        .order_by(JobItem.seq)
    )


def cell_writers(columns: list[str], unmasked: list[str]) -> list[Callable[[Any], Any]]:
    """How each column's value is written: masked, or plain."""
    out: list[Callable[[Any], Any]] = []
    for key in columns:
        if key in MASKS and key not in unmasked:
            out.append(MASKS[key])
        elif key == "phone":
            out.append(_plain)
        else:
            out.append(_safe)
    return out


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dt.date, Decimal)):
        return str(value)
    return value


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA) else value
    return _plain(value)


def write_csv(
    conn: Connection, job_id: int, columns: list[str], unmasked: list[str], path: Path
) -> tuple[int, int]:
    """Write the job's export to ``path``.

    Returns:
      (rows, bytes) written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    writers = cell_writers(columns, unmasked)
    rows = 0
    # Per statement: Connection.execution_options would change the (chunk's) connection.
    result = conn.execute(
        rows_select(job_id, columns),
        execution_options={"stream_results": True, "max_row_buffer": BATCH},
    )
    try:
        with open(partial, "w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow([COLUMNS[k].label for k in columns])
            for batch in result.partitions(BATCH):
                writer.writerows([w(v) for w, v in zip(writers, row, strict=True)] for row in batch)
                rows += len(batch)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        result.close()
    os.replace(partial, path)
    return rows, path.stat().st_size
