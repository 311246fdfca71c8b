"""The two graphs a definition must keep sound: its steps (next success / next failure) and
the dependencies between definitions. Refused when a definition is saved: a next step that
names no step, a loop (a run would never end), a step no path reaches, a dependency cycle
(each run would wait for the other for ever)."""

from __future__ import annotations

from typing import Any, Protocol


class StepSpec(Protocol):
    """A step as these rules read it (``jobs.definitions.spec.StepSpec``)."""

    name: str
    kind: str
    settings: dict[str, Any]
    next_success: str
    next_failure: str


class OtherDefinition(Protocol):
    """Another definition as these rules read it (``jobs.definitions.spec.OtherDefinition``)."""

    key: int
    name: str
    prerequisites: tuple[int, ...]


def dependency_cycle(
    names: list[str], name: str, key: int | None, others: list[OtherDefinition]
) -> list[str] | None:
    """The path back to this definition through its prerequisites, if there is one."""
    if key is None:
        return None  # a new definition: nothing depends on it yet
    by_key = {o.key: o for o in others}
    start = [o for o in others if o.name in names]
    seen: set[int] = set()

    def walk(other: OtherDefinition, path: list[str]) -> list[str] | None:
        if other.key in seen:
            return None
        seen.add(other.key)
        for k in other.prerequisites:
            if k == key:
                return [*path, other.name, name]
            nxt = by_key.get(k)
            if nxt is not None:
                found = walk(nxt, [*path, other.name])
                if found:
                    return found
        return None

    for other in start:
        found = walk(other, [name])
        if found:
            return found
    return None


#: Settings that name another step of the definition, whose output the step uses (the
#: step types cannot check them: they do not see the other steps).
_STEP_REFERENCES = {"email": "attach", "copy": "source"}


def check_steps(steps: list[StepSpec], errors: dict[str, str]) -> None:
    """Next steps name steps; no loops; every step reachable from the first."""
    index = {s.name: i for i, s in enumerate(steps) if s.name}
    edges: dict[int, list[tuple[int, str]]] = {i: [] for i in range(len(steps))}
    for i, step in enumerate(steps):
        for attr in ("next_success", "next_failure"):
            target = getattr(step, attr)
            if not target:
                continue
            if target not in index:
                errors[f"steps[{i}].{attr}"] = (
                    f"No step named {target!r}; name a step of this definition, or leave it "
                    "empty to end the run"
                )
            else:
                edges[i].append((index[target], attr))
    for i, step in enumerate(steps):
        key = _STEP_REFERENCES.get(step.kind)
        target = step.settings.get(key) if key else None
        if isinstance(target, str) and target and target.casefold() != "none":
            if target not in index:
                errors[f"steps[{i}].settings.{key}"] = f"No step named {target!r}"
            elif target == step.name:
                errors[f"steps[{i}].settings.{key}"] = "A step cannot use its own output"
    if any(k.startswith("steps[") for k in errors):
        return
    loop = _find_loop(steps, edges)
    if loop is not None:
        where, path = loop
        errors[where] = (
            "The steps go round in a loop: " + " → ".join(path) + "; a run would never end"
        )
        return
    reached = {0}
    todo = [0]
    while todo:
        for target, _ in edges[todo.pop()]:
            if target not in reached:
                reached.add(target)
                todo.append(target)
    for i, step in enumerate(steps):
        if i not in reached:
            errors[f"steps[{i}].name"] = (
                f"Step {step.name!r} is never reached: no step leads to it from the first "
                f"step {steps[0].name!r}"
            )


def _find_loop(
    steps: list[StepSpec], edges: dict[int, list[tuple[int, str]]]
) -> tuple[str, list[str]] | None:
    """(field path of the edge that closes a loop, the loop's step names) or None."""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    path: list[int] = []

    def visit(i: int) -> tuple[str, list[str]] | None:
        state[i] = 1
        path.append(i)
        for target, attr in edges[i]:
            if state.get(target) == 1:
                names = [steps[j].name for j in path[path.index(target) :]] + [steps[target].name]
                return f"steps[{i}].{attr}", names
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[i] = 2
        return None

    for i in range(len(steps)):
        if i not in state:
            found = visit(i)
            if found:
                return found
    return None
