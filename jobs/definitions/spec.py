"""A definition's fields, declared once, and the rules every saved definition keeps.

:class:`DefinitionSpec` and :class:`StepSpec` are what a form, a YAML file and the store
exchange. :func:`check` normalises a spec and collects one message per field path
(``"steps[1].next_failure": "No step named 'Mail'"``); :func:`validate` raises them together
as :class:`InvalidDefinition`. Rules that look at other definitions (unique names, one
campaign and one file-in definition, dependencies and their cycles) read them from the
``others`` given, so the store and the YAML import (a whole file at once) share them.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from jobs.definitions import graph
from jobs.errors import InvalidInput
from jobs.models import DefinitionTrigger
from jobs.people.profile import check_email

NAME_MAX = 120
STEP_NAME_MAX = 80
DESCRIPTION_MAX = 500
INBOX_MAX = 500
STEPS_MAX = 50
TRIGGERS = (DefinitionTrigger.SCHEDULED, DefinitionTrigger.CAMPAIGN, DefinitionTrigger.FILE_IN)
#: Triggers of which there may be one definition only (seed 001: one Campaign, one FTPin).
SINGLE_TRIGGERS = (DefinitionTrigger.CAMPAIGN, DefinitionTrigger.FILE_IN)
_TRIGGER_WORDS = {DefinitionTrigger.CAMPAIGN: "campaign", DefinitionTrigger.FILE_IN: "file-in"}


@dataclass(frozen=True)
class FieldInfo:
    """A field as a form shows it: name (the attribute), label, and a help sentence."""

    name: str
    label: str
    help: str = ""


@dataclass
class StepSpec:
    """One step: what it does (``kind``, ``settings``) and where the run goes next.

    ``next_success`` / ``next_failure``: another step's name, or empty for the end of the run.
    """

    name: str
    kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    next_success: str = ""
    next_failure: str = ""

    FIELDS = (
        FieldInfo("name", "Name", "Unique within the definition"),
        FieldInfo("kind", "Type", "report, bulk_action, email or copy"),
        FieldInfo("settings", "Settings", "What the step type needs"),
        FieldInfo("next_success", "Next success step", "The step after success; empty: end"),
        FieldInfo("next_failure", "Next failure step", "The step after failure; empty: end"),
    )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "settings": dict(self.settings),
            "next_success": self.next_success,
            "next_failure": self.next_failure,
        }


@dataclass
class DefinitionSpec:
    """Everything a person defines about a definition (not its state: suspended, due times).

    ``owner`` is a username (the runs act as them; empty: the person saving it);
    ``depends_on`` names the prerequisite definitions.
    """

    name: str
    trigger: str
    description: str = ""
    schedule: str | None = None
    schedule_options: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    inbox: str | None = None
    enabled: bool = True
    owner: str = ""
    success_recipients: list[str] = field(default_factory=list)
    failure_recipients: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    steps: list[StepSpec] = field(default_factory=list)

    FIELDS = (
        FieldInfo("name", "Name", f"Unique; at most {NAME_MAX} characters"),
        FieldInfo("description", "Description"),
        FieldInfo("trigger", "Trigger type", "Scheduled, Campaign (end of campaign) or FTPin"),
        FieldInfo("schedule", "Schedule", "hourly, end_of_day, weekly, monthly or cron"),
        FieldInfo("schedule_options", "Schedule options", 'e.g. at "18:00", weekday, day'),
        FieldInfo("timezone", "Time zone", "IANA name, e.g. Europe/London"),
        FieldInfo("inbox", "Inbox folder", "FTPin only: the folder watched for files"),
        FieldInfo("enabled", "Enabled"),
        FieldInfo("owner", "Owner", "The user the runs act as"),
        FieldInfo("success_recipients", "Success recipients", "Told when a run ends Ok"),
        FieldInfo("failure_recipients", "Failure recipients", "Told when a run ends in Error"),
        FieldInfo("depends_on", "Depends on", "Definitions that must run first, same day"),
        FieldInfo("steps", "Steps"),
    )

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain data, in field order (the YAML form, the history's diffs)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["schedule_options"] = dict(self.schedule_options)
        for key in ("success_recipients", "failure_recipients", "depends_on"):
            data[key] = list(data[key])
        data["steps"] = [s.as_dict() for s in self.steps]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DefinitionSpec:
        """A spec from plain data (a YAML document); shapes are checked later by
        :func:`check`, unknown keys here.

        Raises:
          InvalidDefinition: for unknown keys or a step that is not a mapping.
        """
        errors: dict[str, str] = {}
        known = {f.name for f in dataclasses.fields(cls)}
        for key in data:
            if key not in known:
                errors[str(key)] = f"Unknown field {key!r}; a definition has: {', '.join(known)}"
        steps: list[StepSpec] = []
        raw_steps = data.get("steps") or []
        if not isinstance(raw_steps, list):
            errors["steps"] = "Steps must be a list"
            raw_steps = []
        step_known = {f.name for f in dataclasses.fields(StepSpec)}
        for i, raw in enumerate(raw_steps):
            if not isinstance(raw, Mapping):
                errors[f"steps[{i}]"] = "A step must have a name, a kind and settings"
                continue
            for key in raw:
                if key not in step_known:
                    errors[f"steps[{i}].{key}"] = (
                        f"Unknown field {key!r}; a step has: {', '.join(step_known)}"
                    )
            steps.append(
                StepSpec(
                    name=raw.get("name"),  # type: ignore[arg-type]
                    kind=raw.get("kind"),  # type: ignore[arg-type]
                    settings=raw.get("settings") or {},
                    next_success=raw.get("next_success") or "",
                    next_failure=raw.get("next_failure") or "",
                )
            )
        if errors:
            raise InvalidDefinition(errors, name=_text(data.get("name")) or None)
        values = {"name": "", "trigger": "", **{k: v for k, v in data.items() if k != "steps"}}
        return cls(**values, steps=steps)


@dataclass(frozen=True)
class OtherDefinition:
    """Another definition, as the rules between definitions need it.

    ``key``: its id (a negative number for one not saved yet, in an import).
    """

    key: int
    name: str
    trigger: str
    prerequisites: tuple[int, ...] = ()


class InvalidDefinition(InvalidInput):
    """A definition breaks one or more rules; nothing was written.

    Attributes:
      errors: field path → message, in the order of the fields.
      name: the definition's name, when it has one.
    """

    def __init__(self, errors: Mapping[str, str], name: str | None = None) -> None:
        self.errors = dict(errors)
        self.name = name
        first = next(iter(self.errors), None)
        lines = [f"{path}: {message}" for path, message in self.errors.items()]
        who = f"Definition {name!r}: " if name else ""
        super().__init__(who + "; ".join(lines), field=first)


def validate(
    spec: DefinitionSpec,
    *,
    others: Iterable[OtherDefinition],
    users: Collection[str],
    key: int | None = None,
    default_owner: str = "",
    session: Session | None = None,
) -> DefinitionSpec:
    """The spec normalised, or every problem at once.

    Raises:
      InvalidDefinition: one message per field path.
    """
    normal, errors = check(
        spec, others=others, users=users, key=key, default_owner=default_owner, session=session
    )
    if errors:
        raise InvalidDefinition(errors, name=normal.name or None)
    return normal


def check(
    spec: DefinitionSpec,
    *,
    others: Iterable[OtherDefinition],
    users: Collection[str],
    key: int | None = None,
    default_owner: str = "",
    session: Session | None = None,
) -> tuple[DefinitionSpec, dict[str, str]]:
    """Normalise ``spec`` and list what is wrong with it.

    Parameters:
      others: every other definition (not this one), for the rules between definitions.
      users: the usernames that may own a definition (active users).
      key: this definition's id (or its import key) when it exists, for dependency cycles.
      default_owner: the owner when the spec names none (the person saving it).
      session: handed to the step types' ``check`` for choices read from the database.

    Returns:
      (normalised spec, {field path: message}); the spec is only meaningful without errors.
    """
    others = [o for o in others if key is None or o.key != key]
    errors: dict[str, str] = {}
    name = _clean_name(spec.name, NAME_MAX, "name", "The definition", errors)
    if name.isdigit():
        errors["name"] = "A definition's name cannot be only a number (ids are numbers)"
    elif name:
        for other in others:
            if other.name.casefold() == name.casefold():
                errors["name"] = f"There is already a definition called {other.name!r}"
    description = _text(spec.description)
    if not isinstance(spec.description, str | None):
        errors["description"] = "The description must be text"
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = (
            f"The description is {len(description):,} characters long; "
            f"the limit is {DESCRIPTION_MAX}"
        )
    trigger = _trigger(spec.trigger, errors)
    timezone = _timezone(spec.timezone, errors)
    options = spec.schedule_options if spec.schedule_options is not None else {}
    if not isinstance(options, Mapping):
        errors["schedule_options"] = "Schedule options are names with values, e.g. at: '18:00'"
        options = {}
    options = dict(options)
    schedule = _text(spec.schedule) or None
    inbox = _text(spec.inbox) or None
    if trigger == DefinitionTrigger.SCHEDULED:
        if schedule is None:
            errors["schedule"] = (
                "A scheduled definition needs a schedule: hourly, end_of_day, weekly, "
                "monthly or a cron expression"
            )
        elif timezone and "timezone" not in errors:
            _check_schedule(schedule, options, timezone, errors)
    elif trigger:
        label = DefinitionTrigger.LABELS[trigger]
        if schedule is not None:
            errors["schedule"] = f"A {label} definition has no schedule; leave it empty"
        if options:
            errors["schedule_options"] = f"A {label} definition has no schedule options"
    if trigger == DefinitionTrigger.FILE_IN:
        if inbox is None:
            errors["inbox"] = "An FTPin definition needs the inbox folder it watches"
        elif len(inbox) > INBOX_MAX:
            errors["inbox"] = f"The inbox folder is longer than {INBOX_MAX} characters"
        elif _inside_imports_inbox(inbox):
            errors["inbox"] = (
                f"{inbox} is the imports' file-in folder (CSV files dropped there are imported "
                "as tasks); give this definition a folder of its own"
            )
    elif inbox is not None and trigger:
        errors["inbox"] = "Only an FTPin definition watches an inbox folder; leave it empty"
    if trigger in SINGLE_TRIGGERS:
        first = next((o for o in others if o.trigger == trigger), None)
        if first is not None:
            words = _TRIGGER_WORDS[trigger]
            errors["trigger"] = (
                f"There can be only one {words} definition, and {first.name!r} is it; "
                f"change that one, or give this one another trigger"
            )
    enabled = spec.enabled
    if not isinstance(enabled, bool):
        errors["enabled"] = "Enabled is true or false"
        enabled = bool(enabled)
    owner = _text(spec.owner) or default_owner
    if not owner:
        errors["owner"] = "Name the user the runs act as"
    elif owner not in users:
        errors["owner"] = f"There is no active user called {owner!r}"
    success = _recipients(spec.success_recipients, "success_recipients", errors)
    failure = _recipients(spec.failure_recipients, "failure_recipients", errors)
    depends_on = _dependencies(spec.depends_on, name, key, others, errors)
    steps = _steps(spec.steps, errors, session)
    normal = DefinitionSpec(
        name=name,
        trigger=trigger,
        description=description,
        schedule=schedule,
        schedule_options=options,
        timezone=timezone,
        inbox=inbox,
        enabled=enabled,
        owner=owner,
        success_recipients=success,
        failure_recipients=failure,
        depends_on=depends_on,
        steps=steps,
    )
    return normal, errors


# -- the definition's own fields ---------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _clean_name(value: Any, limit: int, path: str, what: str, errors: dict[str, str]) -> str:
    if value is not None and not isinstance(value, str | int):
        errors[path] = f"{what}'s name must be text"
        return ""
    name = " ".join(str(value or "").split())
    if not name:
        errors[path] = f"Give {what.lower()} a name"
    elif len(name) > limit:
        errors[path] = f"The name is {len(name)} characters long; the limit is {limit}"
    return name


def trigger_of(value: Any) -> str:
    """The trigger ``value`` names (``scheduled``, ``Campaign``, ``FTPin``…), or ""."""
    text = _text(value).casefold()
    for trigger in TRIGGERS:
        if text in (trigger, DefinitionTrigger.LABELS[trigger].casefold()):
            return trigger
    return ""


def _trigger(value: Any, errors: dict[str, str]) -> str:
    found = trigger_of(value)
    if found:
        return found
    text = _text(value)
    words = ", ".join(f"{t} ({DefinitionTrigger.LABELS[t]})" for t in TRIGGERS)
    errors["trigger"] = (
        f"Unknown trigger {value!r}; expected one of: {words}"
        if text
        else f"Choose a trigger: {words}"
    )
    return ""


def _timezone(value: Any, errors: dict[str, str]) -> str:
    name = _text(value) or _default_timezone()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = f"Unknown time zone {name!r}; use an IANA name such as Europe/London"
    return name


def _inside_imports_inbox(folder: str) -> bool:
    """Whether ``folder`` is (inside) the imports' own inbox, which must stay apart."""
    from pathlib import Path

    from jobs.imports import storage

    mine = Path(folder).expanduser().resolve()
    theirs = storage.inbox().expanduser().resolve()
    return mine == theirs or theirs in mine.parents


def _default_timezone() -> str:
    """The configured time zone (``BULKDESK_TIMEZONE``), else UTC."""
    from jobs import runtime

    return getattr(runtime.settings(), "timezone", "") or "UTC"


def _check_schedule(
    schedule: str, options: dict[str, Any], timezone: str, errors: dict[str, str]
) -> None:
    from jobs.scheduler import schedules

    try:
        schedules.check(schedule, options, timezone)
    except InvalidInput as error:
        where = error.field or "schedule"
        if where not in ("schedule", "timezone") and not where.startswith("schedule_options"):
            where = f"schedule_options.{where}"
        errors[where] = str(error)


def _recipients(value: Any, path: str, errors: dict[str, str]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        items = value.replace(";", ",").split(",")
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        errors[path] = "Recipients are email addresses, a list or separated by commas"
        return []
    found: list[str] = []
    for item in items:
        if not isinstance(item, str):
            errors[path] = f"{item!r} is not an email address"
            continue
        try:
            address = check_email(item)
        except InvalidInput as error:
            errors.setdefault(path, str(error))
            continue
        if address and address.casefold() not in {a.casefold() for a in found}:
            found.append(address)
    return found


def _dependencies(
    value: Any,
    name: str,
    key: int | None,
    others: list[OtherDefinition],
    errors: dict[str, str],
) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        errors["depends_on"] = "Depends on is a list of definition names"
        return []
    by_name = {o.name: o for o in others}
    names: list[str] = []
    for i, raw in enumerate(value):
        path = f"depends_on[{i}]"
        wanted = " ".join(str(raw or "").split())
        if not wanted:
            errors[path] = "Name the definition this one depends on"
        elif name and wanted.casefold() == name.casefold():
            errors[path] = "A definition cannot depend on itself"
        elif wanted not in by_name:
            errors[path] = f"There is no definition called {wanted!r}"
        elif wanted in names:
            errors[path] = f"{wanted!r} is named twice"
        else:
            names.append(wanted)
    cycle = graph.dependency_cycle(names, name, key, others)
    if cycle:
        errors.setdefault(
            "depends_on",
            "Dependencies would go round in a circle: "
            + " → ".join(cycle)
            + "; each would wait for the other for ever",
        )
    return names


# -- steps and their graph ---------------------------------------------------------------


def _steps(value: Any, errors: dict[str, str], session: Session | None) -> list[StepSpec]:
    if not isinstance(value, list | tuple) or not value:
        errors["steps"] = "A definition needs at least one step"
        return []
    if len(value) > STEPS_MAX:
        errors["steps"] = f"A definition has at most {STEPS_MAX} steps; this one has {len(value)}"
    steps: list[StepSpec] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(value):
        step = raw if isinstance(raw, StepSpec) else None
        if step is None:
            errors[f"steps[{i}]"] = "A step must have a name, a kind and settings"
            continue
        path = f"steps[{i}]"
        name = _clean_name(step.name, STEP_NAME_MAX, f"{path}.name", "The step", errors)
        if name:
            if name.casefold() in seen:
                errors[f"{path}.name"] = (
                    f"Step names are unique; step {seen[name.casefold()] + 1} is called "
                    f"{name!r} too"
                )
            seen[name.casefold()] = i
        kind, settings = _step_settings(step, path, errors, session)
        steps.append(
            StepSpec(
                name=name,
                kind=kind,
                settings=settings,
                next_success=" ".join(_text(step.next_success).split()),
                next_failure=" ".join(_text(step.next_failure).split()),
            )
        )
    if len(steps) == len(value):
        graph.check_steps(steps, errors)
    return steps


def _step_settings(
    step: StepSpec, path: str, errors: dict[str, str], session: Session | None
) -> tuple[str, dict[str, Any]]:
    from jobs.definitions import steps as step_types

    kind = _text(step.kind)
    settings = step.settings if step.settings is not None else {}
    try:
        step_type = step_types.get(kind)
    except InvalidInput as error:
        errors[f"{path}.kind"] = str(error) if kind else "Choose the step's type"
        return kind, dict(settings) if isinstance(settings, Mapping) else {}
    try:
        checked = _call_check(step_type, settings, session)
    except InvalidInput as error:
        where = f"{path}.settings.{error.field}" if error.field else f"{path}.settings"
        errors[where] = str(error)
        return kind, dict(settings) if isinstance(settings, Mapping) else {}
    return kind, checked


def _call_check(step_type: Any, settings: Any, session: Session | None) -> dict[str, Any]:
    """``check(settings)``, handing over the session where the type takes one."""
    if session is not None and "session" in inspect.signature(step_type.check).parameters:
        return step_type.check(settings, session=session)
    return step_type.check(settings)
