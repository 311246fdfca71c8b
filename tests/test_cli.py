"""The `bulkdesk` command, run as a user would run it, on a fresh SQLite database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": f"sqlite:///{home / 'cli.db'}",
        "BULKDESK_BROKER_URL": "",
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

    run("seed", "--accounts", "2000")
    return run


def test_seed_refuses_to_overwrite_unless_asked(cli):
    refused = cli("seed", "--accounts", "2000", ok=False)
    assert refused.returncode == 2
    assert "already has demo data; use --reset" in refused.stderr
    assert "already present" in cli("seed", "--if-empty").stdout


def test_submit_and_wait_shows_the_job_to_its_final_status(cli):
    out = cli(
        "submit",
        "--as",
        "alice",
        "--group",
        "Dispute review",
        "--type",
        "Call",
        "--outcome",
        "Left message",
        "--description",
        "CLI dispute calls",
        "--wait",
    ).stdout
    assert "queued: CLI dispute calls" in out
    assert "Completed with exceptions" in out
    listing = cli("jobs", "--as", "alice").stdout
    assert "CLI dispute calls" in listing and "Completed with exceptions" in listing
    shown = cli("show", "1", "--as", "alice", "--items", "Exception").stdout
    assert "Action: Add Interaction" in shown and "Account is closed" in shown


def test_refused_actions_print_the_reason_and_exit_non_zero(cli):
    stop = cli("stop", "1", "--as", "alice", ok=False)
    assert stop.returncode == 2
    assert "Only jobs that are In progress can be stopped" in stop.stderr
    other = cli("delete", "1", "--as", "bob", ok=False)
    assert "You can only delete jobs you created" in other.stderr
    missing = cli("show", "424242", "--as", "admin", ok=False)
    assert "Job 424242 was not found" in missing.stderr
    nobody = cli("jobs", "--as", "mallory", ok=False)
    assert "There is no user called 'mallory'" in nobody.stderr
    empty = cli("submit", "--as", "alice", "--state", "ZZ", "--description", "x", ok=False)
    assert "matches no accounts" in empty.stderr


def test_delete_removes_the_job_from_the_list(cli):
    cli("delete", "1", "--as", "alice")
    assert "CLI dispute calls" not in cli("jobs", "--as", "admin").stdout
