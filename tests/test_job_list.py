"""The job list: server-side sorts over the whole filtered list, pages that neither overlap
nor skip, role scoping under every sort, the text filter, and the count that stops past the
page shown. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select, text, update

from jobs.actions import ACTIONS
from jobs.errors import InvalidInput
from jobs.models import Job, User
from jobs.reports import queries
from jobs.reports.queries import JOB_SORTS, JobFilter
from jobs.status import JobStatus

CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Voicemail left"}
T0 = dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC)
NEVER = dt.datetime.min.replace(tzinfo=dt.UTC)
DESCRIPTIONS = [
    "Dispute review",
    "dispute FOLLOW-UP",
    "Texas skip trace",
    'O\'Brien "quoted" notes',
    "50% discount offer",
    "500 accounts",
    "a_b batch",
    "axb batch",
    "Café Müller",
    "Zürich Élan",
    "back\\slash",
    "Dispute review",  # the same description twice: the job number breaks the tie
]
#: An action no plugin registered here: listed under its stored name.
UNREGISTERED = "zz_unregistered"


@pytest.fixture
def many_jobs(db) -> dict[str, object]:
    """120 jobs inserted in one statement: every owner, statuses, actions, times shared by
    several jobs, not started / not ended ones, and some deleted.

    Returns:
      The users' ids and display names, and the ids of the deleted jobs.
    """
    rng = random.Random(7)
    with db.read() as s:
        users = {u.username: (u.id, u.display_name) for u in s.scalars(select(User))}
    owners = [users[name][0] for name in ("admin", "alice", "bob", "carol", "dave")]
    statuses = list(JobStatus)
    actions = ["add_interaction", "change_status", UNREGISTERED]
    rows = []
    for n in range(120):
        status = rng.choice(statuses)
        submitted = T0 + dt.timedelta(minutes=rng.randint(0, 9))  # many ties
        started = None if status == JobStatus.QUEUED else submitted + dt.timedelta(seconds=n)
        ended = started + dt.timedelta(minutes=rng.randint(1, 3)) if status.is_final else None
        rows.append(
            {
                "action": rng.choice(actions),
                "description": f"{rng.choice(DESCRIPTIONS)}"
                if n % 3
                else f"Job {n} {rng.choice(DESCRIPTIONS)}",
                "parameters": {},
                "selection": {},
                "owner_id": rng.choice(owners),
                "status": int(status),
                "submitted_at": submitted,
                "started_at": started,
                "ended_at": ended,
                "deleted_at": T0 if n % 11 == 5 else None,
            }
        )
    with db.write_conn() as conn:
        conn.execute(insert(Job.__table__), rows)
    with db.read() as s:
        deleted = set(s.scalars(select(Job.id).where(Job.deleted_at.is_not(None))))
    return {"users": users, "deleted": deleted}


def all_jobs(db) -> list[Job]:
    with db.read() as s:
        return list(s.scalars(select(Job)))


def python_sort(jobs: list[Job], sort: str, descending: bool, names: dict[int, str]) -> list[int]:
    """What each sort key means, written out independently of the queries."""

    def key(j: Job) -> tuple:
        if sort in ("started", "ended"):
            value = j.started_at if sort == "started" else j.ended_at
            return (value is None, value or NEVER, j.id)
        value = {
            "id": j.id,
            "description": j.description,
            "submitted": j.submitted_at,
            "status": JobStatus(j.status).label,
            "action": ACTIONS[j.action].label if j.action in ACTIONS else j.action,
            "owner": names.get(j.owner_id, ""),
        }[sort]
        return (value, j.id)

    return [j.id for j in sorted(jobs, key=key, reverse=descending)]


def every_page(service, user, flt=None, *, page_size=7, **sort) -> Iterator[list[int]]:
    page = 1
    while True:
        result = service.list_jobs(user, flt, page=page, page_size=page_size, **sort)
        if not result.rows:
            return
        yield [j.id for j in result.rows]
        page += 1


def listed(service, user, flt=None, **kw) -> list[int]:
    return [i for ids in every_page(service, user, flt, **kw) for i in ids]


def visible(jobs: list[Job], owner_id: int | None = None) -> list[Job]:
    return [
        j for j in jobs if j.deleted_at is None and (owner_id is None or j.owner_id == owner_id)
    ]


@pytest.fixture(params=[10_000, 4], ids=["count-step-10000", "count-step-4"])
def count_step(request, monkeypatch) -> int:
    """The count's step, as shipped and tiny: with 4, a text filter matches "many" jobs and
    the count stops early, so those paths run on a few rows too."""
    monkeypatch.setattr(queries, "COUNT_STEP", request.param)
    return request.param


def test_sorting_by_job_ascending_gives_job_1_first_whatever_the_order_of_submission(
    db, service, stub_broker
):
    # Given four jobs submitted one after the other, the first one submitted last of all
    ids = [
        service.submit_bulk_interaction(
            "alice", description=f"Job {n}", group="Dispute review", **CALL
        ).id
        for n in range(4)
    ]
    with db.write_conn() as conn:
        for n, job_id in enumerate(ids):
            conn.execute(
                update(Job).where(Job.id == job_id).values(submitted_at=T0 - dt.timedelta(hours=n))
            )
    # When the list is sorted by Job, ascending
    first = service.list_jobs("alice", sort="id", descending=False, page_size=2)
    # Then job 1 is first on page 1, and newest-submitted order is the reverse of it
    assert ids[0] == 1
    assert [j.id for j in first.rows] == [1, 2]
    assert [j.id for j in service.list_jobs("alice").rows] == ids


@pytest.mark.parametrize("descending", [False, True], ids=["up", "down"])
@pytest.mark.parametrize("sort", JOB_SORTS)
def test_each_sort_sorts_the_whole_list_and_its_pages_neither_overlap_nor_skip(
    db, service, many_jobs, count_step, sort, descending
):
    jobs = all_jobs(db)
    names = {i: name for i, name in many_jobs["users"].values()}
    pages = list(every_page(service, "admin", sort=sort, descending=descending))
    ids = [i for page in pages for i in page]
    assert len(ids) == len(set(ids)), "a job shows on two pages"
    assert set(ids) == {j.id for j in visible(jobs)}, "a job is missing or deleted"
    assert ids == python_sort(visible(jobs), sort, descending, names)
    assert all(len(page) == 7 for page in pages[:-1])


@pytest.mark.parametrize(
    "flt",
    [
        JobFilter(statuses=[JobStatus.COMPLETED, JobStatus.QUEUED]),
        JobFilter(action="change_status"),
        JobFilter(text="dispute"),
        JobFilter(text="batch", statuses=[JobStatus.FAILED, JobStatus.STOPPED]),
        JobFilter(submitted_from=T0.date(), submitted_to=T0.date()),
    ],
    ids=["statuses", "action", "text", "text+statuses", "dates"],
)
@pytest.mark.parametrize("sort", ["submitted", "started", "owner", "status", "description"])
def test_a_filtered_list_is_sorted_whole_too(db, service, many_jobs, count_step, flt, sort):
    jobs = visible(all_jobs(db))
    names = {i: name for i, name in many_jobs["users"].values()}
    wanted = [
        j
        for j in jobs
        if (not flt.statuses or JobStatus(j.status) in flt.statuses)
        and (not flt.action or j.action == flt.action)
        and (not flt.text or flt.text.lower() in j.description.lower())
    ]
    for descending in (False, True):
        got = listed(service, "admin", flt, sort=sort, descending=descending)
        assert got == python_sort(wanted, sort, descending, names)


@pytest.mark.parametrize("sort", JOB_SORTS)
def test_role_scoping_holds_under_every_sort(db, service, many_jobs, count_step, sort):
    jobs = all_jobs(db)
    users = many_jobs["users"]
    names = {i: name for i, name in users.values()}
    for user in ("alice", "bob", "carol", "dave"):
        own = visible(jobs, users[user][0])
        assert listed(service, user, sort=sort) == python_sort(own, sort, True, names)
        # A user's owner filter cannot widen the list to someone else's jobs
        other = JobFilter(owner_id=users["admin"][0])
        assert listed(service, user, other, sort=sort) == python_sort(own, sort, True, names)
    # An admin's owner filter narrows the list to that owner
    bob = users["bob"][0]
    assert listed(service, "admin", JobFilter(owner_id=bob), sort=sort) == python_sort(
        visible(jobs, bob), sort, True, names
    )


def test_owners_with_the_same_name_sort_by_job_number(db, service, many_jobs, count_step):
    users = many_jobs["users"]
    bob_id, bob_name = users["bob"]
    dave_id, dave_name = users["dave"]
    with db.write_conn() as conn:
        conn.execute(update(User).where(User.id == dave_id).values(display_name=bob_name))
    try:
        names = {i: name for i, name in users.values()} | {dave_id: bob_name}
        for descending in (False, True):
            got = listed(service, "admin", sort="owner", descending=descending)
            assert got == python_sort(visible(all_jobs(db)), "owner", descending, names)
    finally:
        with db.write_conn() as conn:
            conn.execute(update(User).where(User.id == dave_id).values(display_name=dave_name))


def test_deleted_jobs_never_appear_under_any_sort_or_search(db, service, many_jobs, count_step):
    deleted = many_jobs["deleted"]
    assert deleted
    for sort in JOB_SORTS:
        for descending in (False, True):
            assert not deleted & set(listed(service, "admin", sort=sort, descending=descending))
    for job_id in deleted:
        assert job_id not in listed(service, "admin", JobFilter(text=str(job_id)))
    assert not deleted & set(listed(service, "admin", JobFilter(text="a")))


def ascii_folded(text: str) -> str:
    """Lower case for ASCII letters only: what both databases agree on."""
    return text.translate({c: c + 32 for c in range(ord("A"), ord("Z") + 1)})


@pytest.mark.parametrize(
    "text",
    [
        "DISPUTE",
        "  review ",
        "50%",
        "a_b",
        'O\'Brien "quoted"',
        "back\\slash",
        "Müller",
        "zürich É",
        "nothing like it",
    ],
)
def test_the_text_filter_matches_description_substrings_ignoring_case(
    db, service, many_jobs, count_step, text
):
    # % and _ are plain characters, quotes and backslashes too, and non-ASCII text matches
    jobs = visible(all_jobs(db))
    wanted = ascii_folded(text.strip())
    got = listed(service, "admin", JobFilter(text=text), sort="id", descending=False)
    assert got == [j.id for j in jobs if wanted in ascii_folded(j.description)]


def test_the_text_filter_ignores_ascii_case_on_both_databases_and_more_on_postgresql(
    db, service, many_jobs
):
    # ASCII letters fold everywhere; "É" and "é" are the same letter on PostgreSQL (its
    # locale's case folding) but not on SQLite, whose LIKE folds ASCII only.
    upper = listed(service, "admin", JobFilter(text="ZÜRICH"), sort="id")
    lower = listed(service, "admin", JobFilter(text="zürich"), sort="id")
    assert lower
    if db.is_sqlite:
        assert upper == []
    else:
        assert upper == lower


def test_the_text_filter_finds_a_job_by_its_number(db, service, many_jobs, count_step):
    jobs = visible(all_jobs(db))
    target = jobs[len(jobs) // 2]
    got = listed(service, "admin", JobFilter(text=f" {target.id} "), sort="id", descending=False)
    expected = [j.id for j in jobs if j.id == target.id or str(target.id) in j.description]
    assert got == expected
    assert target.id in got
    # A number too long to be a job's is only text
    for digits in ("2147483648", "99999999999999999999999"):
        assert listed(service, "admin", JobFilter(text=digits)) == []
    # Another user's job number finds nothing for a user
    alice = many_jobs["users"]["alice"][0]
    bobs = next(j for j in jobs if j.owner_id != alice)
    assert bobs.id not in listed(service, "alice", JobFilter(text=str(bobs.id)))


def test_the_text_filter_sees_descriptions_changed_after_insert(db, service, many_jobs):
    job_id = visible(all_jobs(db))[0].id
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(description="Renamed Ünïcode"))
    assert listed(service, "admin", JobFilter(text="renamed Ünï")) == [job_id]
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(description="Plain again"))
    assert listed(service, "admin", JobFilter(text="renamed")) == []
    assert job_id in listed(service, "admin", JobFilter(text="plain again"))


def test_an_unknown_sort_key_is_refused_naming_the_keys(service, many_jobs):
    with pytest.raises(InvalidInput, match="id, description, submitted, started") as caught:
        service.list_jobs("admin", sort="colour")
    assert "'colour'" in str(caught.value)
    assert caught.value.field == "sort"


def test_the_count_stops_past_the_page_shown_and_says_so(db, service, many_jobs, monkeypatch):
    # Given a count step of 10 and 109 jobs in the admin's list
    monkeypatch.setattr(queries, "COUNT_STEP", 10)
    total = len(visible(all_jobs(db)))
    assert total > 30
    # Then, sorted by job number, page 1 counts to 10 and says "more than 10"
    first = service.list_jobs("admin", page=1, page_size=4, sort="id")
    assert (first.total, first.exact, first.pages) == (10, False, 3)
    # Page 3 ends at job 12: the count goes on to 20
    third = service.list_jobs("admin", page=3, page_size=4, sort="id")
    assert (third.total, third.exact) == (20, False)
    # Near the end the count is exact
    last = service.list_jobs("admin", page=-(-total // 4), page_size=4, sort="id")
    assert (last.total, last.exact) == (total, True)
    assert len(last.rows) == total - 4 * (last.page - 1)
    # Past the end: no rows, and the exact count (the screen goes back to the last page)
    beyond = service.list_jobs("admin", page=last.page + 5, page_size=4, sort="id")
    assert (beyond.rows, beyond.total, beyond.exact) == ([], total, True)
    # In submission order (the default), the jobs counted per day give the exact count
    default = service.list_jobs("admin", page=1, page_size=4)
    assert (default.total, default.exact, default.pages) == (total, True, -(-total // 4))
    # A filter counts the same way, and so does a text that many descriptions have
    filtered = service.list_jobs("admin", JobFilter(statuses=list(JobStatus)), page_size=4)
    assert (filtered.total, filtered.exact) == (10, False)
    common = service.list_jobs("admin", JobFilter(text="e"), page_size=4)
    assert (common.total, common.exact, len(common.rows)) == (10, False, 4)
    rare = service.list_jobs("admin", JobFilter(text="Job 6"), page_size=4)
    assert rare.exact
    assert 0 < rare.total == sum("Job 6" in j.description for j in visible(all_jobs(db))) < 10


def test_a_short_list_is_counted_exactly(db, service, many_jobs):
    alice = many_jobs["users"]["alice"][0]
    result = service.list_jobs("alice", page_size=500)
    assert result.exact
    assert result.total == len(visible(all_jobs(db), alice)) == len(result.rows)


@pytest.mark.parametrize("sort", JOB_SORTS)
def test_iter_jobs_reads_the_whole_list_in_its_order(db, service, many_jobs, count_step, sort):
    admin = service.actor("admin")
    for flt in (JobFilter(), JobFilter(text="dispute")):
        with db.read() as session:
            streamed = [j.id for j in queries.iter_jobs(session, admin, flt, sort=sort, batch=5)]
        assert streamed == listed(service, "admin", flt, sort=sort)


def page_ids(result) -> list[int]:  # type: ignore[no-untyped-def]
    return [j.id for j in result.rows]


@pytest.fixture
def starts(monkeypatch) -> list[str]:
    """Where each page read of the job list started its walk: top, anchor or end."""
    seen: list[str] = []
    read_page = queries._read_page

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = read_page(*args, **kwargs)
        seen.append(result[2])
        return result

    monkeypatch.setattr(queries, "_read_page", recording)
    return seen


@pytest.mark.parametrize("descending", [False, True], ids=["up", "down"])
@pytest.mark.parametrize("sort", ["id", "submitted", "ended", "status", "owner", "description"])
def test_pages_read_from_an_anchor_or_from_the_end_are_the_pages_read_from_the_top(
    db, service, many_jobs, count_step, starts, sort, descending
):
    # Given 109 visible jobs (some deleted), for an admin, an admin's owner filter and a user
    jobs = all_jobs(db)
    users = many_jobs["users"]
    names = {i: name for i, name in users.values()}
    bob, alice = users["bob"][0], users["alice"][0]
    for user, flt, owner in (("admin", None, None), ("admin", JobFilter(owner_id=bob), bob)) + (
        ("alice", None, alice),
    ):
        wanted = python_sort(visible(jobs, owner), sort, descending, names)
        expected = [wanted[i : i + 7] for i in range(0, len(wanted), 7)]
        last = len(expected)

        def read(number, anchor, user=user, flt=flt):  # type: ignore[no-untyped-def]
            return service.list_jobs(
                user, flt, page=number, page_size=7, sort=sort, descending=descending, anchor=anchor
            )

        # When each page is read from the one before (Next), and refreshed from itself
        anchor = None
        for number in range(1, last + 1):
            result = read(number, anchor)
            assert page_ids(result) == expected[number - 1], f"page {number} going forward"
            again = read(number, result.anchor)
            assert page_ids(again) == expected[number - 1], f"page {number} refreshed"
            assert (again.total, again.exact) == (result.total, result.exact)
            anchor = result.anchor
        at_the_end = anchor
        assert at_the_end.exact and at_the_end.total == len(wanted)
        # Then back from the last page (Previous) every page is the same again
        for number in range(last, 0, -1):
            result = read(number, anchor)
            assert page_ids(result) == expected[number - 1], f"page {number} going back"
            anchor = result.anchor
        # And a jump to any page (typed) from the first page, the last one, or a read past
        # the end (which counts the whole list: what the Last button does on a long list)
        first = read(1, None).anchor
        beyond = read(last + 3, None)
        assert (beyond.rows, beyond.total, beyond.exact) == ([], len(wanted), True)
        for number in range(1, last + 2):
            for anchor in (first, at_the_end, beyond.anchor):
                got = page_ids(read(number, anchor))
                assert got == (expected[number - 1] if number <= last else []), f"page {number}"
    # The walks did start from the anchors and from the end, not only from the top
    assert {"top", "anchor", "end"} <= set(starts)


def _insert_job(db, **values) -> int:  # type: ignore[no-untyped-def]
    row = {
        "action": "add_interaction",
        "description": "Arrived later",
        "parameters": {},
        "selection": {},
        "owner_id": 1,
        "status": int(JobStatus.QUEUED),
        "submitted_at": T0 + dt.timedelta(hours=1),
        **values,
    }
    with db.write_conn() as conn:
        return conn.execute(insert(Job.__table__).values(row).returning(Job.id)).scalar_one()


def test_a_refreshed_page_keeps_its_jobs_while_new_ones_arrive_above_it(db, service, many_jobs):
    # Given page 3 of the admin's list, newest first (and page 4 after it)
    third = service.list_jobs("admin", page=3, page_size=7)
    fourth = service.list_jobs("admin", page=4, page_size=7)
    # When a new job arrives (on page 1) and page 3 refreshes from its anchor
    new = _insert_job(db)
    again = service.list_jobs("admin", page=3, page_size=7, anchor=third.anchor)
    # Then page 3 shows the same jobs, and page 1 the new job first
    assert page_ids(again) == page_ids(third)
    top = service.list_jobs("admin", page=1, page_size=7, anchor=again.anchor)
    assert page_ids(top)[0] == new
    # When every job of page 3 is deleted, its refresh shows the jobs that followed them
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id.in_(page_ids(third))).values(deleted_at=T0))
    after = service.list_jobs("admin", page=3, page_size=7, anchor=again.anchor)
    assert page_ids(after) == page_ids(fourth)
    # (Read from the top, page 3 now starts with the job the new one pushed off page 2)
    plain = service.list_jobs("admin", page=3, page_size=7)
    assert page_ids(plain)[1:] == page_ids(fourth)[:-1]


def test_a_refresh_keeps_the_count_for_a_few_seconds_then_counts_again(
    db, service, many_jobs, monkeypatch
):
    # Given page 1 of the admin's list by job number, counted exactly
    def read(**kw):  # type: ignore[no-untyped-def]
        return service.list_jobs("admin", page_size=7, sort="id", **kw)

    first = read()
    assert first.exact
    # When a job far down the list is deleted, the refresh a moment later keeps the count
    far = listed(service, "admin")[-1]
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == far).values(deleted_at=T0))
    again = read(anchor=first.anchor)
    assert page_ids(again) == page_ids(first) and again.total == first.total
    # A job that changes the page makes the refresh count at once (the deleted one too)
    new = _insert_job(db)
    changed = read(anchor=again.anchor)
    assert page_ids(changed)[0] == new and changed.total == first.total - 1 + 1
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == new).values(deleted_at=T0))
    gone = read(anchor=changed.anchor)
    assert page_ids(gone) == page_ids(first) and gone.total == first.total - 1
    # Once RECOUNT_SECONDS have passed, the refresh counts again
    monkeypatch.setattr(queries, "RECOUNT_SECONDS", 0.0)
    later = read(anchor=again.anchor)
    assert (later.total, later.exact) == (first.total - 1, True)
    # And an anchor from another list (another sort) is not used for this one
    other = service.list_jobs("admin", page=2, page_size=7, descending=False)
    mixed = read(page=2, anchor=other.anchor)
    assert page_ids(mixed) == page_ids(read(page=2))


def test_in_submission_order_the_count_is_current_at_every_read(db, service, many_jobs):
    # Given page 1 of the admin's and alice's lists, newest first (the default)
    alice = many_jobs["users"]["alice"][0]
    first = service.list_jobs("admin", page_size=7)
    mine = service.list_jobs("alice", page_size=7)
    assert (first.total, mine.total) == (
        len(visible(all_jobs(db))),
        len(visible(all_jobs(db), alice)),
    )
    # When a job far down the list is deleted, the very next refresh counts one fewer
    far = listed(service, "admin")[-1]
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == far).values(deleted_at=T0))
    again = service.list_jobs("admin", page_size=7, anchor=first.anchor)
    assert page_ids(again) == page_ids(first) and (again.total, again.exact) == (
        first.total - 1,
        True,
    )
    # A job of alice's arrives: both lists count it; restored, the deleted one counts again
    new = _insert_job(db, owner_id=alice, submitted_at=T0 + dt.timedelta(days=3))
    with db.write_conn() as conn:
        conn.execute(update(Job).where(Job.id == far).values(deleted_at=None))
    assert service.list_jobs("admin", page_size=7).total == first.total + 1
    assert service.list_jobs("alice", page_size=7).total == mine.total + 1
    # Removed for good, it leaves the count (and the last page is still the last jobs)
    with db.write_conn() as conn:
        conn.execute(text("DELETE FROM jobs WHERE id = :j"), {"j": new})
    total = first.total
    last = service.list_jobs("admin", page=-(-total // 7), page_size=7)
    assert last.total == total and page_ids(last) == listed(service, "admin")[7 * (last.page - 1) :]


def test_pages_of_jobs_over_many_days_are_those_of_the_whole_list_typed_anywhere(
    db, service, many_jobs
):
    # Given jobs submitted over six days (a few deleted), for two owners, at random times
    rng = random.Random(7)
    users = many_jobs["users"]
    alice, bob = users["alice"][0], users["bob"][0]
    for n in range(60):
        _insert_job(
            db,
            owner_id=(alice, bob)[n % 2],
            submitted_at=T0
            + dt.timedelta(days=1 + rng.randint(0, 5), minutes=rng.randint(0, 1439)),
            deleted_at=T0 if n % 11 == 0 else None,
        )
    jobs = all_jobs(db)
    names = {i: name for i, name in users.values()}
    days = {"submitted_from": (T0 + dt.timedelta(days=2)).date()}
    days["submitted_to"] = (T0 + dt.timedelta(days=4)).date()
    for user, flt, owner in (
        ("admin", None, None),
        ("alice", None, alice),
        ("admin", JobFilter(owner_id=bob), bob),
        ("admin", JobFilter(**days), None),
    ):
        scoped = visible(jobs, owner)
        if flt is not None and flt.submitted_from:
            first, last = flt.submitted_from, flt.submitted_to
            scoped = [j for j in scoped if first <= j.submitted_at.date() <= last]
        for descending in (True, False):
            wanted = python_sort(scoped, "submitted", descending, names)
            # When each page is typed (no page read before it), in any order
            numbers = list(range(1, -(-len(wanted) // 6) + 2))
            rng.shuffle(numbers)
            for number in numbers:
                got = service.list_jobs(user, flt, page=number, page_size=6, descending=descending)
                # Then it holds the jobs of that place in the whole list, and the exact count
                assert page_ids(got) == wanted[6 * (number - 1) : 6 * number], (user, number)
                assert (got.total, got.exact) == (len(wanted), True)
