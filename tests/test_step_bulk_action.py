"""The bulk-action step: submitted through the service as the definition's owner, a child of
the run's job (link ``step``), with the action's own parameter checks; the job it returns
to wait for runs on the in-process worker. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from jobs.definitions import steps
from jobs.errors import InvalidInput
from jobs.models import Interaction, Job
from jobs.status import JobStatus
from tests.helpers import wait_for
from tests.step_helpers import DEFINITION, context, run_job

DAY = dt.date(2026, 11, 20)  # a past day: an interaction may not be dated in the future
CALLS = {
    "action": "add-interaction",
    "parameters": {
        "interaction_type": "Call",
        "outcome": "Left message",
        "note": "Follow-up from {day}",
        "interaction_date": "{day}",
    },
    "group": "Callback list — week 47",
}


def _run(db, tmp_path, settings, owner="admin", job=None):
    step = steps.get("bulk_action")
    ctx = context(
        db, tmp_path, step.check(settings), job=job or run_job(db, owner), step="Calls", day=DAY
    )
    return ctx, step.run(ctx)


def test_a_bulk_action_step_submits_a_child_job_of_the_run_and_waits_for_it(
    db, service, tmp_path, stub_worker
):
    # When the step runs
    ctx, outcome = _run(db, tmp_path, CALLS)

    # Then it queued the action on the group as the owner, as a child of the run
    assert outcome.ok, outcome.message
    child = outcome.wait_for_job
    with db.read() as s:
        job = s.get(Job, child)
        assert (job.action, job.parent_job_id, job.link) == ("add_interaction", ctx.job_id, "step")
        assert job.description == f"{DEFINITION} — Calls"
        assert job.parameters["interaction_date"] == DAY.isoformat()
        count = job.selection["count_at_submit"]
    assert outcome.message == (
        f"Add Interaction submitted as job {child} on {count:,} accounts "
        "(group “Callback list — week 47”)"
    )
    # …and the job runs to its end, its interactions dated the run's business day
    summary = wait_for(service, "admin", child)
    assert summary.status == JobStatus.COMPLETED
    with db.read() as s:
        dated = s.scalar(
            select(func.count()).where(
                Interaction.job_id == child,
                Interaction.interaction_date == DAY,
                Interaction.note == "Follow-up from 2026-11-20",
            )
        )
    assert dated == summary.total == count
    assert service.job("admin", child).links() == [f"Step of run {ctx.job_id}"]


def test_running_the_step_again_for_the_same_run_finds_its_job_instead_of_a_second(db, tmp_path):
    job = run_job(db)
    _, first = _run(db, tmp_path, CALLS, job=job)

    _, again = _run(db, tmp_path, CALLS, job=job)

    assert again.wait_for_job == first.wait_for_job
    assert again.message == (
        f"Job {first.wait_for_job} was submitted for this step already; waiting for it"
    )
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Job.parent_job_id == job[0])) == 1


def test_an_owner_without_the_permission_makes_the_step_fail_with_the_reason(db, tmp_path):
    # carol holds no bulk-update permission
    _, outcome = _run(db, tmp_path, CALLS, owner="carol")

    assert not outcome.ok
    assert outcome.message.startswith("Add Interaction could not be submitted: ")
    assert outcome.wait_for_job is None


def test_a_selection_matching_nothing_fails_unless_that_is_ok(db, tmp_path):
    empty = {**CALLS, "group": "Empty group"}

    _, failed = _run(db, tmp_path, empty)
    _, fine = _run(db, tmp_path, {**empty, "empty_ok": True})

    assert not failed.ok
    assert failed.message == (
        "Add Interaction could not be submitted: The selection matches no accounts; "
        "nothing was queued"
    )
    assert fine.ok and fine.wait_for_job is None
    assert fine.message == "Add Interaction: no accounts to work on; nothing queued"


def test_a_filter_selection_and_the_actions_cli_word_are_taken(db, tmp_path, restore_statuses):
    settings = {
        "action": "change-status",
        "parameters": {"to": "On hold"},
        "filter": {"status": "Disputed", "state": "TX"},
    }
    checked = steps.get("bulk_action").check(settings)
    assert checked["action"] == "change_status"
    assert steps.get("bulk_action").describe(checked) == (
        "Change Status on status = Disputed, state = TX"
    )

    _, outcome = _run(db, tmp_path, settings)

    assert outcome.ok, outcome.message
    with db.read() as s:
        job = s.get(Job, outcome.wait_for_job)
    assert job.selection["filter"] == {"status": "Disputed", "state": "TX"}
    assert job.parameters == {"to": "On hold"}


@pytest.mark.parametrize(
    ("settings", "field", "says"),
    [
        ({**CALLS, "action": "fax"}, "action", "Bulk action: choose one of add_interaction"),
        ({**CALLS, "action": "import_accounts"}, "action", "choose one of"),
        (
            {**CALLS, "parameters": {"interaction_type": "Pigeon"}},
            "parameters.interaction_type",
            "Add Interaction: Choose an interaction type",
        ),
        (
            {**CALLS, "parameters": {**CALLS["parameters"], "colour": "red"}},
            "parameters.colour",
            "Unknown parameter: colour",
        ),
        ({**CALLS, "group": "No such group"}, "group", "There is no group called"),
        ({**CALLS, "group": "", "filter": {}}, "group", "Choose a group or at least one"),
        ({**CALLS, "filter": {"status": "Asleep"}}, "filter", "There is no account status"),
        ({**CALLS, "filter": {"colour": "red"}}, "filter", "Unknown account filter: colour"),
        ({**CALLS, "description": "{who}"}, "description", "{who} is no placeholder"),
    ],
)
def test_bad_bulk_action_settings_are_refused_with_the_actions_own_checks(
    db, settings, field, says
):
    with pytest.raises(InvalidInput) as refused:
        steps.get("bulk_action").check(settings)

    assert refused.value.field == field
    assert says in str(refused.value)


def test_parameters_left_out_are_not_frozen_when_the_definition_is_saved(db):
    # A date defaulting to today must be the run's day, not the day of saving
    checked = steps.get("bulk_action").check(
        {**CALLS, "parameters": {"interaction_type": "Call", "outcome": "Left message"}}
    )

    assert checked["parameters"] == {"interaction_type": "Call", "outcome": "Left message"}


def test_a_date_left_out_that_defaults_to_today_is_the_runs_business_day(db, tmp_path):
    settings = {**CALLS, "parameters": {"interaction_type": "Call", "outcome": "Left message"}}

    _, outcome = _run(db, tmp_path, settings)

    with db.read() as s:
        job = s.get(Job, outcome.wait_for_job)
    assert job.parameters["interaction_date"] == DAY.isoformat()
