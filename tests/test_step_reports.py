"""The report step: each standard report's CSV, for one client or the call centre, over the
period asked for, checked against the same figures counted in Python from the rows the test
wrote. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import uuid
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select

from jobs.definitions import steps
from jobs.definitions.steps.report import file_name, period_of
from jobs.errors import InvalidInput
from jobs.models import Account, Client, Collector, Interaction, Payment, Portfolio
from tests.step_helpers import context, run_job

DAY = dt.date(2027, 3, 10)  # far from the demo data's dates: only this test's rows count
OUTCOMES = ["Left message", "No answer", "Promise to pay", "Wrong number"]


@pytest.fixture
def activity(db):
    """Interactions and payments on 200 accounts around DAY; removed afterwards (the
    PostgreSQL database is shared by the session's tests)."""
    rng = random.Random(12)
    with db.read() as s:
        accounts = {
            a.id: a
            for a in s.execute(
                select(
                    Account.id,
                    Account.client_id,
                    Account.portfolio_id,
                    Account.collector_id,
                    Account.current_balance,
                ).order_by(Account.id)
            )
        }
    picked = rng.sample(sorted(accounts), 200)
    days = [
        DAY,
        DAY,
        DAY - dt.timedelta(days=3),
        DAY - dt.timedelta(days=6),
        DAY - dt.timedelta(days=9),
    ]
    interactions = [
        {
            "account_id": rng.choice(picked),
            "type": rng.choice(["Call", "Call", "Email", "Letter"]),
            "outcome": rng.choice(OUTCOMES),
            "note": "",
            "interaction_date": rng.choice(days),
            "job_id": None,
            "created_by_id": None,
        }
        for _ in range(600)
    ]
    payments = [
        {
            "account_id": rng.choice(picked),
            "amount": Decimal(rng.randrange(2500, 90000)) / 100,
            "paid_on": rng.choice(days),
            "status": rng.choice(["posted", "posted", "pending"]),
            "collector_id": None,
        }
        for _ in range(150)
    ]
    for p in payments:
        p["collector_id"] = accounts[p["account_id"]].collector_id
    with db.write_conn() as conn:
        conn.execute(insert(Interaction), interactions)
        conn.execute(insert(Payment), payments)
    yield accounts, interactions, payments
    with db.write_conn() as conn:
        conn.execute(
            delete(Interaction).where(Interaction.interaction_date >= DAY - dt.timedelta(days=30))
        )
        conn.execute(delete(Payment).where(Payment.paid_on >= DAY - dt.timedelta(days=30)))


def _names(db, model):
    with db.read() as s:
        return dict(s.execute(select(model.id, model.name)).all())


def _report(db, tmp_path, **settings):
    step = steps.get("report")
    ctx = context(db, tmp_path / "run", step.check(settings), day=DAY)
    outcome = step.run(ctx)
    assert outcome.ok, outcome.message
    with open(outcome.output, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return outcome, rows


def test_an_inbound_report_counts_contacts_by_client_type_and_outcome(db, tmp_path, activity):
    accounts, interactions, _ = activity
    clients = _names(db, Client)

    outcome, rows = _report(db, tmp_path, report="inbound")

    expected = Counter(
        (clients[accounts[i["account_id"]].client_id], i["type"], i["outcome"])
        for i in interactions
        if i["interaction_date"] == DAY
    )
    got = {(r["client"], r["type"], r["outcome"]): int(r["interactions"]) for r in rows}
    assert got == dict(expected)
    assert all(r["by_people"] == r["interactions"] and r["by_jobs"] == "0" for r in rows)
    assert outcome.message == (
        f"Inbound report (all clients, 2027-03-10): {len(rows):,} rows written to "
        f"{tmp_path / 'run' / 'Daily-collections-pack-inbound-2027-03-10.csv'}"
    )


def test_a_call_report_for_one_client_covers_its_calls_of_the_last_7_days(db, tmp_path, activity):
    accounts, interactions, _ = activity
    with db.read() as s:
        client_id, client = s.execute(
            select(Client.id, Client.name).where(Client.code == "NWB")
        ).one()

    _, rows = _report(
        db, tmp_path, report="call", scope="client", client="nwb", period="last_7_days"
    )

    first = DAY - dt.timedelta(days=6)
    calls = [
        i
        for i in interactions
        if i["type"] == "Call"
        and first <= i["interaction_date"] <= DAY
        and accounts[i["account_id"]].client_id == client_id
    ]
    expected = Counter((i["interaction_date"].isoformat(), i["outcome"]) for i in calls)
    assert {(r["day"], r["outcome"]): int(r["calls"]) for r in rows} == dict(expected)
    assert {r["client"] for r in rows} == {client}
    # Each day's shares add up to 100 %
    per_day = defaultdict(Decimal)
    for r in rows:
        per_day[r["day"]] += Decimal(r["share_pct"])
    assert all(abs(total - 100) <= Decimal("0.05") for total in per_day.values())
    assert {r["day"] for r in rows} == {(DAY - dt.timedelta(days=d)).isoformat() for d in (0, 3, 6)}


def test_an_agent_report_gives_each_collectors_accounts_work_and_payments(db, tmp_path, activity):
    accounts, interactions, payments = activity
    collectors = _names(db, Collector)

    _, rows = _report(db, tmp_path, report="agent", period="last_7_days")

    first = DAY - dt.timedelta(days=6)
    by_name = {r["collector"]: r for r in rows}
    for collector_id, name in collectors.items():
        mine = [a for a in accounts.values() if a.collector_id == collector_id]
        worked = [
            i
            for i in interactions
            if first <= i["interaction_date"] <= DAY
            and accounts[i["account_id"]].collector_id == collector_id
        ]
        posted = [
            p
            for p in payments
            if p["collector_id"] == collector_id
            and p["status"] == "posted"
            and first <= p["paid_on"] <= DAY
        ]
        if name not in by_name:
            assert not mine and not worked and not posted
            continue
        row = by_name[name]
        assert int(row["accounts"]) == len(mine)
        assert Decimal(row["balance"]) == sum((a.current_balance for a in mine), Decimal(0))
        assert int(row["interactions"]) == len(worked)
        assert int(row["calls"]) == sum(i["type"] == "Call" for i in worked)
        assert int(row["payments_posted"]) == len(posted)
        assert Decimal(row["amount_posted"]) == sum((p["amount"] for p in posted), Decimal(0))


def test_a_billing_report_sums_payments_by_portfolio_for_the_period(db, tmp_path, activity):
    accounts, _, payments = activity
    portfolios = _names(db, Portfolio)

    _, rows = _report(db, tmp_path, report="billing", period="last_7_days")

    first = DAY - dt.timedelta(days=6)
    assert {r["portfolio"] for r in rows} == set(portfolios.values())
    posted = defaultdict(Decimal)
    pending = defaultdict(Decimal)
    paying = defaultdict(set)
    for p in payments:
        if first <= p["paid_on"] <= DAY:
            portfolio = portfolios[accounts[p["account_id"]].portfolio_id]
            if p["status"] == "posted":
                posted[portfolio] += p["amount"]
                paying[portfolio].add(p["account_id"])
            else:
                pending[portfolio] += p["amount"]
    for r in rows:
        assert Decimal(r["amount_posted"]) == posted[r["portfolio"]], r
        assert Decimal(r["amount_pending"]) == pending[r["portfolio"]], r
        assert int(r["paying_accounts"]) == len(paying[r["portfolio"]])
    held = Counter(portfolios[a.portfolio_id] for a in accounts.values())
    assert {r["portfolio"]: int(r["accounts"]) for r in rows} == dict(held)


def test_a_campaign_report_lists_the_periods_bulk_jobs_with_the_clients_items(
    db, service, tmp_path
):
    # Given two jobs submitted today, one on Northwind Bank's accounts only
    with db.read() as s:
        nwb = s.scalar(select(Client.id).where(Client.code == "NWB"))
        acme = s.scalar(select(Client.id).where(Client.code == "ACME"))
    call = {"interaction_type": "Call", "outcome": "Left message", "note": "Campaign"}
    first = service.submit_to_accounts(
        "admin",
        "add_interaction",
        description="NWB open calls",
        account_filter={"client_id": nwb, "status": "Open"},
        **call,
    )
    second = service.submit_to_accounts(
        "alice",
        "add_interaction",
        description="Acme open calls",
        account_filter={"client_id": acme, "status": "Open"},
        **call,
    )
    from jobs.engine import execution

    for job in (first, second):  # the snapshot of items, without a worker
        execution.start(db, job.id, 10_000, 1)

    step = steps.get("report")
    ctx = context(
        db,
        tmp_path,
        step.check({"report": "campaign", "scope": "client", "client": "Northwind Bank"}),
        day=dt.datetime.now(dt.UTC).date(),
    )
    outcome = step.run(ctx)
    with open(outcome.output, newline="") as f:
        rows = list(csv.DictReader(f))

    (row,) = rows  # the Acme job has no Northwind items; the run's own job is not a campaign
    assert row["job"] == str(first.id)
    assert (row["action"], row["description"], row["owner"]) == (
        "Add Interaction",
        "NWB open calls",
        "admin",
    )
    assert row["status"] == "In progress"
    assert int(row["items"]) == service.job("admin", first.id).summary.total > 0


def test_every_report_runs_on_an_empty_period_and_writes_its_heading(db, tmp_path):
    for report in ("inbound", "call", "campaign", "agent", "billing"):
        _, rows = _report(db, tmp_path, report=report, scope="client", client="ACME")
        if report in ("inbound", "call", "campaign"):
            assert rows == [], report


@pytest.mark.parametrize(
    ("period", "first", "last"),
    [
        ("business_day", "2027-03-10", "2027-03-10"),
        ("previous_day", "2027-03-09", "2027-03-09"),
        ("last_7_days", "2027-03-04", "2027-03-10"),
        ("last_30_days", "2027-02-09", "2027-03-10"),
        ("month_to_date", "2027-03-01", "2027-03-10"),
        ("previous_month", "2027-02-01", "2027-02-28"),
    ],
)
def test_a_period_is_counted_from_the_business_day(period, first, last):
    got = period_of(period, DAY, "Europe/London")
    assert (got.first.isoformat(), got.last.isoformat()) == (first, last)


def test_a_period_in_a_time_zone_is_its_local_midnights_in_utc():
    start, end = period_of("business_day", dt.date(2027, 3, 28), "Europe/London").utc_bounds()
    # The clocks go forward that night: a 23-hour day
    assert start == dt.datetime(2027, 3, 28, 0, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2027, 3, 28, 23, 0, tzinfo=dt.UTC)


def test_the_file_name_is_safe_whatever_the_definition_is_called():
    assert file_name("../Daily: calls / EOD", "call", DAY) == "Daily-calls-EOD-call-2027-03-10.csv"


@pytest.mark.parametrize(
    ("settings", "field", "says"),
    [
        ({}, "report", "Report: choose one of inbound, call, campaign, agent, billing"),
        ({"report": "sales"}, "report", "choose one of"),
        ({"report": "call", "scope": "client"}, "client", "Client is needed"),
        ({"report": "call", "scope": "client", "client": "Nobody Inc"}, "client", "no client"),
        ({"report": "call", "client": "ACME"}, "client", "choose scope client"),
        ({"report": "call", "period": "fortnight"}, "period", "choose one of business_day"),
    ],
)
def test_bad_report_settings_are_refused_naming_the_setting(db, settings, field, says):
    with pytest.raises(InvalidInput) as refused:
        steps.get("report").check(settings)

    assert refused.value.field == field
    assert says in str(refused.value)


def test_a_client_named_by_its_code_is_stored_by_its_name(db):
    checked = steps.get("report").check({"report": "billing", "scope": "client", "client": "nwb"})

    assert checked == {
        "report": "billing",
        "scope": "client",
        "client": "Northwind Bank",
        "period": "business_day",
    }
    assert steps.get("report").describe(checked) == (
        "Billing report, client Northwind Bank, the business day"
    )


@pytest.fixture
def campaign_run(db):
    """A run fired by the end of a Northwind Bank campaign that ran from DAY - 9 to DAY."""
    from jobs.models import Campaign, Definition, DefinitionRun

    tag = uuid.uuid4().hex[:8]
    job_id, owner_id = run_job(db)
    with db.write() as s:
        nwb = s.scalar(select(Client.id).where(Client.code == "NWB"))
        definition = Definition(name=f"EOC {tag}", trigger="campaign", owner_id=owner_id)
        campaign = Campaign(
            name=f"Spring {tag}",
            client_id=nwb,
            started_at=dt.datetime.combine(DAY - dt.timedelta(days=9), dt.time(9), dt.UTC),
            ended_at=dt.datetime.combine(DAY, dt.time(17), dt.UTC),
        )
        s.add_all([definition, campaign])
        s.flush()
        s.add(
            DefinitionRun(
                job_id=job_id,
                definition_id=definition.id,
                due_at=campaign.ended_at,
                business_day=DAY,
                fired_by="campaign",
                detail={"campaign_id": campaign.id, "campaign": campaign.name},
            )
        )
        ids = (definition.id, campaign.id, nwb, campaign.name)
    yield (job_id, owner_id), ids
    with db.write_conn() as conn:
        conn.execute(delete(DefinitionRun).where(DefinitionRun.job_id == job_id))
        conn.execute(delete(Definition).where(Definition.id == ids[0]))
        conn.execute(delete(Campaign).where(Campaign.id == ids[1]))


def test_a_campaign_run_reports_on_its_campaigns_client_and_days(
    db, tmp_path, activity, campaign_run
):
    accounts, interactions, _ = activity
    job, (_, _, nwb, name) = campaign_run
    step = steps.get("report")
    settings = step.check({"report": "call", "scope": "campaign_client", "period": "campaign"})
    assert step.describe(settings) == "Call report, the campaign's client, the campaign"

    outcome = step.run(context(db, tmp_path, settings, job=job, day=DAY))

    assert outcome.ok, outcome.message
    assert f"(the client of {name}, 2027-03-01 to 2027-03-10)" in outcome.message
    with open(outcome.output, newline="") as f:
        rows = list(csv.DictReader(f))
    expected = Counter(
        (i["interaction_date"].isoformat(), i["outcome"])
        for i in interactions
        if i["type"] == "Call" and accounts[i["account_id"]].client_id == nwb
    )  # every test day lies in the campaign's ten days
    assert {(r["day"], r["outcome"]): int(r["calls"]) for r in rows} == dict(expected)


def test_a_campaign_report_outside_a_campaign_run_fails_saying_why(db, tmp_path):
    step = steps.get("report")
    settings = step.check({"report": "call", "period": "campaign"})

    outcome = step.run(context(db, tmp_path, settings, day=DAY))

    assert not outcome.ok
    assert outcome.message.startswith("This run was not fired by the end of a campaign")
