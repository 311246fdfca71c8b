"""The Profile: a person's email address and when they get a job completion email; and what
that email says (``completion_payload``), on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from apps.profile import ProfilePage
from apps.profile_state import ProfileState
from jobs import audit, runtime
from jobs.cli.main import main
from jobs.errors import InvalidInput, NotFound
from jobs.models import AuditEvent, Job, User
from jobs.outbound.completion import completion_payload, duration_text, wants_email
from jobs.people.profile import NOTIFY_CHOICES
from jobs.service import JobService
from jobs.status import JobStatus

CALL = {"interaction_type": "Call", "outcome": "Left message", "note": "Voicemail left"}


@pytest.fixture(autouse=True)
def restore_profiles(request):
    """Put every user's address and choice back after a test that uses the database (the
    PostgreSQL database is shared by the session's tests)."""
    if "db" not in request.fixturenames:
        yield
        return
    db = request.getfixturevalue("db")
    with db.read() as s:
        before = s.execute(select(User.id, User.email, User.notify)).all()
    yield
    with db.write_conn() as conn:
        for user_id, email, notify in before:
            conn.execute(update(User).where(User.id == user_id).values(email=email, notify=notify))


def _profile_events(db) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == audit.PROFILE)))


# -- the service -----------------------------------------------------------------------


def test_a_profile_shows_the_users_name_address_and_choice(service):
    profile = service.profile("bob")

    assert profile.username == "bob"
    assert profile.display_name == "Bob Builder"
    assert profile.email == "bob@bulkdesk.example"
    assert profile.notify == "failures"
    assert profile.notify_label == NOTIFY_CHOICES["failures"]


def test_a_user_changes_their_completion_email_and_address_and_the_trail_says_so(db, service):
    changed = service.set_profile("alice", notify="failures", email=" alice@new.example ")

    assert (changed.notify, changed.email) == ("failures", "alice@new.example")
    # What another process reads afterwards
    again = JobService(db).profile("alice")
    assert (again.notify, again.email) == ("failures", "alice@new.example")
    assert service.profile("bob").email == "bob@bulkdesk.example"  # nobody else changed
    (event,) = _profile_events(db)
    assert event.actor_id == service.actor("alice").id
    assert event.job_id is None
    assert "Alice Analyst changed their profile" in event.summary
    assert "Every job → Only jobs that failed" in event.summary
    assert "alice@bulkdesk.example → alice@new.example" in event.summary
    assert event.details["notify"] == {"before": "all", "after": "failures"}


def test_each_change_is_kept_alone_and_setting_the_same_again_writes_nothing(db, service):
    service.set_profile("dave", notify="none")
    assert service.profile("dave").email == "dave@bulkdesk.example"  # untouched

    service.set_profile("dave", notify="NONE")

    assert len(_profile_events(db)) == 1


def test_an_empty_address_removes_it(service):
    profile = service.set_profile("alice", email="   ")

    assert profile.email is None
    assert service.profile("alice").email is None


@pytest.mark.parametrize("choice", ["weekly", "", "every job"])
def test_an_unknown_choice_is_refused_under_its_field_naming_the_choices(db, service, choice):
    with pytest.raises(InvalidInput) as refused:
        service.set_profile("alice", notify=choice, email="alice@new.example")

    assert refused.value.field == "notify"
    for key, words in NOTIFY_CHOICES.items():
        assert f"{key} ({words})" in str(refused.value)
    # Nothing changed, not even the valid address given with it
    assert service.profile("alice").email == "alice@bulkdesk.example"
    assert _profile_events(db) == []


@pytest.mark.parametrize(
    "address",
    [
        "alice",
        "alice@",
        "@bulkdesk.example",
        "alice@localhost",
        "alice@bulkdesk.",
        "alice@@bulkdesk.example",
        "alice smith@bulkdesk.example",
        "alice@bulkdesk.example\nBcc: everyone@bulkdesk.example",
        "Alice <alice@bulkdesk.example>",
        "a" * 65 + "@bulkdesk.example",
    ],
)
def test_an_address_that_is_no_email_address_is_refused_under_its_field(service, address):
    with pytest.raises(InvalidInput, match="does not look like an email address") as refused:
        service.set_profile("alice", email=address, notify="none")

    assert refused.value.field == "email"
    assert service.profile("alice").notify == "all"


def test_an_address_over_254_characters_is_refused_with_the_limit(service):
    address = "a@" + "b" * 250 + ".example"

    with pytest.raises(InvalidInput, match=r"is 260 characters long; the limit is 254") as refused:
        service.set_profile("alice", email=address)

    assert refused.value.field == "email"


def test_someone_who_does_not_exist_has_no_profile(service):
    with pytest.raises(NotFound, match="There is no user called 'mallory'"):
        service.set_profile("mallory", notify="none")


# -- bulkdesk profile ------------------------------------------------------------------


def _cli(*args: str):
    return CliRunner().invoke(main, ["profile", *args])


def test_bulkdesk_profile_shows_the_current_settings(db):
    result = _cli("--as", "bob")

    assert result.exit_code == 0, result.output
    assert "Bob Builder (bob)" in result.output
    assert "Email address:        bob@bulkdesk.example" in result.output
    assert f"Job completion email: {NOTIFY_CHOICES['failures']} (failures)" in result.output


def test_bulkdesk_profile_changes_and_shows_the_result(db):
    result = _cli("--as", "alice", "--notify", "none", "--email", "alice@new.example")

    assert result.exit_code == 0, result.output
    assert "Email address:        alice@new.example" in result.output
    assert "Job completion email: Never (none)" in result.output
    assert JobService(db).profile("alice").notify == "none"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--as", "alice", "--notify", "sometimes"], "'sometimes' is not a choice"),
        (["--as", "alice", "--email", "alice.example"], "does not look like an email address"),
        (["--as", "mallory"], "There is no user called 'mallory'"),
    ],
)
def test_bulkdesk_profile_refuses_in_one_line_with_exit_code_2(db, args, says):
    result = _cli(*args)

    assert result.exit_code == 2
    assert result.output.startswith("Error: ")
    assert says in result.output
    assert JobService(db).profile("alice").email == "alice@bulkdesk.example"


# -- the completion email --------------------------------------------------------------

SENT_FOR = {
    "all": {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_EXCEPTIONS,
        JobStatus.STOPPED,
        JobStatus.FAILED,
        JobStatus.SKIPPED,
    },
    "failures": {JobStatus.COMPLETED_WITH_EXCEPTIONS, JobStatus.STOPPED, JobStatus.FAILED},
    "none": set(),
}
ENDINGS = [
    JobStatus.COMPLETED,
    JobStatus.COMPLETED_WITH_EXCEPTIONS,
    JobStatus.STOPPED,
    JobStatus.FAILED,
    JobStatus.SKIPPED,
]


@pytest.mark.parametrize("status", [*ENDINGS, JobStatus.QUEUED, JobStatus.IN_PROGRESS])
@pytest.mark.parametrize("notify", ["all", "failures", "none"])
def test_who_wants_an_email_for_which_ending(notify, status):
    assert wants_email(notify, status) is (status in SENT_FOR[notify])


@pytest.fixture
def ended_job(db, service, stub_broker):
    """Alice's job on "Dispute review", put into a final status with its counters."""

    def make(status: JobStatus, *, error: str | None = None, seconds: float = 125.0) -> int:
        job = service.submit_bulk_interaction(
            "alice", description="Dispute follow-up calls", group="Dispute review", **CALL
        )
        started = dt.datetime(2026, 3, 12, 9, 30, tzinfo=dt.UTC)
        with db.write_conn() as conn:
            conn.execute(
                update(Job)
                .where(Job.id == job.id)
                .values(
                    status=int(status),
                    started_at=started,
                    ended_at=started + dt.timedelta(seconds=seconds),
                    total=1204,
                    ok=1100,
                    exceptions=104,
                    not_processed=0,
                    error=error,
                )
            )
        return job.id

    return make


def _set_alice(db, **values) -> None:
    with db.write_conn() as conn:
        conn.execute(update(User).where(User.username == "alice").values(**values))


def _payload(db, job_id: int):
    with db.read() as s:
        return completion_payload(s.connection(), job_id, runtime.settings())


@pytest.mark.parametrize("status", ENDINGS)
@pytest.mark.parametrize("notify", ["all", "failures", "none"])
def test_the_owner_gets_the_completion_email_their_profile_asks_for(db, ended_job, notify, status):
    job_id = ended_job(status)
    _set_alice(db, notify=notify)

    payload = _payload(db, job_id)

    if status not in SENT_FOR[notify]:
        assert payload is None
        return
    assert payload["to"] == "alice@bulkdesk.example"
    assert payload["subject"] == f"Bulkdesk job {job_id} — Dispute follow-up calls: {status.label}"
    assert f"ended: {status.label}." in payload["body"]


def test_the_email_tells_the_counters_time_taken_action_and_where_to_look(db, ended_job):
    job_id = ended_job(JobStatus.COMPLETED_WITH_EXCEPTIONS)

    body = _payload(db, job_id)["body"]

    assert "Hello Alice Analyst," in body
    assert "Action:         Add Interaction" in body
    assert "Total:          1,204" in body
    assert "Ok:             1,100" in body
    assert "Exceptions:     104" in body
    assert "Not processed:  0" in body
    assert "Started:        2026-03-12 09:30:00 UTC" in body
    assert "Time taken:     2 min 5 s" in body
    assert f"http://localhost:5006/app?page=monitor&job={job_id}" in body
    assert "Error:" not in body
    assert "set to “Every job”" in body


def test_a_failed_jobs_email_gives_the_error_sentence(db, ended_job):
    job_id = ended_job(JobStatus.FAILED, error="The group Dispute review was deleted", seconds=0.4)

    body = _payload(db, job_id)["body"]

    assert "Error: The group Dispute review was deleted" in body
    assert "Time taken:     0.4 s" in body


def test_an_owner_without_an_email_address_gets_none(db, ended_job):
    job_id = ended_job(JobStatus.FAILED)
    _set_alice(db, email=None)

    assert _payload(db, job_id) is None


def test_a_job_still_running_sends_nothing(db, ended_job):
    job_id = ended_job(JobStatus.IN_PROGRESS)

    assert _payload(db, job_id) is None


def test_the_link_follows_the_configured_dashboard_address(db, ended_job):
    import dataclasses

    job_id = ended_job(JobStatus.COMPLETED)
    settings = dataclasses.replace(
        runtime.settings(), dashboard_url="https://bulkdesk.example.com/app"
    )

    with db.read() as s:
        body = completion_payload(s.connection(), job_id, settings)["body"]

    assert f"https://bulkdesk.example.com/app?page=monitor&job={job_id}" in body


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.04, "0.0 s"),
        (0.4, "0.4 s"),
        (9.94, "9.9 s"),
        (42.4, "42 s"),
        (120, "2 min"),
        (125, "2 min 5 s"),
        (3725, "1 h 2 min"),
        (2 * 86400 + 4 * 3600 + 59, "2 d 4 h"),
    ],
)
def test_time_taken_reads_as_people_say_it(seconds, text):
    assert duration_text(seconds) == text


# -- the Profile page ------------------------------------------------------------------


@pytest.fixture
def page_service(sqlite_db) -> JobService:
    return JobService(sqlite_db)


def test_the_profile_page_shows_the_users_settings_in_words(page_service):
    page = ProfilePage(page_service, "bob")

    assert page.state.display_name == "Bob Builder"
    assert page.email.value == "bob@bulkdesk.example"
    assert page.notify.options == {words: key for key, words in NOTIFY_CHOICES.items()}
    assert page.notify.value == "failures"
    assert page.save_button.disabled  # nothing to save yet
    assert "fails, is stopped or ends with exceptions" in page.state.hint()


def test_saving_the_profile_page_changes_the_profile_and_says_so(page_service):
    state = ProfileState(page_service, "alice")

    state.param.update(email="alice@new.example", notify="none")
    assert state.has_changes()
    saved = state.save()

    assert saved is not None
    assert state.message == "Saved. You get no job completion emails."
    assert not state.has_changes()
    profile = page_service.profile("alice")
    assert (profile.email, profile.notify) == ("alice@new.example", "none")


def test_a_refused_address_shows_under_the_email_field_and_saves_nothing(page_service):
    page = ProfilePage(page_service, "alice")
    page.email.value = "alice@"
    page.notify.value = "none"

    assert page.save() is None

    assert "does not look like an email address" in page.state.email_error
    assert "does not look like an email address" in page._layout.objects[2].object
    assert page.state.notify_error == "" and page.state.message == ""
    assert page_service.profile("alice").notify == "all"
    # Typing again clears the message under the field
    page.email.value = "alice@bulkdesk.example"
    assert page.state.email_error == ""


def test_the_profile_page_shows_html_typed_as_text(page_service):
    page = ProfilePage(page_service, "alice")

    page.email.value = "<script>alert(1)</script>"
    page.save()

    shown = page._layout.objects[2].object
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown


def test_a_user_without_an_address_is_told_that_no_email_can_come(page_service):
    state = ProfileState(page_service, "alice")

    state.email = ""

    assert state.hint() == "Without an email address you get no job completion emails."
