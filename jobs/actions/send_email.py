"""Schedule Emails: every account with a valid email address gets an email from a template
on the send date; accounts without one are exceptions ("No valid email address").

Sent by SMTP after the chunk commits (``jobs.outbound.mail``), as text and as HTML in which
every value is escaped. See ``jobs.comms.action`` for the send date, the outbox and approval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlalchemy.sql.expression import FromClause

from jobs.actions.params import TODAY, param
from jobs.comms import store, templates
from jobs.comms.action import CommunicationAction, Message, valid_email


@dataclass(frozen=True)
class SendEmailParams:
    template: str = param(
        label="Email template",
        help="Its subject and text, with the debtor's values in place of {placeholders}",
        choices=store.email_names,
        cli="template",
    )
    send_date: dt.date = param(
        label="Send date",
        help="YYYY-MM-DD; the emails go out on this day (UTC), not before",
        default=TODAY,
        cli="send-date",
    )


class SendEmail(CommunicationAction):
    name = "send_email"
    label = "Schedule Emails"
    cli_name = "send-email"
    summary = (
        "Every account with a valid email address gets the template's email on the send "
        "date; accounts without one, closed and locked accounts become exceptions. Without "
        "the send permission the job waits for a supervisor's approval."
    )
    Params = SendEmailParams
    kind = store.EMAIL
    no_address = "No valid email address"

    def valid_address(self, account: FromClause) -> ColumnElement[bool]:
        return valid_email(account.c.email)

    def address(self, account: FromClause) -> ColumnElement[Any]:
        return func.trim(account.c.email)

    def render(self, row: Any, message: dict[str, Any], send_date: dt.date) -> Message:
        wanted = templates.used(message["subject"], message["body"])
        values = templates.values_for(row, send_date, wanted)
        return Message(
            file_number=row.file_number,
            debtor=row.debtor_name,
            to=row.address,
            subject=templates.render(message["subject"], values),
            text=templates.render(message["body"], values),
            extra={"html": templates.render(message["body"], values, as_html=True)},
        )

    def payload(self, message: Message) -> dict[str, Any]:
        return {
            "to": message.to,
            "subject": message.subject,
            "body": message.text,
            "html": templates.html_document(message.extra["html"]),
        }
