"""Export Accounts: the file has the chosen columns of exactly the selected accounts,
sensitive data masked unless unmasked by permission, every export in the audit trail, the
file downloadable by its owner (browser, CLI), and memory flat whatever the row count."""

from __future__ import annotations

import csv
import os
import re
import threading
import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from jobs.errors import InvalidInput, NotFound, PermissionDenied
from jobs.exports import writer
from jobs.exports.masking import mask_birth_date, mask_email, mask_phone, mask_ssn
from jobs.models import AuditEvent, ItemOutcome, Job
from jobs.sources.accounts import AccountFilter, AccountSelection
from tests.test_account_grid import _run


@pytest.fixture(autouse=True)
def export_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "exports"
    monkeypatch.setenv("BULKDESK_EXPORT_DIR", str(folder))
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _export(service, db, user: str, flt: AccountFilter, **params) -> Job:
    job = service.submit(
        user, "export_accounts", AccountSelection(filter=flt), params, "Export for a test"
    )
    _run(db, job.id)
    with db.read() as s:
        return s.get(Job, job.id)


def test_masks_show_enough_to_recognise_and_no_more():
    assert mask_ssn("123-45-6789") == "***-**-6789"
    assert mask_phone("+1-415-555-0134") == "***-***-0134"
    assert mask_email("maria.lopez@example.com") == "m***@example.com"
    assert mask_email("refused") == "***"
    assert mask_birth_date("1980-02-29") == "****-**-**"
    assert mask_ssn(None) == mask_phone("") == mask_email(None) == mask_birth_date(None) == ""


def test_an_export_writes_the_selected_accounts_with_sensitive_columns_masked(db, service):
    # Given admin exports the Nevada accounts with SSN, email, phone and birth date
    job = _export(
        service,
        db,
        "admin",
        AccountFilter(state="NV"),
        columns="file_number, Debtor, ssn, email, phone, birth_date, current_balance",
    )
    path = service.export_file("admin", job.id)
    rows = _rows(path)
    with db.read() as s:
        want = s.execute(
            text(
                "SELECT file_number, debtor_name, ssn, email, phone, current_balance "
                "FROM accounts WHERE state = 'NV' ORDER BY id"
            )
        ).all()
    # Then the file has exactly those accounts, in the chosen columns and order
    assert list(rows[0]) == [
        "File Number",
        "Debtor",
        "SSN",
        "Email",
        "Phone",
        "Birth Date",
        "Current Balance",
    ]
    assert [r["File Number"] for r in rows] == [w.file_number for w in want]
    # And every sensitive column is masked, the others as they are
    for row, account in zip(rows, want, strict=True):
        assert row["SSN"] == f"***-**-{account.ssn[-4:]}"
        assert row["Birth Date"] in ("", "****-**-**")
        assert row["Phone"] == (f"***-***-{account.phone[-4:]}" if account.phone else "")
        assert "@" not in row["Email"] or re.fullmatch(r".\*\*\*@[^@]+", row["Email"])
        assert row["Debtor"] == account.debtor_name
        assert float(row["Current Balance"]) == float(account.current_balance)
    # And the export is in the audit trail: who, how many rows, which columns unmasked
    with db.read() as s:
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.job_id == job.id, AuditEvent.action == "export")
        )
    assert event.actor_id == service.actor("admin").id
    assert event.details["rows"] == len(want)
    assert event.details["unmasked"] == []
    assert event.details["masked"] == ["ssn", "email", "phone", "birth_date"]
    assert f"Exported {len(want):,} accounts" in event.summary
    assert "unmasked: none" in event.summary


def test_unmasking_needs_its_own_permission_checked_by_the_service(db, service):
    selection = AccountSelection(filter=AccountFilter(state="VT"))
    unmask = {"columns": "file_number,ssn", "unmasked": "ssn"}
    # alice may export, but not unmask: refused at the dry run and at submit alike
    for call in (
        lambda: service.dry_run("alice", "export_accounts", selection, unmask),
        lambda: service.submit("alice", "export_accounts", selection, unmask, "Clear SSNs"),
        lambda: service.save_export_template("alice", "Clear SSNs", "file_number,ssn", "ssn"),
    ):
        with pytest.raises(PermissionDenied, match="Export sensitive data unmasked"):
            call()
    assert service.dry_run("alice", "export_accounts", selection, {"columns": "ssn"}).touch
    # An admin may: the file has the SSNs in clear, and the audit entry says which column
    job = _export(service, db, "admin", AccountFilter(state="VT"), **unmask)
    rows = _rows(service.export_file("admin", job.id))
    with db.read() as s:
        ssns = list(s.scalars(text("SELECT ssn FROM accounts WHERE state = 'VT' ORDER BY id")))
    assert [r["SSN"] for r in rows] == ssns
    with db.read() as s:
        event = s.scalar(
            select(AuditEvent).where(AuditEvent.job_id == job.id, AuditEvent.action == "export")
        )
    assert event.details["unmasked"] == ["ssn"] and "unmasked: SSN" in event.summary
    # Unmasking what is not sensitive, or not exported, is refused with the reason
    with pytest.raises(InvalidInput, match="Debtor is not sensitive data"):
        service.dry_run("admin", "export_accounts", selection, {"unmasked": "debtor"})
    with pytest.raises(InvalidInput, match="Email is unmasked but not exported"):
        service.dry_run(
            "admin", "export_accounts", selection, {"columns": "ssn", "unmasked": "email"}
        )


def test_a_saved_template_gives_the_columns_the_job_keeps(db, service):
    service.save_export_template("admin", "Skip trace", "file_number,debtor,phone,state", "phone")
    job = _export(service, db, "admin", AccountFilter(state="WY"), template="Skip trace")
    # The job keeps the columns it used, whatever the template becomes later
    service.save_export_template("admin", "Skip trace", "file_number", "")
    assert job.parameters["columns"] == "file_number,debtor,phone,state"
    assert job.parameters["unmasked"] == "phone"
    rows = _rows(service.export_file("admin", job.id))
    assert list(rows[0]) == ["File Number", "Debtor", "Phone", "State"]
    assert [t.name for t in service.export_templates("bob")] == ["Skip trace"]
    with pytest.raises(NotFound, match="no export template called 'Nope'"):
        service.dry_run(
            "admin", "export_accounts", AccountSelection(account_ids=(1,)), {"template": "Nope"}
        )


def test_only_its_owner_or_an_admin_downloads_an_export_and_each_download_is_audited(db, service):
    job = _export(service, db, "bob", AccountFilter(state="DE"))
    assert service.export_file("bob", job.id).exists()
    assert service.export_file("admin", job.id).exists()
    with pytest.raises(NotFound):
        service.export_file("alice", job.id)
    with db.read() as s:
        downloads = s.scalars(
            select(AuditEvent.actor_id).where(
                AuditEvent.job_id == job.id, AuditEvent.action == "export_download"
            )
        ).all()
    assert sorted(downloads) == sorted([service.actor("bob").id, service.actor("admin").id])


def test_the_cli_downloads_the_file_of_an_export(db, service, tmp_path):
    from jobs.cli.main import main

    job = _export(service, db, "dave", AccountFilter(state="RI"))
    runner = CliRunner()
    done = runner.invoke(
        main, ["export", "download", str(job.id), "--as", "dave", "--out", str(tmp_path)]
    )
    assert done.exit_code == 0, done.output
    written = tmp_path / f"accounts-job-{job.id}.csv"
    assert written.read_bytes() == service.export_file("dave", job.id).read_bytes()
    refused = runner.invoke(main, ["export", "download", str(job.id), "--as", "bob"])
    assert refused.exit_code == 2 and "was not found" in refused.output
    refused = runner.invoke(
        main,
        [
            "submit",
            "export-accounts",
            "--as",
            "alice",
            "--state",
            "RI",
            "--columns",
            "ssn",
            "--unmask",
            "ssn",
            "--description",
            "no",
        ],
    )
    assert refused.exit_code == 2 and "Export sensitive data unmasked" in refused.output


def test_a_cell_that_looks_like_a_formula_is_written_as_text(db, service):
    with db.read() as s:
        name = s.scalar(text("SELECT debtor_name FROM accounts WHERE id = 1"))
    with db.write_conn() as conn:
        conn.execute(
            text("UPDATE accounts SET debtor_name = '=HYPERLINK(1)' WHERE file_number = 'F0000001'")
        )
    try:
        job = service.submit(
            "admin",
            "export_accounts",
            AccountSelection(account_ids=(1,)),
            {"columns": "file_number,debtor"},
            "Formula",
        )
        _run(db, job.id)
        assert _rows(service.export_file("admin", job.id))[0]["Debtor"] == "'=HYPERLINK(1)"
    finally:
        with db.write_conn() as conn:
            conn.execute(text("UPDATE accounts SET debtor_name = :n WHERE id = 1"), {"n": name})


def _peak_writing(db, job_id: int, n: int, path: Path) -> tuple[int, int, int]:
    """Give job ``job_id`` ``n`` Ok items (the seeded accounts over and over) and write its
    export; return (rows, peak Python memory, resident memory growth while writing)."""
    with db.write_conn() as conn:
        conn.execute(text("DELETE FROM job_items WHERE job_id = :j"), {"j": job_id})
        accounts = conn.scalar(text("SELECT count(*) FROM accounts"))
        conn.execute(
            text(
                "INSERT INTO job_items (job_id, seq, account_id, outcome) "
                "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n) "
                "SELECT :j, n, 1 + (n % :a), :ok FROM s"
            ),
            {"j": job_id, "n": n, "a": accounts, "ok": ItemOutcome.OK},
        )
    columns = ["file_number", "client", "debtor", "ssn", "email", "phone", "current_balance"]
    with db.read() as s, _ResidentGrowth() as grown:
        conn = s.connection()
        tracemalloc.start()
        try:
            rows, _size = writer.write_csv(conn, job_id, columns, [], path)
            _now, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    return rows, peak, grown.most


class _ResidentGrowth:
    """How far the process's resident memory rose above where it was (sampled every 5 ms):
    sees what tracemalloc does not, such as a database driver's buffers in C."""

    def __enter__(self) -> _ResidentGrowth:
        self.start = self.now()
        self.most = 0
        self.running = True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()

    @staticmethod
    def now() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _sample(self) -> None:
        while self.running:
            self.most = max(self.most, self.now() - self.start)
            time.sleep(0.005)


def test_a_200000_row_export_does_not_hold_its_rows_in_memory(db, service, tmp_path):
    # Given an export job (its items are written here: the seeded accounts over and over)
    job = service.submit(
        "admin", "export_accounts", AccountSelection(account_ids=(1,)), {}, "Memory check"
    )
    small_rows, small_peak, _ = _peak_writing(db, job.id, 20_000, tmp_path / "small.csv")
    big_rows, big_peak, big_growth = _peak_writing(db, job.id, 200_000, tmp_path / "big.csv")
    assert (small_rows, big_rows) == (20_000, 200_000)
    # Ten times the rows, the same memory: a batch at a time (a few MB), not the rows
    assert big_peak < small_peak * 1.5 + 1_000_000, (small_peak, big_peak)
    assert big_peak < 20_000_000
    # And the driver does not buffer them either (the rows alone are ~30 MB of text)
    assert big_growth < 25_000_000, big_growth
    with open(tmp_path / "big.csv", encoding="utf-8") as f:
        assert sum(1 for _ in f) == 200_001
