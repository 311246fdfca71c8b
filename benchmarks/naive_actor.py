"""The naive design the bulk throughput benchmark compares against: one message per account.

Each message carries one account id; the actor makes the change on that one account in its
own transaction, with the same locked/closed rule as the bulk job (closed statuses read from
``account_statuses`` in the same statement):

- ``bench_naive_add_interaction`` logs the interaction (the row the bulk job writes);
- ``bench_naive_change_status`` sets the account's status (skipping it when already there);
- ``bench_naive_assign`` gives the account a collector.

They are declared on the process's Bulkdesk broker, so ``dramatiq jobs.worker.actors
benchmarks.naive_actor`` worker processes pick them up next to the real actors, on the same
queue and database.

Never use this pattern in Bulkdesk: SPEC §4 says "never one message per item"; this module
exists only to measure why.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dramatiq
from sqlalchemy import ColumnElement, insert, literal, not_, select, update

from jobs import runtime
from jobs.models import Account, AccountStatus, Interaction, utcnow
from jobs.worker import actors as _actors  # noqa: F401  (sets the broker up from the environment)
from jobs.worker import broker as _broker

ACTOR_NAME = "bench_naive_add_interaction"
CHANGE_STATUS_ACTOR_NAME = "bench_naive_change_status"
OPTIONS = {"queue_name": _broker.QUEUE, "max_retries": 3, "min_backoff": 500, "max_backoff": 5_000}


def _workable(account_id: int) -> ColumnElement[bool]:
    """This account, if it is neither locked nor in a closed status."""
    closed = select(AccountStatus.name).where(AccountStatus.closed)
    return (Account.id == account_id) & not_(Account.locked) & Account.status.not_in(closed)


@dramatiq.actor(actor_name=ACTOR_NAME, **OPTIONS)
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
    ).where(_workable(account_id))
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


@dramatiq.actor(actor_name=CHANGE_STATUS_ACTOR_NAME, **OPTIONS)
def naive_change_status(account_id: int, to: str) -> None:
    """Set one account's status, in one transaction (one message = one item)."""
    with runtime.database().write_conn() as conn:
        conn.execute(
            update(Account).where(_workable(account_id), Account.status != to).values(status=to)
        )


ASSIGN_ACTOR_NAME = "bench_naive_assign"


@dramatiq.actor(actor_name=ASSIGN_ACTOR_NAME, **OPTIONS)
def naive_assign(account_id: int, collector_id: int) -> None:
    """Give one account a collector, in one transaction (one message = one item)."""
    with runtime.database().write_conn() as conn:
        conn.execute(update(Account).where(_workable(account_id)).values(collector_id=collector_id))


def bind(broker: dramatiq.Broker) -> None:
    """Declare the naive actors on ``broker`` (the benchmark's in-process StubBroker)."""
    for actor in (naive_add_interaction, naive_change_status, naive_assign):
        actor.broker = broker
        broker.declare_actor(actor)
