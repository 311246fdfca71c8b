"""SQLite's full-text (trigram) index of job descriptions answers the job list's text filter,
and stays in step with the jobs table: new jobs are found at once, jobs gone are not."""

from __future__ import annotations

from sqlalchemy import delete, text

from jobs.models import Job
from jobs.reports import queries
from jobs.reports.queries import JobFilter
from jobs.service import JobService


def _submit(service: JobService, description: str) -> int:
    return service.submit_bulk_interaction(
        "alice",
        description=description,
        interaction_type="Note",
        outcome="Information only",
        account_filter={"state": "TX"},
    ).id


def test_the_text_filter_finds_jobs_through_the_index_as_soon_as_they_exist(sqlite_db):
    service = JobService(sqlite_db)
    with sqlite_db.read() as s:
        assert s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'jobs_fts'")) == 1
    ids = [_submit(service, f"Courtesy note batch {n}") for n in range(5)]
    rare = _submit(service, "Quarterly Zephyrine review")

    # Then the index alone finds the rare word, and the list filter finds that job only
    with sqlite_db.read() as s:
        assert queries._full_text_ids(s, "zephyr") is not None
        found = s.scalars(text("SELECT rowid FROM jobs_fts WHERE description LIKE '%zephyr%'"))
        assert list(found) == [rare]
    assert [j.id for j in service.list_jobs("alice", JobFilter(text="zePHyr")).rows] == [rare]
    assert {j.id for j in service.list_jobs("alice", JobFilter(text="note batch")).rows} == set(ids)
    # Short texts (no trigram) do not use it, and still match
    with sqlite_db.read() as s:
        assert queries._full_text_ids(s, "ze") is None
    assert [j.id for j in service.list_jobs("alice", JobFilter(text="ze")).rows] == [rare]

    # A job removed for good leaves the index too
    with sqlite_db.write_conn() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE job_id = :j"), {"j": rare})
        conn.execute(text("DELETE FROM deliveries WHERE job_id = :j"), {"j": rare})
        conn.execute(delete(Job).where(Job.id == rare))
    with sqlite_db.read() as s:
        gone = s.scalar(text("SELECT count(*) FROM jobs_fts WHERE description LIKE '%zephyr%'"))
    assert gone == 0
    assert service.list_jobs("alice", JobFilter(text="zephyr")).rows == []


SPECIAL = [
    "50% off",
    "5000 off",
    "a_b batch",
    "axb batch",
    'O\'Brien "quoted" call',
    "back\\slash",
    "backslash",
    "Fix: (urgent) * NEAR",
]


def test_like_s_own_characters_and_quotes_are_plain_through_the_index(sqlite_db):
    service = JobService(sqlite_db)
    ids = {d: _submit(service, d) for d in SPECIAL}

    def found(words: str) -> set[int]:
        return {j.id for j in service.list_jobs("alice", JobFilter(text=words)).rows}

    for words, wanted in (
        ("50%", ["50% off"]),
        ("a_b", ["a_b batch"]),
        ('"quoted"', ['O\'Brien "quoted" call']),
        ("O'Brien", ['O\'Brien "quoted" call']),
        ('n "quo', ['O\'Brien "quoted" call']),
        ("k\\s", ["back\\slash"]),
        ("(URGENT) *", ["Fix: (urgent) * NEAR"]),
        ("near", ["Fix: (urgent) * NEAR"]),
    ):
        # The index answers (a phrase query), and the list has exactly those jobs
        with sqlite_db.read() as s:
            assert queries._full_text_ids(s, words) is not None
        assert found(words) == {ids[d] for d in wanted}, words


def test_a_changed_description_is_found_by_its_new_text_only_and_short_texts_still_match(
    sqlite_db,
):
    service = JobService(sqlite_db)
    job = _submit(service, "Quarterly Zephyrine review")
    other = _submit(service, "Monthly call list")
    with sqlite_db.write_conn() as conn:
        conn.execute(
            text("UPDATE jobs SET description = 'Renamed to Borealis' WHERE id = :j"), {"j": job}
        )

    def found(words: str) -> list[int]:
        return [j.id for j in service.list_jobs("alice", JobFilter(text=words)).rows]

    assert found("zephyr") == []
    assert found("BOREALIS") == [job]
    with sqlite_db.read() as s:
        in_index = s.scalars(text("SELECT rowid FROM jobs_fts WHERE jobs_fts MATCH '\"borealis\"'"))
        assert list(in_index) == [job]
    # One or two characters have no trigram: the plain LIKE finds them
    assert found("bo") == [job]
    assert sorted(found("o")) == sorted([job, other])
    assert found("%") == found("_") == []
