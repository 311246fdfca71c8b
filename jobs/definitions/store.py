"""Saving definitions: create, edit (refused from an older copy), enable, disable, suspend,
resume; each change is one ``definition_changes`` row saying who changed what.

Every function works in the caller's write session (``Database.write()``), so a change and
its history commit together. Specs are validated here (:func:`jobs.definitions.spec.validate`)
whoever calls: the service, the YAML import, the demo seed. Permissions are the caller's.

When a scheduled definition is saved or enabled, its ``next_due_at`` is computed by the
scheduler's :func:`jobs.scheduler.schedules.next_due` from now (``jobs.clock``); a disabled or
unscheduled definition has none.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from jobs import clock
from jobs.definitions.spec import (
    DefinitionSpec,
    InvalidDefinition,
    OtherDefinition,
    StepSpec,
    validate,
)
from jobs.errors import ActionNotAllowed, InvalidInput, NotFound
from jobs.models import (
    Definition,
    DefinitionChange,
    DefinitionDependency,
    DefinitionStep,
    DefinitionTrigger,
    User,
    utcnow,
)

CREATED = "created"
EDITED = "edited"
IMPORTED = "imported"
ENABLED = "enabled"
DISABLED = "disabled"
SUSPENDED = "suspended"
RESUMED = "resumed"
RUN_NOW = "run_now"
REASON_MAX = 500

_MAX_ID = 2**31 - 1


# -- reading --------------------------------------------------------------------------


def find(session: Session, id_or_name: int | str, *, lock: bool = False) -> Definition:
    """The definition with this id (a number) or this name.

    Raises:
      NotFound: naming what was asked for.
    """
    text = str(id_or_name).strip()
    query = select(Definition)
    if isinstance(id_or_name, int) or text.isdigit():
        number = int(text)
        if not 1 <= number <= _MAX_ID:
            raise NotFound(f"Definition {id_or_name} does not exist")
        query = query.where(Definition.id == number)
    else:
        query = query.where(Definition.name == " ".join(text.split()))
    if lock:
        query = query.with_for_update()
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"There is no definition called {text!r}")
    return found


def spec_of(session: Session, definition: Definition) -> DefinitionSpec:
    """What a person defined, as a spec (the form's and the YAML's content)."""
    return specs_of(session, [definition])[definition.id]


def specs_of(session: Session, definitions: list[Definition]) -> dict[int, DefinitionSpec]:
    """:func:`spec_of` for many definitions, in three queries whatever their number."""
    ids = [d.id for d in definitions]
    steps: dict[int, list[StepSpec]] = {i: [] for i in ids}
    for s in session.scalars(
        select(DefinitionStep)
        .where(DefinitionStep.definition_id.in_(ids))
        .order_by(DefinitionStep.definition_id, DefinitionStep.position)
    ):
        steps[s.definition_id].append(
            StepSpec(
                name=s.name,
                kind=s.kind,
                settings=dict(s.settings or {}),
                next_success=s.next_success or "",
                next_failure=s.next_failure or "",
            )
        )
    depends_on: dict[int, list[str]] = {i: [] for i in ids}
    for definition_id, name in session.execute(
        select(DefinitionDependency.definition_id, Definition.name)
        .join(Definition, DefinitionDependency.prerequisite_id == Definition.id)
        .where(DefinitionDependency.definition_id.in_(ids))
        .order_by(Definition.name)
    ):
        depends_on[definition_id].append(name)
    owners = dict(
        session.execute(
            select(User.id, User.username).where(User.id.in_({d.owner_id for d in definitions}))
        ).all()
    )
    return {
        d.id: DefinitionSpec(
            name=d.name,
            trigger=d.trigger,
            description=d.description or "",
            schedule=d.schedule,
            schedule_options=dict(d.schedule_options or {}),
            timezone=d.timezone,
            inbox=d.inbox,
            enabled=d.enabled,
            owner=owners.get(d.owner_id, ""),
            success_recipients=_split(d.success_recipients),
            failure_recipients=_split(d.failure_recipients),
            depends_on=depends_on[d.id],
            steps=steps[d.id],
        )
        for d in definitions
    }


def others(session: Session) -> list[OtherDefinition]:
    """Every saved definition as the rules between definitions see it (two queries)."""
    prerequisites: dict[int, list[int]] = {}
    for definition_id, prerequisite_id in session.execute(
        select(DefinitionDependency.definition_id, DefinitionDependency.prerequisite_id)
    ):
        prerequisites.setdefault(definition_id, []).append(prerequisite_id)
    return [
        OtherDefinition(key=i, name=n, trigger=t, prerequisites=tuple(prerequisites.get(i, ())))
        for i, n, t in session.execute(select(Definition.id, Definition.name, Definition.trigger))
    ]


def usernames(session: Session) -> set[str]:
    """The users who may own a definition (active ones)."""
    return set(session.scalars(select(User.username).where(User.active.is_(True))))


# -- writing --------------------------------------------------------------------------


def create(
    session: Session,
    spec: DefinitionSpec,
    *,
    actor_id: int | None,
    default_owner: str = "",
    action: str = CREATED,
) -> Definition:
    """Save a new definition and its history row.

    Raises:
      InvalidDefinition: every rule it breaks; nothing is written.
    """
    spec = validate(
        spec,
        others=others(session),
        users=usernames(session),
        default_owner=default_owner,
        session=session,
    )
    now = utcnow()
    definition = Definition(
        name=spec.name, trigger=spec.trigger, owner_id=0, created_at=now, updated_at=now
    )
    _apply_fields(session, definition, spec)
    if spec.enabled:
        definition.enabled_at = clock.now()
    session.add(definition)
    _flush(session, spec)
    _write_steps(session, definition.id, spec)
    _set_next_due(definition)
    summary = "Created" if action == CREATED else "Created by import"
    record(session, definition.id, actor_id, action, summary, diff(None, spec.as_dict()))
    return definition


def update(
    session: Session,
    definition: Definition,
    spec: DefinitionSpec,
    *,
    actor_id: int | None,
    version: int | None,
    action: str = EDITED,
) -> dict[str, list[Any]]:
    """Save a new content for ``definition``; ``version`` is the one the change was made
    from (None: whatever it is now, as an import does).

    Returns:
      What changed, ``{field: [before, after]}``; empty: nothing changed, nothing written.

    Raises:
      ActionNotAllowed: the definition changed since ``version`` (naming who and when).
      InvalidDefinition: every rule it breaks; nothing is written.
    """
    if version is not None and version != definition.version:
        raise ActionNotAllowed(_changed_since(session, definition, version))
    before = spec_of(session, definition)
    spec = validate(
        spec,
        others=others(session),
        users=usernames(session),
        key=definition.id,
        default_owner=before.owner,
        session=session,
    )
    changes = diff(before.as_dict(), spec.as_dict())
    if not changes:
        return {}
    expected = definition.version
    _apply_fields(session, definition, spec)
    if spec.enabled and not before.enabled:
        definition.enabled_at = clock.now()
    _flush(session, spec)
    _bump(session, definition, expected)
    _write_steps(session, definition.id, spec)
    if set(changes) & {"trigger", "schedule", "schedule_options", "timezone", "enabled"}:
        _set_next_due(definition)
    record(session, definition.id, actor_id, action, _summary(action, changes), changes)
    return changes


def set_enabled(
    session: Session,
    definition: Definition,
    enabled: bool,
    *,
    actor_id: int | None,
    version: int | None = None,
) -> None:
    """Enable (its schedule counts from now) or disable a definition.

    Raises:
      ActionNotAllowed: it is already so, or it changed since ``version``.
    """
    word = "enabled" if enabled else "disabled"
    if version is not None and version != definition.version:
        raise ActionNotAllowed(_changed_since(session, definition, version))
    if definition.enabled == enabled:
        raise ActionNotAllowed(f"Definition {definition.name!r} is already {word}")
    expected = definition.version
    definition.enabled = enabled
    definition.updated_at = utcnow()
    details: dict[str, list[Any]] = {"enabled": [not enabled, enabled]}
    if enabled:
        details["enabled_at"] = [_iso(definition.enabled_at), _iso(clock.now())]
        definition.enabled_at = clock.now()
    _bump(session, definition, expected)
    before_due = definition.next_due_at
    _set_next_due(definition)
    if before_due != definition.next_due_at:
        details["next_due_at"] = [_iso(before_due), _iso(definition.next_due_at)]
    record(
        session, definition.id, actor_id, ENABLED if enabled else DISABLED, word.title(), details
    )


def suspend(session: Session, definition: Definition, reason: str, *, actor_id: int) -> None:
    """Hold back the definition's runs: due runs are recorded Suspended and do not run.

    Raises:
      InvalidInput: (field ``reason``) no reason. ActionNotAllowed: already suspended.
    """
    text = _reason(reason, required=True)
    if definition.suspended_at is not None:
        raise ActionNotAllowed(
            f"Definition {definition.name!r} is already suspended since "
            f"{_iso(definition.suspended_at)}: {definition.suspended_reason}"
        )
    expected = definition.version
    definition.suspended_at = utcnow()
    definition.suspended_by_id = actor_id
    definition.suspended_reason = text
    definition.updated_at = definition.suspended_at
    _bump(session, definition, expected)
    record(
        session,
        definition.id,
        actor_id,
        SUSPENDED,
        f"Suspended: {text}",
        {"suspended": [False, True], "reason": [None, text]},
    )


def resume(session: Session, definition: Definition, reason: str = "", *, actor_id: int) -> None:
    """Let a suspended definition's runs run again (from its next due time on).

    Raises:
      ActionNotAllowed: it is not suspended.
    """
    text = _reason(reason, required=False)
    if definition.suspended_at is None:
        raise ActionNotAllowed(f"Definition {definition.name!r} is not suspended")
    before = definition.suspended_reason
    expected = definition.version
    definition.suspended_at = None
    definition.suspended_by_id = None
    definition.suspended_reason = None
    definition.updated_at = utcnow()
    _bump(session, definition, expected)
    record(
        session,
        definition.id,
        actor_id,
        RESUMED,
        f"Resumed: {text}" if text else "Resumed",
        {"suspended": [True, False], "reason": [before, text or None]},
    )


def record(
    session: Session,
    definition_id: int,
    actor_id: int | None,
    action: str,
    summary: str,
    details: dict[str, Any],
) -> None:
    """One row of the definition's history."""
    session.execute(
        insert(DefinitionChange).values(
            definition_id=definition_id,
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            summary=summary,
            details=details,
        )
    )


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    """What changed between two ``DefinitionSpec.as_dict()``, ``{field: [before, after]}``.

    Steps are compared by name: ``steps[Mail]`` for a step added (``[None, step]``) or
    removed (``[step, None]``), ``steps[Mail].settings`` for one of its fields, and
    ``steps (order)`` when the same steps come in another order. ``before`` None (a new
    definition) lists the fields that are not empty.
    """
    changes: dict[str, list[Any]] = {}
    old = before or {}
    for key, value in after.items():
        if key == "steps":
            continue
        was = old.get(key)
        if before is None and value in (None, "", [], {}):
            continue
        if was != value:
            changes[key] = [was, value]
    old_steps = {s["name"]: s for s in old.get("steps", [])}
    new_steps = {s["name"]: s for s in after.get("steps", [])}
    for name, step in new_steps.items():
        was_step = old_steps.get(name)
        if was_step is None:
            changes[f"steps[{name}]"] = [None, step]
            continue
        for key in ("kind", "settings", "next_success", "next_failure"):
            if was_step[key] != step[key]:
                changes[f"steps[{name}].{key}"] = [was_step[key], step[key]]
    for name, was_step in old_steps.items():
        if name not in new_steps:
            changes[f"steps[{name}]"] = [was_step, None]
    kept_before = [n for n in old_steps if n in new_steps]
    kept_after = [n for n in new_steps if n in old_steps]
    if kept_before != kept_after:
        changes["steps (order)"] = [kept_before, kept_after]
    return changes


# -- helpers ----------------------------------------------------------------------------


def _apply_fields(session: Session, definition: Definition, spec: DefinitionSpec) -> None:
    owner_id = session.scalar(select(User.id).where(User.username == spec.owner))
    definition.name = spec.name
    definition.description = spec.description
    definition.trigger = spec.trigger
    definition.schedule = spec.schedule
    definition.schedule_options = dict(spec.schedule_options)
    definition.timezone = spec.timezone
    definition.inbox = spec.inbox
    definition.enabled = spec.enabled
    definition.owner_id = owner_id  # type: ignore[assignment]
    definition.success_recipients = ", ".join(spec.success_recipients)
    definition.failure_recipients = ", ".join(spec.failure_recipients)
    definition.updated_at = utcnow()


def _write_steps(session: Session, definition_id: int, spec: DefinitionSpec) -> None:
    """Replace the steps and dependencies (runs keep their step names in ``run_steps``)."""
    session.execute(delete(DefinitionStep).where(DefinitionStep.definition_id == definition_id))
    session.execute(
        insert(DefinitionStep),
        [
            {
                "definition_id": definition_id,
                "position": i,
                "name": s.name,
                "kind": s.kind,
                "settings": s.settings,
                "next_success": s.next_success or None,
                "next_failure": s.next_failure or None,
            }
            for i, s in enumerate(spec.steps)
        ],
    )
    session.execute(
        delete(DefinitionDependency).where(DefinitionDependency.definition_id == definition_id)
    )
    if spec.depends_on:
        ids = session.execute(
            select(Definition.id).where(Definition.name.in_(spec.depends_on))
        ).scalars()
        session.execute(
            insert(DefinitionDependency),
            [{"definition_id": definition_id, "prerequisite_id": i} for i in ids],
        )


def _bump(session: Session, definition: Definition, expected: int) -> None:
    """Write the new version only over the one read: a concurrent edit makes this fail."""
    session.flush()
    done = session.execute(
        sql_update(Definition)
        .where(Definition.id == definition.id, Definition.version == expected)
        .values(version=expected + 1)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ActionNotAllowed(
            f"Definition {definition.name!r} was changed by someone else at the same moment; "
            "reload it and make your change again"
        )
    definition.version = expected + 1


def _flush(session: Session, spec: DefinitionSpec) -> None:
    """Flush, turning the database's own guards into the rules' messages."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        text = str(error.orig).lower()
        if "trigger" in text:
            words = "campaign" if spec.trigger == DefinitionTrigger.CAMPAIGN else "file-in"
            raise InvalidDefinition(
                {"trigger": f"There can be only one {words} definition; another was just saved"},
                name=spec.name,
            ) from None
        if "name" in text:
            raise InvalidDefinition(
                {"name": f"There is already a definition called {spec.name!r}"}, name=spec.name
            ) from None
        raise


def _set_next_due(definition: Definition) -> None:
    definition.next_due_at = None
    if not definition.enabled or definition.trigger != DefinitionTrigger.SCHEDULED:
        return
    if importlib.util.find_spec("jobs.scheduler.schedules") is None:
        return
    from jobs.scheduler import schedules

    definition.next_due_at = schedules.next_due(definition, clock.now())


def _changed_since(session: Session, definition: Definition, version: int) -> str:
    last = session.execute(
        select(DefinitionChange.at, User.display_name)
        .outerjoin(User, User.id == DefinitionChange.actor_id)
        .where(DefinitionChange.definition_id == definition.id)
        .order_by(DefinitionChange.at.desc(), DefinitionChange.id.desc())
        .limit(1)
    ).first()
    who = f" by {last[1] or 'the system'} at {last[0]:%Y-%m-%d %H:%M} UTC" if last else ""
    return (
        f"Definition {definition.name!r} was changed{who} since you opened it "
        f"(version {definition.version}, yours {version}); reload it and make your change again"
    )


def _summary(action: str, changes: dict[str, list[Any]]) -> str:
    fields = ", ".join(changes)
    verb = "Imported" if action == IMPORTED else "Edited"
    return f"{verb}: {fields}"


def _reason(reason: str | None, *, required: bool) -> str:
    text = " ".join((reason or "").split())
    if required and not text:
        raise InvalidInput("Say why, so others know (the reason is kept)", field="reason")
    if len(text) > REASON_MAX:
        raise InvalidInput(
            f"The reason is {len(text)} characters long; the limit is {REASON_MAX}",
            field="reason",
        )
    return text


def _split(text: str | None) -> list[str]:
    return [a.strip() for a in (text or "").split(",") if a.strip()]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None
