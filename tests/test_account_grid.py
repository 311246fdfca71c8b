"""The account grid: pages sorted on the server over the whole filter, filters, remembered
columns, and the selection (select-all of the filter less exclusions, picked accounts),
which a job resolves when it starts and reports if its count moved since submit."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text, update

from apps.account_grid import AccountGrid
from apps.account_grid_actions import ActionDialog
from apps.account_grid_state import AccountGridState
from jobs.engine import execution
from jobs.errors import InvalidInput
from jobs.grid.columns import CORE
from jobs.models import Account, AccountActivity, AuditEvent, Interaction, Job, JobItem
from jobs.sources.accounts import AccountFilter, AccountSelection, count_drift
from tests.helpers import interactions_per_account

NOTE = {"interaction_type": "Note", "outcome": "Information only", "note": "grid"}


def _run(db, job_id: int) -> None:
    """Start the job and work every chunk here, in order (no broker needed)."""
    for chunk_id in execution.start(db, job_id, chunk_size=40).chunks:
        assert execution.claim(db, chunk_id, "test", 30)
        execution.process_chunk(db, chunk_id, "test")
    # chunks beyond the window are admitted one by one as others finish
    while True:
        with db.read() as s:
            waiting = s.scalars(
                text("SELECT id FROM job_chunks WHERE job_id = :j AND state != 2 ORDER BY id"),
                {"j": job_id},
            ).all()
        if not waiting:
            return
        for chunk_id in waiting:
            assert execution.claim(db, chunk_id, "test", 30)
            execution.process_chunk(db, chunk_id, "test")


def _ids(db, where: str, **params) -> set[int]:
    with db.read() as s:
        return set(s.scalars(text(f"SELECT id FROM accounts WHERE {where}"), params))


def test_select_all_over_pages_less_exclusions_on_two_pages_touches_exactly_those_accounts(
    db, service, stub_broker
):
    # Given alice's grid filtered to open accounts in California: several pages
    grid = AccountGridState(service, "alice", page_size=25)
    grid.filters.param.update(state="CA", status="Open")
    expected = _ids(db, "state = 'CA' AND status = 'Open'")
    assert grid.total == len(expected) and grid.pages >= 4
    # When she selects every match, then unchecks two accounts on page 2 and one on page 4
    grid.select_all()
    assert grid.counter_text() == f"{len(expected):,} selected of {len(expected):,}"
    excluded = []
    for page, rows in ((2, (3, 17)), (4, (0,))):
        grid.go(page)
        for i in rows:
            row = grid.rows[i]
            grid.check(row["id"], row["file_number"], False)
            excluded.append(row["id"])
    assert grid.counter_text() == f"{len(expected) - 3:,} selected of {len(expected):,}"
    # And launches Add Interaction on the selection from the toolbar's dialog
    job = service.submit(
        "alice", "add_interaction", grid.selection(), NOTE, "Grid select-all less three"
    )
    _run(db, job.id)
    # Then the job's frozen items are exactly the filtered accounts less the three
    with db.read() as s:
        items = set(s.scalars(select(JobItem.account_id).where(JobItem.job_id == job.id)))
    assert items == expected - set(excluded)
    # And it touched each of them once, but for the locked ones (exceptions, untouched)
    locked = _ids(db, "state = 'CA' AND status = 'Open' AND locked")
    touched = interactions_per_account(db, job.id)
    assert set(touched) == expected - set(excluded) - locked
    assert set(touched.values()) == {1}
    # And the job keeps the selection it was given: filter, exclusions, count at submit
    with db.read() as s:
        stored = s.get(Job, job.id).selection
    assert stored["filter"] == {"state": "CA", "status": "Open"}
    assert sorted(stored["excluded_ids"]) == sorted(excluded)
    assert stored["count_at_submit"] == len(expected) - 3


def test_accounts_picked_by_hand_stay_picked_across_filters_and_pages(db, service, stub_broker):
    grid = AccountGridState(service, "bob")
    grid.filters.state = "TX"
    texan = grid.rows[0]
    grid.check(texan["id"], texan["file_number"], True)
    grid.filters.state = "NY"
    grid.go(2)
    new_yorker = grid.rows[5]
    grid.check(new_yorker["id"], new_yorker["file_number"], True)
    assert grid.counter_text() == f"2 selected of {grid.total:,}"
    assert grid.selection() == AccountSelection(
        account_ids=tuple(sorted((texan["id"], new_yorker["id"])))
    )
    job = service.submit("bob", "add_interaction", grid.selection(), NOTE, "Two by hand")
    _run(db, job.id)
    with db.read() as s:
        items = set(s.scalars(select(JobItem.account_id).where(JobItem.job_id == job.id)))
    assert items == {texan["id"], new_yorker["id"]}


def test_a_job_says_by_how_much_its_accounts_changed_between_submit_and_start(
    db, service, stub_broker
):
    # Given a select-all of the Texas "Promise to pay" accounts, submitted
    flt = AccountFilter(state="TX", status="Promise to pay")
    shown = service.count_targets("dave", AccountSelection(filter=flt))
    job = service.submit(
        "dave", "add_interaction", AccountSelection(filter=flt), NOTE, "Texas promises"
    )
    # When three of them leave the filter before the job starts
    leaving = sorted(_ids(db, "state = 'TX' AND status = 'Promise to pay'"))[:3]
    with db.write_conn() as conn:
        conn.execute(update(Account).where(Account.id.in_(leaving)).values(state="OK"))
    try:
        _run(db, job.id)
    finally:
        with db.write_conn() as conn:
            conn.execute(update(Account).where(Account.id.in_(leaving)).values(state="TX"))
    # Then the job's history says how many it found at start, and by how much that differs
    with db.read() as s:
        said = s.scalars(
            select(AuditEvent.summary).where(
                AuditEvent.job_id == job.id, AuditEvent.action == "selection"
            )
        ).all()
    assert said == [f"{shown - 3:,} accounts at start, 3 fewer than the {shown:,} shown at submit"]
    assert set(interactions_per_account(db, job.id)).isdisjoint(leaving)


def test_the_count_difference_reads_in_words():
    assert count_drift(415, 412) == "412 accounts at start, 3 fewer than the 415 shown at submit"
    assert count_drift(1000, 1002) == (
        "1,002 accounts at start, 2 more than the 1,000 shown at submit"
    )
    assert count_drift(5, 5) is None and count_drift(None, 5) is None


@pytest.mark.parametrize("sort", [*CORE, "last_worked", "state"])
def test_each_column_sorts_every_page_on_the_server(db, service, sort, monkeypatch):
    # Pages walk the sort's index on SQLite from this many matches (a million accounts'
    # path), here from the first
    monkeypatch.setattr("jobs.grid.query.WALK_FROM", 0)
    # The whole ordering, page after page, is the database's own ORDER BY over the filter
    # (names of clients, portfolios and collectors; unassigned accounts after every name;
    # empty values where each database puts them).
    named = {
        "client": "lower(c.name), a.client_id",
        "portfolio": "lower(p.name), a.portfolio_id",
        "assigned_to": "CASE WHEN o.name IS NULL THEN 1 ELSE 0 END, lower(o.name), a.collector_id",
        "state": "CASE WHEN a.state IS NULL THEN 1 ELSE 0 END, a.state",
        "status": "lower(a.status)",
        "last_worked": "CASE WHEN x.last_interaction > a.last_worked OR a.last_worked IS NULL "
        "THEN x.last_interaction ELSE a.last_worked END",
        "debtor": "a.debtor_name",
        "account_number": "a.account_number",
        "current_balance": "a.current_balance",
    }
    for descending in (False, True):
        order = named.get(sort, f"a.{sort}")
        if descending:
            order = ", ".join(f"{part} DESC" for part in order.split(", "))
        with db.read() as s:
            want = list(
                s.scalars(
                    text(
                        "SELECT a.id FROM accounts a JOIN clients c ON c.id = a.client_id "
                        "JOIN portfolios p ON p.id = a.portfolio_id "
                        "LEFT JOIN collectors o ON o.id = a.collector_id "
                        "LEFT JOIN account_activity x ON x.account_id = a.id "
                        f"WHERE a.state = 'CA' ORDER BY {order}, a.id{' DESC' * descending}"
                    )
                )
            )
        got: list[int] = []
        page = 1
        while True:
            found = service.account_grid(
                "alice",
                AccountFilter(state="CA"),
                sort=sort,
                descending=descending,
                page=page,
                page_size=50,
            )
            got += [r["id"] for r in found.rows]
            if page * 50 >= found.total:
                break
            page += 1
        assert got == want, f"sort by {sort}, descending={descending}"


def test_filters_narrow_the_grid_as_the_database_says(db, service):
    def ids(**criteria):
        flt = AccountFilter.from_dict(criteria)
        page = service.account_grid("alice", flt, page_size=500)
        got = {r["id"] for r in page.rows}
        assert page.total == len(got) or page.total > 500
        return got if page.total <= 500 else page.total

    assert ids(client_id=5, status="Disputed") == _ids(db, "client_id = 5 AND status = 'Disputed'")
    assert ids(portfolio_id=3, collector_id=2) == _ids(db, "portfolio_id = 3 AND collector_id = 2")
    assert ids(unassigned=True, state="NV") == _ids(db, "collector_id IS NULL AND state = 'NV'")
    assert ids(min_balance=20000, max_balance=21000) == _ids(
        db, "current_balance BETWEEN 20000 AND 21000"
    )
    assert ids(text="mith", state="TX") == _ids(
        db, "lower(debtor_name) LIKE '%mith%' AND state = 'TX'"
    )
    worked = (
        "(CASE WHEN x.last_interaction > a.last_worked OR a.last_worked IS NULL "
        "THEN x.last_interaction ELSE a.last_worked END)"
    )
    with db.read() as s:
        in_range = set(
            s.scalars(
                text(
                    "SELECT a.id FROM accounts a LEFT JOIN account_activity x "
                    f"ON x.account_id = a.id WHERE {worked} BETWEEN '2026-10-20' AND '2026-10-25'"
                )
            )
        )
    assert ids(worked_from="2026-10-20", worked_to="2026-10-25") == in_range
    # A % typed by a person is a percent sign, not "anything"
    assert ids(text="%") == set()
    # Bad ranges are refused with what is wrong
    with pytest.raises(InvalidInput, match="Last Worked range starts after it ends"):
        AccountFilter.from_dict({"worked_from": "2026-10-25", "worked_to": "2026-10-01"})
    with pytest.raises(InvalidInput, match="not a date"):
        AccountFilter.from_dict({"worked_from": "last tuesday"})


def test_an_interaction_moves_last_worked_so_the_filter_and_sort_see_it(db, service, stub_broker):
    # Given an account last worked long ago
    with db.read() as s:
        account = s.scalar(select(Account).where(Account.last_worked < dt.date(2026, 6, 1)))
    today = dt.date.today()
    # When a bulk job logs an interaction on it today
    job = service.submit(
        "alice",
        "add_interaction",
        AccountSelection(account_ids=(account.id,)),
        {**NOTE, "interaction_date": today.isoformat()},
        "Worked today",
    )
    _run(db, job.id)
    # Then the grid shows it as worked today, and the Last Worked filter finds it
    found = service.account_grid(
        "alice", AccountFilter(worked_from=today, text=account.file_number)
    )
    assert [r["last_worked"] for r in found.rows] == [today]
    # And an older interaction does not move it back
    with db.write_conn() as conn:
        conn.execute(
            Interaction.__table__.insert().values(
                account_id=account.id,
                type="Note",
                outcome="Information only",
                note="",
                interaction_date=dt.date(2020, 1, 1),
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    with db.read() as s:
        kept = s.get(AccountActivity, account.id)
        assert kept.last_interaction == today
        # The account's own row is not rewritten (that would cost every bulk job dearly)
        assert s.get(Account, account.id).last_worked == account.last_worked
    found = service.account_grid("alice", AccountFilter(text=account.file_number))
    assert [r["last_worked"] for r in found.rows] == [today]


def test_columns_are_remembered_per_user(db, service):
    grid = AccountGridState(service, "alice")
    grid.show_columns(["Last Worked", "declined_transactions"])
    assert AccountGridState(service, "alice").columns == ["last_worked", "declined_transactions"]
    assert AccountGridState(service, "bob").columns == []
    with pytest.raises(InvalidInput, match="SSN cannot be chosen here"):
        service.save_grid_preferences("alice", ["ssn"])
    with pytest.raises(InvalidInput, match="no account column 'shoe size'"):
        service.save_grid_preferences("alice", ["shoe size"])


def test_the_header_checkbox_selects_every_match_and_unchecks_record_exclusions(sqlite_db):
    from jobs.service import JobService

    service = JobService(sqlite_db)
    grid = AccountGrid(service, "alice")
    s = grid.state
    s.filters.state = "TX"
    assert grid.toolbar.objects[0].disabled  # nothing selected: actions are off
    # The header checkbox ticks every row of the page at once: every match is selected
    grid.table.selection = list(range(len(s.rows)))
    assert s.all_selected and f"{s.total:,} selected of {s.total:,}" in grid.counter.object
    assert not grid.toolbar.objects[0].disabled
    # Unchecking two rows records them as exclusions, shown under the counter
    grid.table.selection = list(range(2, len(s.rows)))
    first_two = sorted(r["file_number"] for r in s.rows[:2])
    assert sorted(grid.exclusions.value) == first_two and grid.exclusions.visible
    assert f"{s.total - 2:,} selected of {s.total:,}" in grid.counter.object
    # The next page shows its rows checked; removing an exclusion selects it again
    s.go(2)
    assert list(grid.table.selection) == list(range(len(s.rows)))
    grid.exclusions.value = first_two[1:]
    assert f"{s.total - 1:,} selected of {s.total:,}" in grid.counter.object
    # The toolbar opens an action on the selection, with its dry run before Queue
    dialog = grid.open_action("change_status")
    assert isinstance(dialog, ActionDialog)
    assert f"This will touch <b>{s.total - 1:,}</b>" in dialog.count.object
    assert dialog.queue_button.disabled
    dialog.state.set_value("to", "On hold")
    dialog.state.description = "Texas on hold"
    assert dialog.review() is not None and not dialog.queue_button.disabled
    assert "Would change" in dialog.preview[0].object
    # Unticking the header clears the whole selection
    grid.table.selection = []
    assert not s.all_selected and s.selected == 0


def test_select_all_with_no_filter_is_every_account_on_purpose(db, service):
    # Given the grid with no filter, every account selected less one
    grid = AccountGridState(service, "alice")
    grid.select_all()
    row = grid.rows[0]
    grid.check(row["id"], row["file_number"], False)
    selection = grid.selection()
    # Then the selection says "every account" on purpose, and counts them less the one
    assert selection.all_accounts and selection.excluded_ids == (row["id"],)
    with db.read() as s:
        everyone = s.scalar(text("SELECT count(*) FROM accounts"))
    assert service.count_targets("alice", selection) == everyone - 1
    assert AccountSelection.from_dict(selection.as_dict()) == selection
    # While a selection with no criteria, made by accident elsewhere, is still refused
    with pytest.raises(InvalidInput, match="Choose a group, accounts or at least one"):
        service.count_targets("alice", AccountSelection())


def test_an_excluded_account_that_left_the_filter_is_not_taken_off_the_count_twice(
    db, service, restore_statuses
):
    # Given every open Texan selected less two
    grid = AccountGridState(service, "alice")
    grid.filters.state, grid.filters.status = "TX", "Open"
    grid.select_all()
    first, second = grid.rows[0], grid.rows[1]
    for row in (first, second):
        grid.check(row["id"], row["file_number"], False)
    selection = grid.selection()
    texans = _ids(db, "state = 'TX' AND status = 'Open'")
    assert service.count_targets("alice", selection) == len(texans) - 2
    # When one of the two is closed meanwhile (it no longer matches the filter)
    with db.write_conn() as conn:
        conn.execute(update(Account).where(Account.id == first["id"]).values(status="Closed"))
    # Then the count is the open Texans now, less the one excluded among them
    assert service.count_targets("alice", selection) == len(texans) - 1 - 1


def test_the_last_worked_range_counts_and_pages_as_the_database_says(db, service, monkeypatch):
    # A million accounts' path (counted by halves, each page tested row by row) from here
    monkeypatch.setattr("jobs.grid.query.WALK_FROM", 0)
    # Given interactions newer than some accounts' own dates and older than others'
    with db.write_conn() as conn:
        for where, day in (("id % 3 = 0", "2026-10-22"), ("id % 3 = 1", "2026-06-01")):
            conn.execute(
                text(
                    "INSERT INTO interactions (account_id, type, outcome, note, "
                    "interaction_date, created_at) SELECT id, 'Note', 'Information only', '', "
                    f":d, :t FROM accounts WHERE {where}"
                ),
                {"d": day, "t": "2026-11-01 12:00:00"},
            )
        # and accounts whose own date moves after their interaction was recorded: later
        # than it, and to none at all
        conn.execute(text("UPDATE accounts SET last_worked = '2026-10-24' WHERE id IN (3, 6, 9)"))
        conn.execute(text("UPDATE accounts SET last_worked = NULL WHERE id IN (12, 13)"))
    worked = (
        "(CASE WHEN x.last_interaction > a.last_worked OR a.last_worked IS NULL "
        "THEN x.last_interaction ELSE a.last_worked END)"
    )
    for first, last in (("2026-10-20", "2026-10-23"), (None, "2026-06-15"), ("2026-10-24", None)):
        for extra, sql in (({}, "1 = 1"), ({"status": "Open"}, "a.status = 'Open'")):
            conds = [sql] + [f"{worked} {op} '{d}'" for op, d in ((">=", first), ("<=", last)) if d]
            with db.read() as s:
                want = list(
                    s.scalars(
                        text(
                            "SELECT a.id FROM accounts a LEFT JOIN account_activity x "
                            f"ON x.account_id = a.id WHERE {' AND '.join(conds)} "
                            "ORDER BY a.file_number"
                        )
                    )
                )
            flt = AccountFilter.from_dict({"worked_from": first, "worked_to": last, **extra})
            got: list[int] = []
            page = 1
            while True:
                found = service.account_grid("alice", flt, page=page, page_size=100)
                assert found.total == len(want), (first, last, extra)
                got += [r["id"] for r in found.rows]
                if page * 100 >= found.total:
                    break
                page += 1
            assert got == want, (first, last, extra)
            # the select-all count says the same
            assert service.count_targets("alice", AccountSelection(filter=flt)) == len(want)
            # (the accounts whose own date moved past their interaction are found by it)
            if first == "2026-10-24" and not extra:
                assert {3, 6, 9} <= set(got)


def test_the_filters_fold_away_for_a_wider_table_and_the_count_still_names_them(sqlite_db):
    from jobs.service import JobService

    grid = AccountGrid(JobService(sqlite_db), "alice")
    grid.state.filters.state = "TX"
    assert grid.filters.visible and grid.filters_button.label == "◀ Hide filters"
    grid.filters_button.clicks += 1
    assert not grid.filters.visible and grid.filters_button.label == "Filters ▶"
    assert "state = TX" in grid.info.object  # what the table shows, said without the filters
    grid.filters_button.clicks += 1
    assert grid.filters.visible
