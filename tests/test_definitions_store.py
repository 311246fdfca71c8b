"""Definitions saved through the service: every rule refuses with a message at its field,
edits from an older copy are refused, only admins change anything, every change is in the
history with what changed, and the list and history reads are set-based."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from jobs import clock
from jobs.definitions.spec import DefinitionSpec, InvalidDefinition, StepSpec
from jobs.errors import ActionNotAllowed, InvalidInput, NotFound, PermissionDenied
from jobs.models import Definition, DefinitionChange, DefinitionStep
from jobs.status import JobStatus
from tests.definitions_support import (
    StatementCounter,
    add_run,
    empty_definitions,
    report_then_email,
)

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def defs(db, service):
    yield from empty_definitions(db, service)


@pytest.fixture
def manual_clock():
    moved = clock.ManualClock(NOW)
    clock.use(moved)
    yield moved
    clock.use(None)


def _errors(call) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidDefinition) as caught:
        call()
    return caught.value.errors


def _steps(*steps: tuple[str, str, str]) -> list[StepSpec]:
    """Report steps (name, next success, next failure)."""
    return [StepSpec(n, "report", {"report": "call"}, ok, bad) for n, ok, bad in steps]


# -- creating, and the rules -------------------------------------------------------------


def test_an_admin_creates_a_scheduled_definition_due_at_its_next_time(defs, manual_clock):
    made = defs.create("admin", report_then_email(description="Calls of the day"))

    assert made.enabled and made.enabled_at == NOW
    # 18:00 in London in December is 18:00 UTC, after 12:00 today
    assert made.next_due_at == dt.datetime(2026, 12, 4, 18, 0, tzinfo=dt.UTC)
    assert made.owner == "Ada Admin" and made.version == 1
    assert [(s.name, s.next_success, s.next_failure) for s in made.steps] == [
        ("Report", "Email", ""),
        ("Email", "", ""),
    ]
    assert made.schedule_text == "Every day at 18:00 (Europe/London)"
    history = defs.definition_history("alice", made.id)
    assert [c.action for c in history.changes] == ["created"]
    assert history.changes[0].actor == "Ada Admin"
    assert history.changes[0].details["schedule"] == [None, "end_of_day"]
    assert history.changes[0].details["steps[Email]"][1]["kind"] == "email"


def test_a_user_reads_definitions_but_changes_nothing(defs, db):
    made = defs.create("admin", report_then_email())
    detail = defs.definition_detail("alice", made.id)
    assert not detail.can_edit and "Only administrators" in (detail.read_only_reason or "")
    assert defs.list_definitions("alice").total == 1
    spec = detail.spec
    for attempt in (
        lambda: defs.create("alice", report_then_email("Other")),
        lambda: defs.update("alice", made.id, spec, made.version),
        lambda: defs.disable("alice", made.id),
        lambda: defs.suspend("alice", made.id, "no"),
        lambda: defs.resume("alice", made.id),
        lambda: defs.import_yaml("alice", defs.export_yaml("alice")),
        lambda: defs.run_now("alice", made.id),
        lambda: defs.create_campaign("alice", "Spring"),
    ):
        with pytest.raises(PermissionDenied, match="Only administrators define jobs"):
            attempt()
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Definition)) == 1
        assert s.scalar(select(func.count()).select_from(DefinitionChange)) == 1


def test_each_broken_rule_is_named_at_its_field(defs):
    spec = DefinitionSpec(
        name="  ",
        trigger="sometimes",
        timezone="Mars/Olympus",
        success_recipients=["ops@example.com", "not an address"],
        steps=[
            StepSpec("Report", "report", {"report": "nonsense"}),
            StepSpec("Report", "fax", {}),
            StepSpec("Mail", "email", {"recipients": ["a@example.com"]}, "Nowhere"),
        ],
    )
    errors = _errors(lambda: defs.create("admin", spec))
    assert errors["name"] == "Give the definition a name"
    assert "Unknown trigger 'sometimes'" in errors["trigger"]
    assert "Unknown time zone 'Mars/Olympus'" in errors["timezone"]
    assert "'not an address' does not look like an email address" in errors["success_recipients"]
    assert "Report" in errors["steps[0].settings.report"]
    assert "step 1 is called 'Report' too" in errors["steps[1].name"]
    assert "Unknown step type 'fax'" in errors["steps[1].kind"]
    assert errors["steps[2].next_success"].startswith("No step named 'Nowhere'")


def test_a_scheduled_definition_needs_a_schedule_the_scheduler_accepts(defs):
    no_schedule = report_then_email(schedule=None, options={})
    assert "needs a schedule" in _errors(lambda: defs.create("admin", no_schedule))["schedule"]
    bad_cron = report_then_email(schedule="61 * * * *", options={})
    assert "schedule" in _errors(lambda: defs.create("admin", bad_cron))
    bad_at = report_then_email(options={"at": "25:00"})
    assert "schedule_options.at" in _errors(lambda: defs.create("admin", bad_at))
    made = defs.create("admin", report_then_email(schedule="30 18 * * mon-fri", options={}))
    assert made.next_due_at is not None


def test_step_loops_and_unreachable_steps_are_refused_naming_them(defs):
    loop = report_then_email(steps=_steps(("A", "B", ""), ("B", "C", ""), ("C", "", "A")))
    errors = _errors(lambda: defs.create("admin", loop))
    assert errors == {
        "steps[2].next_failure": "The steps go round in a loop: A → B → C → A; a run would "
        "never end"
    }
    itself = report_then_email(steps=_steps(("A", "A", "")))
    assert "A → A" in _errors(lambda: defs.create("admin", itself))["steps[0].next_success"]
    stranded = report_then_email(steps=_steps(("A", "B", ""), ("B", "", ""), ("C", "", "")))
    assert _errors(lambda: defs.create("admin", stranded)) == {
        "steps[2].name": "Step 'C' is never reached: no step leads to it from the first step 'A'"
    }
    # A failure path that joins the success path again is fine
    fine = report_then_email(steps=_steps(("A", "B", "C"), ("B", "", "C"), ("C", "", "")))
    assert defs.create("admin", fine).steps[2].name == "C"


def test_only_one_campaign_and_one_file_in_definition_the_second_naming_the_first(defs, db):
    defs.create("admin", report_then_email("End of campaign", trigger="campaign"))
    defs.create("admin", report_then_email("Files in", trigger="file_in", inbox="/srv/in"))

    second = report_then_email("Another campaign", trigger="Campaign")
    assert (
        "only one campaign definition, and 'End of campaign' is it"
        in _errors(lambda: defs.create("admin", second))["trigger"]
    )
    second_file = report_then_email("More files", trigger="FTPin", inbox="/srv/in2")
    assert (
        "only one file-in definition, and 'Files in' is it"
        in _errors(lambda: defs.create("admin", second_file))["trigger"]
    )
    # Nor by editing a scheduled one into a campaign one
    scheduled = defs.create("admin", report_then_email("Scheduled"))
    spec = dataclasses.replace(
        scheduled.spec, trigger="campaign", schedule=None, schedule_options={}
    )
    assert (
        "'End of campaign' is it"
        in _errors(lambda: defs.update("admin", scheduled.id, spec, scheduled.version))["trigger"]
    )
    # The database keeps the rule too, for two admins saving at the same moment
    with pytest.raises(IntegrityError), db.write_conn() as conn:
        owner = conn.scalar(select(Definition.owner_id).limit(1))
        conn.execute(insert(Definition).values(name="Racer", trigger="campaign", owner_id=owner))


def test_trigger_fields_that_do_not_belong_are_refused(defs):
    file_in = report_then_email("Files", trigger="file_in")
    assert "needs the inbox folder" in _errors(lambda: defs.create("admin", file_in))["inbox"]
    campaign = dataclasses.replace(
        report_then_email("EOC", trigger="campaign"), schedule="hourly", inbox="/x"
    )
    errors = _errors(lambda: defs.create("admin", campaign))
    assert set(errors) == {"schedule", "inbox"}


def test_names_are_unique_ignoring_case_and_not_a_number(defs):
    assert "only a number" in _errors(lambda: defs.create("admin", report_then_email("42")))["name"]
    defs.create("admin", report_then_email("Daily call report"))
    assert (
        "already a definition called 'Daily call report'"
        in _errors(lambda: defs.create("admin", report_then_email("daily  CALL report")))["name"]
    )


def test_dependencies_must_exist_and_never_go_round(defs):
    pre = defs.create("admin", report_then_email("Invoice pre-check"))
    unknown = report_then_email("Invoicer", depends_on=["Pre check"])
    assert _errors(lambda: defs.create("admin", unknown)) == {
        "depends_on[0]": "There is no definition called 'Pre check'"
    }
    invoicer = defs.create("admin", report_then_email("Invoicer", depends_on=["Invoice pre-check"]))
    assert invoicer.depends_on == ["Invoice pre-check"]
    assert defs.definition_detail("bob", pre.id).dependents == ["Invoicer"]
    back = dataclasses.replace(pre.spec, depends_on=["Invoicer"])
    errors = _errors(lambda: defs.update("admin", pre.id, back, pre.version))
    assert "Invoice pre-check → Invoicer → Invoice pre-check" in errors["depends_on"]
    itself = dataclasses.replace(pre.spec, depends_on=["Invoice pre-check"])
    assert _errors(lambda: defs.update("admin", pre.id, itself, pre.version)) == {
        "depends_on[0]": "A definition cannot depend on itself"
    }


# -- editing -----------------------------------------------------------------------------


def test_an_edit_from_an_older_copy_is_refused_and_the_newer_one_kept(defs, db):
    made = defs.create("admin", report_then_email())
    mine = dataclasses.replace(made.spec, description="First edit")
    theirs = dataclasses.replace(made.spec, description="Second edit")
    after = defs.update("admin", made.id, mine, made.version)
    assert after.version == 2

    with pytest.raises(ActionNotAllowed, match="was changed by Ada Admin at .* since you opened"):
        defs.update("admin", made.id, theirs, made.version)

    assert defs.definition_detail("admin", made.id).description == "First edit"
    assert len(defs.definition_history("admin", made.id).changes) == 2


def test_the_history_says_what_changed_step_by_step(defs):
    made = defs.create("admin", report_then_email())
    spec = made.spec
    spec.steps[1].settings = {**spec.steps[1].settings, "recipients": ["boss@example.com"]}
    spec.steps.append(StepSpec("Copy", "copy", {"destination": "/srv/reports"}))
    spec.steps[1].next_success = "Copy"
    spec.schedule_options = {"at": "19:00"}
    defs.update("admin", made.id, spec, made.version)

    change = defs.definition_history("admin", made.id).changes[0]
    assert change.action == "edited" and change.actor == "Ada Admin"
    details = change.details
    assert details["schedule_options"] == [{"at": "18:00"}, {"at": "19:00"}]
    assert details["steps[Email].next_success"] == ["", "Copy"]
    assert details["steps[Email].settings"][0]["recipients"] == ["ops@example.com"]
    assert details["steps[Email].settings"][1]["recipients"] == ["boss@example.com"]
    assert details["steps[Copy]"][0] is None
    assert details["steps[Copy]"][1]["settings"]["destination"] == "/srv/reports"
    assert "steps (order)" not in details
    assert change.summary.startswith("Edited: schedule_options, steps[Email]")


def test_saving_an_unchanged_definition_writes_nothing(defs):
    made = defs.create("admin", report_then_email())
    again = defs.update("admin", made.id, made.spec, made.version)
    assert again.version == made.version
    assert len(defs.definition_history("admin", made.id).changes) == 1


def test_a_new_schedule_moves_the_next_due_time(defs, manual_clock):
    made = defs.create("admin", report_then_email())
    spec = dataclasses.replace(made.spec, schedule="hourly", schedule_options={"minute": 15})
    after = defs.update("admin", made.id, spec, made.version)
    assert after.next_due_at == dt.datetime(2026, 12, 4, 12, 15, tzinfo=dt.UTC)


# -- enable, disable, suspend, resume ----------------------------------------------------


def test_disabled_definitions_are_hidden_unless_asked_and_have_no_next_run(defs, manual_clock):
    made = defs.create("admin", report_then_email())
    off = defs.disable("admin", made.name)
    assert not off.enabled and off.next_due_at is None
    assert defs.list_definitions("alice").total == 0
    assert defs.list_definitions("alice", show_disabled=True).rows[0].name == made.name
    with pytest.raises(ActionNotAllowed, match="already disabled"):
        defs.disable("admin", made.id)

    manual_clock.advance(hours=7)  # 19:00: today's 18:00 has passed
    on = defs.enable("admin", made.id)
    assert on.enabled_at == NOW + dt.timedelta(hours=7)
    assert on.next_due_at == dt.datetime(2026, 12, 5, 18, 0, tzinfo=dt.UTC)
    actions = [c.action for c in defs.definition_history("admin", made.id).changes]
    assert actions == ["enabled", "disabled", "created"]


def test_suspend_needs_a_reason_and_says_who_and_why_until_resumed(defs):
    made = defs.create("admin", report_then_email())
    with pytest.raises(InvalidInput) as caught:
        defs.suspend("admin", made.id, "  ")
    assert caught.value.field == "reason"

    held = defs.suspend("admin", made.id, "Month-end freeze")
    assert held.suspended_by == "Ada Admin" and held.suspended_reason == "Month-end freeze"
    assert held.suspended_at is not None
    assert defs.list_definitions("bob").rows[0].suspended
    with pytest.raises(ActionNotAllowed, match="already suspended"):
        defs.suspend("admin", made.id, "again")

    back = defs.resume("admin", made.id, "Freeze over")
    assert back.suspended_at is None and back.suspended_reason is None
    with pytest.raises(ActionNotAllowed, match="is not suspended"):
        defs.resume("admin", made.id)
    changes = defs.definition_history("admin", made.id).changes
    assert [(c.action, c.summary) for c in changes[:2]] == [
        ("resumed", "Resumed: Freeze over"),
        ("suspended", "Suspended: Month-end freeze"),
    ]


def test_an_unknown_definition_is_not_found(defs):
    with pytest.raises(NotFound, match="no definition called 'Nope'"):
        defs.definition_detail("alice", "Nope")
    with pytest.raises(NotFound):
        defs.definition_history("alice", 999_999)


# -- reading -----------------------------------------------------------------------------


def test_the_list_is_filtered_sorted_and_paged_on_the_server(defs, db):
    for i in range(12):
        defs.create("admin", report_then_email(f"Report {i:02}", description=f"number {i}"))
    page = defs.list_definitions("alice", page=2, page_size=5, sort="name", descending=True)
    assert page.total == 12 and page.pages == 3
    assert [r.name for r in page.rows] == [f"Report {i:02}" for i in (6, 5, 4, 3, 2)]
    found = defs.list_definitions("alice", text="NUMBER 1")
    assert [r.name for r in found.rows] == ["Report 01", "Report 10", "Report 11"]
    assert defs.list_definitions("alice", text="100%").total == 0
    with pytest.raises(InvalidInput) as caught:
        defs.list_definitions("alice", sort="colour")
    assert caught.value.field == "sort"


def test_the_list_shows_each_definitions_last_run_in_a_fixed_number_of_statements(defs, db):
    made = [defs.create("admin", report_then_email(f"Report {i}")) for i in range(3)]
    add_run(db, made[0].id, NOW - dt.timedelta(days=1), JobStatus.COMPLETED, [])
    last = add_run(db, made[0].id, NOW, JobStatus.FAILED, [])
    add_run(db, made[1].id, NOW, JobStatus.SKIPPED, [])

    with StatementCounter(db) as few:
        rows = {r.name: r for r in defs.list_definitions("alice").rows}
    for i in range(3, 30):
        defs.create("admin", report_then_email(f"Report {i}"))
    with StatementCounter(db) as many:
        defs.list_definitions("alice", page_size=50)

    assert rows["Report 0"].last_run_id == last
    assert rows["Report 0"].last_run_status is JobStatus.FAILED
    assert rows["Report 1"].last_run_status.batch_label == "Warning"
    assert rows["Report 2"].last_run_id is None and rows["Report 2"].steps == 2
    assert many.count == few.count
    by_run = defs.list_definitions("alice", sort="last_run_at", descending=True).rows
    assert {r.name for r in by_run[:2]} == {"Report 0", "Report 1"}


def test_the_history_shows_the_last_execution_of_each_step(defs, db):
    made = defs.create("admin", report_then_email())
    yesterday = NOW - dt.timedelta(days=1)
    add_run(
        db,
        made.id,
        yesterday,
        JobStatus.COMPLETED,
        [
            {"step_name": "Report", "kind": "report", "outcome": "ok", "output": "/old.csv"},
            {"step_name": "Email", "kind": "email", "outcome": "ok", "message": "sent"},
        ],
    )
    today = add_run(
        db,
        made.id,
        NOW,
        JobStatus.FAILED,
        [{"step_name": "Report", "kind": "report", "outcome": "failed", "message": "no data"}],
    )
    # The step "Email" is then renamed "Mail"
    spec = made.spec
    spec.steps[1].name = "Mail"
    spec.steps[0].next_success = "Mail"
    defs.update("admin", made.id, spec, made.version)

    with StatementCounter(db) as counted:
        last = defs.definition_history("alice", made.id).last_steps
    assert [(s.step_name, s.in_definition, s.job_id, s.outcome) for s in last] == [
        ("Report", True, today, "failed"),
        ("Mail", True, None, ""),
        ("Email", False, last[2].job_id, "ok"),
    ]
    assert last[0].message == "no data" and last[2].message == "sent"
    assert last[2].started_at == yesterday
    # One query for every step's last execution, however many runs there are
    for day in range(2, 20):
        step = {"step_name": "Report", "kind": "report", "outcome": "ok"}
        add_run(db, made.id, NOW - dt.timedelta(days=day), JobStatus.COMPLETED, [step])
    with StatementCounter(db) as more_runs:
        assert defs.definition_history("alice", made.id).last_steps[0].job_id == today
    assert more_runs.count == counted.count


def test_steps_replace_the_old_ones_in_order(defs, db):
    made = defs.create("admin", report_then_email())
    spec = made.spec
    spec.steps.reverse()
    spec.steps[0].next_success, spec.steps[1].next_success = "Report", ""
    defs.update("admin", made.id, spec, made.version)
    with db.read() as s:
        rows = s.execute(
            select(DefinitionStep.position, DefinitionStep.name, DefinitionStep.next_success)
            .where(DefinitionStep.definition_id == made.id)
            .order_by(DefinitionStep.position)
        ).all()
    assert rows == [(0, "Email", "Report"), (1, "Report", None)]
    change = defs.definition_history("admin", made.id).changes[0]
    assert change.details["steps (order)"] == [["Report", "Email"], ["Email", "Report"]]


def test_a_step_that_uses_another_steps_file_must_name_a_step(defs):
    spec = report_then_email()
    spec.steps[1].settings = {"recipients": ["ops@example.com"], "attach": "Repport"}
    assert _errors(lambda: defs.create("admin", spec)) == {
        "steps[1].settings.attach": "No step named 'Repport'"
    }
    spec.steps[1].settings["attach"] = "Report"
    assert defs.create("admin", spec).steps[1].settings["attach"] == "Report"


def test_the_file_in_inbox_is_not_the_imports_inbox(defs, tmp_path, monkeypatch):
    monkeypatch.setenv("BULKDESK_FILE_IN_DIR", str(tmp_path / "imports-in"))
    inside = report_then_email("Files", trigger="file_in", inbox=str(tmp_path / "imports-in/x"))
    assert (
        "is the imports' file-in folder" in _errors(lambda: defs.create("admin", inside))["inbox"]
    )
    apart = report_then_email("Files", trigger="file_in", inbox=str(tmp_path / "ftp-in"))
    assert defs.create("admin", apart).inbox == str(tmp_path / "ftp-in")


def test_two_admins_saving_campaign_definitions_at_once_get_one_and_a_clear_refusal(defs, db):
    # Given admin A's campaign definition saved but not yet committed
    import threading

    from jobs.definitions import store

    outcome: dict[str, object] = {}

    def second_admin() -> None:
        try:
            with db.write() as other:
                store.create(
                    other,
                    report_then_email("EOC two", trigger="campaign", owner="admin"),
                    actor_id=1,
                )
            outcome["second"] = "saved"
        except InvalidDefinition as error:
            outcome["second"] = error.errors

    with db.write() as first:
        store.create(
            first, report_then_email("EOC one", trigger="campaign", owner="admin"), actor_id=1
        )
        # When admin B saves another one meanwhile (B waits for A's transaction)
        racer = threading.Thread(target=second_admin)
        racer.start()
        racer.join(timeout=1.5)
        assert racer.is_alive()  # blocked by A: the write lock (SQLite) or the index (PostgreSQL)
    racer.join(timeout=30)

    # Then A's is saved and B is refused with a sentence about the trigger
    assert [r.name for r in defs.list_definitions("admin").rows] == ["EOC one"]
    assert list(outcome["second"]) == ["trigger"]  # type: ignore[arg-type]
    assert "only one campaign definition" in outcome["second"]["trigger"]  # type: ignore[index]


def test_the_last_execution_of_each_step_reads_only_the_newest_runs(defs, db):
    from sqlalchemy import event

    from jobs.definitions import queries
    from jobs.models import Definition as DefinitionRow

    # Given a definition with many runs: "Email" ran in an older run, not in the newest
    made = defs.create("admin", report_then_email())
    report = {"step_name": "Report", "kind": "report", "outcome": "ok"}
    email = {"step_name": "Email", "kind": "email", "outcome": "ok", "message": "sent"}
    runs = [
        add_run(db, made.id, NOW - dt.timedelta(hours=60 - n), JobStatus.COMPLETED, steps)
        for n, steps in enumerate([[report, email]] * 55 + [[report, email]] + [[report]] * 4)
    ]
    # When the History tab asks for the last execution of each step, over the newest 10 runs
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, many):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as s:
            last = queries.history(s, s.get(DefinitionRow, made.id), runs=10).last_steps
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    # Then each step shows its newest execution, "Email" the one of the run before the last 4
    assert [(x.step_name, x.job_id, x.outcome) for x in last] == [
        ("Report", runs[-1], "ok"),
        ("Email", runs[-5], "ok"),
    ]
    assert last[1].message == "sent"
    # And the plan reads run_steps only for those runs, not every run the definition had
    (statement, parameters) = next((st, p) for st, p in statements if "row_number" in st)
    with db.engine.connect() as conn:
        cur = conn.connection.driver_connection.cursor()
        try:
            if db.is_sqlite:
                cur.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                reads = [r[3] for r in cur.fetchall() if "run_steps" in r[3]]
                assert reads and all(r.startswith("SEARCH") for r in reads), reads
            else:
                # 116 rows are cheapest read whole whatever the query's shape, and whether the
                # suite analysed these tables before depends on the order of the tests. With
                # statistics taken and only index nested loops allowed, the rows read are
                # what the query itself bounds (the old join of every run read all 116).
                cur.execute("ANALYZE run_steps")
                cur.execute("ANALYZE definition_runs")
                plans = ("enable_seqscan", "enable_hashjoin", "enable_mergejoin")
                for setting in plans:
                    cur.execute(f"SET {setting} = off")
                cur.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", parameters)
                plan = cur.fetchone()[0]
                for setting in plans:
                    cur.execute(f"RESET {setting}")
                rows: list[int] = []

                def walk(node) -> None:
                    if node.get("Relation Name") == "run_steps":
                        rows.append(node["Actual Rows"] * node.get("Actual Loops", 1))
                    for child in node.get("Plans", ()):
                        walk(child)

                walk(plan[0]["Plan"])
                # at most two steps for each of the newest 10 runs (PostgreSQL rounds a
                # loop's rows up), not all 116 of the definition's run_steps
                assert rows and sum(rows) <= 2 * 10, rows
        finally:
            cur.close()
