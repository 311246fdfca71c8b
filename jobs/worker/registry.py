"""Which actor takes which kind of work, and how work is sent to it without importing it.

The actors (``jobs.worker.actors``) declare the kind they take with ``resends=…`` under the
names below. The reaper finds them by that option; the service wakes them by name
(:func:`wake`), so nothing below the worker's entry module imports the actors.
"""

from __future__ import annotations

from collections.abc import Iterable

from dramatiq import Actor, Broker, Message

#: The one queue Bulkdesk's actors listen on.
QUEUE = "bulkdesk"

#: The actor that takes each kind of work: ``jobs.worker.actors`` declares each one under
#: this name with ``resends=<kind>``.
ACTOR_NAMES = {
    "job": "start_job",
    "chunk": "run_chunk",
    "delivery": "deliver",
    # A job definition's run (jobs.definitions.runner), never sent to start_job.
    "run": "run_definition",
}

#: The kinds of work an actor can declare with ``resends=…``.
KINDS = tuple(ACTOR_NAMES)


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


def wake(broker: Broker, kind: str, ids: Iterable[int]) -> int:
    """Send each id to the actor named for ``kind`` (:data:`ACTOR_NAMES`), by name: this
    process need not have imported the actors (a worker elsewhere runs them); returns how
    many were sent.

    Raises:
      KeyError: for a kind no actor is named for.
    """
    name = ACTOR_NAMES[kind]
    sent = 0
    for one in ids:
        broker.enqueue(
            Message(queue_name=QUEUE, actor_name=name, args=(one,), kwargs={}, options={})
        )
        sent += 1
    return sent
