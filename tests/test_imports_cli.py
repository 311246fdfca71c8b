"""`bulkdesk import`, run as a user would run it, and the file-in folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("imports-cli")
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": f"sqlite:///{home / 'cli.db'}",
        "BULKDESK_BROKER_URL": "",
        "BULKDESK_IMPORTS_DIR": str(home / "imports"),
        "BULKDESK_CHUNK_SIZE": "100",
    }
    bulkdesk = str(Path(sys.executable).parent / "bulkdesk")

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [bulkdesk, *args], env=env, cwd=home, text=True, capture_output=True, timeout=120
        )
        if ok:
            assert result.returncode == 0, result.stderr + result.stdout
        return result

    run.home = home  # type: ignore[attr-defined]
    run("seed", "--accounts", "500")
    return run


def test_import_with_wait_reports_the_figures_and_exits_1_when_rows_have_messages(cli):
    path = cli.home / "payments.csv"
    path.write_text("Account ID,Amount,Paid On\n1,10,2026-11-01\n2,oops,2026-11-01\n")
    done = cli("import", "payments", str(path), "--as", "alice", "--wait", ok=False)
    assert done.returncode == 1, done.stderr
    assert "Rows 2: 0 created, 0 updated, 1 imported, 1 invalid" in done.stdout
    job = done.stdout.split("Import task ", 1)[1].split(" ", 1)[0]
    exported = cli("import", "messages", job, "--as", "alice", "--status", "Invalid").stdout
    assert exported.splitlines()[0].startswith("Account ID,Amount,Paid On,Import Row,")
    assert exported.splitlines()[1].startswith("2,oops,2026-11-01,3,Invalid,Amount 'oops'")
    hidden = cli("import", "messages", job, "--as", "bob", ok=False)
    assert hidden.returncode == 2 and f"Job {job} was not found" in hidden.stderr


def test_a_wrong_heading_exits_3_and_says_why(cli):
    path = cli.home / "bad.csv"
    path.write_text("Account,Amount,Paid On\n1,10,2026-11-01\n")
    done = cli("import", "payments", str(path), "--as", "alice", "--wait", ok=False)
    assert done.returncode == 3
    assert "File import has failed: The heading 'Account' (column 1)" in done.stderr


def test_refusals_exit_2_in_one_line(cli):
    path = cli.home / "p.csv"
    path.write_text("Account ID,Amount,Paid On\n1,10,2026-11-01\n")
    refused = cli("import", "payments", str(path), "--as", "carol", ok=False)
    assert refused.returncode == 2 and refused.stderr.startswith("Error: ")
    assert "bulk" in refused.stderr.lower() or "permission" in refused.stderr.lower()


def test_the_template_and_the_help_list_the_expected_columns(cli):
    template = cli("import", "template", "accounts").stdout.splitlines()
    assert template[0].startswith("Account ID,SSN,First Name,Last Name,Birth Date,File Number")
    shown = cli("import", "interactions", "--help").stdout
    assert "Outcome: one of Contacted, Left message" in shown


def test_a_file_dropped_in_the_file_in_folder_is_taken_once(cli):
    inbox = cli.home / "imports" / "inbox"
    (inbox / "payments" / "alice").mkdir(parents=True)
    (inbox / "payments" / "nobody").mkdir(parents=True)
    good = inbox / "payments" / "alice" / "nightly.csv"
    good.write_text("Account ID,Amount,Paid On\n3,12.5,2026-11-02\n")
    stray = inbox / "payments" / "nobody" / "x.csv"
    stray.write_text("Account ID,Amount,Paid On\n3,12.5,2026-11-02\n")
    past = time.time() - 10
    for f in (good, stray):
        os.utime(f, (past, past))
    taken = cli("import", "folder").stdout
    assert "payments/alice/nightly.csv: import task" in taken
    assert "payments/nobody/x.csv: refused (There is no user called 'nobody')" in taken
    assert not good.exists() and not stray.exists()
    [kept] = (inbox / "processed").glob("*-nightly.csv")
    assert kept.read_text().startswith("Account ID")
    assert (inbox / "failed" / "x.csv.txt").read_text().startswith("There is no user")
    # Taken once: a second poll finds nothing.
    assert "Nothing waiting" in cli("import", "folder").stdout
    jobs = cli("jobs", "--as", "alice").stdout
    assert "Import payments: nightly.csv" in jobs
