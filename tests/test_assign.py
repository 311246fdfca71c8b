"""Assign To Collector end to end: exact counts per collector, a seed that reproduces the
distribution, Credit Payments moving exactly the payments it should, Unassign, and clear
refusals of allocations that cannot be met."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import bindparam, select, text, update

from jobs.errors import InvalidInput
from jobs.models import Account, Collector, ItemOutcome, Job, JobItem, Payment
from tests.helpers import wait_for

POOL = "Big reassignment pool"


@pytest.fixture
def restore_assignments(db):
    """Put collectors and payment credit back (the PostgreSQL database is shared)."""
    with db.read() as s:
        accounts = [
            {"i": i, "c": c} for i, c in s.execute(select(Account.id, Account.collector_id))
        ]
        payments = [
            {"i": i, "c": c} for i, c in s.execute(select(Payment.id, Payment.collector_id))
        ]
    yield
    with db.write_conn() as conn:
        a, p = Account.__table__, Payment.__table__
        conn.execute(
            update(a).where(a.c.id == bindparam("i")).values(collector_id=bindparam("c")), accounts
        )
        conn.execute(
            update(p).where(p.c.id == bindparam("i")).values(collector_id=bindparam("c")), payments
        )


pytestmark = pytest.mark.usefixtures("restore_assignments")


def _pool(db) -> dict[int, dict]:
    with db.read() as s:
        rows = s.execute(
            text(
                "SELECT a.id, a.collector_id, a.locked, a.status FROM accounts a "
                "JOIN group_members m ON m.account_id = a.id JOIN groups g ON g.id = m.group_id "
                "WHERE g.name = :n"
            ),
            {"n": POOL},
        ).all()
    return {i: {"collector": c, "locked": bool(lk), "status": st} for i, c, lk, st in rows}


def _collector(db, name: str) -> int:
    with db.read() as s:
        return s.scalar(select(Collector.id).where(Collector.name == name))


def _assigned(db, job_id: int) -> dict[int, int | None]:
    """account id → collector id now, for the job's OK items."""
    with db.read() as s:
        return dict(
            s.execute(
                select(Account.id, Account.collector_id)
                .join(JobItem, JobItem.account_id == Account.id)
                .where(JobItem.job_id == job_id, JobItem.outcome == ItemOutcome.OK)
            ).all()
        )


def _workable(pool: dict[int, dict]) -> set[int]:
    return {i for i, a in pool.items() if not a["locked"] and a["status"] != "Closed"}


def test_assignment_counts_are_exact_and_the_seed_reproduces_the_distribution(
    db, service, stub_worker
):
    pool = _pool(db)
    workable = _workable(pool)
    assert len(workable) > 40
    maria, james = _collector(db, "Maria Gonzalez"), _collector(db, "James Carter")

    # When alice assigns 15 to Maria and 10 to James, out of the whole pool
    job = service.submit_to_accounts(
        "admin",
        "assign",
        description="Reassign the pool",
        group=POOL,
        assign_to="Maria Gonzalez = 15; James Carter = 10",
    )
    done = wait_for(service, "admin", job.id)

    # Then 25 items were chosen; the others are "not processed" with a message
    with db.read() as s:
        items = s.execute(
            select(JobItem.account_id, JobItem.outcome, JobItem.message, JobItem.payload).where(
                JobItem.job_id == job.id
            )
        ).all()
    chosen = [i for i in items if i.outcome != ItemOutcome.NOT_PROCESSED]
    assert len(chosen) == 25
    assert done.not_processed == len(pool) - 25
    left = {i.message for i in items if i.outcome == ItemOutcome.NOT_PROCESSED}
    assert left == {f"Not among the 25 accounts to assign ({len(pool)} selected)"}
    # And the workable chosen accounts went to the collector planned for them
    ok = [i for i in chosen if i.outcome == ItemOutcome.OK]
    now = _assigned(db, job.id)
    by_collector = Counter(now[i.account_id] for i in ok)
    planned = Counter(i.payload["after_id"] for i in ok)
    assert by_collector == planned
    exceptions = [i for i in chosen if i.outcome == ItemOutcome.EXCEPTION]
    assert {i.account_id for i in exceptions} <= set(pool) - workable
    assert done.ok + done.exceptions == 25
    # Each item keeps the collector before and after, by name and id
    with db.read() as s:
        names = dict(s.execute(select(Collector.id, Collector.name)).all())
    for i in ok:
        assert i.payload["before_id"] == pool[i.account_id]["collector"]
        assert i.payload["before"] == names.get(i.payload["before_id"], "Unassigned")
        assert i.payload["after"] in {"Maria Gonzalez", "James Carter"}
    # The planned counts are exact (exceptions included): 15 and 10
    with db.read() as s:
        stored = s.scalar(select(Job.plan).where(Job.id == job.id))
    assert [sh["accounts"] for sh in stored["shares"]] == [15, 10]
    planned_all = Counter(
        (i.payload or {}).get("after_id", (i.payload or {}).get("to")) for i in chosen
    )
    assert planned_all == {maria: 15, james: 10}

    # When the same allocation runs again with the recorded seed
    again = service.submit_to_accounts(
        "admin",
        "assign",
        description="Same again",
        group=POOL,
        assign_to="Maria Gonzalez = 15; James Carter = 10",
        seed=str(stored["seed"]),
    )
    wait_for(service, "admin", again.id)
    with db.read() as s:
        first = set(
            s.scalars(
                select(JobItem.account_id).where(
                    JobItem.job_id == job.id, JobItem.outcome != ItemOutcome.NOT_PROCESSED
                )
            )
        )
        second = set(
            s.scalars(
                select(JobItem.account_id).where(
                    JobItem.job_id == again.id, JobItem.outcome != ItemOutcome.NOT_PROCESSED
                )
            )
        )
    # Then the same accounts were chosen
    assert first == second


def test_collectors_without_a_number_share_everything_evenly_and_unassign_clears(
    db, service, stub_worker
):
    pool = _pool(db)
    workable = _workable(pool)
    job = service.submit_to_accounts(
        "admin", "assign", description="Split", group=POOL, assign_to="Priya Raman; Derek Olsen"
    )
    done = wait_for(service, "admin", job.id)
    assert done.not_processed == 0
    now = _assigned(db, job.id)
    assert set(now) == workable
    counts = Counter(now.values())
    priya, derek = _collector(db, "Priya Raman"), _collector(db, "Derek Olsen")
    assert set(counts) == {priya, derek}

    gone = service.submit_to_accounts(
        "admin", "assign", description="Unassign", group=POOL, assign_to="Unassign"
    )
    wait_for(service, "admin", gone.id)
    assert set(_assigned(db, gone.id).values()) == {None}


@pytest.mark.parametrize("credit", ["All", "Pending only", "No"])
def test_credit_payments_moves_exactly_the_payments_it_should(db, service, stub_worker, credit):
    pool = _pool(db)
    with db.read() as s:
        before = {
            pid: (acc, status, coll)
            for pid, acc, status, coll in s.execute(
                select(Payment.id, Payment.account_id, Payment.status, Payment.collector_id)
            )
        }
    in_pool = {pid for pid, (acc, _, _) in before.items() if acc in pool}
    assert {before[p][1] for p in in_pool} == {"posted", "pending"}, "the demo pool has both"

    hannah = _collector(db, "Hannah Price")
    job = service.submit_to_accounts(
        "admin",
        "assign",
        description="To Hannah",
        group=POOL,
        assign_to="Hannah Price",
        credit_payments=credit,
    )
    wait_for(service, "admin", job.id)
    moved_accounts = set(_assigned(db, job.id))
    with db.read() as s:
        after = dict(s.execute(select(Payment.id, Payment.collector_id)).all())
    should_move = {
        pid
        for pid, (acc, status, _) in before.items()
        if acc in moved_accounts
        and (credit == "All" or (credit == "Pending only" and status == "pending"))
    }
    for pid, (_, _, coll) in before.items():
        expected = hannah if pid in should_move else coll
        assert after[pid] == expected, (pid, credit)
    if credit != "No":
        assert should_move


def test_allocations_that_cannot_be_met_are_refused_where_they_are_typed(db, service):
    pool = _pool(db)
    cases = {
        "Maria Gonzalez = 100000": f"only {len(pool):,} are selected",
        "Nobody Here = 3": "no active collector called 'Nobody Here'",
        "Victor Hale": "no active collector called 'Victor Hale'",  # inactive
        "Maria Gonzalez = 0": "is not a number of accounts",
        "Maria Gonzalez; maria gonzalez": "Maria Gonzalez is named twice",
        "  ": "Assign to is needed",
    }
    for text_, words in cases.items():
        with pytest.raises(InvalidInput, match=words) as caught:
            service.submit_to_accounts(
                "admin", "assign", description="Bad", group=POOL, assign_to=text_
            )
        assert caught.value.field == "assign_to"
    assert service.list_jobs("admin").total == 0


def test_the_dry_run_counts_only_the_accounts_to_assign(db, service):
    source = service.account_selection(group=POOL)
    preview = service.dry_run("admin", "assign", source, {"assign_to": "Maria Gonzalez = 7"})
    assert preview.touch == 7
    assert preview.total == len(_pool(db))
    assert service.list_jobs("admin").total == 0
