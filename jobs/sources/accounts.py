"""The account selection source: a group, a filter, hand-picked ids and exclusions, as one
SQL select over accounts."""

from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from dataclasses import asdict, dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ColumnElement,
    Date,
    Select,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import Null
from sqlalchemy.sql.functions import FunctionElement

from jobs.errors import InvalidInput, NotFound
from jobs.models import (
    Account,
    AccountActivity,
    AccountStatus,
    Client,
    Collector,
    Group,
    GroupMember,
    Portfolio,
)
from jobs.sources.base import Source

#: Record ids are 32-bit integers in the database.
_MAX_ID = 2**31 - 1
#: Two-letter codes of the states, districts and territories debtors live in.
US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV "
    "NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR VI GU AS MP".split()
)


@dataclass(frozen=True)
class AccountFilter:
    """Criteria over accounts; every criterion given must hold. Empty means all accounts."""

    client_id: int | None = None
    portfolio_id: int | None = None
    status: str | None = None
    state: str | None = None
    collector_id: int | None = None
    #: Matches debtor name, account number or file number (case-insensitive, contains).
    text: str | None = None
    min_balance: float | None = None
    max_balance: float | None = None
    locked: bool | None = None
    #: True: only accounts assigned to no collector.
    unassigned: bool | None = None
    #: Last Worked (the later of the account's date and its newest interaction) on or
    #: after / on or before these days. An account never worked matches neither.
    worked_from: dt.date | None = None
    worked_to: dt.date | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AccountFilter:
        """Build a filter from stored or submitted values, rejecting unknown keys.

        Raises:
          InvalidInput: for an unknown criterion or a value of the wrong kind.
        """
        data = {k: v for k, v in (data or {}).items() if v not in (None, "")}
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(f"Unknown account filter: {', '.join(unknown)}", field="filter")
        try:
            for key in ("client_id", "portfolio_id", "collector_id"):
                if key in data:
                    data[key] = int(data[key])
                    if not 1 <= data[key] <= _MAX_ID:
                        what = key.removesuffix("_id")
                        raise InvalidInput(f"There is no {what} number {data[key]}", field="filter")
            for key in ("min_balance", "max_balance"):
                if key in data:
                    data[key] = float(Decimal(str(data[key])))
        except (ValueError, InvalidOperation) as exc:
            raise InvalidInput(
                f"An account filter value is not a number: {exc}", field="filter"
            ) from exc
        for key in ("worked_from", "worked_to"):
            if key in data:
                data[key] = _date(data[key], key)
        for key in ("locked", "unassigned"):
            if key in data and not isinstance(data[key], bool):
                raise InvalidInput(f"The account filter {key} is true or false", field=key)
        flt = cls(**data)
        if (
            flt.min_balance is not None
            and flt.max_balance is not None
            and flt.min_balance > flt.max_balance
        ):
            raise InvalidInput("The minimum balance is above the maximum balance", field="filter")
        if flt.worked_from and flt.worked_to and flt.worked_from > flt.worked_to:
            raise InvalidInput("The Last Worked range starts after it ends", field="worked_from")
        if flt.unassigned and flt.collector_id is not None:
            raise InvalidInput(
                "Choose a collector or unassigned accounts, not both", field="collector_id"
            )
        return flt

    def as_dict(self) -> dict[str, Any]:
        """The criteria given, as JSON values (dates as ISO text)."""
        return {
            k: v.isoformat() if isinstance(v, dt.date) else v
            for k, v in asdict(self).items()
            if v is not None
        }

    def check(self, session: Session) -> None:
        """Refuse a criterion whose value names nothing: a status, state, client, portfolio or
        collector that does not exist would only ever match no accounts.

        Raises:
          InvalidInput: naming the value, with what is known.
        """
        if self.status is not None:
            known = list(
                session.scalars(select(AccountStatus.name).order_by(AccountStatus.position))
            )
            if self.status not in known:
                raise InvalidInput(
                    f"There is no account status {self.status!r}; the statuses are "
                    + ", ".join(known),
                    field="status",
                )
        if self.state is not None and self.state not in US_STATES:
            raise InvalidInput(
                f"There is no state {self.state!r}; use a two-letter code such as TX",
                field="state",
            )
        for key, model in (
            ("client_id", Client),
            ("portfolio_id", Portfolio),
            ("collector_id", Collector),
        ):
            value = getattr(self, key)
            if value is not None and session.get(model, value) is None:
                what = key.removesuffix("_id")
                raise InvalidInput(f"There is no {what} number {value}", field=key)

    def is_empty(self) -> bool:
        return not self.as_dict()

    def describe(self) -> str:
        parts = [f"{k.replace('_', ' ')} = {v}" for k, v in self.as_dict().items()]
        return ", ".join(parts) if parts else "all accounts"

    def clause(self) -> ColumnElement[bool]:
        """The SQL condition on ``accounts`` for this filter."""
        conds: list[ColumnElement[bool]] = []
        for key in ("client_id", "portfolio_id", "status", "state", "collector_id", "locked"):
            value = getattr(self, key)
            if value is not None:
                conds.append(getattr(Account, key) == value)
        if self.unassigned:
            conds.append(Account.collector_id.is_(None))
        if self.text and self.text.strip():
            conds.append(
                text_contains(
                    self.text.strip(),
                    Account.id,
                    Account.debtor_name,
                    Account.account_number,
                    Account.file_number,
                )
            )
        # As decimals: a float parameter is a double precision on PostgreSQL, and comparing
        # the numeric column with it casts every row (no index: 0.4-0.6 s at a million).
        if self.min_balance is not None:
            conds.append(Account.current_balance >= Decimal(str(self.min_balance)))
        if self.max_balance is not None:
            conds.append(Account.current_balance <= Decimal(str(self.max_balance)))
        if self.worked_from is not None or self.worked_to is not None:
            conds.append(worked_within(self.worked_from, self.worked_to))
        return and_(true(), *conds)


@dataclass(frozen=True)
class AccountSelection(Source):
    """The accounts a job targets: a group, a filter, or both (the filter narrows the group),
    or accounts picked by hand; less the excluded ones."""

    kind = "accounts"

    group_id: int | None = None
    filter: AccountFilter = AccountFilter()
    #: Accounts picked by hand (manual selection); empty means "use the group/filter".
    account_ids: tuple[int, ...] = ()
    #: Accounts left out of a select-all.
    excluded_ids: tuple[int, ...] = ()
    #: Every account, on purpose (the grid's select-all with no filter): without it, a
    #: selection with no group, filter or ids is refused.
    all_accounts: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountSelection:
        """Raises InvalidInput for an id that is not a whole number."""
        try:
            group_id = None if data.get("group_id") in (None, "") else int(data["group_id"])
            picked = tuple(int(i) for i in data.get("account_ids") or ())
            excluded = tuple(int(i) for i in data.get("excluded_ids") or ())
        except (TypeError, ValueError):
            raise InvalidInput(
                "Account and group ids are whole numbers", field="selection"
            ) from None
        return cls(
            group_id=group_id,
            filter=AccountFilter.from_dict(data.get("filter")),
            account_ids=picked,
            excluded_ids=excluded,
            all_accounts=data.get("all_accounts") is True,
        )

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "group_id": self.group_id,
            "filter": self.filter.as_dict(),
        }
        if self.account_ids:
            data["account_ids"] = list(self.account_ids)
        if self.excluded_ids:
            data["excluded_ids"] = list(self.excluded_ids)
        if self.all_accounts:
            data["all_accounts"] = True
        return data

    def require_criteria(self) -> None:
        """Refuse a selection with no group, no accounts and no filter: "every account" is
        never what a bulk action means by accident.

        Raises:
          InvalidInput: asking for a group, accounts or a filter.
        """
        if self.all_accounts:
            return
        if self.group_id is None and self.filter.is_empty() and not self.account_ids:
            raise InvalidInput(
                "Choose a group, accounts or at least one account filter", field="selection"
            )

    def check(self, session: Session) -> None:
        """A selection with criteria whose values all name something (see
        :meth:`require_criteria` and :meth:`AccountFilter.check`).

        Raises:
          InvalidInput, NotFound: naming what is wrong.
        """
        self.require_criteria()
        self.filter.check(session)
        self.account_ids_select(session)  # the group must exist

    def items(self, session: Session) -> Select[Any]:
        ids = self.account_ids_select(session).subquery()
        return select(
            ids.c.id.label("key"), ids.c.id.label("account_id"), null().cast(JSON).label("payload")
        )

    def account_ids_select(self, session: Session) -> Select[tuple[int]]:
        """A select of the target account ids, ready for ``INSERT … SELECT``.

        Raises:
          NotFound: when the group does not exist (any more).
        """
        return select(Account.id).where(*self._conditions(session, excluding=True))

    def _conditions(self, session: Session, *, excluding: bool) -> list[ColumnElement[bool]]:
        """The conditions on ``accounts`` of the targets (less the exclusions if asked)."""
        conds: list[ColumnElement[bool]] = []
        if self.group_id is not None:
            in_range = 1 <= int(self.group_id) <= _MAX_ID
            group = session.get(Group, int(self.group_id)) if in_range else None
            if group is None:
                raise NotFound(f"Group {self.group_id} does not exist (it may have been deleted)")
            if group.kind == "filter":
                conds.append(AccountFilter.from_dict(group.filter).clause())
            else:
                members = select(GroupMember.account_id).where(GroupMember.group_id == group.id)
                conds.append(Account.id.in_(members))
        if self.account_ids:
            conds.append(Account.id.in_(self.account_ids))
        if excluding and self.excluded_ids:
            conds.append(Account.id.not_in(self.excluded_ids))
        conds.append(self.filter.clause())
        return conds

    def count(self, session: Session) -> int:
        """How many accounts the selection matches now: the matches, less the excluded ones
        among them (two counts that use the filter's indexes; ``NOT IN`` tested every match:
        a select-all of a million accounts less 100, 240 ms → 15 ms on SQLite)."""
        conds = self._conditions(session, excluding=False)
        total = session.scalar(select(func.count()).select_from(Account).where(*conds)) or 0
        if self.excluded_ids:
            excluded = Account.id.in_(self.excluded_ids)
            total -= (
                session.scalar(select(func.count()).select_from(Account).where(*conds, excluded))
                or 0
            )
        return total

    def describe(self, session: Session) -> str:
        parts = []
        if self.group_id is not None:
            group = session.get(Group, self.group_id)
            parts.append(f"group “{group.name}”" if group else f"group {self.group_id}")
        if self.account_ids:
            parts.append(f"{len(self.account_ids)} accounts picked by hand")
        if not self.filter.is_empty() or not parts:
            parts.append(self.filter.describe())
        if self.excluded_ids:
            parts.append(f"{len(self.excluded_ids)} excluded")
        return "; ".join(parts)


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (use YYYY-MM-DD)", field=key) from None


def count_drift(shown: int | None, now: int, noun: str = "accounts") -> str | None:
    """What a job says when its items at start differ from the count shown at submit.

    Returns:
      e.g. "412 accounts at start, 3 fewer than the 415 shown at submit", or None when
      they are the same (or nothing was shown).
    """
    if shown is None or int(shown) == now:
        return None
    diff = now - int(shown)
    more = "more" if diff > 0 else "fewer"
    return f"{now:,} {noun} at start, {abs(diff):,} {more} than the {int(shown):,} shown at submit"


class text_contains(FunctionElement[bool]):  # noqa: N801  (reads as an SQL operator)
    """Any of ``columns`` contains ``word``, in any letter case (``%``, ``_`` and ``\\``
    typed by a person are matched as themselves).

    On PostgreSQL: ILIKE on the columns joined by spaces, the expression of the pg_trgm
    index ``ix_accounts_search_trgm``. On SQLite: plain LIKE per column, which ignores the
    case of ASCII letters already (three times faster than ``lower(x) LIKE`` over a million
    accounts: 0.21 s against 0.66 s), on the candidates that the trigram index
    ``accounts_fts`` (migration 0021) finds for a word of three characters or more: its key
    ``key`` (the accounts' id) must be among them. The index folds more than ASCII case;
    the ``LIKE`` keeps the matches what they were without it.
    """

    type = Boolean()
    inherit_cache = True
    name = "text_contains"

    def __init__(self, word: str, key: Any, *columns: Any) -> None:
        pattern = word
        for char in "\\%_":
            pattern = pattern.replace(char, "\\" + char)
        # Every trigram of the word, each a quoted string (every character plain, quotes
        # doubled): the index keeps no positions, so rows with them all are candidates.
        # Under three characters there is no trigram to look up.
        trigrams = dict.fromkeys(word[i : i + 3] for i in range(len(word) - 2))
        query = " AND ".join('"' + t.replace('"', '""') + '"' for t in trigrams)
        usable = bool(trigrams) and sqlite_has_trigram()
        super().__init__(
            key, literal(query) if usable else null(), *columns, literal(f"%{pattern}%")
        )

    def self_group(self, against: Any = None) -> ColumnElement[Any]:
        # It compiles to a whole condition in brackets. Grouped as a boolean function it
        # would read ``(…) = 1`` on SQLite, where ``accounts.id IN (…)`` no longer drives
        # the query from the index's ids: every account is read (0.8 s at a million).
        return self


@functools.cache
def sqlite_has_trigram() -> bool:
    """Whether this process's SQLite has FTS5's trigram tokenizer (3.34+, FTS5 compiled
    in): migration 0021 then made ``accounts_fts`` in every SQLite database it upgraded."""
    try:
        conn = sqlite3.connect(":memory:")
        try:
            conn.execute("CREATE VIRTUAL TABLE probe USING fts5(x, tokenize='trigram')")
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True


@compiles(text_contains)
def _contains_like(element: text_contains, compiler: Any, **kw: Any) -> str:
    key, trigrams, *columns, pattern = element.clauses
    like = " OR ".join(
        f"{compiler.process(c, **kw)} LIKE {compiler.process(pattern, **kw)} ESCAPE '\\'"
        for c in columns
    )
    if isinstance(trigrams, Null):
        return f"({like})"
    match = compiler.process(trigrams, **kw)
    found = f"SELECT rowid FROM accounts_fts WHERE accounts_fts MATCH {match}"
    return f"({compiler.process(key, **kw)} IN ({found}) AND ({like}))"


@compiles(text_contains, "postgresql")
def _contains_ilike(element: text_contains, compiler: Any, **kw: Any) -> str:
    _key, _trigrams, *columns, pattern = (compiler.process(c, **kw) for c in element.clauses)
    joined = " || ' ' || ".join(columns)
    return f"(({joined}) ILIKE {pattern} ESCAPE '\\')"


def last_worked() -> ColumnElement[Any]:
    """Last Worked: the later of the account's own date and its newest interaction (from
    ``account_activity``, which the query must outer-join)."""
    own, newest = Account.last_worked, AccountActivity.last_interaction
    return case((or_(own.is_(None), newest > own), newest), else_=own)


class worked_within(FunctionElement[bool]):  # noqa: N801  (reads as an SQL operator)
    """Last Worked within ``first``..``last`` (either ``None``: open), as a condition on
    ``accounts``: ``accounts.id IN (`` :func:`worked_between` ``)``.

    Its own element, so that a query over many matches can state it otherwise: the grid
    counts the two disjoint ranges without joining them back to ``accounts``, and tests a
    page's rows one by one (``jobs.grid.query``)."""

    type = Boolean()
    inherit_cache = True
    name = "worked_within"

    def __init__(self, first: dt.date | None, last: dt.date | None) -> None:
        super().__init__(*(null() if d is None else literal(d, Date()) for d in (first, last)))

    @property
    def bounds(self) -> tuple[Any, Any]:
        """The first and last day as SQL expressions, ``None`` for an open end."""
        first, last = self.clauses.clauses
        return (None if isinstance(first, Null) else first), (
            None if isinstance(last, Null) else last
        )


@compiles(worked_within)
def _worked_within(element: worked_within, compiler: Any, **kw: Any) -> str:
    return compiler.process(Account.id.in_(worked_between(*element.bounds)), **kw)


def within(column: Any, first: Any, last: Any) -> ColumnElement[bool]:
    """``column`` is set and within ``first``..``last`` (either ``None``: open)."""
    conds = [column.is_not(None)]
    if first is not None:
        conds.append(column >= first)
    if last is not None:
        conds.append(column <= last)
    return and_(*conds)


def worked_by_own(first: Any, last: Any) -> ColumnElement[bool]:
    """On ``accounts``: Last Worked is the account's own date, within the range (no later
    interaction: a probe of ``account_activity``'s primary key)."""
    newer = (
        select(AccountActivity.account_id)
        .where(
            AccountActivity.account_id == Account.id,
            AccountActivity.last_interaction > Account.last_worked,
        )
        .exists()
    )
    return and_(within(Account.last_worked, first, last), ~newer)


def worked_by_interaction(first: Any, last: Any) -> ColumnElement[bool]:
    """On ``account_activity`` alone: Last Worked is the account's newest interaction,
    within the range (later than the account's own date, which the row keeps a copy of)."""
    own, newest = AccountActivity.account_worked, AccountActivity.last_interaction
    return and_(within(newest, first, last), or_(own.is_(None), own < newest))


def worked_between(first: Any, last: Any) -> Select[tuple[int]]:
    """Ids of the accounts whose Last Worked is within ``first``..``last`` (either open).

    Last Worked is the account's own date when it has no later interaction, else its newest
    interaction's: two index ranges, one on each table, that never share an account.
    """
    by_own = select(Account.id).where(worked_by_own(first, last)).correlate(None)
    by_interaction = (
        select(AccountActivity.account_id).where(worked_by_interaction(first, last)).correlate(None)
    )
    return union_all(by_own, by_interaction)


def worked_at_row(first: Any, last: Any) -> ColumnElement[bool]:
    """The same condition tested on each row of ``accounts`` (its newest interaction by
    primary key): for walking an index until a page of many matches is found."""
    newest = (
        select(AccountActivity.last_interaction)
        .where(AccountActivity.account_id == Account.id)
        .scalar_subquery()
    )
    return within(
        case(
            (or_(Account.last_worked.is_(None), newest > Account.last_worked), newest),
            else_=Account.last_worked,
        ),
        first,
        last,
    )
