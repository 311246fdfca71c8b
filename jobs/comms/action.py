"""What Schedule Emails and Schedule Text Messages share: a template, a send date, only
accounts with a valid address, messages written to the outbox, and approval.

- At submit, the chosen template's text is frozen on the job (its ``plan``), so that what an
  approver approves is what goes out, whatever happens to the template later; the send date
  becomes the job's ``not_before``: the engine does not start it before that day (UTC).
- A person without the send permission may submit it all the same: it then waits in
  *Awaiting approval* (``jobs.comms.approvals``).
- Each chunk writes its accounts' messages to the outbox (``deliveries``) with one
  ``INSERT … SELECT``, in the chunk's transaction: each delivery holds the address and the
  account's raw values the template uses (:func:`raw_values`), nothing rendered. The
  ``deliver`` actor renders the message from those values and the job's frozen template
  when it sends it, after commit (:meth:`CommunicationAction.rendered`; email by SMTP, text
  messages through ``jobs.comms.sms``): the one rendering code path
  (``jobs.comms.templates``) serves the preview, the dry run and the sending alike. A
  delivery that finally fails turns its item into an exception.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from jobs import clock
from jobs.actions.base import (
    CLOSED,
    LOCKED,
    SAMPLE_SIZE,
    AccountAction,
    ChunkContext,
    DryRun,
    JobContext,
)
from jobs.comms import store, templates
from jobs.db import json_object
from jobs.errors import InvalidInput
from jobs.models import Account, Client, Delivery, DeliveryState, Job, JobItem, UTCDateTime
from jobs.people.permissions import SEND_COMMUNICATIONS, Actor
from jobs.sources.base import Source


@dataclass(frozen=True)
class Submission:
    """What a submit stores on the job besides its parameters."""

    plan: dict[str, Any] | None = None
    not_before: dt.datetime | None = None


@dataclass(frozen=True)
class Message:
    """One rendered message, for a dry run's sample or an approver's preview."""

    file_number: str
    debtor: str
    to: str
    subject: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


class CommunicationAction(AccountAction):
    """A bulk action that sends every account of the selection one message from a template."""

    #: ``email`` or ``sms``: the kind of template and of delivery.
    kind: ClassVar[str]
    #: The exception of an account without a usable address.
    no_address: ClassVar[str]
    #: Who may send directly; anyone else's job waits for approval.
    send_permission: ClassVar[str] = SEND_COMMUNICATIONS

    # -- parameters --------------------------------------------------------------------

    def check(self, params: Any, session: Session) -> None:
        if params.send_date < clock.today():
            raise InvalidInput(
                f"The send date {params.send_date.isoformat()} is in the past; "
                "choose today or a later day",
                field="send_date",
            )
        store.find(session, self.kind, params.template)

    def describe(self, params: Any) -> str:
        return (
            f"{store.kind_words(self.kind).capitalize()} “{params.template}” on {params.send_date}"
        )

    def submission(self, params: Any, session: Session) -> Submission:
        """The template frozen as it is now, and the send date as the earliest start."""
        template = store.find(session, self.kind, params.template)
        return Submission(
            plan={"message": template.frozen(), "send_date": params.send_date.isoformat()},
            not_before=not_before(params.send_date),
        )

    def needs_approval(self, actor: Actor) -> bool:
        return not actor.has(self.send_permission)

    # -- exceptions and the dry run ------------------------------------------------------

    def valid_address(self, account: FromClause) -> ColumnElement[bool]:
        raise NotImplementedError

    def address(self, account: FromClause) -> ColumnElement[Any]:
        raise NotImplementedError

    def exception_reason(
        self, account: FromClause, params: Any, closed: list[str]
    ) -> ColumnElement[str]:
        return case(
            (account.c.locked, literal(LOCKED)),
            (account.c.status.in_(closed), literal(CLOSED)),
            (self.valid_address(account), literal("")),
            else_=literal(self.no_address),
        )

    def before_after(
        self, account: FromClause, params: Any
    ) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
        return self.address(account), literal(f"“{params.template}” on {params.send_date}")

    def dry_run(self, session: Session, source: Source, params: Any) -> DryRun:
        """Counts as every account action's; the sample shows each message as it would go."""
        counted = self.counted(session, source, params)
        template = store.find(session, self.kind, params.template)
        sample = self.messages(session, source, template.frozen(), params.send_date)
        return DryRun(
            noun=counted.noun,
            total=counted.total,
            touch=counted.touch,
            exceptions=counted.exceptions,
            sample=[
                {
                    "file_number": m.file_number,
                    "debtor": m.debtor,
                    "before": m.to,
                    "after": m.subject or m.text,
                }
                for m in sample
            ],
        )

    def counted(self, session: Session, source: Source, params: Any) -> DryRun:
        """How many accounts would get a message, and the exceptions (no sample)."""
        return AccountAction.dry_run(self, session, source, params)

    def messages(
        self,
        session: Session,
        source: Source,
        message: dict[str, Any],
        send_date: dt.date,
        limit: int = SAMPLE_SIZE,
    ) -> list[Message]:
        """The first messages ``source``'s sendable accounts would get (a sample)."""
        account = Account.__table__.alias("a")
        items = source.items(session).subquery()
        reason = self.exception_reason(account, None, _closed(session))
        rows = session.execute(
            _message_columns(account, self.address(account))
            .join(items, items.c.account_id == account.c.id)
            .where(reason == "")
            .order_by(account.c.id)
            .limit(limit)
        ).all()
        return [self.render(row, message, send_date) for row in rows]

    # -- the engine's hooks ------------------------------------------------------------

    def plan(self, conn: Connection, job: JobContext) -> dict[str, Any] | None:
        # The message was frozen at submit (``submission``); keep it. A job queued some other
        # way freezes the template as it is at start.
        frozen = conn.scalar(select(Job.plan).where(Job.id == job.job_id))
        if frozen and "message" in frozen:
            return frozen
        with Session(bind=conn) as session:
            return self.submission(job.params, session).plan

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        message = chunk.plan["message"]
        account = Account.__table__.alias("a")
        wanted = templates.used(*(message.get(k) or "" for k in ("subject", "body")))
        # One statement for the chunk's whole outbox, due now: a worker's reaper sends them
        # within about a second of the commit, rendering each as it goes.
        payload = json_object("to", self.address(account), "values", raw_values(account, wanted))
        messages = (
            select(
                literal(chunk.job_id),
                JobItem.seq,
                literal(self.kind),
                payload,
                literal(DeliveryState.PENDING),
                literal(0),
                literal(chunk.now, UTCDateTime()),
                literal(chunk.now, UTCDateTime()),
            )
            .select_from(account)
            .join(JobItem, JobItem.account_id == account.c.id)
            .join(Client, Client.id == account.c.client_id)
            .where(chunk.pending())
        )
        conn.execute(
            insert(Delivery.__table__).from_select(
                [
                    "job_id",
                    "item_seq",
                    "kind",
                    "payload",
                    "state",
                    "attempts",
                    "due_at",
                    "created_at",
                ],
                messages,
            )
        )

    def ok_values(self, chunk: ChunkContext) -> dict[str, Any]:
        # Each item records the address its message went to, set with its ok outcome.
        account = Account.__table__.alias("a")
        to = select(self.address(account)).where(account.c.id == JobItem.account_id)
        message = chunk.plan["message"]
        return {
            "payload": json_object(
                "before",
                to.scalar_subquery(),
                "after",
                f"{store.kind_words(self.kind).capitalize()} “{message['name']}” queued",
            )
        }

    # -- one message -------------------------------------------------------------------

    def render(self, row: Any, message: dict[str, Any], send_date: dt.date) -> Message:
        raise NotImplementedError

    def payload(self, message: Message) -> dict[str, Any]:
        raise NotImplementedError

    def rendered(self, plan: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        """The message to send for one of this job's deliveries (``plan``: the job's, with
        the frozen template): rendered now from the delivery's raw values, as the
        ``deliver`` actor sends it."""
        row = _Values({**payload["values"], "address": payload.get("to")})
        send_date = dt.date.fromisoformat(plan["send_date"])
        return self.payload(self.render(row, plan["message"], send_date))


#: The account values each placeholder is rendered from (``templates.values_for`` reads them
#: by these names): what a delivery keeps, and only for the placeholders its template uses.
_RAW_FOR = {
    "debtor_name": "debtor_name",
    "first_name": "debtor_name",
    "last_name": "debtor_name",
    "file_number": "file_number",
    "account_last4": "account_number",
    "balance": "current_balance",
    "client": "client",
    "creditor": "creditor",
}


def raw_values(account: FromClause, wanted: frozenset[str]) -> ColumnElement[Any]:
    """A JSON object (built in SQL) of the account's values the placeholders in ``wanted``
    are rendered from; of the account number only its last four characters are kept."""
    number = account.c.account_number
    columns: dict[str, ColumnElement[Any]] = {
        "debtor_name": account.c.debtor_name,
        "file_number": account.c.file_number,
        "account_number": case(
            (func.length(number) > 4, func.substr(number, func.length(number) - 3)),
            else_=number,
        ),
        "current_balance": account.c.current_balance,
        "client": Client.name,
        "creditor": account.c.creditor,
    }
    names = sorted({_RAW_FOR[p] for p in wanted if p in _RAW_FOR})
    return json_object(*(part for name in names for part in (name, columns[name])))


class _Values:
    """An account row as ``templates.values_for`` reads it, from a delivery's raw values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        return self._values.get(name)


def not_before(send_date: dt.date) -> dt.datetime:
    """The first moment of the send date (UTC): the job does not start before it."""
    return dt.datetime.combine(send_date, dt.time(0), tzinfo=dt.UTC)


def submission_of(action: Any, params: Any, session: Session) -> Submission:
    """What submitting ``action`` stores besides its parameters (nothing for most actions)."""
    if isinstance(action, CommunicationAction):
        return action.submission(params, session)
    return Submission()


def needs_approval(action: Any, actor: Actor) -> bool:
    """Whether ``actor``'s job of ``action`` waits for approval instead of being queued."""
    return isinstance(action, CommunicationAction) and action.needs_approval(actor)


def _message_columns(account: FromClause, address: ColumnElement[Any]) -> Any:
    return (
        select(
            account.c.id,
            account.c.file_number,
            account.c.account_number,
            account.c.debtor_name,
            account.c.current_balance,
            account.c.creditor,
            Client.name.label("client"),
            address.label("address"),
        )
        .select_from(account)
        .join(Client, Client.id == account.c.client_id)
    )


def _closed(session: Session) -> list[str]:
    from jobs.actions.base import closed_statuses

    return closed_statuses(session.connection())


# -- what a valid address is, in SQL -------------------------------------------------------


class digits_only(FunctionElement[bool]):  # noqa: N801  (an SQL expression, named like one)
    """True when the text is one or more digits and nothing else."""

    type = Boolean()
    inherit_cache = True
    name = "digits_only"


@compiles(digits_only)
def _digits_only_sqlite(element: digits_only, compiler: Any, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"({text} <> '' AND {text} NOT GLOB '*[^0-9]*')"


@compiles(digits_only, "postgresql")
def _digits_only_postgresql(element: digits_only, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} ~ '^[0-9]+$')"


def valid_email(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """Something@something.tld, one @, no spaces (NULL for no address: not valid)."""
    email = func.trim(column)
    return and_(
        email.like("%_@_%._%"),
        ~email.like("%@%@%"),
        ~email.like("% %"),
        func.length(email) <= 254,
    )


def phone_digits(column: ColumnElement[Any]) -> ColumnElement[Any]:
    stripped = column
    for separator in (" ", "-", "(", ")", ".", "+"):
        stripped = func.replace(stripped, separator, "")
    return stripped


def valid_phone(column: ColumnElement[Any]) -> ColumnElement[bool]:
    """10 digits, or 11 starting with 1, once spaces, dashes, dots, brackets and + are gone
    (the numbers :func:`jobs.comms.sms.normalise_phone` accepts)."""
    digits = phone_digits(column)
    return and_(
        digits_only(digits),
        or_(func.length(digits) == 10, and_(func.length(digits) == 11, digits.like("1%"))),
    )
