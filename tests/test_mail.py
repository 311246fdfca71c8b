"""Email out: the SMTP URL, sending to a real SMTP server on loopback, the .eml fallback."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from jobs.config import Settings
from jobs.errors import ConfigError
from jobs.outbound.mail import DeliveryFailed, send
from jobs.smtp_url import SmtpTarget, parse_smtp_url

pytest_plugins = ["tests.smtp_server"]

PAYLOAD = {
    "to": "alice@bulkdesk.example",
    "subject": "Bulkdesk job 12 — Dispute follow-up calls: Completed with exceptions",
    "body": "Hello Alice Analyst,\n\n  Total:          1,204\n  Exceptions:     104\n",
}


def _settings(tmp_path: Path, smtp_url: str = "") -> Settings:
    return Settings(
        database_url="sqlite://",
        smtp_url=smtp_url,
        mail_from="Bulkdesk <bulkdesk@ops.example>",
        outbox_dir=str(tmp_path / "outbox"),
    )


# -- the SMTP URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25)),
        ("smtp://127.0.0.1:2525", SmtpTarget("127.0.0.1", 2525)),
        (
            "smtp://bulk%40desk:p%40ss%3Aw%2Frd@mail.example.com:587?starttls=1",
            SmtpTarget("mail.example.com", 587, "bulk@desk", "p@ss:w/rd", starttls=True),
        ),
        ("smtp://relay:25?starttls=0", SmtpTarget("relay", 25)),
    ],
)
def test_an_smtp_url_gives_host_port_login_and_starttls(url, expected):
    target = parse_smtp_url(url)

    assert target == expected
    assert target.password == expected.password  # not in the comparison's repr, but kept
    assert str(target) == f"smtp://{expected.host}:{expected.port}"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://mail.example.com", "is not an smtp:// URL"),
        ("mail.example.com:25", "is not an smtp:// URL"),
        ("smtp://", "names no host"),
        ("smtp://mail.example.com:99999", "not usable"),
        ("smtp://mail.example.com:0", "the port is 1 to 65535"),
        ("smtp://mail.example.com:smtp", "not usable"),
        ("smtp://mail.example.com:25/inbox", "has a path"),
        ("smtp://mail.example.com?starttls=maybe", "starttls is 1 or 0"),
        ("smtp://mail.example.com?tls=1", "unknown option 'tls'"),
    ],
)
def test_a_bad_smtp_url_is_refused_with_a_sentence_naming_the_variable(url, says):
    with pytest.raises(ConfigError) as refused:
        parse_smtp_url(url)

    assert str(refused.value).startswith("BULKDESK_SMTP_URL ")
    assert says in str(refused.value)


def test_a_refused_smtp_url_never_shows_its_password():
    with pytest.raises(ConfigError) as refused:
        parse_smtp_url("smtps://bulk:s3cret@mail.example.com:465")

    assert "s3cret" not in str(refused.value)
    assert "bulk:***@mail.example.com" in str(refused.value)


def test_a_bad_smtp_url_stops_the_process_at_start(monkeypatch):
    monkeypatch.setenv("BULKDESK_SMTP_URL", "mail.example.com")

    with pytest.raises(ConfigError, match="BULKDESK_SMTP_URL 'mail.example.com'"):
        Settings.from_env()


# -- sending ---------------------------------------------------------------------------


def test_an_email_reaches_the_smtp_server_with_its_subject_body_and_message_id(
    tmp_path, smtp_server
):
    where = send(PAYLOAD, delivery_id=41, settings=_settings(tmp_path, smtp_server.url))

    assert where == f"smtp://127.0.0.1:{smtp_server.port}"
    (envelope,) = smtp_server.envelopes
    assert envelope.mail_from == "bulkdesk@ops.example"
    assert envelope.rcpt_tos == ["alice@bulkdesk.example"]
    (message,) = smtp_server.messages
    assert message["Subject"] == PAYLOAD["subject"]  # the em dash survives the encoding
    assert message["To"] == "alice@bulkdesk.example"
    assert message["From"] == "Bulkdesk <bulkdesk@ops.example>"
    assert message["Message-ID"] == "<bulkdesk-delivery-41@ops.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content() == PAYLOAD["body"]
    assert message.get_content_type() == "text/plain"
    assert not (tmp_path / "outbox").exists()  # sent, not written to the outbox folder


def test_an_email_sent_again_is_recognisably_the_same_message(tmp_path, smtp_server):
    settings = _settings(tmp_path, smtp_server.url)

    send(PAYLOAD, delivery_id=7, settings=settings)
    send(PAYLOAD, delivery_id=7, settings=settings)
    send(PAYLOAD, delivery_id=8, settings=settings)

    ids = [m["Message-ID"] for m in smtp_server.wait_for(3)]
    assert ids[0] == ids[1] != ids[2]


def test_a_line_break_in_a_subject_cannot_add_headers(tmp_path, smtp_server):
    sneaky = {**PAYLOAD, "subject": "Job 3\r\nBcc: everyone@example.com"}

    send(sneaky, delivery_id=3, settings=_settings(tmp_path, smtp_server.url))

    (message,) = smtp_server.messages
    assert message["Subject"] == "Job 3 Bcc: everyone@example.com"
    assert message["Bcc"] is None
    assert smtp_server.envelopes[0].rcpt_tos == ["alice@bulkdesk.example"]


def test_without_an_smtp_server_the_email_is_written_as_an_eml_file(tmp_path):
    where = send(PAYLOAD, delivery_id=12, settings=_settings(tmp_path))

    path = tmp_path / "outbox" / "00000012.eml"
    assert where == str(path)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["Subject"] == PAYLOAD["subject"]
    assert message["To"] == "alice@bulkdesk.example"
    assert message["Message-ID"] == "<bulkdesk-delivery-12@ops.example>"
    assert message.get_content() == PAYLOAD["body"]
    # Only the finished file: no temporary file is left beside it
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["00000012.eml"]


def test_an_eml_written_again_replaces_the_first_one(tmp_path):
    settings = _settings(tmp_path)
    send({**PAYLOAD, "body": "first\n"}, delivery_id=5, settings=settings)

    send({**PAYLOAD, "body": "second\n"}, delivery_id=5, settings=settings)

    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["00000005.eml"]
    assert b"second" in (tmp_path / "outbox" / "00000005.eml").read_bytes()


def test_an_outbox_folder_that_cannot_be_made_fails_the_delivery_in_words(tmp_path):
    (tmp_path / "taken").write_text("a file, not a folder")
    settings = Settings(database_url="sqlite://", outbox_dir=str(tmp_path / "taken" / "outbox"))

    with pytest.raises(DeliveryFailed, match=r"The email could not be written to .*00000001\.eml"):
        send(PAYLOAD, delivery_id=1, settings=settings)


# -- the server says no ----------------------------------------------------------------


def test_a_message_the_server_refuses_fails_with_the_servers_answer(tmp_path, smtp_server):
    smtp_server.refuse("550 5.7.1 Message rejected as spam")

    with pytest.raises(DeliveryFailed) as failed:
        send(PAYLOAD, delivery_id=2, settings=_settings(tmp_path, smtp_server.url))

    assert str(failed.value) == (
        f"The mail server at 127.0.0.1:{smtp_server.port} refused the message: "
        "550 5.7.1 Message rejected as spam"
    )
    assert failed.value.permanent
    assert smtp_server.messages == []


def test_a_temporary_refusal_is_not_permanent(tmp_path, smtp_server):
    smtp_server.refuse("451 4.3.0 Try again later")

    with pytest.raises(DeliveryFailed, match="refused the message: 451 4.3.0 Try again later"):
        send(PAYLOAD, delivery_id=2, settings=_settings(tmp_path, smtp_server.url))


def test_a_refused_recipient_is_named(tmp_path, smtp_server):
    smtp_server.refuse_recipients("550 5.1.1 No such mailbox")

    with pytest.raises(DeliveryFailed) as failed:
        send(PAYLOAD, delivery_id=2, settings=_settings(tmp_path, smtp_server.url))

    assert str(failed.value) == (
        f"The mail server at 127.0.0.1:{smtp_server.port} refused the recipient "
        "alice@bulkdesk.example: 550 5.1.1 No such mailbox"
    )


def test_a_server_that_is_not_there_could_not_be_reached(tmp_path, unreachable_smtp_url):
    address = unreachable_smtp_url.removeprefix("smtp://")

    with pytest.raises(DeliveryFailed) as failed:
        send(PAYLOAD, delivery_id=2, settings=_settings(tmp_path, unreachable_smtp_url))

    assert str(failed.value).startswith(f"The mail server at {address} could not be reached")
    assert "refused" in str(failed.value).lower()  # the reason: connection refused


@pytest.mark.parametrize(
    ("query", "says"),
    [("?starttls=1", "does not offer STARTTLS"), ("", "does not offer login")],
)
def test_starttls_or_a_login_the_server_does_not_offer_is_a_clear_failure(
    tmp_path, smtp_server, query, says
):
    login = "bulk:secret@" if not query else ""
    url = f"smtp://{login}127.0.0.1:{smtp_server.port}{query}"

    with pytest.raises(DeliveryFailed, match=says):
        send(PAYLOAD, delivery_id=2, settings=_settings(tmp_path, url))

    assert smtp_server.messages == []
