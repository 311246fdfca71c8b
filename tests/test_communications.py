"""Schedule Emails and Schedule Text Messages: templates and their placeholders, who gets a
message and who is an exception, text messages in the outbox folder, a delivery that fails
for good, and the template frozen at submit. On SQLite and PostgreSQL where SQL decides.
"""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, insert, select

from jobs import runtime
from jobs.comms import templates
from jobs.comms.sms import normalise_phone
from jobs.errors import InvalidInput, PermissionDenied
from jobs.models import Account, AccountStatus, AuditEvent, EmailTemplate, SmsTemplate
from jobs.sources import AccountSelection
from jobs.status import JobStatus
from tests.comms_helpers import CLOCK_START, SCRIPT_NAME, settled
from tests.helpers import wait_for

pytest_plugins = ["tests.smtp_server", "tests.comms_fixtures"]

TODAY = CLOCK_START.date().isoformat()

# -- templates -------------------------------------------------------------------------------


def test_placeholders_are_replaced_and_braces_can_be_written_twice():
    values = {"debtor_name": "Ana Díaz", "balance": "$12.50"}
    text = "Dear {debtor_name}, you owe {balance} {{not a placeholder}}"
    assert templates.render(text, values) == "Dear Ana Díaz, you owe $12.50 {not a placeholder}"


def test_html_rendering_escapes_the_template_and_every_value():
    values = {"debtor_name": SCRIPT_NAME}
    rendered = templates.render("<b>Hello</b> {debtor_name}\nBye", values, as_html=True)
    assert rendered == (
        "&lt;b&gt;Hello&lt;/b&gt; &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; "
        "O&#x27;Brien &amp; Sons<br>\nBye"
    )


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ("Dear {name}", "{name} in the message is not a placeholder Bulkdesk knows"),
        ("Dear {debtor_name.__class__}", "is not a placeholder Bulkdesk knows"),
        ("Pay {balance:>10}", "is not a placeholder Bulkdesk knows"),
        ("Dear {debtor_name", "lone “{”"),
        ("Dear debtor_name}", "lone “}”"),
    ],
)
def test_a_template_with_an_unknown_placeholder_is_refused_when_saved(db, service, body, words):
    with pytest.raises(InvalidInput, match=words) as refused:
        service.save_template("dave", "sms", name="Odd one", body=body)
    assert refused.value.field == "body"
    assert "{debtor_name}" in str(refused.value) or "lone" in str(refused.value)
    with db.read() as s:
        assert s.scalar(select(SmsTemplate.id).where(SmsTemplate.name == "Odd one")) is None


def test_templates_are_saved_by_supervisors_only_and_audited(db, service):
    with pytest.raises(PermissionDenied):
        service.save_template("alice", "email", name="Mine", subject="Hi", body="Hello")

    service.save_template(
        "dave", "email", name="Short note", subject="About {file_number}", body="Hi {first_name}"
    )

    try:
        saved = {t.name: t for t in service.templates("alice", "email")}
        assert saved["Short note"].subject == "About {file_number}"
        with db.read() as s:
            assert s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "template")
            )
    finally:
        with db.write_conn() as conn:
            conn.execute(EmailTemplate.__table__.delete().where(EmailTemplate.name == "Short note"))


def test_a_template_with_an_unknown_placeholder_is_refused_when_chosen(
    db, service, targets, manual_clock
):
    # Given a template written into the database by hand, past the checks of a save
    with db.write_conn() as conn:
        conn.execute(
            insert(EmailTemplate).values(
                name="Hand-made",
                subject="Hi",
                body="Dear {ssn}",
                active=True,
                updated_at=CLOCK_START,
            )
        )
    try:
        with pytest.raises(InvalidInput, match=r"\{ssn\} in the template “Hand-made”") as refused:
            service.submit_to_accounts(
                "alice",
                "send_email",
                description="Leaky",
                account_ids=targets.valid,
                template="Hand-made",
                send_date=TODAY,
            )
        assert refused.value.field == "template"
    finally:
        with db.write_conn() as conn:
            conn.execute(EmailTemplate.__table__.delete().where(EmailTemplate.name == "Hand-made"))


# -- who gets a message -------------------------------------------------------------------


def test_the_dry_run_counts_accounts_without_a_valid_email_as_sql_and_python_agree(
    db, service, manual_clock
):
    # Over every account of the demo data, SQL's rule agrees with a plain reading of it
    selection = service.account_selection(account_filter={"min_balance": 0})
    preview = service.dry_run(
        "alice", "send_email", selection, {"template": "Payment reminder", "send_date": TODAY}
    )
    with db.read() as s:
        closed = set(s.scalars(select(AccountStatus.name).where(AccountStatus.closed)))
        rows = s.execute(select(Account.email, Account.locked, Account.status)).all()

    def valid(email: str | None) -> bool:
        e = (email or "").strip()
        local, at, domain = e.partition("@")
        return bool(local and at and "." in domain[1:-1] and "@" not in domain and " " not in e)

    workable = [r for r in rows if not r.locked and r.status not in closed]
    assert preview.exceptions["No valid email address"] == sum(not valid(r.email) for r in workable)
    assert preview.touch == sum(valid(r.email) for r in workable)
    assert preview.sample[0]["after"].startswith("Your account F")


def test_text_messages_are_written_to_the_outbox_folder_and_bad_numbers_are_exceptions(
    db, service, targets, sms_folder, manual_clock, stub_worker
):
    job = service.submit_to_accounts(
        "alice",
        "send_sms",
        description="Call-us texts",
        account_ids=targets.all,
        template="Please call us",
        send_date=TODAY,
    )
    done = wait_for(service, "alice", job.id, timeout=30)

    assert done.status is JobStatus.COMPLETED_WITH_EXCEPTIONS
    exceptions = service.job_items("alice", job.id, outcome="Exception").rows
    assert {r.account_id: r.message for r in exceptions} == {
        targets.no_phone: "No valid phone number",
        targets.bad_phone: "No valid phone number",
    }
    sent = [d for d in settled(db, job.id, 7) if d.kind == "sms"]  # and alice's completion email
    assert len(sent) == 6
    files = sorted(sms_folder.glob("*.txt"))
    assert [f.name for f in files] == sorted(f"{d.id:08d}.txt" for d in sent)
    with db.read() as s:
        phones = dict(s.execute(select(Account.id, Account.phone)).all())
        files_by_to = {f.read_text().splitlines()[0]: f.read_text() for f in files}
    expected = {
        f"To: {normalise_phone(phones[i])}"
        for i in targets.all
        if i not in (targets.no_phone, targets.bad_phone)
    }
    assert set(files_by_to) == expected
    script_text = files_by_to[f"To: {normalise_phone(phones[targets.script])}"]
    assert "<script>alert('x')</script>" in script_text  # a text message is text, shown as is
    assert all(d.sent_to and d.sent_to.startswith(str(sms_folder)) for d in sent)


def test_a_message_that_cannot_be_delivered_becomes_the_items_exception(
    db, service, targets, mail_to, manual_clock, stub_worker
):
    # Given a mail server that refuses every recipient, and one attempt per delivery
    runtime.configure(dataclasses.replace(runtime.settings(), delivery_attempts=1))
    mail_to.refuse_recipients("550 5.1.1 No such mailbox")

    job = service.submit_to_accounts(
        "alice",
        "send_email",
        description="Bounced",
        account_ids=targets.valid[:2],
        template="Payment reminder",
        send_date=TODAY,
    )
    wait_for(service, "alice", job.id, timeout=30)
    settled(db, job.id, 2)

    # Then each item turned into an exception naming the refusal, and the counters follow
    summary = service.job("alice", job.id).summary
    assert (summary.ok, summary.exceptions) == (0, 2)
    rows = service.job_items("alice", job.id, outcome="Exception").rows
    assert len(rows) == 2
    assert all("could not be sent after 1 attempts" in r.message for r in rows)
    assert all("550 5.1.1 No such mailbox" in r.message for r in rows)


def test_the_message_sent_is_the_template_as_it_was_at_submit(
    db, service, targets, mail_to, manual_clock, stub_broker
):
    # Given bob's job waits for approval with the template as it is now
    job = service.submit_to_accounts(
        "bob",
        "send_email",
        description="Frozen text",
        account_ids=targets.valid[:1],
        template="Settlement offer",
        send_date=TODAY,
    )
    before = service.approval("dave", job.id)
    assert before.subject == "A settlement offer for account {file_number}"

    # When the template is changed before the approval, then approved
    service.save_template(
        "dave", "email", name="Settlement offer", subject="Changed {file_number}", body="Changed"
    )
    service.approve("dave", job.id)
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        wait_for(service, "bob", job.id, timeout=30)
        (message,) = [m for m in mail_to.wait_for(1) if m["To"] != "bob@bulkdesk.example"]
    finally:
        worker.stop()

    # Then the debtor got the approved text
    assert message["Subject"].startswith("A settlement offer for account F")
    plain = message.get_body(preferencelist=("plain",)).get_content()
    assert "We would like to help you resolve your balance" in plain


PHONES = [
    "+1-201-555-0123",
    "(201) 555.0123",
    "12015550123",
    "22015550123",
    "555-0100",
    "201-555-01AB",
    "+44 20 7946 0958",
    "",
]


def test_the_sql_rule_for_phone_numbers_agrees_with_the_gateways(db):
    from sqlalchemy import literal

    from jobs.comms.action import valid_phone

    with db.read() as s:
        in_sql = [bool(s.scalar(select(valid_phone(literal(p))))) for p in PHONES]
    assert in_sql == [normalise_phone(p) is not None for p in PHONES]
    assert in_sql == [True, True, True, False, False, False, False, False]


def test_phone_numbers_are_normalised_or_refused():
    assert normalise_phone("+1-201-555-0123") == "+12015550123"
    assert normalise_phone("(201) 555.0123") == "+12015550123"
    assert normalise_phone("555-0100") is None
    assert normalise_phone("+44 20 7946 0958") is None
    assert normalise_phone("call me") is None


def test_each_email_sent_is_the_one_the_preview_showed_and_the_outbox_keeps_no_rendered_text(
    db, service, targets, mail_to, manual_clock, stub_broker
):
    # Given a template using every kind of value, and a debtor whose name is markup
    service.save_template(
        "dave",
        "email",
        name="Every value",
        subject="Account …{account_last4} of {client}",
        body="Dear {first_name} ({debtor_name}), you owe {balance} on {file_number}.",
    )
    preview = service.dry_run(
        "alice",
        "send_email",
        AccountSelection(account_ids=[targets.script]),
        {"template": "Every value", "send_date": TODAY},
    )
    job = service.submit_to_accounts(
        "alice",
        "send_email",
        description="Values rendered at send time",
        account_ids=[targets.script],
        template="Every value",
        send_date=TODAY,
    )
    from jobs.models import Delivery
    from jobs.worker import broker as broker_mod

    worker = broker_mod.start_in_process_worker(stub_broker, threads=2)
    try:
        wait_for(service, "alice", job.id, timeout=30)
        with db.read() as s:
            debtor = s.get(Account, targets.script).email
        arrived = 1
        while not (
            sent := [
                m
                for m in mail_to.wait_for(arrived)
                if m["To"] == debtor and m["Subject"].startswith("Account …")
            ]
        ):
            arrived += 1
        (message,) = sent
    finally:
        worker.stop()

    with db.read() as s:
        account = s.get(Account, targets.script)
        (delivery,) = s.scalars(
            select(Delivery).where(Delivery.job_id == job.id, Delivery.item_seq.is_not(None))
        ).all()
    # The outbox row holds the address and raw values, never the account number whole
    assert "subject" not in delivery.payload and "body" not in delivery.payload
    assert delivery.payload["values"]["account_number"] == account.account_number[-4:]

    # What went out is what the dry run showed, with the values rendered and escaped
    assert message["Subject"] == preview.sample[0]["after"]
    assert message["Subject"].startswith(f"Account …{account.account_number[-4:]} of ")
    plain = message.get_body(preferencelist=("plain",)).get_content()
    balance = templates.money(account.current_balance)
    assert f"Dear <script>alert('x')</script> ({SCRIPT_NAME}), you owe {balance}" in plain
    assert f"on {account.file_number}." in plain
    html_part = message.get_body(preferencelist=("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
