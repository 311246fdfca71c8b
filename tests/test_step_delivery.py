"""Delivery steps against real servers on loopback: email with the report attached to an
aiosmtpd server, copies to a folder, to an SFTP server (asyncssh) and to S3 (moto's server),
through the outbox; a destination that refuses is retried, then failed with its message.

On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from jobs.definitions import steps
from jobs.models import AuditEvent, Delivery, DeliveryState
from jobs.outbound import files
from tests.step_helpers import context, deliver_all, deliveries

pytest_plugins = ["tests.smtp_server", "tests.destinations"]

REPORT = "client,posted\nAcme Retail Credit,1204.50\nNorthwind Bank,99.00\n"


@pytest.fixture
def report_file(tmp_path):
    """A report an earlier step of the run wrote."""
    path = tmp_path / "run" / "Daily-collections-pack-billing-2027-03-10.csv"
    path.parent.mkdir()
    path.write_text(REPORT)
    return path


def _run(db, tmp_path, kind, settings, report_file, **extra):
    step = steps.get(kind)
    ctx = context(
        db, tmp_path / "run", step.check(settings), outputs={"Billing": str(report_file)}, **extra
    )
    return ctx, step.run(ctx)


# -- email ------------------------------------------------------------------------------


def test_an_email_step_sends_the_report_attached_to_each_recipient(
    db, tmp_path, smtp_server, report_file
):
    # Given a run whose billing step wrote a report, and an email step naming two people
    settings = {
        "recipients": "ops@partner.example, Finance@Partner.example",
        "subject": "{definition}: billing for {day}",
        "body": "Attached: {file}\n",
    }

    # When the step runs and its deliveries are sent to the SMTP server
    ctx, outcome = _run(db, tmp_path, "email", settings, report_file)
    assert outcome.ok, outcome.message
    assert len(outcome.deliveries) == 2
    assert outcome.output == str(report_file)
    sent = deliver_all(db, outcome.deliveries, smtp_url=smtp_server.url)

    # Then each recipient got the email with the file attached, byte for byte
    assert [d.state for d in sent] == [DeliveryState.SENT] * 2
    assert {d.job_id for d in sent} == {ctx.job_id}
    messages = smtp_server.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["Finance@Partner.example", "ops@partner.example"]
    for message in messages:
        assert message["Subject"] == "Daily collections pack: billing for 2027-03-10"
        body, attachment = list(message.iter_parts())
        assert body.get_content() == f"Attached: {report_file.name}\n"
        assert attachment.get_filename() == report_file.name
        assert attachment.get_content_type() == "text/csv"
        assert attachment.get_payload(decode=True).decode() == REPORT


def test_without_an_smtp_server_the_email_is_an_eml_file_in_the_outbox_folder(
    db, tmp_path, report_file
):
    ctx, outcome = _run(db, tmp_path, "email", {"recipients": ["ops@partner.example"]}, report_file)
    (sent,) = deliver_all(db, outcome.deliveries, smtp_url="", outbox_dir=str(tmp_path / "out"))

    assert sent.state == DeliveryState.SENT
    (eml,) = (tmp_path / "out").glob("*.eml")
    assert sent.sent_to == str(eml)
    assert report_file.name in eml.read_text()


def test_an_email_step_with_nothing_to_attach_fails_and_queues_nothing(db, tmp_path):
    step = steps.get("email")
    ctx = context(db, tmp_path, step.check({"recipients": ["ops@partner.example"]}))

    outcome = step.run(ctx)

    assert not outcome.ok
    assert outcome.message == "There is no file to send: the last step with an output produced none"
    assert outcome.deliveries == []


def test_a_refused_recipient_is_retried_then_failed_with_the_servers_answer(
    db, tmp_path, smtp_server, report_file
):
    smtp_server.refuse_recipients("550 5.1.1 No such mailbox")
    ctx, outcome = _run(
        db, tmp_path, "email", {"recipients": ["gone@partner.example"]}, report_file
    )

    for attempt in range(1, 4):
        (row,) = deliver_all(db, outcome.deliveries, smtp_url=smtp_server.url, delivery_attempts=3)
        assert row.attempts == attempt

    assert row.state == DeliveryState.FAILED
    assert "refused the recipient gone@partner.example: 550 5.1.1 No such mailbox" in row.last_error


def test_an_email_after_a_copy_still_attaches_the_report_not_the_remote_copy(
    db, tmp_path, report_file
):
    # report → copy (its output an sftp:// URL) → email with the default attachment
    step = steps.get("email")
    outputs = {"Billing": str(report_file), "Copy": "sftp://partner@127.0.0.1:2222/in/x.csv"}
    ctx = context(
        db, tmp_path, step.check({"recipients": ["ops@partner.example"]}), outputs=outputs
    )
    assert ctx.last_output.startswith("sftp://")

    outcome = step.run(ctx)

    assert outcome.ok, outcome.message
    assert outcome.output == str(report_file)
    (row,) = deliveries(db, outcome.deliveries)
    assert row.payload["attachments"] == [{"path": str(report_file), "filename": report_file.name}]


def test_in_a_file_in_run_the_arriving_file_is_what_a_first_copy_delivers(db, tmp_path):
    arrived = tmp_path / "inbox" / "processed" / "placements.csv"
    arrived.parent.mkdir(parents=True)
    arrived.write_text("file_number\n100001\n")
    step = steps.get("copy")
    settings = step.check({"destination": str(tmp_path / "archive")})
    ctx = context(db, tmp_path / "run", settings, input_file=str(arrived))

    outcome = step.run(ctx)
    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT
    assert (tmp_path / "archive" / "placements.csv").read_text() == "file_number\n100001\n"


def test_an_email_asked_to_attach_a_remote_copy_says_why_it_cannot(db, tmp_path, report_file):
    step = steps.get("email")
    outputs = {"Billing": str(report_file), "Copy": "s3://bucket/x.csv"}
    ctx = context(
        db, tmp_path, step.check({"recipients": "a@b.example", "attach": "Copy"}), outputs=outputs
    )

    outcome = step.run(ctx)

    assert not outcome.ok
    assert outcome.message == (
        "The output of step “Copy” is s3://bucket/x.csv, not a file here; send a report's "
        "file instead"
    )


@pytest.mark.parametrize(
    ("settings", "field", "says"),
    [
        ({}, "recipients", "Recipients is needed"),
        ({"recipients": "ops@partner, x"}, "recipients", "does not look like an email address"),
        ({"recipients": "a@b.example", "subject": "{client}"}, "subject", "{client} is no"),
        ({"recipients": "a@b.example", "subject": "a\nb"}, "subject", "Subject is one line"),
        ({"recipients": "a@b.example", "cc": "x"}, "cc", "Unknown setting 'cc'"),
    ],
)
def test_bad_email_settings_are_refused_naming_the_setting(settings, field, says):
    with pytest.raises(Exception) as refused:
        steps.get("email").check(settings)

    assert refused.value.field == field
    assert says in str(refused.value)


# -- copy to a folder ---------------------------------------------------------------------


@pytest.mark.parametrize("as_url", [False, True], ids=["path", "file-url"])
def test_a_copy_to_a_folder_writes_the_file_once_even_when_delivered_again(
    db, tmp_path, report_file, as_url
):
    folder = tmp_path / "partner" / "in"
    destination = f"file://{folder}" if as_url else str(folder)
    ctx, outcome = _run(
        db,
        tmp_path,
        "copy",
        {"destination": destination, "file_name": "{day}-{file}"},
        report_file,
    )
    assert outcome.ok, outcome.message
    target = f"{destination}/2027-03-10-{report_file.name}"
    assert outcome.output == target

    (row,) = deliver_all(db, outcome.deliveries)
    assert (row.state, row.sent_to) == (DeliveryState.SENT, target)
    # A redelivery (the worker died after the copy, before recording it) writes the same
    # target again: one whole file, no temporary left behind.
    _pending_again(db, row.id)
    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT
    assert [p.name for p in folder.iterdir()] == [f"2027-03-10-{report_file.name}"]
    assert (folder / f"2027-03-10-{report_file.name}").read_text() == REPORT


def _pending_again(db, delivery_id):
    from sqlalchemy import update

    with db.write_conn() as conn:
        conn.execute(
            update(Delivery).where(Delivery.id == delivery_id).values(state=DeliveryState.PENDING)
        )


# -- copy to SFTP -------------------------------------------------------------------------


@pytest.mark.parametrize("key", [False, True], ids=["password", "client-key"])
def test_a_copy_reaches_the_sftp_server_with_the_named_connections_credentials(
    db, tmp_path, sftp_server, report_file, monkeypatch, key
):
    # Given the connection's credentials in the environment, not in the definition
    monkeypatch.setenv("BULKDESK_DEST_PARTNER_SFTP", json.dumps(sftp_server.connection(key=key)))
    settings = {"destination": sftp_server.url("/inbox/daily"), "connection": "partner_sftp"}

    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)
    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT, row.last_error
    arrived = sftp_server.root / "inbox" / "daily" / report_file.name
    assert arrived.read_text() == REPORT
    assert outcome.output == f"{sftp_server.url('/inbox/daily')}/{report_file.name}"
    # Nothing secret was written to the database
    assert sftp_server.password not in json.dumps(row.payload)
    assert row.payload["connection"] == "partner_sftp"


def test_a_copy_redelivered_to_sftp_leaves_one_whole_file(
    db, tmp_path, sftp_server, report_file, monkeypatch
):
    monkeypatch.setenv("BULKDESK_DEST_PARTNER_SFTP", json.dumps(sftp_server.connection()))
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    deliver_all(db, outcome.deliveries)
    _pending_again(db, outcome.deliveries[0])
    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT
    assert [p.name for p in (sftp_server.root / "inbox").iterdir()] == [report_file.name]


def test_an_sftp_copy_is_written_under_a_temporary_name_then_renamed_over_the_target(
    db, tmp_path, sftp_server, report_file, monkeypatch
):
    # A reader on the partner's side never sees half a report: the server only ever sees
    # the target appear by a rename
    monkeypatch.setenv("BULKDESK_DEST_PARTNER_SFTP", json.dumps(sftp_server.connection()))
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT
    target = f"/inbox/{report_file.name}"
    writes = [op[1] for op in sftp_server.operations if op[:1] == ("open",) and op[2] == "write"]
    renames = [op[1:] for op in sftp_server.operations if op[0] == "rename"]
    (temporary,) = writes
    assert temporary.startswith(f"/inbox/.{report_file.name}.{row.id}.")
    assert temporary.endswith(".part")
    assert renames == [(temporary, target)]


def test_an_sftp_server_that_refuses_the_login_is_retried_then_failed_with_its_message(
    db, tmp_path, sftp_server, report_file, monkeypatch
):
    # Given a connection whose password the server does not take
    wrong = sftp_server.connection(password="not-the-password")
    monkeypatch.setenv("BULKDESK_DEST_PARTNER_SFTP", json.dumps(wrong))
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)
    assert outcome.ok  # queued: the refusal comes when it is sent

    # When the outbox tries it as often as it may
    states = [deliver_all(db, outcome.deliveries, delivery_attempts=3)[0] for _ in range(3)]

    # Then it was retried, and in the end failed with the server's words, shown on the run
    assert [(r.state, r.attempts) for r in states] == [
        (DeliveryState.PENDING, 1),
        (DeliveryState.PENDING, 2),
        (DeliveryState.FAILED, 3),
    ]
    expected = (
        f"The copy to {sftp_server.url('/inbox')}/{report_file.name} failed: "
        f"PermissionError: Permission denied for user partner on host 127.0.0.1"
    )
    assert states[-1].last_error == expected
    with db.read() as s:
        summary = s.scalar(
            select(AuditEvent.summary).where(
                AuditEvent.job_id == ctx.job_id, AuditEvent.action == "delivery_failed"
            )
        )
    assert summary == (
        f"The copy of {report_file.name} to {sftp_server.url('/inbox')}/{report_file.name} "
        f"could not be sent after 3 attempts: {expected}"
    )
    assert not list((sftp_server.root).iterdir())


def test_an_unknown_host_key_is_refused(db, tmp_path, sftp_server, report_file, monkeypatch):
    options = sftp_server.connection()
    other = tmp_path / "other_known_hosts"
    other.write_text(f"[127.0.0.1]:{sftp_server.port} " + _some_other_host_key() + "\n")
    options["known_hosts"] = str(other)
    monkeypatch.setenv("BULKDESK_DEST_PARTNER_SFTP", json.dumps(options))
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    (row,) = deliver_all(db, outcome.deliveries, delivery_attempts=1)

    assert row.state == DeliveryState.FAILED
    assert "host key" in row.last_error.lower()
    assert not list(sftp_server.root.iterdir())


def _some_other_host_key() -> str:
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    return " ".join(key.export_public_key("openssh").decode().split()[:2])


def test_a_connection_not_configured_on_the_worker_fails_the_step_at_once_naming_it(
    db, tmp_path, sftp_server, report_file, monkeypatch
):
    monkeypatch.delenv("BULKDESK_DEST_PARTNER_SFTP", raising=False)
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}

    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    assert not outcome.ok
    assert outcome.message == (
        "The connection 'partner_sftp' is not configured: set BULKDESK_DEST_PARTNER_SFTP to "
        "its storage options as JSON on every worker"
    )
    assert outcome.deliveries == []


# -- copy to object storage ---------------------------------------------------------------


@pytest.mark.parametrize("endpoint_in", ["connection", "step"])
def test_a_copy_reaches_s3_at_a_configured_endpoint(
    db, tmp_path, s3_server, s3_bucket, report_file, monkeypatch, endpoint_in
):
    in_connection = endpoint_in == "connection"
    monkeypatch.setenv(
        "BULKDESK_DEST_ARCHIVE", json.dumps(s3_server.connection(endpoint=in_connection))
    )
    settings = {"destination": f"s3://{s3_bucket}/bulkdesk/daily/", "connection": "archive"}
    if not in_connection:
        settings["endpoint"] = s3_server.endpoint

    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)
    (row,) = deliver_all(db, outcome.deliveries)

    assert row.state == DeliveryState.SENT, row.last_error
    key = f"{s3_bucket}/bulkdesk/daily/{report_file.name}"
    assert outcome.output == f"s3://{key}"
    assert s3_server.filesystem().cat(key).decode() == REPORT
    assert s3_server.secret not in json.dumps(row.payload)


def test_a_missing_bucket_is_retried_then_failed_with_the_servers_message(
    db, tmp_path, s3_server, report_file, monkeypatch
):
    monkeypatch.setenv("BULKDESK_DEST_ARCHIVE", json.dumps(s3_server.connection()))
    settings = {"destination": "s3://no-such-bucket-here/daily", "connection": "archive"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    rows = [deliver_all(db, outcome.deliveries, delivery_attempts=2)[0] for _ in range(2)]

    assert [r.state for r in rows] == [DeliveryState.PENDING, DeliveryState.FAILED]
    assert rows[-1].last_error == (
        f"The copy to s3://no-such-bucket-here/daily/{report_file.name} failed: "
        "FileNotFoundError: The specified bucket does not exist"
    )


def test_the_deliver_actor_retries_a_refused_copy_until_it_gives_up(
    db, tmp_path, sftp_server, report_file, monkeypatch, stub_broker, stub_worker
):
    # End to end on the in-process broker: the actor's first attempt, then the reaper's
    # retries after the outbox's backoff, until the last attempt fails the delivery.
    import dataclasses

    from jobs import runtime
    from jobs.worker.actors import send_deliveries

    runtime.configure(dataclasses.replace(runtime.settings(), delivery_attempts=2))
    monkeypatch.setenv(
        "BULKDESK_DEST_PARTNER_SFTP", json.dumps(sftp_server.connection(password="wrong"))
    )
    settings = {"destination": sftp_server.url("/inbox"), "connection": "partner_sftp"}
    ctx, outcome = _run(db, tmp_path, "copy", settings, report_file)

    send_deliveries(outcome.deliveries)
    deadline = time.monotonic() + 30
    while (row := deliveries(db, outcome.deliveries)[0]).state != DeliveryState.FAILED:
        assert time.monotonic() < deadline, f"still {DeliveryState.LABELS[row.state]}: {row}"
        time.sleep(0.1)

    assert row.attempts == 2
    assert "Permission denied for user partner" in row.last_error


# -- copy settings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "field", "says"),
    [
        ({}, "destination", "Destination is needed"),
        ({"destination": "sftp://u:hunter2@h/in"}, "destination", "keep the password out"),
        ({"destination": "ftp://h/in"}, "destination", "ftp:// is not supported"),
        ({"destination": "reports/out"}, "destination", "a folder is an absolute path"),
        ({"destination": "s3:///prefix"}, "destination", "names no bucket"),
        ({"destination": "s3://b/p?key=abc"}, "destination", "no ?options"),
        ({"destination": "/srv/out", "endpoint": "http://e"}, "endpoint", "s3:// destinations"),
        ({"destination": "s3://b", "endpoint": "minio:9000"}, "endpoint", "not an http://"),
        ({"destination": "s3://b", "connection": "my-conn"}, "connection", "letters, digits"),
        ({"destination": "/srv", "file_name": "../x.csv"}, "file_name", "without /"),
        ({"destination": "/srv", "file_name": "{client}.csv"}, "file_name", "is no placeholder"),
    ],
)
def test_bad_copy_settings_are_refused_naming_the_setting(settings, field, says):
    with pytest.raises(Exception) as refused:
        steps.get("copy").check(settings)

    assert refused.value.field == field
    assert says in str(refused.value)


def test_a_password_never_shows_in_messages():
    assert files.shown("sftp://u:hunter2@h:22/in") == "sftp://u:***@h:22/in"


def test_the_steps_registry_names_the_known_kinds_for_an_unknown_one():
    with pytest.raises(Exception) as refused:
        steps.get("fax")

    assert refused.value.field == "kind"
    assert str(refused.value) == (
        "Unknown step type 'fax'; expected one of: report, bulk_action, email, copy"
    )
