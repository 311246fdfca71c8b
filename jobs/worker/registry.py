"""Which actor takes which kind of work: found by the actors' ``resends`` option, so that the
middleware sends work without importing the actors (nor naming them)."""

from __future__ import annotations

from collections.abc import Iterable

from dramatiq import Actor, Broker

#: The kinds of work an actor can declare with ``resends=…``.
KINDS = ("job", "chunk", "delivery")


def actor_for(broker: Broker, kind: str) -> Actor | None:
    """The actor declared on ``broker`` with ``resends=kind``, if any."""
    for name in broker.get_declared_actors():
        actor = broker.get_actor(name)
        if actor.options.get("resends") == kind:
            return actor
    return None


def send(broker: Broker, kind: str, ids: Iterable[int]) -> int:
    """Send each id to the actor for ``kind``; returns how many were sent.

    Raises:
      LookupError: when ids are given and no declared actor takes that kind.
    """
    ids = list(ids)
    if not ids:
        return 0
    actor = actor_for(broker, kind)
    if actor is None:
        raise LookupError(f"No actor on this broker takes {kind!r} work")
    for one in ids:
        actor.send(one)
    return len(ids)
