"""The naive design the bulk throughput benchmark compares against: one message per account.

Each message carries one account id; the actor logs the interaction on that one account in its
own transaction (the same row, with the same locked/closed rule, as the bulk job writes). It is
declared on the process's Bulkdesk broker, so ``dramatiq jobs.worker.actors benchmarks.naive_actor``
worker processes pick it up next to the real actors, on the same queue and database.

Never use this pattern in Bulkdesk: SPEC §4 says "never one message per item"; this module
exists only to measure why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dramatiq
from sqlalchemy import insert, literal, not_, select

from jobs import runtime
from jobs.actions.add_interaction import CLOSED_STATUSES
from jobs.models import Account, Interaction, utcnow
from jobs.worker import actors as _actors  # noqa: F401  (sets the broker up from the environment)
from jobs.worker import broker as _broker

ACTOR_NAME = "bench_naive_add_interaction"


@dramatiq.actor(
    actor_name=ACTOR_NAME,
    queue_name=_broker.QUEUE,
    max_retries=3,
    min_backoff=500,
    max_backoff=5_000,
)
def naive_add_interaction(account_id: int, parameters: dict[str, Any], user_id: int) -> None:
    """Log one interaction on one account, in one transaction (one message = one item)."""
    when = dt.date.fromisoformat(parameters["interaction_date"])
    row = select(
        Account.id,
        literal(parameters["interaction_type"]),
        literal(parameters["outcome"]),
        literal(parameters["note"]),
        literal(when),
        literal(user_id),
        literal(utcnow(), Interaction.__table__.c.created_at.type),
    ).where(Account.id == account_id, not_(Account.locked), Account.status.not_in(CLOSED_STATUSES))
    with runtime.database().write_conn() as conn:
        conn.execute(
            insert(Interaction).from_select(
                [
                    "account_id",
                    "type",
                    "outcome",
                    "note",
                    "interaction_date",
                    "created_by_id",
                    "created_at",
                ],
                row,
            )
        )


def bind(broker: dramatiq.Broker) -> None:
    """Declare the naive actor on ``broker`` (the benchmark's in-process StubBroker)."""
    naive_add_interaction.broker = broker
    broker.declare_actor(naive_add_interaction)
