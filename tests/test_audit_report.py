"""The audit report's figures: right against the database, the same every time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from audit_jobs import AuditJobs, make_audit_jobs
from sqlalchemy import text

from jobs.db import Database
from jobs.errors import InvalidInput, NotFound
from jobs.reports.audit_report import AuditPeriod, build_report
from jobs.service import JobService


@pytest.fixture
def audit_jobs(sqlite_db: Database, stub_broker) -> AuditJobs:
    return make_audit_jobs(JobService(sqlite_db), stub_broker)


def _figure(report, section: str, key: str, metric: str) -> str:
    frame = report.figures()
    hit = frame[(frame.section == section) & (frame.key == key) & (frame.metric == metric)]
    assert len(hit) == 1, (section, key, metric)
    return hit.value.iloc[0]


def test_an_empty_trail_gives_a_valid_report_with_zeros(
    sqlite_db: Database, tmp_path: Path
) -> None:
    report = build_report(sqlite_db)

    assert report.jobs_total == 0
    assert report.jobs_by_status.jobs.sum() == 0
    assert report.stops_and_deletes.empty and report.throughput.empty
    assert report.timeline().empty
    assert (
        report.write_csv(tmp_path / "figures.csv")
        .read_text()
        .startswith("section,key,metric,value\n")
    )


def test_the_report_counts_jobs_by_status_user_and_outcome_like_the_database(
    sqlite_db: Database, audit_jobs: AuditJobs
) -> None:
    report = build_report(sqlite_db)

    with sqlite_db.engine.connect() as conn:
        by_status = dict(
            conn.execute(text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
        )
        by_owner = dict(
            conn.execute(
                text(
                    "SELECT u.username, count(*) FROM jobs j JOIN users u ON u.id = j.owner_id "
                    "GROUP BY u.username"
                )
            ).all()
        )
        exceptions = dict(
            conn.execute(
                text("SELECT message, count(*) FROM job_items WHERE outcome = 2 GROUP BY message")
            ).all()
        )
    assert dict(zip(report.jobs_by_status.code, report.jobs_by_status.jobs, strict=True)) == {
        code: by_status.get(code, 0) for code in range(9)
    }
    assert (
        dict(zip(report.jobs_by_user.username, report.jobs_by_user.jobs, strict=True)) == by_owner
    )
    assert (
        dict(
            zip(
                report.exceptions_by_message.message,
                report.exceptions_by_message["items"],
                strict=True,
            )
        )
        == exceptions
    )
    assert report.jobs_total == 5 and not report.truncated
    assert set(report.throughput.job_id) == set(vars(audit_jobs).values())


def test_stops_and_deletes_name_who_did_it_including_deleted_jobs(
    sqlite_db: Database, audit_jobs: AuditJobs
) -> None:
    report = build_report(sqlite_db)

    events = {(r.action, r.job_id): r for r in report.stops_and_deletes.itertuples()}
    assert set(events) == {
        ("stop", audit_jobs.stopped),
        ("delete", audit_jobs.deleted_queued),
        ("delete", audit_jobs.deleted_completed),
    }
    assert events[("stop", audit_jobs.stopped)].by == "admin"
    assert events[("stop", audit_jobs.stopped)].owner == "bob"
    assert events[("delete", audit_jobs.deleted_queued)].by == "dave"
    deleted = events[("delete", audit_jobs.deleted_completed)]
    assert (deleted.by, deleted.owner, deleted.description, deleted.deleted) == (
        "admin",
        "alice",
        "One-off letters",
        True,
    )


def test_throughput_is_items_per_second_between_start_and_end(
    sqlite_db: Database, audit_jobs: AuditJobs
) -> None:
    report = build_report(sqlite_db)

    row = report.throughput.set_index("job_id").loc[audit_jobs.completed]
    assert row.status == "Completed" and row.processed == 150
    started = dt.datetime.fromisoformat(row.started_at)
    ended = dt.datetime.fromisoformat(row.ended_at)
    assert row.items_per_second == pytest.approx(150 / (ended - started).total_seconds(), rel=1e-2)
    never_ran = report.throughput.set_index("job_id").loc[audit_jobs.deleted_queued]
    assert pd.isna(never_ran.started_at) and pd.isna(never_ran.items_per_second)


def test_one_users_report_keeps_their_jobs_and_what_was_done_to_them(
    sqlite_db: Database, audit_jobs: AuditJobs
) -> None:
    report = build_report(sqlite_db, user="bob")

    assert list(report.throughput.job_id) == [audit_jobs.stopped]
    assert list(report.jobs_by_user.username) == ["bob"]
    assert list(report.stops_and_deletes.job_id) == [audit_jobs.stopped]


def test_a_period_outside_the_jobs_reports_nothing(
    sqlite_db: Database, audit_jobs: AuditJobs
) -> None:
    report = build_report(sqlite_db, date_from="2001-01-01", date_to="2001-01-31")

    assert report.jobs_total == 0 and report.stops_and_deletes.empty
    assert report.events_by_action.empty


def test_the_csv_is_byte_identical_when_built_twice(
    sqlite_db: Database, audit_jobs: AuditJobs, tmp_path: Path
) -> None:
    first = build_report(sqlite_db).write_csv(tmp_path / "a.csv")
    second = build_report(sqlite_db).write_csv(tmp_path / "b.csv")

    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    ("date_from", "date_to", "message"),
    [
        ("2026-13-01", "", "is not a date"),
        ("2026-11-08", "2026-11-01", "after it ends"),
    ],
)
def test_bad_periods_are_refused_with_a_clear_message(
    date_from: str, date_to: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        AuditPeriod.parse(date_from, date_to)


def test_an_unknown_user_is_refused(sqlite_db: Database) -> None:
    with pytest.raises(NotFound, match="nobody"):
        build_report(sqlite_db, user="nobody")
