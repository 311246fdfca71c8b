"""The import actions, one per import type, on the engine's hooks.

Per chunk, in the chunk's transaction and set-based over ``import_rows``:

1. ``mark_exceptions``: rows with a value problem (typed when staged, or a duplicate) are
   Invalid; codes are checked against the configured lists (clients, statuses, collectors,
   portfolios); each row is matched by the job's rule (one correlated count per row, on the
   accounts' indexes); a row matching several accounts is "Multiple matches" with one
   ``import_matches`` row per account, a row matching none is "No match" (an accounts import
   creates an account instead). Those rows become the job's exceptions, with their message.
2. ``apply``: the rest are applied with one statement per kind of effect (``UPDATE … FROM``,
   ``INSERT … SELECT``), their matched account goes onto the job item, and the task's figures
   move, all in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    String,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from jobs.actions.base import BulkAction, ChunkContext, DryRun
from jobs.actions.params import param
from jobs.imports.specs import ACCOUNTS, INTERACTIONS, MATCH_RULES, PAYMENTS, ImportType
from jobs.imports.statuses import REFUSED, RowStatus
from jobs.models import (
    Account,
    AccountStatus,
    Client,
    Collector,
    ImportMatch,
    ImportRow,
    ImportTask,
    Interaction,
    ItemOutcome,
    JobItem,
    Payment,
    Portfolio,
)
from jobs.sources.base import Source

R = ImportRow.__table__
A = Account.__table__


@dataclass(frozen=True)
class ImportParams:
    match_by: str = param(
        label="Match rows by",
        choices=tuple(MATCH_RULES),
        default="account_id",
        help="account_id, ssn or name_birth (first + last name + birth date)",
    )


class ImportAction(BulkAction):
    """Import the rows of a file of one type (the job's source is ``FileRows``)."""

    itype: ClassVar[ImportType]
    Params = ImportParams
    #: Not a bulk action on an account selection: not offered by Launch or ``submit``.
    on_accounts: ClassVar[bool] = False

    def describe(self, params: ImportParams) -> str:
        return f"Match by {MATCH_RULES[params.match_by][0]}"

    def check(self, params: ImportParams, session: Session) -> None:
        self.itype.check_rule(params.match_by)

    def dry_run(self, session: Session, source: Source, params: Any) -> DryRun:
        rows = source.count(session)
        return DryRun(total=rows, touch=rows, noun="row")

    # -- per chunk ------------------------------------------------------------------------

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        if conn.dialect.name == "postgresql":
            # No JIT compilation for this chunk's statements: PostgreSQL's cost estimate of
            # the refusals' one statement passed jit_above_cost, and compiling it took
            # 100 ms of a 10,000-row chunk's 115 ms, every chunk.
            conn.exec_driver_sql("SET LOCAL jit = off")
        rule = chunk.params.match_by
        rows = _Rows(chunk, conn)
        rows.refuse_first(
            [(R.c.problem.is_not(None), None, RowStatus.INVALID)]
            + [(c, m, RowStatus.INVALID) for c, m in self.code_checks(conn)]
        )
        keyed = and_(*(R.c[k].is_not(None) for k in MATCH_RULES[rule][1]))
        matching = _match_condition(rule)
        count = select(func.count()).select_from(A).where(matching).scalar_subquery()
        first = select(func.min(A.c.id)).where(matching).scalar_subquery()
        conn.execute(
            update(R).where(rows.pending, keyed).values(match_count=count, matched_account_id=first)
        )
        several = rows.pending & (R.c.match_count > 1)
        conn.execute(
            insert(ImportMatch).from_select(
                ["job_id", "seq", "account_id"],
                select(R.c.job_id, R.c.seq, A.c.id).join(A, matching).where(several),
            )
        )
        key = _key_text(rule)
        multiple = (
            R.c.match_count > 1,
            cast(R.c.match_count, String) + literal(" accounts match ") + key,
            RowStatus.MULTIPLE_MATCHES,
        )
        rows.refuse_first([multiple, *self.decide(rule, key)])

        # The refused rows' outcome and message go onto their job items.
        # Per item, lookups of its row by primary key (correlated scalar subqueries): planned
        # the same whatever the statistics say. Joins were planned from the statistics of
        # before the snapshot, and PostgreSQL then scanned the chunk's rows once per item
        # (30 s for a 10,000-row chunk).
        def of_row(column: Any) -> Any:
            return (
                select(column)
                .where(R.c.job_id == JobItem.job_id, R.c.seq == JobItem.seq)
                .scalar_subquery()
            )

        result = conn.execute(
            update(JobItem)
            .where(chunk.pending(), of_row(R.c.status).in_([int(s) for s in REFUSED]))
            .values(
                outcome=ItemOutcome.EXCEPTION,
                message=of_row(R.c.problem),
                account_id=of_row(case((R.c.match_count == 1, R.c.matched_account_id), else_=None)),
            )
        )
        return result.rowcount

    def code_checks(self, conn: Connection) -> list[tuple[ColumnElement[bool], Any]]:
        """(condition, message) of values that name nothing configured."""
        return []

    def decide(self, rule: str, key: ColumnElement[str]) -> list[Refusal]:
        """What refuses a matched row, in order, the first that applies: here a row that
        matches no account is No match (interactions and payments)."""
        return [
            (
                func.coalesce(R.c.match_count, 0) == 0,
                literal("No account matches ") + key,
                RowStatus.NO_MATCH,
            )
        ]

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        rows = _Rows(chunk, conn)
        self.apply_rows(conn, chunk, rows)
        _count_into_task(conn, chunk)

    def ok_values(self, chunk: ChunkContext) -> dict[str, Any]:
        """An applied row's item gets the account it matched or created, in the engine's
        own update of the items (one pass over them, not two)."""
        matched = (
            select(R.c.matched_account_id)
            .where(R.c.job_id == JobItem.job_id, R.c.seq == JobItem.seq)
            .scalar_subquery()
        )
        return {"account_id": matched}

    def apply_rows(self, conn: Connection, chunk: ChunkContext, rows: _Rows) -> None:
        raise NotImplementedError


#: (condition, message or None to keep the row's own problem, status).
Refusal = tuple[ColumnElement[bool], Any, RowStatus]


class _Rows:
    """The chunk's staged rows, and the refusal of those still pending that meet a rule."""

    def __init__(self, chunk: ChunkContext, conn: Connection) -> None:
        self.conn = conn
        self.in_chunk = (R.c.job_id == chunk.job_id) & R.c.seq.between(chunk.seq_lo, chunk.seq_hi)
        self.pending = self.in_chunk & (R.c.status == int(RowStatus.PENDING))

    def refuse_first(self, rules: list[Refusal]) -> None:
        """Refuse the pending rows that meet any of ``rules`` in one pass, each by the first
        rule it meets (its status, and its message unless that is None), as refusing them
        one rule after another would."""
        if not rules:
            return
        status = case(*((c, literal(int(s))) for c, _, s in rules))
        problem = case(
            *((c, R.c.problem if m is None else m) for c, m, _ in rules), else_=R.c.problem
        )
        self.conn.execute(
            update(R)
            .where(self.pending, or_(*(c for c, _, _ in rules)))
            .values(status=status, problem=problem)
        )

    def set_status(self, condition: ColumnElement[bool], status: RowStatus) -> None:
        self.conn.execute(update(R).where(self.pending, condition).values(status=int(status)))


def _match_condition(rule: str) -> ColumnElement[bool]:
    if rule == "account_id":
        return A.c.id == R.c.account_ref
    if rule == "ssn":
        return A.c.ssn == R.c.ssn
    return and_(
        A.c.debtor_name == R.c.first_name + literal(" ") + R.c.last_name,
        A.c.birth_date == R.c.birth_date,
    )


def _key_text(rule: str) -> ColumnElement[str]:
    """The row's match key in words, SSNs masked: "SSN ***-**-6789"."""
    if rule == "account_id":
        return literal("Account ID ") + cast(R.c.account_ref, String)
    if rule == "ssn":
        return literal("SSN ***-**-") + func.substr(R.c.ssn, 8, 4)
    return (
        R.c.first_name
        + literal(" ")
        + R.c.last_name
        + literal(", born ")
        + cast(R.c.birth_date, String)
    )


def _not_in(column: Any, names: list[str], what: str) -> tuple[ColumnElement[bool], Any]:
    shown = ", ".join(names[:12]) + (", …" if len(names) > 12 else "")
    message = literal(f"{what} '") + column + literal(f"' is not known (known: {shown})")
    return and_(column.is_not(None), column.not_in(names)), message


def _canonical(conn: Connection, rows: _Rows, names: dict[Any, list[str]]) -> None:
    """Write configured names as configured, whatever their case in the file: every
    column's in one pass, changing only the rows whose spelling differs."""
    names = {column: known for column, known in names.items() if known}
    if not names:
        return
    values = {}
    offs = []
    for column, known in names.items():
        off = column.is_not(None) & column.not_in(known)
        spelled = case({n.lower(): n for n in known}, value=func.lower(column), else_=column)
        values[column.name] = case((off, spelled), else_=column)
        offs.append(off)
    conn.execute(update(R).where(rows.pending, or_(*offs)).values(values))


def _new_account_ids(conn: Connection, chunk: ChunkContext) -> ColumnElement[int]:
    """Ids for the chunk's new accounts, one per row: from the accounts' own sequence on
    PostgreSQL; on SQLite past the highest id there is (the chunk's transaction holds the
    database's write lock, so no other writer takes one meanwhile)."""
    if conn.dialect.name == "postgresql":
        # The sequence named in the statement's text: a constant, not a name looked up in
        # the catalog again for every row.
        sequence = conn.scalar(select(func.pg_get_serial_sequence("accounts", "id")))
        return func.nextval(literal_column("'" + sequence.replace("'", "''") + "'::regclass"))
    top = conn.scalar(select(func.coalesce(func.max(A.c.id), 0)))
    return literal(top - chunk.seq_lo + 1) + R.c.seq


def _collector_id(column: Any) -> Any:
    return (
        select(Collector.id)
        .where(Collector.name == column, Collector.active)
        .limit(1)
        .scalar_subquery()
    )


def _count_into_task(conn: Connection, chunk: ChunkContext) -> None:
    """The chunk's rows by status, added to the task's figures."""
    in_chunk = (R.c.job_id == chunk.job_id) & R.c.seq.between(chunk.seq_lo, chunk.seq_hi)
    names = {
        RowStatus.CREATED: "created",
        RowStatus.UPDATED: "updated",
        RowStatus.IMPORTED: "imported",
        RowStatus.INVALID: "invalid",
        RowStatus.NO_MATCH: "no_match",
        RowStatus.MULTIPLE_MATCHES: "ambiguous",
    }
    # With the statuses named, a walk of ix_import_rows_job_status, not of the rows.
    counts = dict(
        conn.execute(
            select(R.c.status, func.count())
            .where(in_chunk, R.c.status.in_([int(s) for s in names]))
            .group_by(R.c.status)
        ).all()
    )
    t = ImportTask.__table__
    values = {
        name: t.c[name] + counts[int(status)]
        for status, name in names.items()
        if counts.get(int(status))
    }
    if values:
        conn.execute(update(t).where(t.c.job_id == chunk.job_id).values(**values))


# -- the three import types ------------------------------------------------------------------


class ImportAccounts(ImportAction):
    name = "import_accounts"
    label = "Import Accounts"
    cli_name = "import-accounts"
    summary = "Create or update accounts from a CSV file."
    itype = ACCOUNTS

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        _canonical(
            conn,
            _Rows(chunk, conn),
            {
                R.c.client: list(conn.scalars(select(Client.code))),
                R.c.account_status: _active_statuses(conn),
                R.c.collector: _active_collectors(conn),
            },
        )
        return super().mark_exceptions(conn, chunk)

    def code_checks(self, conn: Connection) -> list[tuple[ColumnElement[bool], Any]]:
        portfolio_known = (
            select(Portfolio.id)
            .join(Client, Client.id == Portfolio.client_id)
            .where(Client.code == R.c.client, Portfolio.name == R.c.portfolio)
            .exists()
        )
        return [
            _not_in(
                R.c.client, list(conn.scalars(select(Client.code).order_by(Client.code))), "Client"
            ),
            _not_in(R.c.account_status, _active_statuses(conn), "Status"),
            _not_in(R.c.collector, _active_collectors(conn), "Collector"),
            (
                R.c.portfolio.is_not(None) & R.c.client.is_not(None) & ~portfolio_known,
                literal("Portfolio '")
                + R.c.portfolio
                + literal("' is not a portfolio of client ")
                + R.c.client,
            ),
        ]

    def decide(self, rule: str, key: ColumnElement[str]) -> list[Refusal]:
        refusals: list[Refusal] = []
        if rule == "account_id":
            refusals.append(
                (
                    R.c.account_ref.is_not(None) & (R.c.match_count == 0),
                    literal("There is no account with ") + key,
                    RowStatus.NO_MATCH,
                )
            )
        locked = select(A.c.locked).where(A.c.id == R.c.matched_account_id).scalar_subquery()
        refusals.append(
            (
                # Coalesced: NULL (an unmatched row) AND … would ask ``locked`` of every row.
                (func.coalesce(R.c.match_count, 0) == 1) & (locked == True),  # noqa: E712
                literal("The account is locked; imports do not change it"),
                RowStatus.INVALID,
            )
        )
        new = func.coalesce(R.c.match_count, 0) == 0
        needs = [
            ("first_name", "First Name"),
            ("last_name", "Last Name"),
            ("client", "Client"),
            ("account_number", "Account Number"),
            ("balance", "Balance"),
        ]
        missing = literal("")
        for field, heading in needs:
            missing = missing + case(
                (R.c[field].is_(None), literal(f"{heading}, ")), else_=literal("")
            )
        taken = select(A.c.id).where(A.c.file_number == R.c.file_number).exists()
        return [
            *refusals,
            (
                new & ~and_(*(R.c[f].is_not(None) for f, _ in needs)),
                literal("A new account needs ") + func.rtrim(missing, literal(", ")),
                RowStatus.INVALID,
            ),
            (
                new & R.c.file_number.is_not(None) & taken,
                literal("File Number ") + R.c.file_number + literal(" is already an account's"),
                RowStatus.INVALID,
            ),
        ]

    def apply_rows(self, conn: Connection, chunk: ChunkContext, rows: _Rows) -> None:
        one = rows.pending & (R.c.match_count == 1)
        name = case(
            (
                R.c.first_name.is_not(None) & R.c.last_name.is_not(None),
                R.c.first_name + literal(" ") + R.c.last_name,
            ),
            else_=A.c.debtor_name,
        )
        conn.execute(
            update(A)
            .where(A.c.id == R.c.matched_account_id, one)
            .values(
                debtor_name=name,
                ssn=func.coalesce(R.c.ssn, A.c.ssn),
                birth_date=func.coalesce(R.c.birth_date, A.c.birth_date),
                account_number=func.coalesce(R.c.account_number, A.c.account_number),
                email=func.coalesce(R.c.email, A.c.email),
                phone=func.coalesce(R.c.phone, A.c.phone),
                state=func.coalesce(R.c.state, A.c.state),
                status=func.coalesce(R.c.account_status, A.c.status),
                current_balance=func.coalesce(R.c.balance, A.c.current_balance),
                creditor=func.coalesce(R.c.creditor, A.c.creditor),
                collector_id=func.coalesce(_collector_id(R.c.collector), A.c.collector_id),
            )
        )
        rows.set_status(R.c.match_count == 1, RowStatus.UPDATED)
        # The new accounts' ids are given to their rows first, so that the rows know their
        # account without looking each one up by file number after the insert.
        conn.execute(
            update(R)
            .where(rows.pending, func.coalesce(R.c.match_count, 0) == 0)
            .values(matched_account_id=_new_account_ids(conn, chunk), status=int(RowStatus.CREATED))
        )
        new = rows.in_chunk & (R.c.status == int(RowStatus.CREATED))
        file_number = func.coalesce(
            R.c.file_number, literal(f"I{chunk.job_id}-") + cast(R.c.seq, String)
        )
        client = Client.__table__
        first_portfolio = (
            select(func.min(Portfolio.id))
            .where(Portfolio.client_id == client.c.id)
            .scalar_subquery()
        )
        named_portfolio = (
            select(Portfolio.id)
            .where(Portfolio.client_id == client.c.id, Portfolio.name == R.c.portfolio)
            .limit(1)
            .scalar_subquery()
        )
        created = (
            select(
                R.c.matched_account_id,
                file_number,
                client.c.id,
                func.coalesce(named_portfolio, first_portfolio),
                R.c.account_number,
                R.c.first_name + literal(" ") + R.c.last_name,
                R.c.ssn,
                R.c.birth_date,
                R.c.email,
                R.c.phone,
                R.c.state,
                func.coalesce(R.c.account_status, literal("Open")),
                literal(False),
                R.c.balance,
                R.c.creditor,
                _collector_id(R.c.collector),
                literal(0),
            )
            .join(client, client.c.code == R.c.client)
            .where(new)
        )
        conn.execute(
            insert(A).from_select(
                [
                    "id",
                    "file_number",
                    "client_id",
                    "portfolio_id",
                    "account_number",
                    "debtor_name",
                    "ssn",
                    "birth_date",
                    "email",
                    "phone",
                    "state",
                    "status",
                    "locked",
                    "current_balance",
                    "creditor",
                    "collector_id",
                    "declined_transactions",
                ],
                created,
            )
        )


class ImportInteractions(ImportAction):
    name = "import_interactions"
    label = "Import Interactions"
    cli_name = "import-interactions"
    summary = "Log interactions on the accounts a CSV file's rows match."
    itype = INTERACTIONS

    def apply_rows(self, conn: Connection, chunk: ChunkContext, rows: _Rows) -> None:
        made = select(
            R.c.matched_account_id,
            literal(chunk.job_id),
            R.c.interaction_type,
            R.c.outcome,
            func.coalesce(R.c.note, literal("")),
            R.c.interaction_date,
            literal(chunk.owner_id),
            literal(chunk.now, Interaction.__table__.c.created_at.type),
        ).where(rows.pending)
        conn.execute(
            insert(Interaction).from_select(
                [
                    "account_id",
                    "job_id",
                    "type",
                    "outcome",
                    "note",
                    "interaction_date",
                    "created_by_id",
                    "created_at",
                ],
                made,
            )
        )
        rows.set_status(literal(True), RowStatus.IMPORTED)


class ImportPayments(ImportAction):
    name = "import_payments"
    label = "Import Payments"
    cli_name = "import-payments"
    summary = "Record payments on the accounts a CSV file's rows match."
    itype = PAYMENTS

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        _canonical(conn, _Rows(chunk, conn), {R.c.collector: _active_collectors(conn)})
        return super().mark_exceptions(conn, chunk)

    def code_checks(self, conn: Connection) -> list[tuple[ColumnElement[bool], Any]]:
        return [_not_in(R.c.collector, _active_collectors(conn), "Collector")]

    def apply_rows(self, conn: Connection, chunk: ChunkContext, rows: _Rows) -> None:
        account_collector = (
            select(A.c.collector_id).where(A.c.id == R.c.matched_account_id).scalar_subquery()
        )
        made = select(
            R.c.matched_account_id,
            R.c.amount,
            R.c.paid_on,
            func.coalesce(R.c.payment_status, literal("posted")),
            func.coalesce(_collector_id(R.c.collector), account_collector),
            literal(chunk.job_id),
            literal(chunk.now, Payment.__table__.c.created_at.type),
        ).where(rows.pending)
        conn.execute(
            insert(Payment).from_select(
                [
                    "account_id",
                    "amount",
                    "paid_on",
                    "status",
                    "collector_id",
                    "job_id",
                    "created_at",
                ],
                made,
            )
        )
        rows.set_status(literal(True), RowStatus.IMPORTED)


IMPORT_ACTIONS: tuple[ImportAction, ...] = (
    ImportAccounts(),
    ImportInteractions(),
    ImportPayments(),
)


def _active_statuses(conn: Connection) -> list[str]:
    return list(
        conn.scalars(
            select(AccountStatus.name).where(AccountStatus.active).order_by(AccountStatus.position)
        )
    )


def _active_collectors(conn: Connection) -> list[str]:
    return list(
        conn.scalars(select(Collector.name).where(Collector.active).order_by(Collector.name))
    )
