"""The columns of accounts that people see in the grid and choose for an export.

One list, in the users' words (seed 004): the grid's core columns, the optional ones of its
column selector, and the sensitive ones only exports carry (masked unless unmasked by
permission). Each column says where its value comes from and how it sorts.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlalchemy.orm import InstrumentedAttribute

from jobs.errors import InvalidInput
from jobs.models import Account, Client, Collector, Portfolio
from jobs.sources.accounts import last_worked


@dataclass(frozen=True)
class Column:
    """One column of accounts.

    Parameters:
      key: its name in parameters, preferences and the CLI (``current_balance``).
      label: its title on screen and in a file's heading (``Current Balance``).
      value: the SQL expression of its value (joined names for client, portfolio, collector).
      sort: the column of ``accounts`` a page sorted by it is ordered by.
      walk: how such a page is read (``jobs.grid.query``): ``index`` walks the column's
        ``(column, id)`` index; ``groups`` walks the few values' groups in name order (a
        status, a state, or the name of a client, portfolio or collector: the key is the
        foreign key and ``by_name`` the table whose ``name`` orders them); ``worked`` merges
        the two indexes of Last Worked; ``scan`` sorts the matches (optional columns).
      by_name: the related table whose ``name`` orders the groups, for those.
      sensitive: masked in exports unless someone with the permission unmasks it.
      kind: ``text``, ``money``, ``date`` or ``int`` (how screens format it).
    """

    key: str
    label: str
    value: ColumnElement | InstrumentedAttribute
    sort: InstrumentedAttribute | None = None
    by_name: type | None = None
    walk: str = "scan"
    sensitive: bool = False
    kind: str = "text"


_CORE = [
    Column("file_number", "File Number", Account.file_number, Account.file_number, walk="index"),
    Column("client", "Client", Client.name, Account.client_id, by_name=Client, walk="groups"),
    Column(
        "portfolio",
        "Portfolio",
        Portfolio.name,
        Account.portfolio_id,
        by_name=Portfolio,
        walk="groups",
    ),
    Column(
        "account_number", "Account", Account.account_number, Account.account_number, walk="index"
    ),
    Column("debtor", "Debtor", Account.debtor_name, Account.debtor_name, walk="index"),
    Column("status", "Status", Account.status, Account.status, walk="groups"),
    Column(
        "current_balance",
        "Current Balance",
        Account.current_balance,
        Account.current_balance,
        kind="money",
        walk="index",
    ),
    Column(
        "assigned_to",
        "Assigned To",
        Collector.name,
        Account.collector_id,
        by_name=Collector,
        walk="groups",
    ),
]
_OPTIONAL = [
    Column("creditor", "Creditor", Account.creditor, Account.creditor),
    Column(
        "last_worked", "Last Worked", last_worked(), Account.last_worked, kind="date", walk="worked"
    ),
    Column(
        "last_payment_amount",
        "Last Payment Amount",
        Account.last_payment_amount,
        Account.last_payment_amount,
        kind="money",
    ),
    Column(
        "last_payment_date",
        "Last Payment Date",
        Account.last_payment_date,
        Account.last_payment_date,
        kind="date",
    ),
    Column("state", "State", Account.state, Account.state, walk="groups"),
    Column(
        "declined_transactions",
        "Declined Transactions",
        Account.declined_transactions,
        Account.declined_transactions,
        kind="int",
    ),
]
_SENSITIVE = [
    Column("ssn", "SSN", Account.ssn, sensitive=True),
    Column("birth_date", "Birth Date", Account.birth_date, sensitive=True, kind="date"),
    Column("email", "Email", Account.email, sensitive=True),
    Column("phone", "Phone", Account.phone, sensitive=True),
]

#: Every column by key: the grid's core and optional ones, then the export-only ones.
COLUMNS: dict[str, Column] = {c.key: c for c in (*_CORE, *_OPTIONAL, *_SENSITIVE)}
CORE = [c.key for c in _CORE]
OPTIONAL = [c.key for c in _OPTIONAL]
SENSITIVE = [c.key for c in _SENSITIVE]
#: What the grid can be sorted by.
SORTABLE = [k for k, c in COLUMNS.items() if c.sort is not None]


def column(key: str) -> Column:
    """The column called ``key`` (or labelled so, in any case).

    Raises:
      InvalidInput: naming the columns there are.
    """
    found = COLUMNS.get(key) or next(
        (c for c in COLUMNS.values() if c.label.lower() == key.strip().lower()), None
    )
    if found is None:
        raise InvalidInput(
            f"There is no account column {key!r}; the columns are " + ", ".join(COLUMNS),
            field="columns",
        )
    return found


def column_keys(keys: list[str] | str | None, *, allowed: list[str] | None = None) -> list[str]:
    """Column keys from a list or a comma-separated text (keys or labels), in the given
    order, each once.

    Raises:
      InvalidInput: for a column that does not exist or is not ``allowed`` here.
    """
    if isinstance(keys, str):
        keys = [k for k in (part.strip() for part in keys.split(",")) if k]
    out: list[str] = []
    for key in keys or []:
        found = column(key).key
        if allowed is not None and found not in allowed:
            raise InvalidInput(
                f"{COLUMNS[found].label} cannot be chosen here; choose from "
                + ", ".join(COLUMNS[k].label for k in allowed),
                field="columns",
            )
        if found not in out:
            out.append(found)
    return out
