"""Each user's account grid: the optional columns they chose and their page size, kept in
the database so that they follow the person to any browser or notebook."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from jobs.errors import InvalidInput
from jobs.grid.columns import OPTIONAL, column_keys
from jobs.models import AccountGridPreference, utcnow

PAGE_SIZES = (10, 25, 50, 100)
#: What a user who never chose sees: the core columns only, 25 rows a page.
DEFAULT_PAGE_SIZE = 25


@dataclass(frozen=True)
class GridPreferences:
    columns: list[str]
    page_size: int = DEFAULT_PAGE_SIZE


def read(conn: Connection, user_id: int) -> GridPreferences:
    row = conn.execute(
        select(AccountGridPreference.columns, AccountGridPreference.page_size).where(
            AccountGridPreference.user_id == user_id
        )
    ).one_or_none()
    if row is None:
        return GridPreferences(columns=[])
    # A column removed from the product since it was chosen is simply not shown.
    return GridPreferences([c for c in row.columns if c in OPTIONAL], row.page_size)


def save(
    conn: Connection, user_id: int, columns: list[str] | str, page_size: int | None = None
) -> GridPreferences:
    """Remember ``columns`` (optional column keys or labels) and the page size.

    Raises:
      InvalidInput: for a column that is not an optional one, or an unknown page size.
    """
    keys = column_keys(columns, allowed=OPTIONAL)
    size = DEFAULT_PAGE_SIZE if page_size is None else int(page_size)
    if size not in PAGE_SIZES:
        raise InvalidInput(
            f"Rows per page is one of {', '.join(map(str, PAGE_SIZES))}", field="page_size"
        )
    values = {"columns": keys, "page_size": size, "updated_at": utcnow()}
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(AccountGridPreference).values(user_id=user_id, **values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["user_id"], set_=values))
    return GridPreferences(keys, size)


__all__ = ["GridPreferences", "read", "save"]
