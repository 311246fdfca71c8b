"""Schedule Text Messages: every account with a valid phone number gets a text message from
a template on the send date; accounts without one are exceptions ("No valid phone number").

Sent through the SMS gateway after the chunk commits (``jobs.comms.sms``; by default one file
per message in an outbox folder). See ``jobs.comms.action`` for the send date and approval.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.sql.expression import FromClause

from jobs.actions.params import TODAY, param
from jobs.comms import sms, store, templates
from jobs.comms.action import CommunicationAction, Message, valid_phone


@dataclass(frozen=True)
class SendSmsParams:
    template: str = param(
        label="Text message template",
        help="Its text, with the debtor's values in place of {placeholders}",
        choices=store.sms_names,
        cli="template",
    )
    send_date: dt.date = param(
        label="Send date",
        help="YYYY-MM-DD; the messages go out on this day (UTC), not before",
        default=TODAY,
        cli="send-date",
    )


class SendSms(CommunicationAction):
    name = "send_sms"
    label = "Schedule Text Messages"
    cli_name = "send-sms"
    summary = (
        "Every account with a valid phone number gets the template's text message on the "
        "send date; accounts without one, closed and locked accounts become exceptions. "
        "Without the send permission the job waits for a supervisor's approval."
    )
    Params = SendSmsParams
    kind = store.SMS
    no_address = "No valid phone number"

    def valid_address(self, account: FromClause) -> ColumnElement[bool]:
        return valid_phone(account.c.phone)

    def address(self, account: FromClause) -> ColumnElement[Any]:
        return account.c.phone

    def render(self, row: Any, message: dict[str, Any], send_date: dt.date) -> Message:
        values = templates.values_for(row, send_date, templates.used(message["body"]))
        return Message(
            file_number=row.file_number,
            debtor=row.debtor_name,
            to=sms.normalise_phone(row.address) or row.address,
            subject="",
            text=templates.render(message["body"], values),
        )

    def payload(self, message: Message) -> dict[str, Any]:
        return {"to": message.to, "body": message.text}
