"""The analyst notebooks: committed clean, and run top to bottom on a seeded database.

Each notebook is executed with papermill on a kernel of this interpreter (see
``jobs.notebooks.run_notebook``); the kernel finds the test database through
``BULKDESK_DATABASE_URL``, as it would find the configured one in JupyterLab.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import nbformat
import pytest
from audit_jobs import AuditJobs, make_audit_jobs
from click.testing import CliRunner
from nbclient import NotebookClient
from papermill import PapermillExecutionError
from sqlalchemy import text

from jobs import notebooks
from jobs.cli.main import main
from jobs.db import Database
from jobs.reports.audit_report import build_report
from jobs.service import JobService

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
EXECUTED = {"audit.ipynb", "explore_accounts.ipynb", "launch_and_monitor.ipynb"}


@pytest.fixture
def database_env(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Database:
    """The seeded copy, announced to notebook kernels as the configured database."""
    monkeypatch.setenv("BULKDESK_DATABASE_URL", str(sqlite_db.url))
    monkeypatch.setenv("BULKDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("BULKDESK_BROKER_URL", raising=False)
    return sqlite_db


@pytest.fixture
def audit_jobs(database_env: Database, stub_broker) -> AuditJobs:
    return make_audit_jobs(JobService(database_env), stub_broker)


def _run(name: str, tmp_path: Path, **parameters: object) -> nbformat.NotebookNode:
    executed = tmp_path / "executed" / f"{name}.ipynb"
    notebooks.run_notebook(notebooks.notebook_path(name), executed, parameters, timeout=300)
    return nbformat.read(executed, as_version=4)


def _today_period() -> dict[str, str]:
    """The UTC days around now, when the test's jobs were submitted."""
    today = dt.datetime.now(dt.UTC).date()
    return {
        "date_from": (today - dt.timedelta(days=1)).isoformat(),
        "date_to": (today + dt.timedelta(days=1)).isoformat(),
    }


def test_every_notebook_is_executed_by_a_test_here() -> None:
    # The execution tests below cover these; a new notebook needs one too.
    assert {path.name for path in NOTEBOOKS} == EXECUTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_committed_without_outputs_or_execution_counts(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    for number, cell in enumerate(notebook.cells, 1):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} cell {number} has outputs"
            assert cell.execution_count is None, f"{path.name} cell {number} was executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameterised_notebooks_have_one_cell_tagged_parameters(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name} needs exactly one cell tagged 'parameters'"


def _shown(notebook: nbformat.NotebookNode) -> str:
    """Everything the executed notebook printed or displayed as text."""
    return "".join(
        str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", ""))
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.outputs
    )


@pytest.mark.slow
def test_the_launch_and_monitor_notebook_launches_a_job_and_analyses_its_items(
    database_env: Database, tmp_path: Path
) -> None:
    executed = _run("launch_and_monitor", tmp_path)

    shown = _shown(executed)
    assert "Alice Analyst" in shown and "Job 1 Completed: 150 ok" in shown, shown
    with database_env.engine.connect() as conn:
        job = conn.execute(text("SELECT status, ok, owner_id FROM jobs")).one()
        logged = conn.execute(text("SELECT count(*) FROM interactions WHERE job_id = 1"))
        assert (job.status, job.ok, logged.scalar_one()) == (2, 150, 150)


@pytest.mark.slow
def test_the_explore_accounts_notebook_runs_on_the_seeded_database(
    database_env: Database, tmp_path: Path
) -> None:
    executed = _run("explore_accounts", tmp_path)

    shown = _shown(executed)
    assert "Dispute review" in shown and "locked (exception)" in shown


@pytest.mark.slow
def test_the_audit_notebook_gives_a_valid_report_on_an_empty_trail(
    database_env: Database, tmp_path: Path
) -> None:
    _run("audit", tmp_path, output_dir=str(tmp_path / "out"))

    assert (tmp_path / "out" / "audit_all_all_all.html").stat().st_size > 0
    assert (
        (tmp_path / "out" / "audit_all_all_all.csv")
        .read_text()
        .startswith("section,key,metric,value\n")
    )


@pytest.mark.slow
def test_the_audit_notebook_run_twice_writes_identical_figures_that_match_the_database(
    database_env: Database, audit_jobs: AuditJobs, tmp_path: Path
) -> None:
    # Given a trail with completed, exception, stopped and deleted jobs,
    period = _today_period()
    # when the audit runs twice with the same parameters into two folders,
    for run in ("first", "second"):
        _run("audit", tmp_path / run, output_dir=str(tmp_path / run), **period)

    # then the CSVs are the same bytes,
    stem = f"audit_{period['date_from']}_{period['date_to']}_all"
    first = (tmp_path / "first" / f"{stem}.csv").read_bytes()
    assert first == (tmp_path / "second" / f"{stem}.csv").read_bytes()
    html = (tmp_path / "first" / f"{stem}.html").read_text()
    assert "Who stopped or deleted what" in html and "One-off letters" in html
    # and their figures are the database's.
    figures = {
        tuple(line.split(",")[:3]): line.split(",", 3)[3]
        for line in first.decode().splitlines()[1:]
        if line.count(",") >= 3
    }
    with database_env.engine.connect() as conn:
        deleted = conn.execute(text("SELECT count(*) FROM jobs WHERE deleted_at IS NOT NULL"))
        per_status = conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status"))
        stops = conn.execute(text("SELECT count(*) FROM audit_events WHERE action = 'stop'"))
        deleted_count, stop_count = deleted.scalar_one(), stops.scalar_one()
        status_counts = dict(per_status.all())
    assert deleted_count == 2 and stop_count == 1
    assert figures[("jobs_by_status", "Completed", "jobs")] == str(status_counts[2])
    assert figures[("jobs_by_status", "Completed", "deleted")] == "1"
    assert figures[("jobs_by_status", "Stopped", "jobs")] == str(status_counts[3])
    assert figures[("events_by_action", "stop", "events")] == str(stop_count)
    assert figures[("events_by_action", "delete", "events")] == str(deleted_count)
    assert (
        figures[("stops_and_deletes", _event_id(database_env, audit_jobs.deleted_completed), "by")]
        == "admin"
    )


def _event_id(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT id FROM audit_events WHERE action = 'delete' AND job_id = :job"),
                {"job": job_id},
            ).scalar_one()
        )


@pytest.mark.slow
def test_bulkdesk_audit_runs_the_notebook_for_one_user_and_writes_the_report(
    database_env: Database, audit_jobs: AuditJobs, tmp_path: Path
) -> None:
    period = _today_period()

    result = CliRunner().invoke(
        main,
        [
            "audit",
            "--as",
            "admin",
            "--from",
            period["date_from"],
            "--to",
            period["date_to"],
            "--user",
            "dave",
            "--out",
            str(tmp_path / "out"),
        ],
    )

    assert result.exit_code == 0, result.output
    stem = f"audit_{period['date_from']}_{period['date_to']}_dave"
    for suffix in ("html", "csv", "ipynb"):
        assert (tmp_path / "out" / f"{stem}.{suffix}").is_file(), result.output
    expected = build_report(database_env, user="dave", **period).write_csv(tmp_path / "x.csv")
    assert (tmp_path / "out" / f"{stem}.csv").read_bytes() == expected.read_bytes()


def test_bulkdesk_audit_refuses_a_backwards_period_and_an_unknown_user(
    database_env: Database,
) -> None:
    audit = ["audit", "--as", "admin", "--from", "2026-11-01", "--to"]
    backwards = CliRunner().invoke(main, [*audit, "2026-10-31"])
    nobody = CliRunner().invoke(main, [*audit, "2026-11-08", "--user", "nobody"])

    assert backwards.exit_code == 2 and "after it ends" in backwards.output
    assert nobody.exit_code == 2 and "no user called 'nobody'" in nobody.output


def test_a_users_audit_covers_only_their_own_jobs_and_not_someone_elses(
    database_env: Database, audit_jobs: AuditJobs, tmp_path: Path
) -> None:
    period = _today_period()
    audit = ["audit", "--from", period["date_from"], "--to", period["date_to"]]
    # When dave asks for bob's audit, he is refused and nothing is written
    spying = CliRunner().invoke(
        main, [*audit, "--as", "dave", "--user", "bob", "--out", str(tmp_path / "spy")]
    )
    assert spying.exit_code == 2 and "only audit your own jobs" in spying.output
    assert not (tmp_path / "spy").exists() or not any((tmp_path / "spy").iterdir())
    # And carol, without the bulk-update permission, gets no audit at all
    carol = CliRunner().invoke(main, [*audit, "--as", "carol", "--out", str(tmp_path / "c")])
    assert carol.exit_code == 2 and "permission" in carol.output
    # When dave runs his own audit, without naming a user, it covers his jobs only
    own = CliRunner().invoke(main, [*audit, "--as", "dave", "--out", str(tmp_path / "own")])
    assert own.exit_code == 0, own.output
    stem = f"audit_{period['date_from']}_{period['date_to']}_dave"
    expected = build_report(database_env, user="dave", **period).write_csv(tmp_path / "x.csv")
    assert (tmp_path / "own" / f"{stem}.csv").read_bytes() == expected.read_bytes()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_name_the_bulkdesk_kernel_and_load_their_resources_inline(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)

    assert notebook.metadata.kernelspec.name == notebooks.KERNEL_NAME == "bulkdesk"
    source = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "inline=True" in source and "prepare_notebook()" in source
    assert "stop_worker" not in source


def test_the_bulkdesk_kernel_runs_this_python_with_panel_inline(tmp_path: Path) -> None:
    folder = notebooks.install_kernel(prefix=tmp_path)

    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == "Bulkdesk" and spec["argv"][0] == sys.executable
    assert spec["env"] == {"PANEL_INLINE": "true"}


def _errors(cell: nbformat.NotebookNode) -> list[str]:
    return [
        str(o.get("text") or o.get("evalue"))
        for o in cell.get("outputs", [])
        if o.get("name") == "stderr" or o.get("output_type") == "error"
    ]


@pytest.mark.slow
def test_run_all_twice_in_one_kernel_warns_nothing_and_a_job_queued_after_the_last_cell_runs(
    database_env: Database,
) -> None:
    # Given launch_and_monitor run top to bottom twice in the same kernel (Run All, Run All),
    notebook = nbformat.read(notebooks.notebook_path("launch_and_monitor"), as_version=4)
    later = nbformat.v4.new_code_cell(
        "later = service.submit_to_accounts(user, 'add_interaction', description='After the end',"
        " group=demo_group, **params)\n"
        "later = notebooks.wait_until_final(service, user, later.id, timeout=120)\n"
        "print(f'Job {later.id} {later.status.label}')"
    )
    with notebooks.kernel_for_this_python() as kernel:
        client = NotebookClient(
            notebook,
            kernel_name=kernel,
            timeout=300,
            resources={"metadata": {"path": str(notebooks.notebook_path("x").parent)}},
        )
        with client.setup_kernel():
            for _ in range(2):
                for index, cell in enumerate(notebook.cells):
                    if cell.cell_type == "code":
                        client.execute_cell(cell, index)
                # then no cell warns (a second worker would add its middleware twice),
                assert [e for c in notebook.cells for e in _errors(c)] == []
            # and a job queued after the last cell is worked by the kernel's threads.
            notebook.cells.append(later)
            client.execute_cell(later, len(notebook.cells) - 1)

    shown = "".join(str(o.get("text", "")) for o in later.outputs)
    assert _errors(later) == [] and "Job 3 Completed" in shown, shown


@pytest.mark.slow
@pytest.mark.parametrize("who", ["nobody", "bob"])
def test_a_notebook_acting_as_an_unknown_or_disabled_user_stops_with_words(
    database_env: Database, tmp_path: Path, who: str
) -> None:
    with database_env.engine.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE username = 'bob'"))

    with pytest.raises(PapermillExecutionError) as refused:
        _run("explore_accounts", tmp_path, user=who)

    assert f"The notebook's user parameter is '{who}'" in str(refused.value)
    assert "no active Bulkdesk user" in str(refused.value)
