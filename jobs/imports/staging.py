"""Staging a file's rows: read by pandas in chunks, typed column by column (vectorised, never
row by row), and written set-based into ``import_rows`` (COPY on PostgreSQL, one
executemany per chunk on SQLite). Duplicate keys within the file are then found in SQL.

A value that is not valid is staged as NULL with a row problem naming the heading and the
value, and the file's text of it is kept in ``raw``, so that an export can show it again.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, String, and_, delete, func, literal, select, update

from jobs.db import Database
from jobs.imports.reading import FileFormat, read_chunks
from jobs.imports.specs import MATCH_RULES, STATES, Column, ImportType
from jobs.models import ImportRow, Job, utcnow
from jobs.status import JobStatus

#: Rows per pandas chunk: a few MB of text at a time.
CHUNK_ROWS = 50_000
_MAX_INT = 2**31 - 1
_ROWS = ImportRow.__table__


@dataclass(frozen=True)
class Staged:
    rows: int


def stage_file(
    db: Database,
    job_id: int,
    path: Path,
    fmt: FileFormat,
    headings: list[tuple[str, str | None]],
    itype: ImportType,
    rule: str,
    chunk_rows: int | None = None,
) -> Staged | None:
    """Stage every row of the file as ``import_rows`` of the Queued job, numbered 1..n, one
    pandas chunk per transaction (each holds SQLite's write lock a moment, not the whole
    file). Rows staged already (a start message redelivered after a crash, or a duplicate
    start) are left as they are: each chunk's rows are always the same. Every chunk also
    marks the job as being worked on (``last_progress_at``), so that no reaper starts it
    a second time meanwhile.

    Returns:
      How many rows were staged, or None when the job stopped being Queued (deleted): its
      staged rows are then removed.
    """
    keys = [key for _, key in headings]
    columns = [itype.column(k) for k in keys if k]
    needed = (
        set(MATCH_RULES[rule][1]) if rule != "account_id" or itype.name != "accounts" else set()
    )
    seq = 0
    for frame in read_chunks(path, fmt, chunk_rows or CHUNK_ROWS):
        frame = frame.iloc[:, : len(keys)].fillna("")
        frame.columns = [k or f"_ignored{n}" for n, k in enumerate(keys)]
        n = len(frame)
        with db.write_conn() as conn:
            queued = conn.execute(
                update(Job)
                .where(Job.id == job_id, Job.status == JobStatus.QUEUED, Job.deleted_at.is_(None))
                .values(last_progress_at=utcnow())
            ).rowcount
            if not queued:
                # Deleted meanwhile: nothing of it stays. Started by another start message
                # (a duplicate): its rows are that start's now, left as they are.
                deleted = conn.scalar(select(Job.deleted_at.is_not(None)).where(Job.id == job_id))
                if deleted:
                    conn.execute(delete(ImportRow).where(ImportRow.job_id == job_id))
                return None
            done = conn.scalar(
                select(func.count())
                .select_from(ImportRow)
                .where(ImportRow.job_id == job_id, ImportRow.seq.between(seq + 1, seq + n))
            )
            if done != n:
                if done:  # a chunk written in part cannot be: a transaction is whole
                    conn.execute(
                        delete(ImportRow).where(
                            ImportRow.job_id == job_id, ImportRow.seq.between(seq + 1, seq + n)
                        )
                    )
                staged = type_chunk(frame, columns, needed, itype)
                staged.insert(0, "row_no", np.arange(seq + 2, seq + 2 + n))
                staged.insert(0, "seq", np.arange(seq + 1, seq + 1 + n))
                staged.insert(0, "job_id", job_id)
                staged["status"] = 0
                _insert(conn, staged)
        seq += n
    return Staged(rows=seq)


def type_chunk(
    frame: pd.DataFrame, columns: list[Column], needed: set[str], itype: ImportType
) -> pd.DataFrame:
    """The chunk's values typed per their column, with each row's problems and raw text.

    ``needed``: fields every row must have (the match key, where the rule needs one).
    Vectorised per column; the words of a problem are made only for the rows that have it.
    """
    out = pd.DataFrame(index=frame.index)
    problems = np.full(len(frame), "", dtype=object)
    raw_cells: dict[str, pd.Series] = {}
    for column in columns:
        text = frame[column.key].str.strip()
        empty = (text == "").to_numpy()
        value, bad, reason = _typed(text, column)
        if column.required_value or column.key in needed:
            problems = _add(problems, empty, f"{column.heading} is required")
        if bad.any():
            wrong = text[bad]
            words = reason(wrong) if callable(reason) else reason
            problems = _add(problems, bad.to_numpy(), words, wrong.index, frame.index)
            raw_cells[column.heading] = wrong
            value = value.where(~bad, None)
        out[column.key] = value.where(~empty, None)
    out["problem"] = pd.Series(problems, index=frame.index).replace("", None)
    raw = pd.Series(None, index=frame.index, dtype=object)
    if raw_cells:
        cells = pd.DataFrame(raw_cells)
        raw[cells.index] = [
            json.dumps({k: v for k, v in r.items() if isinstance(v, str)}, ensure_ascii=False)
            for r in cells.to_dict("records")
        ]
    out["raw"] = raw
    return out


def _quoted(text: pd.Series) -> pd.Series:
    return "'" + text.str.slice(0, 40) + "'"


_ISO_DATE = r"\d{4}-\d{2}-\d{2}"
_AMOUNT = r"-?\d{1,10}(\.\d{1,2})?"
_SSN = r"\d{3}-\d{2}-\d{4}"
#: Every character Python's ``\s`` matches (those ``str.isspace`` calls whitespace), spelled
#: out: a pattern with ``\s`` pandas runs through Python's ``re`` a row at a time, one
#: without it through pyarrow's RE2, a column at a time.
_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_EMAIL = f"[^@{_SPACE}]+@[^@{_SPACE}]+\\.[^@{_SPACE}]+"


def _typed(text: pd.Series, column: Column) -> tuple[pd.Series, pd.Series, Any]:
    """(typed value as text, invalid mask, reason) for one column of a chunk; the reason is
    text, or made from the invalid values only (a function of them)."""
    given = text != ""
    h = column.heading
    if column.kind == "int":
        ok = text.str.fullmatch(r"\d{1,10}").astype(bool)
        ok &= pd.to_numeric(text.where(ok, "0"), errors="coerce").fillna(_MAX_INT + 1) <= _MAX_INT
        return text, given & ~ok, lambda t: f"{h} " + _quoted(t) + " is not a whole number"
    if column.kind == "decimal":
        ok = text.str.fullmatch(_AMOUNT).astype(bool)
        value = text
        if not (ok | ~given).all():  # "$1,250.50", "12,50": cleaned only where needed
            odd = given & ~ok
            clean = text[odd].str.replace(r"[\s$]", "", regex=True)
            both = clean.str.contains(",", regex=False) & clean.str.contains(".", regex=False)
            clean = clean.where(~both, clean.str.replace(",", "", regex=False))
            comma = clean.str.fullmatch(r"-?\d+,\d{1,2}").astype(bool)
            clean = clean.where(~comma, clean.str.replace(",", ".", regex=False))
            value = text.copy()
            value[odd] = clean
            ok = ok | (odd & value.str.fullmatch(_AMOUNT).astype(bool))
        if column.key == "amount":
            positive = pd.to_numeric(value.where(ok, "0"), errors="coerce") > 0
            zero = ok & given & ~positive
            bad = (given & ~ok) | zero

            def reason(t: pd.Series) -> pd.Series:
                words = f"{h} " + _quoted(t) + " is not an amount (such as 1234.56)"
                return words.where(~zero[t.index], f"{h} must be more than 0")

            return value, bad, reason
        return (
            value,
            given & ~ok,
            lambda t: f"{h} " + _quoted(t) + " is not an amount (such as 1234.56)",
        )
    if column.kind == "date":
        iso = text.str.fullmatch(_ISO_DATE).astype(bool)
        when = pd.to_datetime(text.where(iso, ""), format="%Y-%m-%d", errors="coerce")
        value = text
        if not (iso | ~given).all():
            us = pd.to_datetime(text[given & ~iso], format="%m/%d/%Y", errors="coerce")
            when[us.index] = us
            value = text.copy()
            value[us.index] = us.dt.strftime("%Y-%m-%d")
        ok = when.notna() & when.dt.year.between(1900, 2100)
        return (
            value,
            given & ~ok,
            lambda t: f"{h} " + _quoted(t) + " is not a date (YYYY-MM-DD or MM/DD/YYYY)",
        )
    if column.kind == "ssn":
        ok = text.str.fullmatch(_SSN).astype(bool)
        value = text
        if not (ok | ~given).all():
            odd = given & ~ok
            digits = text[odd].str.replace(r"[\s-]", "", regex=True)
            value = text.copy()
            value[odd] = (
                digits.str.slice(0, 3) + "-" + digits.str.slice(3, 5) + "-" + digits.str.slice(5)
            )
            ok = ok | (
                odd & digits.reindex(text.index, fill_value="").str.fullmatch(r"\d{9}").astype(bool)
            )
        return value, given & ~ok, lambda t: f"{h} " + _quoted(t) + " is not an SSN (9 digits)"
    if column.kind == "state":
        value = text.str.upper()
        ok = value.isin(STATES)
        return (
            value,
            given & ~ok,
            lambda t: f"{h} " + _quoted(t) + " is not a state code (such as TX)",
        )
    if column.kind == "choice":
        canonical = {c.casefold(): c for c in column.choices}
        value = text.map(canonical)
        missing = value.isna() & given
        if missing.any():
            value[missing] = text[missing].str.casefold().map(canonical)
        ok = value.notna()
        return (
            value.fillna(""),
            given & ~ok,
            lambda t: f"{h} " + _quoted(t) + " is not one of " + ", ".join(column.choices),
        )
    if column.kind == "email":
        ok = text.str.fullmatch(_EMAIL).astype(bool) & (text.str.len() <= 254)
        return text, given & ~ok, lambda t: f"{h} " + _quoted(t) + " is not an email address"
    value = text
    if column.key in ("first_name", "last_name", "portfolio", "collector", "creditor"):
        spaced = text.str.contains("  ", regex=False).astype(bool)
        if spaced.any():
            value = text.copy()
            value[spaced] = text[spaced].str.replace(r"\s+", " ", regex=True)
    if column.max_length:
        limit = column.max_length
        return (
            value,
            value.str.len() > limit,
            lambda t: (
                f"{h} is " + t.str.len().astype(str) + f" characters long; the limit is {limit}"
            ),
        )
    return value, pd.Series(False, index=text.index), ""


def _add(
    problems: np.ndarray,
    mask: np.ndarray,
    reason: Any,
    where: pd.Index | None = None,
    index: pd.Index | None = None,
) -> np.ndarray:
    """Append ``reason`` (text, or one per row of ``where``) to the rows of ``mask``."""
    if not mask.any():
        return problems
    if isinstance(reason, str):
        reasons: Any = reason
    else:
        reasons = pd.Series(reason, index=where).reindex(index, fill_value="").to_numpy(object)
    joined = np.where(problems == "", reasons, problems + "; " + reasons)
    return np.where(mask, joined, problems)


def _insert(conn: Connection, staged: pd.DataFrame) -> None:
    names = list(staged.columns)
    if conn.dialect.name == "postgresql":
        buf = io.StringIO()
        staged.to_csv(buf, index=False, header=False)
        cols = ", ".join(names)
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cur,
            cur.copy(f"COPY import_rows ({cols}) FROM STDIN (FORMAT csv)") as cp,
        ):
            cp.write(buf.getvalue())
        return
    marks = ", ".join("?" for _ in names)
    # Column by column into Python values (missing ones None), then zipped into rows:
    # a few vectorised conversions instead of one per cell.
    columns = [
        staged[n].to_numpy(dtype=object, na_value=None).tolist()
        if staged[n].dtype.kind not in "iub"
        else staged[n].tolist()
        for n in names
    ]
    rows = list(zip(*columns, strict=True))
    conn.exec_driver_sql(f"INSERT INTO import_rows ({', '.join(names)}) VALUES ({marks})", rows)


def mark_duplicates(conn: Connection, job_id: int, itype: ImportType, rule: str) -> None:
    """Rows whose key (the match key, and the type's duplicate fields) repeats an earlier
    row's get a problem naming that row; the first of them imports."""
    keys = list(MATCH_RULES[rule][1]) + list(itype.duplicate_fields)
    cols = [_ROWS.c[k] for k in keys]
    key_given = and_(*(_ROWS.c[k].is_not(None) for k in MATCH_RULES[rule][1]))
    ranked = (
        select(
            _ROWS.c.seq,
            func.min(_ROWS.c.row_no).over(partition_by=cols).label("first_row"),
            func.row_number().over(partition_by=cols, order_by=_ROWS.c.seq).label("rank"),
        )
        .where(_ROWS.c.job_id == job_id, key_given)
        .subquery()
    )
    what = " + ".join(MATCH_RULES[rule][0].split(" + ")) if not itype.duplicate_fields else "row"
    message = literal(f"Duplicate {what}: the same as row ") + ranked.c.first_row.cast(String)
    conn.execute(
        update(_ROWS)
        .where(_ROWS.c.job_id == job_id, _ROWS.c.seq == ranked.c.seq, ranked.c.rank > 1)
        .values(problem=func.coalesce(_ROWS.c.problem + literal("; "), literal("")) + message)
    )
    if itype.name == "accounts":
        _mark_duplicate_file_numbers(conn, job_id)


def _mark_duplicate_file_numbers(conn: Connection, job_id: int) -> None:
    ranked = (
        select(
            _ROWS.c.seq,
            func.min(_ROWS.c.row_no).over(partition_by=_ROWS.c.file_number).label("first_row"),
            func.row_number()
            .over(partition_by=_ROWS.c.file_number, order_by=_ROWS.c.seq)
            .label("rank"),
        )
        .where(_ROWS.c.job_id == job_id, _ROWS.c.file_number.is_not(None))
        .subquery()
    )
    message = literal("Duplicate File Number: the same as row ") + ranked.c.first_row.cast(String)
    conn.execute(
        update(_ROWS)
        .where(_ROWS.c.job_id == job_id, _ROWS.c.seq == ranked.c.seq, ranked.c.rank > 1)
        .values(problem=func.coalesce(_ROWS.c.problem + literal("; "), literal("")) + message)
    )
