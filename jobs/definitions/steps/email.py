"""The email step: send the run's file (a report) to recipients, through the outbox.

Settings:

- ``recipients``: addresses (a list, or text separated by commas, semicolons or lines);
  each gets its own email, so one refused address fails alone and says so;
- ``subject`` and ``body``: text with the placeholders ``{definition}`` (the definition's
  name), ``{day}`` (the business day, YYYY-MM-DD), ``{file}`` (the attached file's name,
  or "no file") and ``{step}``; any other ``{name}`` is refused when the definition is saved;
- ``attach``: empty for the newest file an earlier step wrote here (not a copy's remote
  URL; in a file-in run with none, the arriving file), the name of a step to attach that
  step's output, or ``none`` for no attachment.

The emails are written to the outbox in one transaction (kind ``email`` with the file as
an attachment, read from the run's folder when it is sent) and sent after commit by the
``deliver`` actor: to ``BULKDESK_SMTP_URL``, or as ``.eml`` files under ``var/outbox/`` when
none is configured, like the completion emails. The step waits for them: all sent is ok,
one given up after the outbox's retries fails the step with the server's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from jobs.definitions.steps.base import (
    DeclaredStep,
    StepContext,
    StepOutcome,
    check_placeholders,
    earlier_output,
    param,
    placeholder_values,
    render,
)
from jobs.errors import InvalidInput
from jobs.outbound import outbox
from jobs.people.profile import check_email

#: Bigger files are refused: many mail servers take 10 to 25 MB per message (and base64
#: makes a file a third bigger). A copy step is the way for big files.
MAX_ATTACHMENT_BYTES = 15 * 1024 * 1024
NO_ATTACHMENT = "none"


@dataclass(frozen=True)
class EmailSettings:
    recipients: list[str] | None = param(
        label="Recipients", help="Addresses, separated by commas", widget="list"
    )
    subject: str | None = param(
        label="Subject",
        default="{definition} — {day}",
        max_length=200,
        help="Placeholders: {definition}, {day}, {file}, {step}",
    )
    body: str | None = param(
        label="Message",
        default="Hello,\n\nattached is {file} from the Bulkdesk job definition "
        "“{definition}” for {day}.\n",
        multiline=True,
        max_length=10_000,
        help="Placeholders: {definition}, {day}, {file}, {step}",
    )
    attach: str | None = param(
        label="Attach",
        default="",
        required=False,
        max_length=80,
        help="Empty: the last output; a step's name: its output; none: no attachment",
    )


class EmailStep(DeclaredStep):
    """Email the run's file to recipients (see the module's docstring)."""

    kind = "email"
    label = "Email"
    Settings = EmailSettings

    def validate(self, values: dict[str, Any], session: Session | None) -> dict[str, Any]:
        addresses = []
        for address in values["recipients"]:
            try:
                checked = check_email(address)
            except InvalidInput as bad:
                raise InvalidInput(
                    str(bad).replace(" (or leave it empty for no emails)", ""), field="recipients"
                ) from None
            if checked and checked.lower() not in {a.lower() for a in addresses}:
                addresses.append(checked)
        check_placeholders(values["subject"], "subject", "Subject")
        check_placeholders(values["body"], "body", "Message")
        if "\n" in values["subject"] or "\r" in values["subject"]:
            raise InvalidInput("Subject is one line", field="subject")
        attach = values["attach"]
        return {
            **values,
            "recipients": addresses,
            "attach": NO_ATTACHMENT if attach.lower() == NO_ATTACHMENT else attach,
        }

    def describe(self, settings: dict[str, Any]) -> str:
        recipients = list(settings.get("recipients") or [])
        attach = (settings.get("attach") or "").strip()
        what = {"": "the last output", NO_ATTACHMENT: "no attachment"}.get(
            attach, f"the output of “{attach}”"
        )
        shown = ", ".join(recipients[:3])
        if len(recipients) > 3:
            shown += f" and {len(recipients) - 3} more"
        return f"Email {what} to {shown or 'nobody'}"

    def run(self, ctx: StepContext) -> StepOutcome:
        try:
            settings = self.check(ctx.settings)
            attachment = _attachment(ctx, settings["attach"])
        except InvalidInput as bad:
            return StepOutcome.failed(str(bad))
        values = placeholder_values(ctx, attachment)
        subject = render(settings["subject"], values)
        body = render(settings["body"], values)
        files = [{"path": str(attachment), "filename": attachment.name}] if attachment else []
        with ctx.db.write_conn() as conn:
            ids = [
                outbox.add(
                    conn,
                    kind="email",
                    payload={"to": to, "subject": subject, "body": body, "attachments": files},
                    job_id=ctx.job_id,
                )
                for to in settings["recipients"]
            ]
        count = len(ids)
        what = f"{attachment.name} " if attachment else ""
        return StepOutcome(
            ok=True,
            message=f"Email {what}to {count} recipient{'s' if count != 1 else ''} "
            f"({', '.join(settings['recipients'])}) queued",
            output=str(attachment) if attachment else None,
            deliveries=ids,
        )


def _attachment(ctx: StepContext, attach: str) -> Path | None:
    """The local file to attach, or None; InvalidInput says why there is none to send."""
    if attach == NO_ATTACHMENT:
        return None
    path = earlier_output(ctx, attach)
    size = path.stat().st_size
    if size > MAX_ATTACHMENT_BYTES:
        raise InvalidInput(
            f"{path.name} is {size / 1024 / 1024:.1f} MB; emails carry at most "
            f"{MAX_ATTACHMENT_BYTES // 1024 // 1024} MB (copy it to a destination instead)"
        )
    return path
