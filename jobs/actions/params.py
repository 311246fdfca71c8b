"""A bulk action's parameters, declared once as a typed dataclass.

Each field is declared with :func:`param` (label, help, choices, limits, CLI flag). From that
one declaration come the service's validation (:func:`parse`), the CLI's options
(``jobs.cli.submit``) and the launch form's widgets (``apps.launch``)::

    @dataclass(frozen=True)
    class Params:
        to: str = param(label="New status", choices=active_statuses, cli="to")
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from jobs.errors import InvalidInput

#: Choices are fixed, or read from the database when the form or the validation needs them.
Choices = Sequence[str] | Callable[[Session], Sequence[str]]

_KEY = "bulkdesk"
#: ``default=TODAY``: the date of the day the job is submitted.
TODAY = "today"


@dataclass(frozen=True)
class Field:
    """One declared parameter, as the form, the CLI and the validation see it."""

    name: str
    type: type
    label: str
    help: str = ""
    default: Any = None
    choices: Choices | None = None
    max_length: int | None = None
    multiline: bool = False
    required: bool = True
    #: The CLI flag without dashes (``to`` for ``--to``); default the name with dashes.
    cli: str | None = None
    #: Values a form offers to pick from without the field being limited to them (the
    #: collectors an allocation names); ``widget`` names a form widget for such a field.
    suggestions: Choices | None = None
    widget: str | None = None

    @property
    def flag(self) -> str:
        return "--" + (self.cli or self.name.replace("_", "-"))

    def options(self, session: Session) -> list[str]:
        """The choices now (empty for a free field)."""
        return _now(self.choices, session)

    def suggested(self, session: Session) -> list[str]:
        """What a form offers to pick from (empty when nothing is suggested)."""
        return _now(self.suggestions, session)

    def initial(self) -> Any:
        """The value a fresh form shows."""
        return dt.date.today() if self.default == TODAY else self.default


def _now(choices: Choices | None, session: Session) -> list[str]:
    if choices is None:
        return []
    return list(choices(session) if callable(choices) else choices)


def param(
    *,
    label: str,
    help: str = "",
    default: Any = None,
    choices: Choices | None = None,
    max_length: int | None = None,
    multiline: bool = False,
    required: bool = True,
    cli: str | None = None,
    suggestions: Choices | None = None,
    widget: str | None = None,
) -> Any:
    """Declare a parameter of a bulk action (a dataclass field with its description)."""
    spec = {
        "label": label,
        "help": help,
        "default": default,
        "choices": choices,
        "max_length": max_length,
        "multiline": multiline,
        "required": required,
        "cli": cli,
        "suggestions": suggestions,
        "widget": widget,
    }
    return dataclasses.field(default=None, metadata={_KEY: spec})


def fields_of(params_type: type) -> list[Field]:
    """The declared fields of a parameters dataclass, in declaration order."""
    hints = typing.get_type_hints(params_type)
    found = []
    for f in dataclasses.fields(params_type):
        kind = hints[f.name]
        base = next((a for a in typing.get_args(kind) if a is not type(None)), kind)
        found.append(Field(name=f.name, type=base, **f.metadata[_KEY]))
    return found


def parse(params_type: type, raw: dict[str, Any], session: Session) -> Any:
    """Check submitted values against the declaration and build the parameters.

    Unknown names are refused, missing ones take their default, text is stripped, choices
    must be one of the current choices, dates are ISO dates.

    Raises:
      InvalidInput: naming the field and what is wrong, in its label's words.
    """
    declared = fields_of(params_type)
    unknown = sorted(set(raw) - {f.name for f in declared})
    if unknown:
        raise InvalidInput(f"Unknown parameter: {', '.join(unknown)}", field=unknown[0])
    values = {f.name: _value(f, raw.get(f.name), session) for f in declared}
    return params_type(**values)


def _value(f: Field, value: Any, session: Session) -> Any:
    if value is None or (isinstance(value, str) and not value.strip() and f.type is not str):
        value = f.initial()
    if f.type is dt.date:
        return _date(f, value)
    if f.type is int:
        return whole_number(f, value)
    text = clean_text(f, value)
    options = f.options(session)
    if options and text not in options:
        raise InvalidInput(f"Choose {_article(f.label)} ({', '.join(options)})", field=f.name)
    if f.required and not text:
        raise InvalidInput(f"{f.label} is needed", field=f.name)
    return text


def whole_number(f: Field, value: Any) -> int:
    """``value`` as the whole number field ``f`` holds.

    Raises:
      InvalidInput: (the field's name) naming the value.
    """
    if isinstance(value, bool):
        raise InvalidInput(f"{f.label}: {value!r} is not a whole number", field=f.name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{f.label}: {value!r} is not a whole number", field=f.name) from None


def clean_text(f: Field, value: Any) -> str:
    """``value`` as the text field ``f`` holds: trimmed (unless multi-line), within its limit.

    Raises:
      InvalidInput: (the field's name) not text, or too long, saying by how much.
    """
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{f.label} must be text", field=f.name)
    text = value if f.multiline else value.strip()
    if f.max_length is not None and len(text) > f.max_length:
        raise InvalidInput(
            f"{f.label} is {len(text):,} characters long; the limit is {f.max_length:,}",
            field=f.name,
        )
    return text


def _date(f: Field, value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(
            f"{f.label}: {value!r} is not a date (use YYYY-MM-DD)", field=f.name
        ) from None


def _article(label: str) -> str:
    label = label[0].lower() + label[1:]
    return ("an " if label[0] in "aeiou" else "a ") + label


def dump(params: Any) -> dict[str, Any]:
    """The parameters as stored on the job (JSON: dates as ISO text)."""
    return {
        k: v.isoformat() if isinstance(v, dt.date) else v
        for k, v in dataclasses.asdict(params).items()
    }


def load(params_type: type, stored: dict[str, Any]) -> Any:
    """The parameters stored on a job, typed again (no validation: they were checked)."""
    values = {}
    for f in fields_of(params_type):
        value = stored.get(f.name, f.default)
        if f.type is dt.date and isinstance(value, str):
            value = dt.date.fromisoformat(value)
        values[f.name] = value
    return params_type(**values)
