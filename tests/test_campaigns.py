"""Campaigns and "run now": an admin starts and ends campaigns, ending one fires the campaign
definition's run once, and "run now" starts a run as a job; users only read."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from jobs.errors import ActionNotAllowed, InvalidInput, NotFound, PermissionDenied
from jobs.models import AuditEvent, DefinitionRun, Job
from jobs.status import JobStatus
from tests.definitions_support import empty_definitions, report_then_email


@pytest.fixture
def defs(db, service):
    yield from empty_definitions(db, service)


def _run(db, job_id: int) -> tuple[Job, DefinitionRun]:  # type: ignore[no-untyped-def]
    with db.read() as s:
        job = s.get(Job, job_id)
        run = s.get(DefinitionRun, job_id)
        assert job is not None and run is not None
        s.expunge_all()
        return job, run


def test_an_admin_starts_a_campaign_for_a_client_and_everyone_lists_it(defs):
    row = defs.create_campaign("admin", "  Winter   outreach ", client="acme")
    assert (row.name, row.client, row.ended_at) == ("Winter outreach", "ACME", None)
    assert [c.name for c in defs.campaigns("carol")] == ["Winter outreach"]
    with pytest.raises(InvalidInput, match="already a campaign called 'Winter outreach'"):
        defs.create_campaign("admin", "Winter outreach")
    with pytest.raises(InvalidInput) as caught:
        defs.create_campaign("admin", "Spring", client="Nowhere Ltd")
    assert caught.value.field == "client" and "ACME" in str(caught.value)
    with pytest.raises(PermissionDenied):
        defs.create_campaign("alice", "Mine")


def test_ending_a_campaign_fires_the_campaign_definition_once(defs, db):
    made = defs.create("admin", report_then_email("End of campaign", trigger="campaign"))
    defs.create_campaign("admin", "Winter outreach")

    ended = defs.end_campaign("admin", "Winter outreach")

    assert ended.campaign.ended_at is not None and ended.campaign.ended_by == "Ada Admin"
    assert ended.job_id is not None
    job, run = _run(db, ended.job_id)
    assert (job.action, job.description, run.definition_id) == (
        "definition_run",
        "End of campaign",
        made.id,
    )
    assert run.fired_by == "campaign" and run.detail["campaign"] == "Winter outreach"
    assert JobStatus(job.status) in (JobStatus.QUEUED, JobStatus.IN_PROGRESS)
    with pytest.raises(ActionNotAllowed, match="has already ended on .* \\(Ada Admin\\)"):
        defs.end_campaign("admin", ended.campaign.id)
    with db.read() as s:
        runs = s.scalars(select(DefinitionRun.job_id).where(DefinitionRun.definition_id == made.id))
        assert list(runs) == [ended.job_id]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign_end"))
        assert event is not None and event.job_id == ended.job_id


def test_a_campaign_without_an_enabled_campaign_definition_ends_without_a_run(defs):
    made = defs.create("admin", report_then_email("End of campaign", trigger="campaign"))
    defs.disable("admin", made.id)
    defs.create_campaign("admin", "Quiet")
    assert defs.end_campaign("admin", "Quiet").job_id is None


def test_only_admins_end_campaigns(defs):
    defs.create_campaign("admin", "Winter outreach")
    with pytest.raises(PermissionDenied):
        defs.end_campaign("bob", "Winter outreach")
    assert defs.campaigns("bob")[0].ended_at is None
    with pytest.raises(NotFound, match="no campaign called 'Summer'"):
        defs.end_campaign("admin", "Summer")


def test_run_now_starts_a_run_recorded_with_who_asked(defs, db):
    made = defs.create("admin", report_then_email())

    job_id = defs.run_now("admin", made.name)

    assert job_id is not None
    job, run = _run(db, job_id)
    assert run.fired_by == "manual" and job.description == made.name
    change = defs.definition_history("alice", made.id).changes[0]
    assert (change.action, change.actor, change.summary) == (
        "run_now",
        "Ada Admin",
        f"Run now: job {job_id}",
    )
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "run_now"))
        assert event is not None and (event.job_id, event.actor_id) == (job_id, 1)
    assert defs.list_definitions("alice").rows[0].last_run_id == job_id


def test_run_now_is_for_admins_and_not_for_a_suspended_definition(defs, db):
    made = defs.create("admin", report_then_email())
    with pytest.raises(PermissionDenied):
        defs.run_now("alice", made.id)
    defs.suspend("admin", made.id, "Audit in progress")
    with pytest.raises(ActionNotAllowed, match="suspended \\(Audit in progress\\); resume it"):
        defs.run_now("admin", made.id)
    with db.read() as s:
        assert s.scalar(select(DefinitionRun.job_id)) is None


def test_campaigns_come_a_page_at_a_time_sorted_over_all_of_them(defs):
    names = [f"Drive {n:02d}" for n in range(12)]
    for name in names:
        defs.create_campaign("admin", name)
    defs.end_campaign("admin", "Drive 03")

    first = defs.campaign_page("carol", page=1, page_size=5)
    # Running ones first, newest first; the ended one last
    assert first.total == 12 and first.pages == 3
    assert [c.name for c in first.rows] == [
        "Drive 11",
        "Drive 10",
        "Drive 09",
        "Drive 08",
        "Drive 07",
    ]
    last = defs.campaign_page("carol", page=3, page_size=5)
    assert [c.name for c in last.rows] == ["Drive 00", "Drive 03"]
    # A column's order over every page, not the page's
    by_name = defs.campaign_page("carol", page=1, page_size=5, sort="name")
    assert [c.name for c in by_name.rows] == names[:5]
    backwards = defs.campaign_page("carol", page=3, page_size=5, sort="name", descending=True)
    assert [c.name for c in backwards.rows] == ["Drive 01", "Drive 00"]
    ended_first = defs.campaign_page("carol", page=1, page_size=1, sort="ended", descending=True)
    assert [c.name for c in ended_first.rows] == ["Drive 03"]
    # By client: the campaigns for all clients (no client) first going up, last going down
    defs.create_campaign("admin", "For ACME", client="acme")
    by_client = defs.campaign_page("carol", page=1, page_size=13, sort="client")
    assert by_client.rows[-1].name == "For ACME" and by_client.rows[0].client is None
    by_client = defs.campaign_page("carol", page=1, page_size=13, sort="client", descending=True)
    assert by_client.rows[0].name == "For ACME" and by_client.rows[-1].client is None
    with pytest.raises(InvalidInput, match="Cannot sort campaigns by 'colour'") as caught:
        defs.campaign_page("carol", sort="colour")
    assert caught.value.field == "sort"
    with pytest.raises(InvalidInput) as caught:
        defs.campaign_page("carol", page_size=0)
    assert caught.value.field == "page_size"
