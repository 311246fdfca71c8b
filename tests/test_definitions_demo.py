"""The demo's job definitions on a freshly seeded database: their reports of the business
day have rows on the day the demo is seeded, however long after ``SEED_DATE`` that is."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, select

from jobs.definitions.steps.report import period_of
from jobs.models import Definition, DefinitionStep, Interaction, Payment
from jobs.reports import definition_reports as reports
from jobs.seed import RECENT_DAYS, SEED_DATE, seed_definitions

DAY = dt.date(2027, 3, 15)  # long after SEED_DATE, as "today" is for a demo seeded now


@pytest.fixture
def seeded(db):
    seed_definitions(db, today=DAY)
    yield db
    first = DAY - dt.timedelta(days=RECENT_DAYS)
    with db.write_conn() as conn:  # the PostgreSQL database is shared by the session
        conn.execute(delete(Payment).where(Payment.paid_on > first))
        conn.execute(delete(Interaction).where(Interaction.interaction_date > first))


def _reports(db, name):
    with db.read() as s:
        return [
            (dict(st.settings), d.timezone)
            for st, d in s.execute(
                select(DefinitionStep, Definition)
                .join(Definition, Definition.id == DefinitionStep.definition_id)
                .where(Definition.name == name, DefinitionStep.kind == "report")
            )
        ]


def _build(db, settings, timezone):
    period = period_of(settings.get("period", "business_day"), DAY, timezone)
    with db.read() as s:
        return reports.build(s.connection(), settings["report"], period, None)


def test_the_daily_call_report_of_the_seed_day_has_calls(seeded):
    ((settings, tz),) = _reports(seeded, "Daily call report")
    table = _build(seeded, settings, tz)
    assert table.rows, "the Daily call report of the seed day has no rows"
    calls = table.columns.index("calls")
    assert {r[table.columns.index("day")] for r in table.rows} == {DAY.isoformat()}
    assert sum(r[calls] for r in table.rows) > 10


@pytest.mark.parametrize("name", ["Weekly billing report", "Invoice pre-check", "Invoicer"])
def test_the_billing_reports_have_posted_payments_in_their_period(seeded, name):
    for settings, tz in _reports(seeded, name):
        table = _build(seeded, settings, tz)
        posted = table.columns.index("payments_posted")
        assert sum(r[posted] for r in table.rows) > 0, (name, settings)


def test_the_recent_activity_leaves_the_seed_dates_data_as_it_was(seeded):
    # The data dated from SEED_DATE (what tests of imports, the grid and reports rely on) is
    # untouched: the recent days are the RECENT_DAYS days ending on the seed day only
    with seeded.read() as s:
        days = s.execute(
            select(func.min(Interaction.interaction_date), func.max(Interaction.interaction_date))
        ).one()
        recent = s.scalar(
            select(func.count()).where(
                Payment.paid_on > DAY - dt.timedelta(days=RECENT_DAYS), Payment.paid_on <= DAY
            )
        )
        around_seed = s.scalar(
            select(func.count()).where(Payment.paid_on > DAY - dt.timedelta(days=RECENT_DAYS))
        )
    assert days == (DAY - dt.timedelta(days=RECENT_DAYS - 1), DAY)
    assert recent == around_seed > 0
    assert SEED_DATE < DAY - dt.timedelta(days=RECENT_DAYS)
