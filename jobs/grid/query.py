"""One page of the account grid, sorted on the server over every account the filter matches.

A page is two bounded reads: the page's ids (a walk of one ``(column, id)`` index, the id
breaking ties), then those accounts' values with their client, portfolio and collector
names. Sorting by a name of a few related rows (Client, Portfolio, Assigned To) walks their
groups in name order instead: one ``GROUP BY`` gives each group's count (and so the total),
and the page is read from the one or two groups it falls in, by ``(foreign key, id)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from jobs.errors import InvalidInput
from jobs.grid.columns import COLUMNS, CORE, OPTIONAL, SORTABLE
from jobs.models import Account, AccountStatus, Client, Collector, Portfolio

MAX_PAGE_SIZE = 500
#: Where accounts assigned to nobody come in a sort by Assigned To: after every name.
UNASSIGNED = "(unassigned)"


@dataclass(frozen=True)
class GridPage:
    """A page of accounts: ``rows`` (dicts by column key, plus ``id``) and the match count."""

    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    exact: bool = True


def grid_page(
    session: Session,
    where: ColumnElement[bool],
    *,
    sort: str = "file_number",
    descending: bool = False,
    page: int = 1,
    page_size: int = 25,
) -> GridPage:
    """The accounts matching ``where`` on page ``page``, sorted by the column ``sort``.

    Raises:
      InvalidInput: for a column that cannot be sorted by.
    """
    if sort not in SORTABLE:
        raise InvalidInput(
            f"Accounts cannot be sorted by {sort!r}; by one of: {', '.join(SORTABLE)}",
            field="sort",
        )
    page = max(int(page), 1)
    page_size = min(max(int(page_size), 1), MAX_PAGE_SIZE)
    col = COLUMNS[sort]
    offset = (page - 1) * page_size
    if col.by_name is not None:
        ids, total = _group_walk(
            session, where, col.sort, col.by_name, descending, offset, page_size
        )
    else:
        total = session.scalar(select(func.count()).select_from(Account).where(where)) or 0
        order = col.sort.desc() if descending else col.sort.asc()
        ids = list(
            session.scalars(
                select(Account.id)
                .where(where)
                .order_by(order, Account.id.asc())
                .limit(page_size)
                .offset(offset)
            )
        )
    return GridPage(rows_of(session, ids), total, page, page_size)


def _group_walk(
    session: Session,
    where: ColumnElement[bool],
    key: Any,
    named: type,
    descending: bool,
    offset: int,
    limit: int,
) -> tuple[list[int], int]:
    counts = dict(session.execute(select(key, func.count()).where(where).group_by(key)).all())
    total = sum(counts.values())
    names = dict(session.execute(select(named.id, named.name)).all())
    order = sorted(
        counts,
        key=lambda g: (g is None, (names.get(g) or "").lower(), g or 0),
        reverse=descending,
    )
    ids: list[int] = []
    for group in order:
        n = counts[group]
        if offset >= n:
            offset -= n
            continue
        in_group = key.is_(None) if group is None else key == group
        ids += session.scalars(
            select(Account.id)
            .where(where, in_group)
            .order_by(key, Account.id.asc())
            .limit(limit - len(ids))
            .offset(offset)
        )
        offset = 0
        if len(ids) >= limit:
            break
    return ids, total


def rows_of(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    """The grid's values of these accounts, in the order of ``ids``."""
    if not ids:
        return []
    shown = [COLUMNS[k] for k in (*CORE, *OPTIONAL)]
    query = (
        select(Account.id, Account.locked, *(c.value.label(c.key) for c in shown))
        .join(Client, Client.id == Account.client_id)
        .join(Portfolio, Portfolio.id == Account.portfolio_id)
        .outerjoin(Collector, Collector.id == Account.collector_id)
        .where(Account.id.in_(ids))
    )
    found = {r.id: dict(r._mapping) for r in session.execute(query)}
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True)
class GridChoices:
    """What the grid's filters offer: clients, portfolios (with their client), collectors
    (with whether they still work here) and account statuses, each in name order."""

    clients: list[tuple[int, str]]
    portfolios: list[tuple[int, int, str]]
    collectors: list[tuple[int, str, bool]]
    statuses: list[str]


def choices(session: Session) -> GridChoices:
    return GridChoices(
        clients=[
            tuple(r) for r in session.execute(select(Client.id, Client.name).order_by(Client.name))
        ],
        portfolios=[
            tuple(r)
            for r in session.execute(
                select(Portfolio.id, Portfolio.client_id, Portfolio.name).order_by(Portfolio.name)
            )
        ],
        collectors=[
            tuple(r)
            for r in session.execute(
                select(Collector.id, Collector.name, Collector.active).order_by(Collector.name)
            )
        ],
        statuses=list(
            session.scalars(
                select(AccountStatus.name).order_by(AccountStatus.position, AccountStatus.name)
            )
        ),
    )
