"""The batch audit log's search on SQLite and PostgreSQL: the date range in the viewer's time
zone, at most 7 days per search, status and process-name filters, server sorting and paging,
counts per status; and a run's detail with its step history."""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from jobs.db import Database
from jobs.definitions import batch_log
from jobs.errors import InvalidInput, NotFound
from jobs.status import JobStatus
from tests.batch_log_support import (
    add_many_runs,
    add_run,
    drop_definitions,
    make_definition,
    unique,
)

UTC = dt.UTC
DAY = dt.date(2026, 12, 3)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def runs(db: Database):
    """Two definitions ("Nightly billing …", "Hourly calls …") and their runs on Dec 1–10."""
    billing = make_definition(db, unique("Nightly billing"))
    calls = make_definition(db, unique("Hourly calls"), schedule="hourly")
    ids = {
        "billing_ok": add_run(db, billing, at(3, 18), JobStatus.COMPLETED),
        "billing_error": add_run(db, billing, at(2, 18), JobStatus.FAILED),
        "billing_old": add_run(db, billing, at(1, 18), JobStatus.COMPLETED),
        "billing_late_dec10": add_run(db, billing, at(10, 18), JobStatus.COMPLETED),
        "calls_9": add_run(db, calls, at(3, 9), JobStatus.COMPLETED_WITH_EXCEPTIONS),
        "calls_10": add_run(db, calls, at(3, 10), JobStatus.SKIPPED),
        "calls_11": add_run(db, calls, at(3, 11), JobStatus.SUSPENDED),
        "calls_12": add_run(db, calls, at(3, 12), JobStatus.IN_PROGRESS),
    }
    yield {"billing": billing, "calls": calls, **ids}
    drop_definitions(db, [billing, calls])


def search(db: Database, runs: dict[str, int], **options):  # type: ignore[no-untyped-def]
    """The search, limited to this test's definitions (PostgreSQL is shared)."""
    options.setdefault("tz", "UTC")
    with db.read() as s:
        result = batch_log.search(s, **options)
    mine = {runs["billing"], runs["calls"]}
    return result, [r.job_id for r in result.rows if r.definition_id in mine]


def test_the_log_defaults_to_today_and_lists_the_days_runs_newest_due_first(db, runs):
    result, ids = search(db, runs, today=DAY)

    assert (result.since, result.until) == (DAY, DAY)
    assert ids == [
        runs["billing_ok"],
        runs["calls_12"],
        runs["calls_11"],
        runs["calls_10"],
        runs["calls_9"],
    ]
    first = result.rows[0]
    assert first.status == JobStatus.COMPLETED and first.process.startswith("Nightly billing")
    assert first.owner == "Ada Admin"


def test_a_range_of_seven_days_is_searched_and_eight_days_are_refused_at_the_end_date(db, runs):
    result, ids = search(db, runs, since=dt.date(2026, 12, 1), until=dt.date(2026, 12, 7))
    assert runs["billing_old"] in ids and runs["billing_late_dec10"] not in ids

    with pytest.raises(InvalidInput) as refused:
        search(db, runs, since=dt.date(2026, 12, 1), until=dt.date(2026, 12, 8))
    assert refused.value.field == "until"
    assert "at most 7 days" in str(refused.value)
    assert "8 days" in str(refused.value) and "2026-12-07" in str(refused.value)


def test_an_end_date_before_the_start_is_refused_at_the_end_date(db, runs):
    with pytest.raises(InvalidInput) as refused:
        search(db, runs, since=dt.date(2026, 12, 5), until=dt.date(2026, 12, 4))
    assert refused.value.field == "until"
    assert "before the start date" in str(refused.value)


def test_the_days_are_read_in_the_viewers_time_zone(db, runs):
    # 2026-12-03 18:00 UTC is already Dec 4 in Tokyo (03:00); 09:00 UTC is Dec 3 18:00 there
    _, tokyo_dec4 = search(db, runs, since=dt.date(2026, 12, 4), tz=ZoneInfo("Asia/Tokyo"))
    _, tokyo_dec3 = search(db, runs, since=dt.date(2026, 12, 3), tz="Asia/Tokyo")

    assert runs["billing_ok"] in tokyo_dec4
    assert runs["billing_ok"] not in tokyo_dec3
    assert runs["calls_9"] in tokyo_dec3


def test_status_and_process_name_filters_narrow_the_search_and_counts_cover_the_range(db, runs):
    week = {"since": dt.date(2026, 12, 1), "until": dt.date(2026, 12, 7)}
    result, ids = search(db, runs, status=["Error", "Ok"], process="nightly BILLING", **week)

    assert sorted(ids) == sorted([runs["billing_ok"], runs["billing_error"], runs["billing_old"]])
    assert result.total == 3
    # The counts of the name's runs by status, whatever statuses are asked for
    assert result.counts[JobStatus.COMPLETED] == 2 and result.counts[JobStatus.FAILED] == 1

    _, warning = search(db, runs, status=[JobStatus.SKIPPED, 7], **week)
    assert sorted(warning) == sorted([runs["calls_10"], runs["calls_11"]])


def test_an_unknown_status_is_refused_at_the_status_field(db, runs):
    with pytest.raises(InvalidInput) as refused:
        search(db, runs, status=["Finished"])
    assert refused.value.field == "status"
    assert "Ok" in str(refused.value)


def test_a_process_name_with_like_wildcards_is_matched_as_text(db, runs):
    _, ids = search(db, runs, process="%", today=DAY)
    assert ids == []


def test_sorting_is_over_the_whole_result_and_pages_follow_it(db, runs):
    options = {"since": dt.date(2026, 12, 1), "until": dt.date(2026, 12, 7), "process": ""}
    by_status = []
    for page in (1, 2, 3, 4):
        result, ids = search(db, runs, sort="status", descending=False, page=page, page_size=2)
        by_status += [r.status for r in result.rows if r.job_id in ids]
    mine = search(db, runs, page_size=200, **options)[1]
    assert len(mine) == 7
    assert by_status == sorted(by_status)

    result, ids = search(db, runs, sort="process", descending=False, page_size=200, **options)
    names = [r.process for r in result.rows if r.job_id in ids]
    assert names == sorted(names)

    with pytest.raises(InvalidInput):
        search(db, runs, sort="colour")


def test_paging_splits_the_result_and_counts_its_pages(db, runs):
    only = {"process": "Hourly calls", "today": DAY}
    first, _ = search(db, runs, page=1, page_size=3, **only)
    second, _ = search(db, runs, page=2, page_size=3, **only)

    assert first.total == second.total >= 4
    assert first.pages == second.pages >= 2
    assert {r.job_id for r in first.rows}.isdisjoint({r.job_id for r in second.rows})


def test_a_run_detail_has_the_definition_trigger_lateness_and_step_history(db, runs):
    child = add_run(db, runs["calls"], at(4, 7), JobStatus.COMPLETED)
    run = add_run(
        db,
        runs["billing"],
        at(4, 18),
        JobStatus.FAILED,
        late=True,
        detail={"missed": 3},
        steps=[
            {
                "step_name": "Report",
                "kind": "report",
                "outcome": "ok",
                "message": "1,204 rows",
                "output": "var/runs/1/billing.csv",
                "ended_at": at(4, 18, 1),
            },
            {
                "step_name": "Mail",
                "kind": "email",
                "outcome": "failed",
                "message": "<script>alert(1)</script> refused",
                "child_job_id": child,
                "ended_at": at(4, 18, 2),
            },
        ],
    )
    with db.read() as s:
        detail = batch_log.run_detail(s, run)
        assert batch_log.is_run(s, run)

    assert detail.process.startswith("Nightly billing") and detail.trigger == "Scheduled"
    assert detail.status == JobStatus.FAILED and detail.late_text.startswith("Late (stands for 3")
    assert [(s.seq, s.step_name, s.outcome) for s in detail.steps] == [
        (1, "Report", "ok"),
        (2, "Mail", "failed"),
    ]
    assert detail.steps[0].output == "var/runs/1/billing.csv"
    assert detail.steps[1].child_job_id == child

    with db.read() as s, pytest.raises(NotFound):
        batch_log.run_detail(s, 999_999_999)


@pytest.mark.slow
def test_a_weeks_search_stays_fast_with_many_runs(db):
    # Given 30 definitions run hourly for 60 days (43,200 runs; the note has 129,600)
    ids = [make_definition(db, unique(f"Load {i:02d}"), steps=()) for i in range(30)]
    try:
        made = add_many_runs(db, ids, dt.datetime(2026, 9, 1, tzinfo=UTC), hours=24 * 60)
        assert made == 43_200
        week = {"since": dt.date(2026, 10, 1), "until": dt.date(2026, 10, 7), "tz": "UTC"}
        # When a week (5,040 runs) is searched, sorted, filtered
        timings = {}
        for name, options in {
            "first page": {},
            "last page": {"page": 202},
            "by process": {"sort": "process", "descending": False},
            "status Error": {"status": ["Error"]},
            "process name": {"process": "Load 07"},
        }.items():
            best = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                with db.read() as s:
                    result = batch_log.search(s, **week, **options)
                best = min(best, time.perf_counter() - t0)
            timings[name] = (round(best * 1000, 1), result.total)
        print(f"\nbatch log at {made:,} runs ({db.engine.dialect.name}):", timings)
        # Then each answer is a page, well within a person's patience
        assert timings["first page"][1] == 30 * 24 * 7
        assert all(ms < 1000 for ms, _ in timings.values()), timings
    finally:
        drop_definitions(db, ids)


def _jobs_reads(db: Database, statement: str, parameters) -> list[str]:
    """How the plan of ``statement`` reads ``jobs``: one entry per plan node on it."""
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        cur = raw.cursor()
        try:
            if db.is_sqlite:
                cur.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
                return [r[3] for r in cur.fetchall() if " jobs" in f" {r[3]}"]
            cur.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
            plan = cur.fetchone()[0]
        finally:
            cur.close()
    found: list[str] = []

    def walk(node) -> None:
        if node.get("Relation Name") == "jobs":
            found.append(f"{node['Node Type']} {node.get('Index Name', '')}".strip())
        for child in node.get("Plans", ()):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def test_a_search_reaches_runs_jobs_by_primary_key_never_by_scanning_jobs(db):
    # Given a server whose jobs are mostly definition runs (20 definitions hourly for 30
    # days), with fresh planner statistics: a week's runs are a quarter of every job, the
    # case where a planner prefers to scan ``jobs`` whole and hash-join it
    from sqlalchemy import event, text

    ids = [make_definition(db, unique(f"Plan {i:02d}"), steps=()) for i in range(20)]
    try:
        add_many_runs(db, ids, dt.datetime(2026, 9, 1, tzinfo=UTC), hours=24 * 30)
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
        week = {"since": dt.date(2026, 9, 8), "until": dt.date(2026, 9, 14), "tz": "UTC"}
        for options in (
            {},
            {"page": 100},
            {"sort": "process"},
            {"sort": "ended"},
            {"status": ["Error"]},
            {"process": "Plan 07"},
        ):
            statements: list[tuple[str, object]] = []

            def capture(conn, cursor, statement, parameters, context, many, into=statements):
                into.append((statement, parameters))

            event.listen(db.engine, "before_cursor_execute", capture)
            try:
                with db.read() as s:
                    found = batch_log.search(s, **week, **options)
            finally:
                event.remove(db.engine, "before_cursor_execute", capture)
            assert found.rows
            # When each of its statements is planned
            reads = [r for st, p in statements for r in _jobs_reads(db, st, p)]
            # Then every read of jobs is a primary-key lookup (one run's job at a time)
            assert reads, options
            if db.is_sqlite:
                assert all("USING INTEGER PRIMARY KEY" in r for r in reads), (options, reads)
            else:
                assert all(r == "Index Scan pk_jobs" for r in reads), (options, reads)
    finally:
        drop_definitions(db, ids)
