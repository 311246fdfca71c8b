"""`bulkdesk definitions …` and `bulkdesk campaigns …`, run as a person would, on a fresh
SQLite database seeded with the demo definitions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("definitions-cli")
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": f"sqlite:///{home / 'cli.db'}",
        "BULKDESK_BROKER_URL": "",
        "BULKDESK_VAR_DIR": str(home / "var"),
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
    seeded = run("seed", "--accounts", "300")
    assert ", 6 job definitions in " in seeded.stdout
    return run


def test_list_shows_enabled_definitions_and_disabled_ones_when_asked(cli):
    listed = cli("definitions", "list", "--as", "carol").stdout
    assert "Daily call report\n  Scheduled: Every day at 18:00 (Europe/London)" in listed
    assert "retired" not in listed and "(5 definitions)" in listed
    both = cli("definitions", "list", "--as", "carol", "--show-disabled", "--text", "REPORT")
    assert "Monthly agent report (retired)  (disabled)" in both.stdout


def test_show_gives_steps_with_their_next_steps_and_the_history(cli):
    shown = cli("definitions", "show", "Invoicer", "--as", "bob").stdout
    assert "Depends on: Invoice pre-check" in shown
    assert "1. Invoices [Report]" in shown
    assert "next success: Deliver; next failure: Tell ops" in shown
    assert "Tell ops: never ran" in shown
    assert "created   system: Created" in shown
    missing = cli("definitions", "show", "Nope", "--as", "bob", ok=False)
    assert missing.returncode == 2 and "There is no definition called 'Nope'" in missing.stderr


def test_export_edit_and_import_with_a_dry_run_first(cli):
    out = cli.home / "defs.yaml"
    cli("definitions", "export", "Weekly billing report", "--as", "alice", "-o", str(out))
    text = out.read_text()
    assert text.startswith("definitions:\n- name: Weekly billing report\n")
    assert "    at: 07:00\n" in text  # YAML reads it as text: no quotes needed
    out.write_text(text.replace("at: 07:00", "at: 08:00"))

    dry = cli("definitions", "import", str(out), "--as", "admin", "--dry-run").stdout
    assert "Would create 0, would update 1, 0 unchanged." in dry
    assert "~ Weekly billing report: schedule_options" in dry
    assert (
        "at: 07:00" in cli("definitions", "export", "Weekly billing report", "--as", "alice").stdout
    )

    done = cli("definitions", "import", str(out), "--as", "admin").stdout
    assert "Created 0, updated 1, 0 unchanged." in done
    assert (
        "imported  Ada Admin: Imported: schedule_options"
        in cli("definitions", "show", "Weekly billing report", "--as", "alice").stdout
    )


def test_a_bad_file_lists_every_problem_and_imports_nothing(cli):
    bad = cli.home / "bad.yaml"
    bad.write_text(
        "definitions:\n- name: Second EOC\n  trigger: campaign\n  steps:\n"
        "  - {name: A, kind: report, settings: {report: call}, next_success: B}\n"
    )
    refused = cli("definitions", "import", str(bad), "--as", "admin", ok=False)
    assert refused.returncode == 2
    assert "nothing was imported" in refused.stderr
    assert "'End of campaign report' is it" in refused.stderr
    assert "line 5, definition 'Second EOC', steps[0].next_success: No step named 'B'" in (
        refused.stderr
    )
    assert "Second EOC" not in cli("definitions", "list", "--as", "admin").stdout


def test_suspend_resume_disable_enable_and_refusals(cli):
    user = cli("definitions", "suspend", "Invoicer", "--as", "alice", "--reason", "x", ok=False)
    assert user.returncode == 2 and "Only administrators define jobs" in user.stderr
    no_reason = cli("definitions", "suspend", "Invoicer", "--as", "admin", ok=False)
    assert no_reason.returncode == 2 and "Say why" in no_reason.stderr
    cli("definitions", "suspend", "Invoicer", "--as", "admin", "--reason", "Month-end freeze")
    assert "Suspended " in cli("definitions", "show", "Invoicer", "--as", "bob").stdout
    assert "(suspended)" in cli("definitions", "list", "--as", "bob").stdout
    refused = cli("definitions", "run-now", "Invoicer", "--as", "admin", ok=False)
    assert refused.returncode == 2 and "resume it before running it" in refused.stderr
    assert "resumed" in cli("definitions", "resume", "Invoicer", "--as", "admin").stdout
    assert "disabled" in cli("definitions", "disable", "Invoicer", "--as", "admin").stdout
    again = cli("definitions", "disable", "Invoicer", "--as", "admin", ok=False)
    assert again.returncode == 2 and "already disabled" in again.stderr
    assert "enabled" in cli("definitions", "enable", "Invoicer", "--as", "admin").stdout


def test_run_now_and_campaigns(cli):
    ran = cli("definitions", "run-now", "Daily call report", "--as", "admin").stdout
    assert ran.startswith("Run of 'Daily call report' started: job ")
    job = ran.rsplit("job ", 1)[1].rstrip(".\n")
    assert "Daily call report" in cli("show", job, "--as", "admin").stdout

    listed = cli("campaigns", "list", "--as", "carol").stdout
    assert "Winter 2026 outreach [ACME]" in listed and "running" in listed
    cli("campaigns", "create", "Spring push", "--as", "admin", "--client", "NWB")
    ended = cli("campaigns", "end", "Spring push", "--as", "admin").stdout
    assert ended.startswith("Campaign 'Spring push' ended; run started: job ")
    twice = cli("campaigns", "end", "Spring push", "--as", "admin", ok=False)
    assert twice.returncode == 2 and "has already ended" in twice.stderr
    user = cli("campaigns", "end", "Winter 2026 outreach", "--as", "alice", ok=False)
    assert user.returncode == 2 and "Only administrators" in user.stderr
