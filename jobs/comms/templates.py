"""Message templates: text with ``{placeholders}`` from a fixed list, rendered safely.

A template is text a person wrote, never code: the only thing it can do is name one of
:data:`PLACEHOLDERS` in braces (``Dear {debtor_name}``); ``{{`` and ``}}`` stand for braces.
Anything else in braces is refused when the template is saved or chosen, with a sentence
naming it and the placeholders there are. Rendering substitutes the account's values; the
HTML form of an email escapes the template's text and every value, so a debtor called
``<script>…`` reads as that text and runs nowhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jobs.errors import InvalidInput

#: Every placeholder a template may use, and what it stands for.
PLACEHOLDERS: dict[str, str] = {
    "debtor_name": "the debtor's full name",
    "first_name": "the debtor's first name",
    "last_name": "the debtor's last name",
    "file_number": "the account's file number",
    "account_last4": "the last four digits of the account number",
    "balance": "the current balance, e.g. $1,234.56",
    "client": "the client's name",
    "creditor": "the original creditor",
    "send_date": "the send date, e.g. December 3, 2026",
}

NAME_MAX = 128
SUBJECT_MAX = 200
EMAIL_BODY_MAX = 10_000
SMS_BODY_MAX = 480

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Piece:
    """Part of a parsed template: literal text, or a placeholder's name."""

    text: str
    placeholder: bool = False


@functools.lru_cache(maxsize=256)
def parse(text: str, where: str = "template") -> tuple[Piece, ...]:
    """Split a template into literal text and placeholders.

    Parameters:
      text: the template.
      where: what it is, for the message ("the subject", "the body").

    Raises:
      InvalidInput: for an unknown placeholder or a stray brace, naming it, where it is,
        and the placeholders there are.
    """
    pieces: list[Piece] = []
    at = 0
    for match in _TOKEN.finditer(text):
        if match.start() > at:
            pieces.append(Piece(text[at : match.start()]))
        token = match.group(0)
        if token in ("{{", "}}"):
            pieces.append(Piece(token[0]))
        elif token in ("{", "}"):
            raise InvalidInput(
                f"There is a lone “{token}” in {where} (character {match.start() + 1}); "
                f"write {token}{token} for a brace, or use a placeholder such as {{debtor_name}}"
            )
        else:
            name = match.group(1).strip()
            if name not in PLACEHOLDERS:
                raise InvalidInput(
                    f"{{{match.group(1)}}} in {where} is not a placeholder Bulkdesk knows; "
                    f"use one of {known_placeholders()}"
                )
            pieces.append(Piece(name, placeholder=True))
        at = match.end()
    if at < len(text):
        pieces.append(Piece(text[at:]))
    # Cached: a chunk renders the same template for thousands of accounts.
    return tuple(pieces)


def known_placeholders() -> str:
    return ", ".join(f"{{{name}}}" for name in PLACEHOLDERS)


def render(text: str, values: Mapping[str, str], *, as_html: bool = False) -> str:
    """The template with each placeholder replaced by its value.

    With ``as_html`` both the template's own text and the values are HTML-escaped (the
    template is text, not markup); line breaks become ``<br>``.
    """
    out = []
    for part, is_placeholder in _compiled(text, as_html):
        if is_placeholder:
            value = values.get(part, "")
            out.append(html.escape(value, quote=True) if as_html else value)
        else:
            out.append(part)
    return "".join(out)


def used(*texts: str) -> frozenset[str]:
    """The placeholders the templates use (so that only those values are computed)."""
    return frozenset(p.text for t in texts for p in parse(t) if p.placeholder)


@functools.lru_cache(maxsize=256)
def _compiled(text: str, as_html: bool) -> tuple[tuple[str, bool], ...]:
    """The template's pieces, its literal text already escaped (and line breaks made
    ``<br>``) for HTML: rendering then escapes only the values."""

    def literal(piece: str) -> str:
        return html.escape(piece, quote=True).replace("\n", "<br>\n") if as_html else piece

    return tuple((p.text, True) if p.placeholder else (literal(p.text), False) for p in parse(text))


def html_document(body_html: str) -> str:
    """A rendered body in a minimal HTML document (no scripts, styles or remote content)."""
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"></head>\n'
        f'<body style="font-family:sans-serif;line-height:1.4">\n{body_html}\n</body></html>\n'
    )


def values_for(
    row: Any, send_date: dt.date | None, wanted: frozenset[str] | None = None
) -> dict[str, str]:
    """The placeholders' values for one account row (debtor_name, account_number,
    current_balance, file_number, client, creditor); only those in ``wanted`` if given."""
    want = PLACEHOLDERS.keys() if wanted is None else wanted
    values: dict[str, str] = {}
    if want & {"debtor_name", "first_name", "last_name"}:
        name = " ".join(str(row.debtor_name or "").split())
        first, _, last = name.partition(" ")
        values.update(debtor_name=name, first_name=first, last_name=last or first)
    if "file_number" in want:
        values["file_number"] = str(row.file_number or "")
    if "account_last4" in want:
        values["account_last4"] = str(row.account_number or "")[-4:]
    if "balance" in want:
        values["balance"] = money(row.current_balance)
    if "client" in want:
        values["client"] = str(row.client or "")
    if "creditor" in want:
        values["creditor"] = str(row.creditor or "")
    if "send_date" in want:
        values["send_date"] = long_date(send_date) if send_date else ""
    return values


def money(value: Decimal | float | None) -> str:
    if value is None:
        return ""
    return f"${value if isinstance(value, Decimal) else Decimal(str(value)):,.2f}"


@functools.lru_cache(maxsize=64)
def long_date(day: dt.date) -> str:
    return f"{day.strftime('%B')} {day.day}, {day.year}"


def check_template(
    *, name: str, body: str, subject: str | None = None, sms: bool = False
) -> dict[str, str]:
    """Check a template a person is saving; return its cleaned fields.

    Raises:
      InvalidInput: naming the field (``name``, ``subject`` or ``body``) and what is wrong.
    """
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the template a name", field="name")
    if len(name) > NAME_MAX:
        raise InvalidInput(f"The name is longer than {NAME_MAX} characters", field="name")
    cleaned = {"name": name}
    if not sms:
        subject = " ".join((subject or "").split())
        if not subject:
            raise InvalidInput("An email template needs a subject", field="subject")
        if len(subject) > SUBJECT_MAX:
            raise InvalidInput(
                f"The subject is {len(subject)} characters long; the limit is {SUBJECT_MAX}",
                field="subject",
            )
        _checked(subject, "the subject", "subject")
        cleaned["subject"] = subject
    body = (body or "").strip()
    limit = SMS_BODY_MAX if sms else EMAIL_BODY_MAX
    if not body:
        raise InvalidInput("The message is empty", field="body")
    if len(body) > limit:
        raise InvalidInput(
            f"The message is {len(body):,} characters long; the limit is {limit:,}", field="body"
        )
    _checked(body, "the message", "body")
    cleaned["body"] = body
    return cleaned


def _checked(text: str, where: str, field: str) -> None:
    try:
        parse(text, where)
    except InvalidInput as error:
        raise InvalidInput(str(error), field=field) from None
