"""CSV imports as jobs, checked against the database on SQLite and PostgreSQL: good files,
wrong headings (nothing imported), bad rows (the rest imported), encodings and delimiters,
matching by id, SSN and name + birth date, no match and multiple matches, and the export of
the bad rows fixed and imported again."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from jobs.errors import InvalidInput, NotFound, PermissionDenied
from jobs.models import Account, ImportRow, Interaction, Payment
from jobs.status import JobStatus
from tests.imports_support import (  # noqa: F401
    account,
    accounts_where,
    importing_fixture,
    imports_home_fixture,
    messages,
    run_import,
    write,
)


def _open_account(db, n: int = 0) -> dict:
    """The n-th unlocked account in an open status (so imports may change it)."""
    with db.read() as s:
        ids = s.scalars(
            select(Account.id)
            .where(~Account.locked, Account.status == "Open")
            .order_by(Account.id)
            .limit(n + 1)
        ).all()
    return account(db, ids[n])


def _shared_ssn(db) -> tuple[str, list[int]]:
    """An SSN that several accounts have (the seed gives ~2% of accounts a shared one)."""
    with db.read() as s:
        ssn = s.scalar(
            select(Account.ssn)
            .group_by(Account.ssn)
            .having(func.count() > 1)
            .order_by(Account.ssn)
            .limit(1)
        )
        ids = s.scalars(select(Account.id).where(Account.ssn == ssn).order_by(Account.id)).all()
    return ssn, list(ids)


def _count(db, model, **equal) -> int:
    with db.read() as s:
        cols = [getattr(model, k) == v for k, v in equal.items()]
        return s.scalar(select(func.count()).select_from(model).where(*cols))


# -- good files -----------------------------------------------------------------------------


def test_an_accounts_file_creates_new_accounts_and_updates_matched_ones(importing, tmp_path):
    db = importing
    from jobs.service import JobService

    service = JobService(db)
    target = _open_account(db)
    path = write(
        tmp_path,
        "accounts.csv",
        "Account ID,First Name,Last Name,Client,Account Number,Balance,State,Status,Email\r\n"
        f"{target['id']},,,,,777.25,TX,Promise to pay,\r\n"
        ",Zoe,Quinlan,ACME,4111222233334444,1500.00,ca,open,zoe@example.com\r\n",
    )
    task = run_import(service, "alice", "accounts", path)

    assert task.summary.status is JobStatus.COMPLETED
    assert (task.rows, task.updated, task.created) == (2, 1, 1)
    updated = account(db, target["id"])
    assert updated["current_balance"] == Decimal("777.25")
    assert (updated["state"], updated["status"]) == ("TX", "Promise to pay")
    # Empty cells leave values as they were.
    assert updated["debtor_name"] == target["debtor_name"]
    assert updated["email"] == target["email"]
    [new] = accounts_where(db, account_number="4111222233334444")
    assert new["debtor_name"] == "Zoe Quinlan"
    assert (new["state"], new["status"], new["email"]) == ("CA", "Open", "zoe@example.com")
    assert new["current_balance"] == Decimal("1500.00")
    assert new["file_number"].startswith(f"I{task.summary.id}-")
    rows = messages(service, "alice", task.summary.id)
    assert [(r["_row"], r["_status"]) for r in rows] == [(2, "Updated"), (3, "Created")]
    assert rows[1]["_account"] == new["file_number"]


def test_an_interactions_file_logs_one_interaction_per_row_on_the_matched_account(
    importing, tmp_path
):
    from jobs.service import JobService

    service = JobService(importing)
    a, b = _open_account(importing, 0), _open_account(importing, 1)
    path = write(
        tmp_path,
        "calls.csv",
        "Account ID,Type,Outcome,Note,Date\n"
        f"{a['id']},Call,Left message,Called twice,2026-11-02\n"
        f"{b['id']},email,contacted,,11/03/2026\n",
    )
    task = run_import(service, "alice", "interactions", path)

    assert task.summary.status is JobStatus.COMPLETED
    assert task.imported == 2
    with importing.read() as s:
        logged = s.execute(
            select(
                Interaction.account_id,
                Interaction.type,
                Interaction.outcome,
                Interaction.note,
                Interaction.interaction_date,
                Interaction.job_id,
            )
            .where(Interaction.job_id == task.summary.id)
            .order_by(Interaction.account_id)
        ).all()
    assert [tuple(r) for r in logged] == sorted(
        [
            (
                a["id"],
                "Call",
                "Left message",
                "Called twice",
                dt.date(2026, 11, 2),
                task.summary.id,
            ),
            (b["id"], "Email", "Contacted", "", dt.date(2026, 11, 3), task.summary.id),
        ]
    )


def test_a_payments_file_records_payments_credited_to_the_accounts_collector(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    with importing.read() as s:
        target = s.scalar(
            select(Account.id).where(Account.collector_id.is_not(None)).order_by(Account.id)
        )
    collector = account(importing, target)["collector_id"]
    path = write(
        tmp_path,
        "payments.csv",
        f"Account ID,Amount,Paid On,Status\n{target},$1,250.50,2026-11-05,pending\n",
    )
    # A comma inside the amount needs quotes in a comma-separated file: "$1,250.50".
    path.write_text(f'Account ID,Amount,Paid On,Status\n{target},"$1,250.50",2026-11-05,pending\n')
    task = run_import(service, "alice", "payments", path)

    assert task.summary.status is JobStatus.COMPLETED
    with importing.read() as s:
        [p] = s.scalars(select(Payment).where(Payment.job_id == task.summary.id)).all()
    assert (p.account_id, p.amount, p.paid_on, p.status, p.collector_id) == (
        target,
        Decimal("1250.50"),
        dt.date(2026, 11, 5),
        "pending",
        collector,
    )


# -- wrong headings: the whole file fails ----------------------------------------------------


@pytest.mark.parametrize(
    ("headings", "reason"),
    [
        (
            "Account ID,Amount,Payed On",
            "the heading 'Payed On' (column 3) is not a column of payments imports",
        ),
        ("Account ID,Amount", "the heading 'Paid On' is missing (it is required)"),
        (
            "SSN,Amount,Paid On",
            "the heading 'Account ID' is missing (matching by Account ID needs it)",
        ),
        ("Account ID,Amount,,Paid On", "column 3 has no heading"),
        ("Account ID,Amount,Paid On,amount", "the heading 'Amount' is in columns 2 and 4"),
    ],
)
def test_a_file_with_a_wrong_heading_fails_whole_and_imports_nothing(
    importing, tmp_path, headings, reason
):
    from jobs.service import JobService

    service = JobService(importing)
    target = _open_account(importing)["id"]
    values = ",".join(["1"] * (headings.count(",") + 1))
    path = write(tmp_path, "bad.csv", f"{headings}\n{target},{values[2:]}\n")
    task = run_import(service, "alice", "payments", path)

    assert task.summary.status is JobStatus.FAILED
    assert task.failed_whole
    assert task.error.startswith("File import has failed: ")
    assert reason.lower() in task.error.lower()
    assert "Expected the headings Account ID, SSN, First Name" in task.error
    assert _count(importing, Payment, job_id=task.summary.id) == 0
    assert _count(importing, ImportRow, job_id=task.summary.id) == 0
    assert service.import_messages("alice", task.summary.id)[1].total == 0


def test_a_utf16_file_fails_with_a_message_saying_how_to_save_it(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "u16.csv", "Account ID,Amount,Paid On\n1,5,2026-11-01\n", "utf-16")
    task = run_import(service, "alice", "payments", path)
    assert task.summary.status is JobStatus.FAILED
    assert "UTF-16" in task.error and "save it as CSV in UTF-8" in task.error


# -- bad rows: a message each, the rest import -----------------------------------------------


def test_bad_rows_get_a_message_each_and_the_other_rows_import(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    a, b, c = (_open_account(importing, n)["id"] for n in range(3))
    path = write(
        tmp_path,
        "mixed.csv",
        "Account ID,Type,Outcome,Note,Date\n"
        f"{a},Call,Left message,ok,2026-11-02\n"
        f"{b},Fax,Left message,,2026-11-02\n"  # unknown code
        f"x{c},Call,Contacted,,2026-11-02\n"  # wrong type
        f"{c},Call,Contacted,,\n"  # missing required value
        f"{c},Call,Contacted,,2026-02-30\n"  # not a date
        f"{a},Call,Left message,ok,2026-11-02\n",  # the same as row 2
    )
    task = run_import(service, "alice", "interactions", path)

    assert task.summary.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert (task.imported, task.invalid) == (1, 5)
    assert task.summary.exceptions == 5
    rows = {r["_row"]: r for r in messages(service, "alice", task.summary.id)}
    assert rows[2]["_status"] == "Imported"
    assert rows[3]["_message"].startswith("Type 'Fax' is not one of Call, Email")
    assert rows[4]["_message"] == f"Account ID 'x{c}' is not a whole number"
    assert rows[4]["Account ID"] == f"x{c}"  # the file's own text, to fix
    assert rows[5]["_message"] == "Date is required"
    assert rows[6]["_message"].startswith("Date '2026-02-30' is not a date")
    assert rows[7]["_message"] == "Duplicate row: the same as row 2"
    assert _count(importing, Interaction, job_id=task.summary.id) == 1


def test_new_accounts_need_their_columns_and_known_codes(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    locked = accounts_where(importing, locked=True)[0]
    path = write(
        tmp_path,
        "new.csv",
        "Account ID,First Name,Last Name,Client,Account Number,Balance,Status,Collector\n"
        ",Ann,Lee,ACME,123,10,Open,\n"
        ",Bo,Ray,,,10,,\n"
        ",Cy,Dee,NOPE,124,10,,\n"
        ",Di,Fox,ACME,125,10,Sleeping,\n"
        ",Ed,Gu,acme,126,10,,Nobody Here\n"
        f"{locked['id']},,,,,5,,\n",
    )
    task = run_import(service, "alice", "accounts", path)

    rows = {r["_row"]: r for r in messages(service, "alice", task.summary.id)}
    assert rows[2]["_status"] == "Created"
    assert rows[3]["_message"] == "A new account needs Client, Account Number"
    assert rows[4]["_message"].startswith("Client 'NOPE' is not known (known: ACME, BWU")
    assert rows[5]["_message"].startswith("Status 'Sleeping' is not known (known: Open,")
    assert rows[6]["_message"].startswith("Collector 'Nobody Here' is not known")
    assert rows[7]["_message"] == "The account is locked; imports do not change it"
    assert account(importing, locked["id"])["current_balance"] == locked["current_balance"]
    assert len(accounts_where(importing, account_number="123")) == 1
    assert accounts_where(importing, account_number="126") == []


# -- encodings and delimiters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [
        ("utf-8", ","),
        ("utf-8-sig", ","),
        ("cp1252", ";"),
        ("latin-1", "\t"),
        ("utf-8-sig", "\t"),
    ],
)
def test_real_exports_encodings_and_delimiters_import_the_same(
    importing, tmp_path, encoding, delimiter
):
    from jobs.service import JobService

    service = JobService(importing)
    a = _open_account(importing)["id"]
    note = (
        "Señora Müller: “call back” — at 5, please"
        if encoding != "latin-1"
        else "Señora Müller, à 5"
    )
    fields = [str(a), "Call", "Left message", f'"{note}\nsecond line"', "2026-11-02"]
    content = delimiter.join(["Account ID", "Type", "Outcome", "Note", "Date"]) + "\r\n"
    content += delimiter.join(fields) + "\r\n"
    path = write(tmp_path, "export.csv", content, encoding)
    task = run_import(service, "alice", "interactions", path)

    assert task.summary.status is JobStatus.COMPLETED, task.error
    assert (
        task.encoding == encoding
        if encoding != "latin-1"
        else task.encoding in ("cp1252", "latin-1")
    )
    with importing.read() as s:
        [logged] = s.scalars(select(Interaction.note).where(Interaction.job_id == task.summary.id))
    assert logged == f"{note}\nsecond line"


# -- matching ----------------------------------------------------------------------------------


def test_a_row_matching_several_accounts_lists_one_message_row_per_match_and_applies_nothing(
    importing, tmp_path
):
    from jobs.service import JobService

    service = JobService(importing)
    ssn, ids = _shared_ssn(importing)
    path = write(
        tmp_path, "by-ssn.csv", f"SSN,Amount,Paid On\n{ssn.replace('-', '')},40,2026-11-03\n"
    )
    task = run_import(service, "alice", "payments", path, match_by="ssn")

    assert task.summary.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    assert task.ambiguous == 1
    rows = messages(service, "alice", task.summary.id)
    assert len(rows) == len(ids) >= 2
    assert {r["_row"] for r in rows} == {2}
    assert {r["_status"] for r in rows} == {"Multiple matches"}
    assert rows[0]["_message"] == f"{len(ids)} accounts match SSN ***-**-{ssn[-4:]}"
    files = {account(importing, i)["file_number"] for i in ids}
    assert {r["_account"] for r in rows} == files
    assert _count(importing, Payment, job_id=task.summary.id) == 0
    assert service.import_statuses("alice", task.summary.id) == ["Multiple matches"]


def test_rows_that_match_no_account_are_no_match_and_not_applied(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    a = _open_account(importing)
    path = write(
        tmp_path,
        "names.csv",
        "First Name,Last Name,Birth Date,Type,Outcome,Date\n"
        f"{a['debtor_name'].split(' ', 1)[0]},{a['debtor_name'].split(' ', 1)[1]},"
        f"{a['birth_date']:%m/%d/%Y},Note,Information only,2026-11-02\n"
        "Nobody,Atall,1970-01-01,Note,Information only,2026-11-02\n",
    )
    task = run_import(service, "alice", "interactions", path, match_by="name_birth")

    assert (task.imported, task.no_match) == (1, 1)
    rows = {r["_row"]: r for r in messages(service, "alice", task.summary.id)}
    assert rows[2]["_status"] == "Imported" and rows[2]["_account"] == a["file_number"]
    assert rows[3]["_status"] == "No match"
    assert rows[3]["_message"] == "No account matches Nobody Atall, born 1970-01-01"
    with importing.read() as s:
        logged = s.scalars(
            select(Interaction.account_id).where(Interaction.job_id == task.summary.id)
        )
        assert list(logged) == [a["id"]]
    assert service.import_statuses("alice", task.summary.id) == ["Imported", "No match"]
    assert [r["_row"] for r in messages(service, "alice", task.summary.id, "No match")] == [3]


def test_an_unknown_account_id_in_an_accounts_file_is_no_match_not_a_new_account(
    importing, tmp_path
):
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "a.csv", "Account ID,Balance\n99999999,10\n")
    task = run_import(service, "alice", "accounts", path)
    [row] = messages(service, "alice", task.summary.id)
    assert (row["_status"], row["_message"]) == (
        "No match",
        "There is no account with Account ID 99999999",
    )


# -- export, fix, import again -----------------------------------------------------------------


def test_the_exported_bad_rows_fixed_and_imported_again_import_exactly_those_rows(
    importing, tmp_path
):
    from jobs.service import JobService

    service = JobService(importing)
    a, b, c = (_open_account(importing, n)["id"] for n in range(3))
    path = write(
        tmp_path,
        "first.csv",
        "Account ID,Amount,Paid On,Status\n"
        f"{a},10,2026-11-01,posted\n"
        f"{b},ten,2026-11-01,posted\n"
        f"{c},30,2026-11-31,pending\n",
    )
    first = run_import(service, "alice", "payments", path)
    assert (first.imported, first.invalid) == (1, 2)

    exported = "".join(service.export_import_messages_csv("alice", first.summary.id, "Invalid"))
    lines = exported.splitlines()
    assert (
        lines[0]
        == "Account ID,Amount,Paid On,Status,Import Row,Import Status,Import Message,Import Account"
    )
    assert lines[1].startswith(f"{b},ten,2026-11-01,posted,3,Invalid,")
    assert lines[2].startswith(f"{c},30.00,2026-11-31,pending,4,Invalid,")
    fixed = exported.replace(",ten,", ",20,").replace("2026-11-31", "2026-11-30")
    second = run_import(service, "alice", "payments", write(tmp_path, "fixed.csv", fixed))

    assert second.summary.status is JobStatus.COMPLETED
    assert (second.rows, second.imported) == (2, 2)
    with importing.read() as s:
        paid = s.execute(
            select(Payment.account_id, Payment.amount, Payment.paid_on)
            .where(Payment.job_id.in_([first.summary.id, second.summary.id]))
            .order_by(Payment.account_id)
        ).all()
    assert sorted(tuple(p) for p in paid) == sorted(
        [
            (a, Decimal("10.00"), dt.date(2026, 11, 1)),
            (b, Decimal("20.00"), dt.date(2026, 11, 1)),
            (c, Decimal("30.00"), dt.date(2026, 11, 30)),
        ]
    )


# -- who may do what -------------------------------------------------------------------------


def test_imports_are_refused_without_the_permission_and_hidden_from_other_users(
    importing, tmp_path
):
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "p.csv", "Account ID,Amount,Paid On\n1,5,2026-11-01\n")
    with pytest.raises(PermissionDenied):
        service.submit_import("carol", "payments", str(path))
    task = run_import(service, "alice", "payments", path)
    with pytest.raises(NotFound):
        service.import_task("bob", task.summary.id)
    with pytest.raises(NotFound):
        list(service.export_import_messages_csv("bob", task.summary.id))
    assert [t.id for t in service.import_tasks("bob").rows] == []
    assert [t.id for t in service.import_tasks("admin").rows] == [task.summary.id]
    assert [t.id for t in service.import_tasks("alice").rows] == [task.summary.id]


def test_submit_refuses_an_unknown_type_rule_or_an_empty_file(importing, tmp_path):
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "p.csv", "Account ID,Amount,Paid On\n")
    with pytest.raises(InvalidInput, match="has no rows below its headings"):
        service.submit_import("alice", "payments", str(path))
    with pytest.raises(InvalidInput, match="There is no 'refunds' import"):
        service.submit_import("alice", "refunds", str(path))
    with pytest.raises(InvalidInput, match="cannot match by 'phone'"):
        service.submit_import("alice", "payments", str(path), match_by="phone")


def test_a_saved_view_of_the_task_list_keeps_its_columns(importing):
    from jobs.service import JobService

    service = JobService(importing)
    assert list(service.task_views("alice")) == ["System Task List"]
    service.save_task_view("alice", "With figures", ["name", "status", "created", "updated"])
    assert service.task_views("alice")["With figures"] == ["name", "status", "created", "updated"]
    assert list(service.task_views("bob")) == ["System Task List"]
    with pytest.raises(InvalidInput):
        service.save_task_view("alice", "System Task List", ["name"])
    with pytest.raises(InvalidInput):
        service.save_task_view("alice", "Bad", ["nope"])


# -- the file-in folder, polled by the workers -------------------------------------------------


@pytest.fixture
def file_in_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKDESK_FILE_IN_SECONDS", "0.2")


def test_a_worker_takes_a_file_from_the_file_in_folder_and_imports_it(
    file_in_fast, importing, imports_home
):
    import os
    import time

    from jobs.service import JobService
    from tests.helpers import wait_for

    service = JobService(importing)
    a = _open_account(importing)["id"]
    drop = write(
        imports_home / "inbox" / "payments" / "alice",
        "nightly.csv",
        f"Account ID,Amount,Paid On\n{a},15,2026-11-04\n",
    )
    os.utime(drop, (time.time() - 10, time.time() - 10))
    deadline = time.monotonic() + 30
    while not service.import_tasks("alice").rows and time.monotonic() < deadline:
        time.sleep(0.1)
    [row] = service.import_tasks("alice").rows
    wait_for(service, "alice", row.id)
    task = service.import_task("alice", row.id)
    assert (task.file_name, task.imported) == ("nightly.csv", 1)
    assert not drop.exists()
    assert len(list((imports_home / "inbox" / "processed").glob("*-nightly.csv"))) == 1
    assert _count(importing, Payment, job_id=row.id) == 1


def test_the_owner_gets_the_completion_email_their_profile_asks_for(importing, tmp_path):
    from jobs.models import Delivery
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "p.csv", "Account ID,Amount,Paid On\n1,5,2026-11-01\n1,x,2026-11-01\n")
    alice = run_import(service, "alice", "payments", path)  # alice: every job
    bob = run_import(service, "bob", "payments", path)  # bob: failures and exceptions only
    good = write(tmp_path, "good.csv", "Account ID,Amount,Paid On\n2,5,2026-11-01\n")
    bob_ok = run_import(service, "bob", "payments", good)
    with importing.read() as s:
        emails = {
            d.job_id: d.payload for d in s.scalars(select(Delivery).where(Delivery.kind == "email"))
        }
    assert emails[alice.summary.id]["to"] == "alice@bulkdesk.example"
    assert emails[alice.summary.id]["subject"] == (
        f"Bulkdesk job {alice.summary.id} — Import payments: p.csv: Completed with exceptions"
    )
    assert emails[bob.summary.id]["to"] == "bob@bulkdesk.example"
    assert bob_ok.summary.id not in emails


def test_a_stopped_import_lists_its_unprocessed_rows_as_not_processed(db, imports_home, tmp_path):
    from jobs.engine import execution
    from jobs.service import JobService

    service = JobService(db)
    lines = "".join(f"{1 + n},5,2026-11-01\n" for n in range(600))
    path = write(tmp_path, "p.csv", "Account ID,Amount,Paid On\n" + lines)
    job = service.submit_import("alice", "payments", str(path))
    started = execution.start(db, job.id, 250)
    assert execution.claim(db, started.chunks[0], "test", 60)
    execution.process_chunk(db, started.chunks[0], "test")
    service.stop("alice", job.id)

    assert service.import_statuses("alice", job.id) == ["Imported", "Not processed"]
    rows = messages(service, "alice", job.id, "Not processed")
    assert len(rows) == 350 and rows[0]["_row"] == 252
    assert _count(db, Payment, job_id=job.id) == 250
    with db.write_conn() as conn:  # the PostgreSQL database is shared by the session
        conn.execute(Payment.__table__.delete().where(Payment.job_id.is_not(None)))


def test_the_tasks_page_marks_the_open_task_wherever_the_list_puts_it(importing, tmp_path):
    from apps.tasks import TasksPage
    from jobs.service import JobService

    service = JobService(importing)
    path = write(tmp_path, "p.csv", "Account ID,Amount,Paid On\n1,5,2026-11-01\n")
    ids = [service.submit_import("alice", "payments", str(path)).id for _ in range(3)]
    page = TasksPage(service, "alice", live=False)
    table = page.table.table
    shown = [int(t) for t in table.value["Task"]]
    assert set(ids) <= set(shown)
    page.open_task(ids[0])
    assert table.selection == [shown.index(ids[0])]
    # The list in the other order: the mark follows the open task
    page.list.sort_by(page.list.sort)
    shown = [int(t) for t in table.value["Task"]]
    assert table.selection == [shown.index(ids[0])]
    page._close()
    assert table.selection == []
