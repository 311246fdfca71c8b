"""Retry exceptions, Undo and the overlap guard, end to end on SQLite and PostgreSQL.

- "Retry exceptions" runs the same action over exactly the items that ended as exceptions,
  and both jobs show the link.
- "Undo" puts each account's recorded value back where it still has the job's value; an
  account changed since is an exception that says what it is now.
- A second account-changing job over accounts a Queued or In progress one holds is refused,
  naming that job and how many accounts overlap.
"""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, select, text, update

from jobs.errors import ActionNotAllowed, InvalidInput, NotFound
from jobs.models import Account, Collector, ItemOutcome, JobItem, Payment
from jobs.status import JobStatus
from tests.helpers import force_status, wait_for

GROUP = "Dispute review"
POOL = "Big reassignment pool"


@pytest.fixture(autouse=True)
def restore_accounts(db):
    """Put statuses, locks, collectors and payment credit back (PostgreSQL is shared)."""
    with db.read() as s:
        accounts = [
            {"i": i, "s": st, "l": lk, "c": c}
            for i, st, lk, c in s.execute(
                select(Account.id, Account.status, Account.locked, Account.collector_id)
            )
        ]
        payments = [
            {"i": i, "c": c} for i, c in s.execute(select(Payment.id, Payment.collector_id))
        ]
    yield
    with db.write_conn() as conn:
        a, p = Account.__table__, Payment.__table__
        conn.execute(
            update(a)
            .where(a.c.id == bindparam("i"))
            .values(status=bindparam("s"), locked=bindparam("l"), collector_id=bindparam("c")),
            accounts,
        )
        conn.execute(
            update(p).where(p.c.id == bindparam("i")).values(collector_id=bindparam("c")), payments
        )


def _items(db, job_id: int) -> dict[int, tuple[int, str | None, dict | None]]:
    with db.read() as s:
        return {
            a: (o, m, p)
            for a, o, m, p in s.execute(
                select(JobItem.account_id, JobItem.outcome, JobItem.message, JobItem.payload).where(
                    JobItem.job_id == job_id
                )
            )
        }


def _status(db) -> dict[int, str]:
    with db.read() as s:
        return dict(s.execute(select(Account.id, Account.status)).all())


def test_retry_exceptions_runs_over_exactly_the_exceptions_and_both_jobs_show_the_link(
    db, service, stub_worker
):
    first = service.submit_to_accounts(
        "alice", "change_status", description="Disputes on hold", group=GROUP, to="On hold"
    )
    wait_for(service, "alice", first.id)
    items = _items(db, first.id)
    exceptions = {a for a, (o, _, _) in items.items() if o == ItemOutcome.EXCEPTION}
    locked = {a for a, (_, m, _) in items.items() if m and "locked" in m}
    assert exceptions and locked

    # Someone unlocks the locked accounts, then alice retries the exceptions
    with db.write_conn() as conn:
        conn.execute(update(Account).where(Account.id.in_(locked)).values(locked=False))
    preview = service.preview_retry("alice", first.id)
    assert (preview.total, preview.touch) == (len(exceptions), len(locked))
    retry = service.retry_exceptions("alice", first.id)
    done = wait_for(service, "alice", retry.id)

    # The retry's items are exactly the first job's exceptions
    again = _items(db, retry.id)
    assert set(again) == exceptions
    assert done.total == len(exceptions)
    # The unlocked ones changed now; the others are exceptions again, for their own reason
    now = _status(db)
    assert {a for a, (o, _, _) in again.items() if o == ItemOutcome.OK} == locked
    assert all(now[a] == "On hold" for a in locked)
    assert retry.description == f"Retry of job {first.id}: Disputes on hold"
    # Both jobs show the link
    assert service.job("alice", retry.id).links() == [f"Retry of job {first.id}"]
    assert service.job("alice", first.id).links() == [
        f"Exceptions retried by job {retry.id} ({done.status.label})"
    ]


def test_retry_is_refused_for_a_job_without_exceptions_or_not_ended_or_not_yours(
    db, service, stub_worker
):
    job = service.submit_to_accounts(
        "alice",
        "add_interaction",
        description="Calls",
        group="Skip-trace batch",
        interaction_type="Call",
        outcome="No answer",
    )
    done = wait_for(service, "alice", job.id)
    if done.exceptions == 0:
        with pytest.raises(ActionNotAllowed, match="has no exceptions to retry"):
            service.retry_exceptions("alice", job.id)
    with pytest.raises(NotFound, match=f"Job {job.id} was not found"):
        service.retry_exceptions("bob", job.id)
    force_status(db, job.id, JobStatus.IN_PROGRESS)
    with pytest.raises(ActionNotAllowed, match="can be retried when it has ended"):
        service.retry_exceptions("alice", job.id)


def test_undo_restores_statuses_except_accounts_changed_since(db, service, stub_worker):
    before = _status(db)
    job = service.submit_to_accounts(
        "alice", "change_status", description="Disputes on hold", group=GROUP, to="On hold"
    )
    wait_for(service, "alice", job.id)
    changed = {a for a, (o, _, _) in _items(db, job.id).items() if o == ItemOutcome.OK}
    assert len(changed) >= 2
    # One account is changed by someone since
    moved = min(changed)
    with db.write_conn() as conn:
        conn.execute(update(Account).where(Account.id == moved).values(status="Payment plan"))

    # The preview says what the undo would do, and writes nothing
    preview = service.preview_undo("alice", job.id)
    assert (preview.total, preview.touch) == (len(changed), len(changed) - 1)
    assert preview.exceptions == {"Changed since the job: now Payment plan": 1}
    assert {(x["before"], x["after"]) for x in preview.sample} <= {
        ("On hold", before[a]) for a in changed
    }
    assert _status(db)[min(changed - {moved})] == "On hold"

    undo = service.undo("alice", job.id)
    done = wait_for(service, "alice", undo.id)

    now = _status(db)
    for a in changed - {moved}:
        assert now[a] == before[a]
    assert now[moved] == "Payment plan"
    items = _items(db, undo.id)
    assert items[moved][:2] == (ItemOutcome.EXCEPTION, "Changed since the job: now Payment plan")
    for a in changed - {moved}:
        assert items[a][2] == {"before": "On hold", "after": before[a]}
    assert (done.ok, done.exceptions) == (len(changed) - 1, 1)
    # Accounts the first job did not change are not touched (not even items of the undo)
    assert set(items) == changed
    assert service.job("alice", undo.id).links() == [f"Undo of job {job.id}"]
    # A second undo of the same job is refused
    with pytest.raises(ActionNotAllowed, match=f"already undone by job {undo.id}"):
        service.undo("alice", job.id)


def test_undo_of_an_assignment_restores_collectors_and_payment_credit(db, service, stub_worker):
    with db.read() as s:
        before = dict(s.execute(select(Account.id, Account.collector_id)).all())
        credit_before = dict(s.execute(select(Payment.id, Payment.collector_id)).all())
        hannah = s.scalar(select(Collector.id).where(Collector.name == "Hannah Price"))
    job = service.submit_to_accounts(
        "admin",
        "assign",
        description="To Hannah",
        group=POOL,
        assign_to="Hannah Price",
        credit_payments="All",
    )
    wait_for(service, "admin", job.id)
    changed = {a for a, (o, _, _) in _items(db, job.id).items() if o == ItemOutcome.OK}
    with db.read() as s:
        assert set(s.scalars(select(Account.collector_id).where(Account.id.in_(changed)))) == {
            hannah
        }
    # Since the job, one moved payment was credited to someone else by hand
    with db.read() as s:
        elsewhere = s.scalar(
            select(Payment.id).where(Payment.account_id.in_(changed)).order_by(Payment.id)
        )
        priya = s.scalar(select(Collector.id).where(Collector.name == "Priya Raman"))
    with db.write_conn() as conn:
        conn.execute(update(Payment).where(Payment.id == elsewhere).values(collector_id=priya))
    undo = service.undo("admin", job.id)
    wait_for(service, "admin", undo.id)
    with db.read() as s:
        after = dict(s.execute(select(Account.id, Account.collector_id)).all())
        credit_after = dict(s.execute(select(Payment.id, Payment.collector_id)).all())
    assert {a: after[a] for a in changed} == {a: before[a] for a in changed}
    # Payments still credited to the job's collector are credited back to the one before;
    # the one credited elsewhere since keeps that credit
    assert credit_after == {**credit_before, elsewhere: priya}


def test_undo_is_refused_for_actions_it_cannot_reverse(db, service, stub_worker):
    job = service.submit_to_accounts(
        "alice",
        "add_interaction",
        description="Calls",
        group=GROUP,
        interaction_type="Call",
        outcome="No answer",
    )
    wait_for(service, "alice", job.id)
    with pytest.raises(ActionNotAllowed, match="only Change Status and Assign jobs can"):
        service.undo("alice", job.id)


def test_an_overlapping_account_changing_job_is_refused_naming_the_job(db, service):
    # No worker runs: the first job stays Queued
    first = service.submit_to_accounts(
        "alice", "change_status", description="Disputes on hold", group=GROUP, to="On hold"
    )
    with db.read() as s:
        members = set(
            s.scalars(
                text(
                    "SELECT m.account_id FROM group_members m JOIN groups g ON g.id = m.group_id "
                    "WHERE g.name = :n"
                ),
                {"n": GROUP},
            )
        )
    some = sorted(members)[:3]
    with pytest.raises(InvalidInput) as refused:
        service.submit_to_accounts(
            "bob",
            "change_status",
            description="Three",
            account_ids=some + [1],
            to="Payment plan",
        )
    assert refused.value.field == "selection"
    overlap = len(set(some + [1]) & members)
    assert f"{overlap} of these accounts are in job {first.id} (Change Status, Queued)" in str(
        refused.value
    )
    # An action that does not change accounts is not held back
    service.submit_to_accounts(
        "bob",
        "add_interaction",
        description="Notes",
        account_ids=some,
        interaction_type="Note",
        outcome="Information only",
    )
    # Nor is a job on other accounts
    outside = service.submit_to_accounts(
        "bob",
        "change_status",
        description="Elsewhere",
        account_filter={"status": "Open"},
        excluded_ids=sorted(members),
        to="Payment plan",
    )
    assert outside.status is JobStatus.QUEUED
    # Once the first job has ended, the same accounts may be changed
    force_status(db, first.id, JobStatus.COMPLETED)
    service.submit_to_accounts(
        "bob", "change_status", description="Three again", account_ids=some, to="Payment plan"
    )


def test_an_in_progress_job_holds_only_the_accounts_it_has_not_worked_yet(db, service):
    from jobs.engine import execution

    first = service.submit_to_accounts(
        "alice", "change_status", description="Disputes on hold", group=GROUP, to="On hold"
    )
    started = execution.start(service.db, first.id, chunk_size=5)
    chunks = started.chunks
    assert len(chunks) >= 2
    execution.claim(service.db, chunks[0], "t", 60)
    execution.process_chunk(service.db, chunks[0], "t")
    items = _items(db, first.id)
    with db.read() as s:
        seqs = dict(
            s.execute(
                select(JobItem.account_id, JobItem.seq).where(JobItem.job_id == first.id)
            ).all()
        )
    worked = [a for a, (o, _, _) in items.items() if o != ItemOutcome.PENDING]
    waiting = [a for a, (o, _, _) in items.items() if o == ItemOutcome.PENDING]
    assert worked and waiting and all(seqs[a] <= 5 for a in worked)
    # Accounts it already worked are free; one it has not reached is held
    service.submit_to_accounts(
        "bob",
        "change_status",
        description="Worked ones",
        account_ids=worked[:2],
        to="Payment plan",
    )
    with pytest.raises(InvalidInput, match=f"in job {first.id} \\(Change Status, In progress\\)"):
        service.submit_to_accounts(
            "bob",
            "change_status",
            description="Waiting one",
            account_ids=waiting[:1],
            to="Payment plan",
        )
