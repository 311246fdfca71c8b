"""The `bulkdesk` command, run as a user would run it, on a fresh SQLite database."""

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
    home = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": f"sqlite:///{home / 'cli.db'}",
        "BULKDESK_BROKER_URL": "",
        "BULKDESK_CHUNK_SIZE": "100",
    }
    bulkdesk = str(Path(sys.executable).parent / "bulkdesk")

    def run(*args: str, ok: bool = True, **more_env: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [bulkdesk, *args],
            env={**env, **more_env},
            cwd=home,
            text=True,
            capture_output=True,
            timeout=120,
        )
        if ok:
            assert result.returncode == 0, result.stderr + result.stdout
        return result

    run.popen = lambda *args, **more_env: subprocess.Popen(  # type: ignore[attr-defined]
        [bulkdesk, *args],
        env={**env, **more_env},
        cwd=home,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    run("seed", "--accounts", "2000")
    return run


def test_seed_refuses_to_overwrite_unless_asked(cli):
    refused = cli("seed", "--accounts", "2000", ok=False)
    assert refused.returncode == 2
    assert "already has demo data; use --reset" in refused.stderr
    assert "already present" in cli("seed", "--if-empty").stdout


def test_submit_and_wait_shows_the_job_to_its_final_status(cli):
    done = cli(
        "submit",
        "add-interaction",
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
        ok=False,
    )
    out = done.stdout
    # Completed with exceptions exits 1: not every account was updated
    assert done.returncode == 1, done.stderr + out
    assert "queued: CLI dispute calls" in out
    assert "Completed with exceptions" in out
    listing = cli("jobs", "--as", "alice").stdout
    assert "CLI dispute calls" in listing and "Completed with exceptions" in listing
    assert listing.strip().endswith("Page 1 of 1 (1 job)")
    shown = cli("show", "1", "--as", "alice", "--items", "Exception").stdout
    assert "Action: Add Interaction" in shown and "Account is closed" in shown


def test_refused_actions_print_the_reason_and_exit_non_zero(cli):
    stop = cli("stop", "1", "--as", "alice", ok=False)
    assert stop.returncode == 2
    assert "Only jobs that are In progress can be stopped" in stop.stderr
    # Someone else's job is not found, exactly as a job that never existed
    for verb in ("show", "stop", "delete"):
        other = cli(verb, "1", "--as", "bob", ok=False)
        assert other.returncode == 2
        assert other.stderr.strip() == "Error: Job 1 was not found; it may have been deleted"
    for missing_id in ("424242", "99999999999", "0"):
        missing = cli("show", missing_id, "--as", "admin", ok=False)
        assert f"Job {missing_id} was not found" in missing.stderr
        assert "Traceback" not in missing.stderr
    nobody = cli("jobs", "--as", "mallory", ok=False)
    assert "There is no user called 'mallory'" in nobody.stderr
    add = ("submit", "add-interaction", "--as", "alice", "--description", "x")
    empty = cli(*add, "--state", "AK", "--min-balance", "99999999", ok=False)
    assert "matches no accounts" in empty.stderr
    # A value that names nothing is named as the problem, not "matches no accounts"
    typo = cli(*add, "--status", "Opn", ok=False)
    assert "There is no account status 'Opn'; the statuses are Open," in typo.stderr
    texas = cli(*add, "--state", "Texas", ok=False)
    assert "There is no state 'Texas'; use a two-letter code such as TX" in texas.stderr


def test_delete_removes_the_job_from_the_list(cli):
    cli("delete", "1", "--as", "alice")
    assert "CLI dispute calls" not in cli("jobs", "--as", "admin").stdout


def test_a_job_stopped_while_submit_waits_exits_with_the_stopped_code(cli):
    # Given a slow job watched by `submit --wait`
    watching = cli.popen(
        "submit",
        "add-interaction",
        "--as",
        "alice",
        "--min-balance",
        "0",
        "--description",
        "Stop me",
        "--wait",
        BULKDESK_CHUNK_PAUSE="0.5",
        BULKDESK_CHUNK_SIZE="50",
    )
    try:
        job_id = None
        for _ in range(600):
            listing = cli("jobs", "--as", "alice", "--status", "In progress").stdout
            running = [line for line in listing.splitlines() if "Stop me" in line]
            if running:
                job_id = running[0].split()[0]
                break
            time.sleep(0.1)
        assert job_id, "the job never showed as In progress"
        # When alice stops it from another terminal
        assert "is Stopped" in cli("stop", job_id, "--as", "alice").stdout
        out, _ = watching.communicate(timeout=60)
    finally:
        watching.kill()
    # Then the waiting command says so and exits 4
    assert watching.returncode == 4, out
    assert f"Job {job_id} Stopped" in out


@pytest.mark.parametrize(
    "variable, value, message",
    [
        ("BULKDESK_CHUNK_SIZE", "0", "BULKDESK_CHUNK_SIZE=0 is out of range; expected 1 to"),
        ("BULKDESK_CHUNK_SIZE", "-5", "BULKDESK_CHUNK_SIZE=-5 is out of range"),
        ("BULKDESK_CHUNK_SIZE", "abc", "BULKDESK_CHUNK_SIZE='abc' is not a whole number"),
        ("BULKDESK_LEASE_SECONDS", "0", "BULKDESK_LEASE_SECONDS=0.0 is out of range"),
        ("BULKDESK_BROKER_URL", "kafka://x", "BULKDESK_BROKER_URL 'kafka://x' is not a broker"),
        ("BULKDESK_DATABASE_URL", "nonsense", "BULKDESK_DATABASE_URL 'nonsense' is not a data"),
        (
            "BULKDESK_DATABASE_URL",
            "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
            "Cannot use the database postgresql+psycopg://nobody@127.0.0.1:1/nothing: "
            "connection failed",
        ),
    ],
)
def test_bad_settings_are_refused_in_one_line_before_anything_is_queued(
    cli, variable, value, message
):
    def jobs_count() -> str:
        return cli("jobs", "--as", "admin").stdout.strip().splitlines()[-1]  # "(N jobs)"

    before = jobs_count()
    refused = cli(
        "submit",
        "add-interaction",
        "--as",
        "alice",
        "--group",
        "Dispute review",
        "--description",
        "Bad settings",
        "--wait",
        ok=False,
        **{variable: value},
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("Error: " + message), refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert jobs_count() == before


def test_change_status_from_the_cli_with_a_dry_run_first(cli):
    change = ("submit", "change-status", "--as", "alice", "--group", "Dispute review")
    jobs_before = cli("jobs", "--as", "alice").stdout
    # The dry run says what would happen and queues nothing
    dry = cli(*change, "--to", "On hold", "--description", "Preview", "--dry-run")
    assert "Dry run of Change Status on group “Dispute review”" in dry.stdout
    assert "Would change " in dry.stdout and " of 40 accounts" in dry.stdout
    assert "× Account is locked; bulk updates are not allowed" in dry.stdout
    assert "Disputed → On hold" in dry.stdout
    assert "Nothing was queued." in dry.stdout
    assert cli("jobs", "--as", "alice").stdout == jobs_before
    # An inactive status is refused, naming the choices
    retired = cli(*change, "--to", "Legal review", "--description", "No", ok=False)
    assert retired.returncode == 2
    assert "Choose a new status (Open, Promise to pay" in retired.stderr
    # The real run ends Completed with exceptions (the locked and closed accounts): exit 1
    run = cli(*change, "--to", "On hold", "--description", "Disputes on hold", "--wait", ok=False)
    assert run.returncode == 1, run.stderr
    job_id = run.stdout.split()[1]
    shown = cli("show", job_id, "--as", "alice", "--items", "Ok").stdout
    assert "Action: Change Status (Status to On hold)" in shown
    assert "Disputed → On hold" in shown
    # The job list can be narrowed to one action
    listed = cli("jobs", "--as", "alice", "--action", "change-status").stdout
    assert "Disputes on hold" in listed and "Preview" not in listed
    assert "CLI dispute calls" not in listed


def test_each_actions_options_come_from_its_declaration(cli):
    add = cli("submit", "add-interaction", "--help").stdout
    assert "--type" in add and "--outcome" in add and "--note" in add and "--date" in add
    assert "Contacted" in add  # its fixed choices are listed
    status = " ".join(cli("submit", "change-status", "--help").stdout.split())
    assert "--to" in status and "--type" not in status
    assert "--dry-run" in status and "0 Completed, 1 Completed with exceptions" in status


def test_assign_then_undo_from_the_cli_each_previewed_first(cli):
    assign = ("submit", "assign", "--as", "admin", "--group", "Big reassignment pool")
    dry = cli(*assign, "--to", "Maria Gonzalez = 5", "--description", "Preview", "--dry-run")
    assert "Would change 5 of " in dry.stdout and "Nothing was queued." in dry.stdout
    # Numbers above the selection are refused where they are typed
    too_many = cli(*assign, "--to", "Maria Gonzalez = 99999", "--description", "No", ok=False)
    assert too_many.returncode == 2
    assert "the numbers add up to 99,999 accounts, but only" in too_many.stderr
    run = cli(
        *assign, "--to", "Maria Gonzalez = 5", "--description", "Five to Maria", "--wait", ok=False
    )
    assert run.returncode in (0, 1), run.stderr
    job_id = run.stdout.split()[1]
    shown = cli("show", job_id, "--as", "admin", "--items", "Ok").stdout
    assert "→ Maria Gonzalez" in shown
    # The undo says what it would put back, then does it
    preview = cli("undo", job_id, "--as", "admin", "--dry-run").stdout
    assert f"Dry run of the undo of job {job_id}:" in preview and "Nothing was queued." in preview
    undone = cli("undo", job_id, "--as", "admin", "--wait", ok=False)
    assert undone.returncode in (0, 1), undone.stderr
    assert f"queued: Undo of job {job_id}: Five to Maria" in undone.stdout
    again = cli("undo", job_id, "--as", "admin", ok=False)
    assert again.returncode == 2 and "already undone by job" in again.stderr
    # Someone else's job is not found, in the same words as a job that does not exist
    hidden = cli("retry", job_id, "--as", "bob", ok=False)
    assert f"Job {job_id} was not found" in hidden.stderr
