"""The columns of each import type, declared once.

From these declarations come the heading check (a file with a missing, unknown, duplicated or
empty heading fails whole), the typing and validation of each value (``jobs.imports.staging``),
the help text that lists the expected columns, and the downloadable template file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from jobs.errors import InvalidInput
from jobs.models import INTERACTION_TYPES, OUTCOMES
from jobs.sources.accounts import US_STATES

#: How rows find the records they belong to: rule → (label, the row fields it compares).
MATCH_RULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "account_id": ("Account ID", ("account_ref",)),
    "ssn": ("SSN", ("ssn",)),
    "name_birth": (
        "First name + last name + birth date",
        ("first_name", "last_name", "birth_date"),
    ),
}

PAYMENT_STATUSES = ("posted", "pending")

#: Headings an export of Task Messages adds after the file's own; an import ignores them, so
#: that the export can be fixed and imported again as it is.
EXPORT_HEADINGS = ("Import Row", "Import Status", "Import Message", "Import Account")


@dataclass(frozen=True)
class Column:
    """One column of an import file.

    ``kind``: text, int, decimal, date, ssn, email, state or choice (one of ``choices``).
    ``key``: the field of ``import_rows`` its typed value is staged in.
    """

    heading: str
    key: str
    kind: str = "text"
    help: str = ""
    example: str = ""
    max_length: int | None = None
    choices: tuple[str, ...] = ()
    #: The heading must be in the file (match columns are required by their rule instead).
    required_heading: bool = False
    #: Every row must have a value (rows without one are Invalid).
    required_value: bool = False

    def describe(self) -> str:
        """One line of help: the heading, what it holds and its format."""
        formats = {
            "int": "a whole number",
            "decimal": "an amount such as 1234.56",
            "date": "a date, YYYY-MM-DD or MM/DD/YYYY",
            "ssn": "9 digits, e.g. 123-45-6789",
            "email": "an email address",
            "state": "a two-letter state code such as TX",
        }
        what = formats.get(self.kind, "")
        if self.kind == "choice":
            what = "one of " + ", ".join(self.choices)
        elif self.kind == "text" and self.max_length:
            what = f"text, at most {self.max_length} characters"
        parts = [p for p in (self.help, what) if p]
        return f"{self.heading}: " + "; ".join(parts)


@dataclass(frozen=True)
class ImportType:
    """One kind of import: its columns, the matching rules it accepts, and its action."""

    name: str
    label: str
    summary: str
    columns: tuple[Column, ...]
    match_rules: tuple[str, ...]
    default_match: str
    #: Fields that, with the match key, make a row a duplicate of an earlier one.
    duplicate_fields: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def action_name(self) -> str:
        return f"import_{self.name}"

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def match_columns(self, rule: str) -> tuple[Column, ...]:
        return tuple(self.column(k) for k in MATCH_RULES[rule][1])

    def required_headings(self, rule: str) -> list[str]:
        needed = [c.heading for c in self.match_columns(rule)]
        return needed + [
            c.heading for c in self.columns if c.required_heading and c.heading not in needed
        ]

    def check_rule(self, rule: str | None) -> str:
        """The matching rule to use (the type's default for none).

        Raises:
          InvalidInput: for a rule this type does not accept, naming those it does.
        """
        rule = (rule or self.default_match).strip()
        if rule not in self.match_rules:
            known = ", ".join(f"{r} ({MATCH_RULES[r][0]})" for r in self.match_rules)
            raise InvalidInput(
                f"An {self.name} import cannot match by {rule!r}; it matches by {known}",
                field="match_by",
            )
        return rule

    def help_text(self) -> str:
        """The expected columns, for the upload form and ``bulkdesk import --help``."""
        rules = ", ".join(MATCH_RULES[r][0] for r in self.match_rules)
        lines = [
            f"{self.label}: {self.summary}",
            f"Rows match accounts by one of: {rules} (default "
            f"{MATCH_RULES[self.default_match][0]}); those columns are required.",
            "Columns (headings on the first row, in any order):",
        ]
        for c in self.columns:
            need = " (required heading)" if c.required_heading else ""
            need = " (required)" if c.required_value else need
            lines.append(f"  - {c.describe()}{need}")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)

    def template_csv(self) -> str:
        """A template file: the headings, and one example row."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow([c.heading for c in self.columns])
        writer.writerow([c.example for c in self.columns])
        return buf.getvalue()

    def resolve_headings(self, headings: list[str], rule: str) -> list[tuple[str, str | None]]:
        """Each heading of a file with the field it fills (None: ignored export columns).

        Raises:
          HeadingError: for an empty, unknown, duplicated or missing heading, saying which
            and what was expected; the file imports nothing.
        """
        by_name = {_norm(c.heading): c for c in self.columns}
        ignored = {_norm(h) for h in EXPORT_HEADINGS}
        problems: list[str] = []
        seen: dict[str, int] = {}
        resolved: list[tuple[str, str | None]] = []
        for n, raw in enumerate(headings, start=1):
            heading = (raw or "").strip()
            name = _norm(heading)
            if not name:
                problems.append(f"column {n} has no heading")
                continue
            if name in ignored:
                resolved.append((heading, None))
                continue
            column = by_name.get(name)
            if column is None:
                shown = heading if len(heading) <= 60 else heading[:57] + "…"
                problems.append(
                    f"the heading {shown!r} (column {n}) is not a column of {self.name} imports"
                )
                continue
            if name in seen:
                problems.append(
                    f"the heading {column.heading!r} is in columns {seen[name]} and {n}"
                )
                continue
            seen[name] = n
            resolved.append((column.heading, column.key))
        have = {key for _, key in resolved}
        for c in self.columns:
            if c.heading in self.required_headings(rule) and c.key not in have:
                why = (
                    f"matching by {MATCH_RULES[rule][0]} needs it"
                    if c in self.match_columns(rule)
                    else "it is required"
                )
                problems.append(f"the heading {c.heading!r} is missing ({why})")
        if problems:
            raise HeadingError(self, rule, problems)
        return resolved


class HeadingError(InvalidInput):
    """A file whose headings are wrong: it fails whole and imports nothing."""

    def __init__(self, import_type: ImportType, rule: str, problems: list[str]) -> None:
        self.problems = problems
        expected = ", ".join(c.heading for c in import_type.columns)
        required = ", ".join(import_type.required_headings(rule))
        text = "; ".join(problems)
        super().__init__(
            f"File import has failed: {text[0].upper()}{text[1:]}. Expected the headings "
            f"{expected} (required: {required}).",
            field="file",
        )


def _norm(heading: str) -> str:
    """Headings compare without case, surrounding space, or the difference of _ and space."""
    return re.sub(r"[\s_]+", " ", heading.replace("\ufeff", "")).strip().casefold()


_MATCH = (
    Column("Account ID", "account_ref", "int", "Bulkdesk's account number", "1042"),
    Column("SSN", "ssn", "ssn", "the debtor's Social Security number", "123-45-6789"),
    Column("First Name", "first_name", "text", "debtor's first name", "Maria", 64),
    Column("Last Name", "last_name", "text", "debtor's last name", "Lopez", 64),
    Column("Birth Date", "birth_date", "date", "debtor's birth date", "1980-04-17"),
)

ACCOUNTS = ImportType(
    name="accounts",
    label="Accounts",
    summary="create accounts, or update the accounts the rows match",
    columns=(
        *_MATCH,
        Column(
            "File Number", "file_number", "text", "new accounts only; default generated", "", 20
        ),
        Column("Client", "client", "text", "client code, new accounts only", "ACME", 16),
        Column("Portfolio", "portfolio", "text", "the client's portfolio name", "", 128),
        Column("Account Number", "account_number", "text", "", "4000123412341234", 32),
        Column("Email", "email", "email", "", "maria.lopez@example.com", 254),
        Column("Phone", "phone", "text", "", "+1-512-555-0100", 20),
        Column("State", "state", "state", "", "TX"),
        Column("Status", "account_status", "text", "an account status", "Open", 24),
        Column("Balance", "balance", "decimal", "current balance", "1250.00"),
        Column("Creditor", "creditor", "text", "", "Acme Visa", 128),
        Column("Collector", "collector", "text", "an active collector's name", "", 128),
    ),
    match_rules=("account_id", "ssn", "name_birth"),
    default_match="account_id",
    notes=(
        "A row that matches one account updates it with the values the row has (empty cells "
        "leave a value as it is; File Number, Client and Portfolio are not changed).",
        "A row that matches none creates an account: it needs First Name, Last Name, Client, "
        "Account Number and Balance (Status defaults to Open). With matching by Account ID, a "
        "row without an Account ID is a new account.",
    ),
)

INTERACTIONS = ImportType(
    name="interactions",
    label="Interactions",
    summary="log an interaction on the account each row matches",
    columns=(
        *_MATCH,
        Column(
            "Type",
            "interaction_type",
            "choice",
            "",
            "Call",
            choices=INTERACTION_TYPES,
            required_heading=True,
            required_value=True,
        ),
        Column(
            "Outcome",
            "outcome",
            "choice",
            "",
            "Left message",
            choices=OUTCOMES,
            required_heading=True,
            required_value=True,
        ),
        Column("Note", "note", "text", "", "Called about the balance", 2000),
        Column(
            "Date",
            "interaction_date",
            "date",
            "when it happened",
            "2026-11-02",
            required_heading=True,
            required_value=True,
        ),
    ),
    match_rules=("account_id", "ssn", "name_birth"),
    default_match="account_id",
    duplicate_fields=("interaction_type", "outcome", "interaction_date", "note"),
)

PAYMENTS = ImportType(
    name="payments",
    label="Payments",
    summary="record a payment on the account each row matches",
    columns=(
        *_MATCH,
        Column(
            "Amount",
            "amount",
            "decimal",
            "more than 0",
            "150.00",
            required_heading=True,
            required_value=True,
        ),
        Column(
            "Paid On",
            "paid_on",
            "date",
            "",
            "2026-11-02",
            required_heading=True,
            required_value=True,
        ),
        Column(
            "Status",
            "payment_status",
            "choice",
            "default posted",
            "posted",
            choices=PAYMENT_STATUSES,
        ),
        Column(
            "Collector",
            "collector",
            "text",
            "credited to; default the account's collector",
            "",
            128,
        ),
    ),
    match_rules=("account_id", "ssn", "name_birth"),
    default_match="account_id",
    duplicate_fields=("amount", "paid_on"),
)

IMPORT_TYPES: dict[str, ImportType] = {t.name: t for t in (ACCOUNTS, INTERACTIONS, PAYMENTS)}


def import_type(name: str) -> ImportType:
    """The import type called ``name``.

    Raises:
      InvalidInput: for an unknown type, naming the known ones.
    """
    found = IMPORT_TYPES.get((name or "").strip().lower())
    if found is None:
        raise InvalidInput(
            f"There is no {name!r} import; the imports are {', '.join(IMPORT_TYPES)}",
            field="import_type",
        )
    return found


#: Values of ``state`` columns.
STATES = US_STATES
