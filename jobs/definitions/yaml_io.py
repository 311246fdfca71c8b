"""Definitions as YAML, for version control: export, and an import that checks the whole
file before it writes anything.

The file is one mapping, ``definitions:``, a list of definitions with every field of
:class:`jobs.definitions.spec.DefinitionSpec` in its declared order. Exporting, importing and
exporting again gives the same text. An import creates the definitions it does not know and
updates those it knows by name (their history says "imported"); one that would not change is
left alone. Any problem anywhere — YAML syntax, an unknown field, a rule broken, two
definitions of one name — refuses the whole file with every message, each naming the
definition, the field and its line. ``dry_run`` says what would be created and changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from jobs.definitions import store
from jobs.definitions.spec import (
    SINGLE_TRIGGERS,
    DefinitionSpec,
    InvalidDefinition,
    OtherDefinition,
    check,
    trigger_of,
)
from jobs.errors import InvalidInput
from jobs.models import Definition

FILE_MAX = 5_000_000


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an imported file."""

    definition: str | None
    field: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.definition:
            where.append(f"definition {self.definition!r}")
        if self.field:
            where.append(self.field)
        return (", ".join(where) + ": " if where else "") + self.message


class InvalidDefinitionFile(InvalidInput):
    """The file was refused whole; ``problems`` lists every reason. Nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        count = "1 problem" if len(problems) == 1 else f"{len(problems)} problems"
        super().__init__(f"Nothing was imported; {count}: {shown}{more}", field="file")


@dataclass(frozen=True)
class ImportResult:
    """What an import did (or, ``dry_run``, would do); ``changes`` per updated or created
    name: ``{field: [before, after]}``."""

    dry_run: bool
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    changes: dict[str, dict[str, list[Any]]] = field(default_factory=dict)


# -- export -----------------------------------------------------------------------------


def export(session: Session, names: list[str] | None = None) -> str:
    """The named definitions (default all), by name, as YAML.

    Raises:
      NotFound: a name that is no definition.
    """
    if names:
        found = [store.find(session, n) for n in dict.fromkeys(n.strip() for n in names)]
        found.sort(key=lambda d: d.name)
    else:
        found = list(session.scalars(select(Definition).order_by(Definition.name)))
    specs = store.specs_of(session, found)
    return dump([specs[d.id] for d in found])


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """Text of several lines (an email's message) as a ``|`` block, as a person writes it."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def dump(specs: list[DefinitionSpec]) -> str:
    return yaml.dump(
        {"definitions": [s.as_dict() for s in specs]},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


# -- import -----------------------------------------------------------------------------


def parse(
    text: str,
) -> tuple[list[tuple[dict[str, Any], dict[tuple[Any, ...], int]]], list[Problem]]:
    """The file's definitions as plain data, each with its field paths' line numbers.

    Returns:
      ([(data, {path: line}), …], problems with the file's shape).
    """
    if len(text) > FILE_MAX:
        return [], [Problem(None, None, None, f"The file is larger than {FILE_MAX:,} bytes")]
    try:
        node, data = _load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(error, "problem", None) or str(error)
        return [], [Problem(None, None, line, f"This is not valid YAML: {what}")]
    lines: dict[tuple[Any, ...], int] = {}
    items_node = None
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines[(key.value,)] = key.start_mark.line + 1
            if key.value == "definitions":
                items_node = value
    if not isinstance(data, dict) or "definitions" not in data:
        return [], [Problem(None, None, 1, "Expected a mapping with a list called 'definitions'")]
    extra = [k for k in data if k != "definitions"]
    problems = [
        Problem(None, str(k), lines.get((k,)), "Unknown key; the file has only 'definitions'")
        for k in extra
    ]
    items = data["definitions"] or []
    if not isinstance(items, list):
        return [], [Problem(None, "definitions", lines.get(("definitions",)), "Expected a list")]
    found = []
    item_nodes = items_node.value if isinstance(items_node, yaml.SequenceNode) else []
    for item, item_node in zip(items, item_nodes, strict=False):
        here: dict[tuple[Any, ...], int] = {}
        _walk(item_node, (), here)
        if not isinstance(item, dict):
            problems.append(
                Problem(None, None, here.get(()), "Each definition is a mapping of its fields")
            )
            continue
        found.append((item, here))
    return found, problems


def plan(
    session: Session, text: str, *, default_owner: str = ""
) -> tuple[list[tuple[DefinitionSpec, Definition | None]], list[Problem]]:
    """Check a whole file against the saved definitions and itself.

    Returns:
      ([(normalised spec, the saved definition it updates or None)], problems).
    """
    documents, problems = parse(text)
    saved = {d.name: d for d in session.scalars(select(Definition))}
    saved_specs = store.specs_of(session, list(saved.values()))
    existing = store.others(session)
    users = store.usernames(session)
    specs: list[tuple[DefinitionSpec, dict[tuple[Any, ...], int]]] = []
    for data, lines in documents:
        try:
            specs.append((DefinitionSpec.from_dict(data), lines))
        except InvalidDefinition as error:
            problems += _problems(error.errors, error.name, lines)
    # The rules between definitions see the file as it would be saved: a name in the file
    # replaces the saved one; new names get keys below zero.
    keys: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, (spec, lines) in enumerate(specs):
        name = " ".join(str(spec.name or "").split())
        if name in seen:
            problems.append(
                Problem(name, "name", lines.get(("name",)), "The file defines this name twice")
            )
        seen[name] = i
        keys[name] = saved[name].id if name in saved else -(i + 1)
    in_file = {n for n in keys}
    others = [o for o in existing if o.name not in in_file]
    by_name_key = {o.name: o.key for o in existing} | keys
    for spec, _ in specs:
        name = " ".join(str(spec.name or "").split())
        prerequisites = tuple(by_name_key[d] for d in _names(spec.depends_on) if d in by_name_key)
        others.append(
            OtherDefinition(
                key=keys[name],
                name=name,
                trigger=trigger_of(spec.trigger),
                prerequisites=prerequisites,
            )
        )
    result: list[tuple[DefinitionSpec, Definition | None]] = []
    for spec, lines in specs:
        name = " ".join(str(spec.name or "").split())
        current = saved.get(name)
        owner = saved_specs[current.id].owner if current is not None else default_owner
        normal, errors = check(
            spec,
            others=others,
            users=users,
            key=keys[name],
            default_owner=owner,
            session=session,
        )
        if errors:
            problems += _problems(errors, name or None, lines)
        result.append((normal, current))
    return result, problems


def import_file(
    session: Session, text: str, *, actor_id: int, default_owner: str, dry_run: bool
) -> ImportResult:
    """Import a YAML file whole in the caller's write session (or only say what it would do).

    Raises:
      InvalidDefinitionFile: every problem; nothing written.
    """
    planned, problems = plan(session, text, default_owner=default_owner)
    if problems:
        raise InvalidDefinitionFile(problems)
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    changes: dict[str, dict[str, list[Any]]] = {}
    before = store.specs_of(session, [c for _, c in planned if c is not None])
    for spec, current in planned:
        if current is None:
            created.append(spec.name)
            changes[spec.name] = store.diff(None, spec.as_dict())
            continue
        change = store.diff(before[current.id].as_dict(), spec.as_dict())
        (updated if change else unchanged).append(spec.name)
        if change:
            changes[spec.name] = change
    result = ImportResult(
        dry_run=dry_run, created=created, updated=updated, unchanged=unchanged, changes=changes
    )
    if dry_run:
        return result
    _apply(session, planned, actor_id)
    return result


def _apply(
    session: Session, planned: list[tuple[DefinitionSpec, Definition | None]], actor_id: int
) -> None:
    """Save a checked file: saved definitions that need nothing new first (those leaving the
    campaign or file-in trigger before the others), then the new ones, each after the new
    ones it depends on, then the saved ones that depend on new ones. One history row each."""
    new = {spec.name: spec for spec, current in planned if current is None}
    first = [(s, c) for s, c in planned if c is not None and not set(s.depends_on) & set(new)]
    last = [(s, c) for s, c in planned if c is not None and set(s.depends_on) & set(new)]
    first.sort(key=lambda sc: sc[0].trigger in SINGLE_TRIGGERS)
    for spec, current in first:
        store.update(session, current, spec, actor_id=actor_id, version=None, action=store.IMPORTED)
    done: set[str] = set()

    def create(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for prerequisite in new[name].depends_on:
            if prerequisite in new:
                create(prerequisite)
        store.create(session, new[name], actor_id=actor_id, action=store.IMPORTED)

    for name in new:
        create(name)
    for spec, current in last:
        store.update(session, current, spec, actor_id=actor_id, version=None, action=store.IMPORTED)


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        return []
    return [" ".join(str(v or "").split()) for v in value]


def _problems(
    errors: dict[str, str], name: str | None, lines: dict[tuple[Any, ...], int]
) -> list[Problem]:
    return [Problem(name, path, _line(path, lines), message) for path, message in errors.items()]


def _line(path: str, lines: dict[tuple[Any, ...], int]) -> int | None:
    """The line of a field path such as ``steps[1].settings.recipients`` (or of the nearest
    enclosing field that is in the file)."""
    parts: list[Any] = []
    for piece in path.replace("]", "").split("."):
        head, _, index = piece.partition("[")
        parts.append(head)
        if index:
            parts.append(int(index) if index.isdigit() else index)
    while parts:
        if tuple(parts) in lines:
            return lines[tuple(parts)]
        parts.pop()
    return lines.get(())


def _load(text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data, parsed once (by libyaml
    where it is installed: about ten times faster)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def _walk(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            lines[(*path, name)] = key.start_mark.line + 1
            _walk(value, (*path, name), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines)
