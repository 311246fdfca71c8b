"""What every step type of a job definition provides, and what a step is given and returns.

A step type (report, bulk action, email, copy) is one stateless object in
``jobs.definitions.steps.STEP_TYPES``:

- ``check(settings)``: the settings normalised (defaults filled in, text stripped, lists
  made lists), or :class:`~jobs.errors.InvalidInput` naming the setting (``field``) in a
  sentence; the definitions store calls it when a definition is saved;
- ``describe(settings)``: one line for the Steps tab ("Billing report, all clients, the
  business day");
- ``fields()``: the settings' declaration (:class:`jobs.actions.params.Field`, as bulk actions
  declare their parameters), which the dashboard's step form is built from;
- ``run(ctx)``: do the step for one run and say how it went (:class:`StepOutcome`).

``run`` works in its own short transactions. A step with an outside effect (an email, a
file copied elsewhere) writes it to the outbox (``jobs.outbound.outbox``) and returns the
deliveries' ids: they are committed when ``run`` returns, and the caller wakes the
``deliver`` actor with them (``jobs.worker.actors.send_deliveries``) — as the engine's
``start``/``process_chunk`` return deliveries for their actor to send. A delivery nobody
woke is sent by a worker's reaper a few seconds later all the same.
"""

from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.orm import Session

from jobs.actions.params import Field, clean_text, fields_of, param, whole_number
from jobs.errors import InvalidInput

if TYPE_CHECKING:
    from jobs.config import Settings
    from jobs.db import Database
    from jobs.reports.queries import JobSummary
    from jobs.sources import Source


class JobService(Protocol):
    """What a step needs of ``jobs.service.JobService`` (a bulk-action step submits a job
    through it). A protocol, so that the step types do not import the service back."""

    def account_selection(self, **options: Any) -> Source: ...

    def submit(
        self,
        actor: Any,
        action: str,
        source: Source,
        parameters: dict[str, Any],
        description: str,
        *,
        parent: tuple[int, str] | None = None,
    ) -> JobSummary: ...


__all__ = [
    "DeclaredStep",
    "Field",
    "StepContext",
    "StepOutcome",
    "StepType",
    "param",
    "parse_settings",
]


@dataclass(frozen=True, kw_only=True)
class StepContext:
    """Everything a step of one run may use.

    Parameters:
      db: the database (``ctx.db.read()`` / ``ctx.db.write()`` for short transactions).
      service: the service API; a bulk-action step submits through it as the owner.
      job_id: the run's job (``definition_runs.job_id``).
      definition_id, definition_name: the definition that runs.
      owner_id: the definition's owner, whom the run acts as.
      step_name: this step's name in the definition.
      settings: this step's settings, as ``check`` normalised them when the definition was
        saved (``run`` checks them again: a definition may be older than a rule).
      run_dir: the run's folder for files (``var/runs/<job_id>/``); created when needed.
      business_day: the due time's date in the definition's time zone.
      due_at: the due time (UTC).
      timezone: the definition's IANA time zone.
      app_settings: the process's settings (SMTP, outbox folder, delivery attempts).
      input_file: the arriving file of a file-in run, or None.
      outputs: the output of each earlier step of this run, by step name.
      last_output: the newest output of an earlier step (a file path or URL), or None.
    """

    db: Database
    service: JobService
    job_id: int
    definition_id: int
    definition_name: str
    owner_id: int
    step_name: str
    settings: dict[str, Any]
    run_dir: Path
    business_day: dt.date
    due_at: dt.datetime
    timezone: str = "UTC"
    app_settings: Settings | None = None
    input_file: str | None = None
    outputs: dict[str, str | None] = field(default_factory=dict)
    last_output: str | None = None

    @property
    def config(self) -> Settings:
        """The app settings given, or the process's."""
        if self.app_settings is not None:
            return self.app_settings
        from jobs import runtime

        return runtime.settings()


@dataclass(frozen=True)
class StepOutcome:
    """How a step went.

    Parameters:
      ok: it did what it should (so far: see ``wait_for_job`` and ``deliveries``).
      message: a sentence for the run's step history ("1,204 rows written to …").
      output: the file it produced or delivered to (a path or an fsspec URL), or None.
      wait_for_job: a bulk-action step's job: the step ends when that job ends
        (Completed / Completed with exceptions: ok; Failed / Stopped / Skipped: failed).
      deliveries: outbox deliveries the step waits for (all Sent: ok; any Failed: failed
        with its ``last_error``).
    """

    ok: bool
    message: str
    output: str | None = None
    wait_for_job: int | None = None
    deliveries: list[int] = field(default_factory=list)

    @classmethod
    def failed(cls, message: str) -> StepOutcome:
        return cls(ok=False, message=message)


class StepType(Protocol):
    """The contract of a step type (see the module's docstring)."""

    kind: str
    label: str

    def check(self, settings: dict[str, Any]) -> dict[str, Any]: ...

    def describe(self, settings: dict[str, Any]) -> str: ...

    def fields(self) -> list[Field]: ...

    def run(self, ctx: StepContext) -> StepOutcome: ...


class DeclaredStep:
    """A step type whose settings are a dataclass declared with :func:`param` (``Settings``).

    Subclasses give ``kind``, ``label``, ``Settings``, ``describe`` and ``run``, and may add
    rules beyond the declaration in :meth:`validate`.
    """

    kind: ClassVar[str]
    label: ClassVar[str]
    Settings: ClassVar[type]

    def fields(self) -> list[Field]:
        return fields_of(self.Settings)

    def check(self, settings: dict[str, Any], session: Session | None = None) -> dict[str, Any]:
        """The settings normalised, or InvalidInput naming the setting.

        ``session``: for choices read from the database; by default one of the process's
        database is opened when a choice needs it.
        """
        values = parse_settings(self.Settings, settings, session=session)
        return self.validate(values, session) or values

    def validate(self, values: dict[str, Any], session: Session | None) -> dict[str, Any] | None:
        """Rules beyond the declaration; may return the values changed further."""
        return None


# -- parsing declared settings ----------------------------------------------------------

_SPLIT = re.compile(r"[,;\n]")


def parse_settings(
    settings_type: type, raw: Any, *, session: Session | None = None
) -> dict[str, Any]:
    """Check settings against their declaration and return them normalised (JSON-ready).

    Types: ``str`` (stripped unless multiline; ``max_length``; one of ``choices``),
    ``int``, ``bool``, ``list[str]`` (a list, or text separated by commas, semicolons or
    lines), ``dict`` (a mapping). Unknown names are refused; a missing one takes its default.

    Raises:
      InvalidInput: ``field`` is the setting's name; the message uses its label.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InvalidInput("A step's settings are names with values (a mapping)", field="settings")
    declared = fields_of(settings_type)
    unknown = sorted(set(raw) - {f.name for f in declared})
    if unknown:
        known = ", ".join(f.name for f in declared)
        raise InvalidInput(
            f"Unknown setting {unknown[0]!r}; this step knows: {known}", field=unknown[0]
        )
    with _lazy_session(session) as get_session:
        return {f.name: _value(f, raw.get(f.name), get_session) for f in declared}


@contextmanager
def _lazy_session(session: Session | None) -> Iterator[typing.Callable[[], Session]]:
    opened: list[Any] = []

    def get() -> Session:
        if session is not None:
            return session
        if not opened:
            from jobs import runtime

            manager = runtime.database().read()
            opened.append((manager, manager.__enter__()))
        return opened[0][1]

    try:
        yield get
    finally:
        for manager, _ in opened:
            manager.__exit__(None, None, None)


def _value(f: Field, value: Any, session: typing.Callable[[], Session]) -> Any:
    origin = typing.get_origin(f.type) or f.type
    if value is None or (isinstance(value, str) and not value.strip() and origin is not str):
        value = f.initial()
    if origin is list:
        return _list(f, value)
    if origin is dict:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise InvalidInput(f"{f.label} must be names with values", field=f.name)
        if f.required and not value:
            raise InvalidInput(f"{f.label} is needed", field=f.name)
        return dict(value)
    if origin is bool:
        if isinstance(value, str) and value.strip().lower() in (
            "yes",
            "true",
            "1",
            "no",
            "false",
            "0",
        ):
            return value.strip().lower() in ("yes", "true", "1")
        if value is None or isinstance(value, bool):
            return bool(value)
        raise InvalidInput(f"{f.label} is yes or no", field=f.name)
    if origin is int:
        if value is None and not f.required:
            return None
        return whole_number(f, value)
    text = clean_text(f, value)
    if f.choices is not None and (text or f.required):
        options = list(f.choices(session()) if callable(f.choices) else f.choices)
        if text not in options:
            raise InvalidInput(f"{f.label}: choose one of {', '.join(options)}", field=f.name)
    if f.required and not text:
        raise InvalidInput(f"{f.label} is needed", field=f.name)
    return text


def _list(f: Field, value: Any) -> list[str]:
    if value is None:
        items: list[Any] = []
    elif isinstance(value, str):
        items = _SPLIT.split(value)
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise InvalidInput(f"{f.label} must be a list", field=f.name)
    if any(not isinstance(item, str) for item in items):
        raise InvalidInput(f"{f.label} must be a list of text", field=f.name)
    cleaned = [item.strip() for item in items if item.strip()]
    if f.required and not cleaned:
        raise InvalidInput(f"{f.label} is needed", field=f.name)
    return cleaned


# -- what delivery steps share: the earlier output they deliver, and placeholders ----------

#: The placeholders of an email's subject and body and of a copied file's name.
PLACEHOLDERS = ("definition", "day", "file", "step")
_PLACEHOLDER = re.compile(r"\{(\w*)\}")


def check_placeholders(text: str, name: str, label: str) -> None:
    """Refuse a ``{word}`` that is no placeholder (a typo would reach the recipient).

    Raises:
      InvalidInput: field ``name``.
    """
    unknown = [p for p in _PLACEHOLDER.findall(text) if p not in PLACEHOLDERS]
    if unknown:
        raise InvalidInput(
            f"{label}: {{{unknown[0]}}} is no placeholder; use "
            + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
            field=name,
        )


def placeholder_values(ctx: StepContext, file: Path | None) -> dict[str, str]:
    return {
        "definition": ctx.definition_name,
        "day": ctx.business_day.isoformat(),
        "file": file.name if file else "no file",
        "step": ctx.step_name,
    }


def render(template: str, values: dict[str, str]) -> str:
    """Replace the known ``{placeholders}``; anything else is left as written."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def earlier_output(ctx: StepContext, step: str) -> Path:
    """The local file an earlier step of this run produced: step ``step``'s output, or with
    ``step`` empty the newest output that is a file here (in a file-in run, the arriving
    file when no step has written one).

    Raises:
      InvalidInput: (no field) there is none, it is not a local file, or it is gone.
    """
    if step:
        if step not in ctx.outputs:
            raise InvalidInput(f"Step “{step}” has not run in this run; there is no file to send")
        output = ctx.outputs[step]
        source = f"step “{step}”"
    else:
        # The newest file here: after report → copy, the copy's output is a remote URL,
        # and an email that follows still means the report.
        # A file-in run's arriving file comes first, then what its steps wrote.
        candidates = [ctx.input_file, *ctx.outputs.values(), ctx.last_output]
        local = [o for o in candidates if o and _is_local(o)]
        output = local[-1] if local else ctx.last_output
        source = "the last step with an output"
    if not output:
        raise InvalidInput(f"There is no file to send: {source} produced none")
    if "://" in output and not output.startswith("file://"):
        raise InvalidInput(
            f"The output of {source} is {output}, not a file here; send a report's file instead"
        )
    path = Path(output.removeprefix("file://"))
    if not path.is_file():
        raise InvalidInput(f"The file to send, {path}, does not exist")
    return path


def _is_local(output: str) -> bool:
    return "://" not in output or output.startswith("file://")
