"""The scheduler lease: one holder at a time, renewed by it, taken over once it expires."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete

from jobs.models import SchedulerLease
from jobs.scheduler import lease


@pytest.fixture(autouse=True)
def no_lease(db):
    """The PostgreSQL database is shared by the session's tests: start with no lease."""
    with db.write_conn() as conn:
        conn.execute(delete(SchedulerLease))


def test_the_first_process_takes_the_lease_and_a_second_is_refused_while_it_lives(db):
    assert lease.hold(db, "a", ttl=30)
    assert not lease.hold(db, "b", ttl=30)
    assert lease.hold(db, "a", ttl=30)  # renewed by its holder
    found = lease.state(db)
    assert found is not None and found.holder == "a" and found.live()


def test_an_expired_lease_is_taken_over_by_another_process(db):
    # Given a holder that stops renewing (it died)
    assert lease.hold(db, "dead", ttl=0.2)
    assert not lease.hold(db, "b", ttl=5)
    time.sleep(0.3)
    # Then the next process to ask takes it, and the dead one cannot come back
    assert lease.hold(db, "b", ttl=5)
    assert not lease.hold(db, "dead", ttl=5)
    assert lease.state(db).holder == "b"


def test_a_released_lease_is_taken_at_once(db):
    assert lease.hold(db, "a", ttl=30)
    lease.release(db, "a")
    assert lease.hold(db, "b", ttl=30)


def test_many_threads_racing_for_the_lease_give_one_holder(db):
    # Given 8 would-be schedulers asking at the same moment, several times
    winners: list[list[str]] = [[] for _ in range(5)]
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        for round_ in range(5):
            barrier.wait()
            if lease.hold(db, name, ttl=30):
                winners[round_].append(name)

    threads = [threading.Thread(target=contend, args=(f"p{n}",)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Then each round exactly one holds it, always the same one
    assert all(len(w) == 1 for w in winners)
    assert len({w[0] for w in winners}) == 1
