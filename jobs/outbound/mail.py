"""Email out: an SMTP server through the standard library, or ``.eml`` files in a folder.

``Settings.smtp_url`` names the server (``smtp://[user:password@]host:port``, ``?starttls=1``
for STARTTLS); with none, each message is written to ``Settings.outbox_dir`` as
``{delivery id}.eml``, so a laptop without a mail server still shows what would have gone.
A message's Message-ID comes from its delivery id: a redelivered message is the same one.
"""

from __future__ import annotations

import email.utils
import mimetypes
import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.errors import BulkdeskError
from jobs.smtp_url import SmtpTarget, parse_smtp_url

if TYPE_CHECKING:
    from jobs.config import Settings

#: Seconds to wait for the mail server to connect or answer.
SMTP_TIMEOUT = 10.0


class DeliveryFailed(BulkdeskError):
    """An email could not be handed to the mail server (or written to the outbox folder).

    Parameters:
      message: what happened, in a sentence for people.
      permanent: the server refused it for good (a 5xx answer): trying again will not help.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def build_message(payload: dict[str, Any], *, delivery_id: int, settings: Settings) -> EmailMessage:
    """The email of a delivery: ``payload`` is ``{"to", "subject", "body"}`` (plain text),
    with an optional ``"html"`` alternative and optional ``"attachments"`` (files, see
    :func:`_attach`).

    Its Message-ID is ``<bulkdesk-delivery-{id}@{domain of the From address}>``, the same
    however often the delivery is sent.
    """
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = payload["to"]
    message["Subject"] = " ".join(str(payload.get("subject", "")).split())
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id(delivery_id, settings.mail_from)
    # RFC 3834: out-of-office replies and the like are not sent back to a robot.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(str(payload.get("body", "")))
    if payload.get("html"):
        # A communication's HTML form, its values escaped (jobs.comms.templates).
        message.add_alternative(str(payload["html"]), subtype="html")
    for attachment in payload.get("attachments") or ():
        _attach(message, attachment)
    return message


def _attach(message: EmailMessage, attachment: dict[str, Any]) -> None:
    """Attach a file read now (a definition's report): ``{"path", "filename"?,
    "content_type"?}``. The file is read at each attempt, so the payload stays small.

    Raises:
      DeliveryFailed: (permanent) the file is not there any more.
    """
    path = Path(attachment["path"])
    name = attachment.get("filename") or path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DeliveryFailed(
            f"The attachment {name} could not be read from {path}: {exc.strerror or exc}",
            permanent=True,
        ) from exc
    kind = attachment.get("content_type") or mimetypes.guess_type(name)[0]
    maintype, _, subtype = (kind or "application/octet-stream").partition("/")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def message_id(delivery_id: int, mail_from: str) -> str:
    """The stable Message-ID of a delivery."""
    address = email.utils.parseaddr(mail_from)[1]
    domain = address.rpartition("@")[2] or "localhost"
    return f"<bulkdesk-delivery-{delivery_id}@{domain}>"


def send(payload: dict[str, Any], *, delivery_id: int, settings: Settings) -> str:
    """Send a delivery's email; with no SMTP server configured, write it as an ``.eml`` file.

    Returns:
      Where it went: ``smtp://host:port``, or the path of the file written.

    Raises:
      DeliveryFailed: the server could not be reached or refused the message (or the file
        could not be written), in a sentence for people.
    """
    message = build_message(payload, delivery_id=delivery_id, settings=settings)
    if not settings.smtp_url:
        return str(write_eml(message, Path(settings.outbox_dir), delivery_id))
    target = parse_smtp_url(settings.smtp_url)
    _send_smtp(message, target)
    return str(target)


def write_eml(message: EmailMessage, folder: Path, delivery_id: int) -> Path:
    """Write ``{folder}/{delivery_id:08d}.eml`` whole or not at all (a temporary file, renamed).

    Raises:
      DeliveryFailed: the folder cannot be created or written.
    """
    path = folder / f"{delivery_id:08d}.eml"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(bytes(message))
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DeliveryFailed(
            f"The email could not be written to {path}: {exc.strerror or exc}"
        ) from exc
    return path


def _send_smtp(message: EmailMessage, target: SmtpTarget) -> None:
    where = target.address
    try:
        with smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT) as smtp:
            smtp.ehlo()
            if target.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if target.user:
                smtp.login(target.user, target.password or "")
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        to, (code, reply) = next(iter(exc.recipients.items()))
        raise DeliveryFailed(
            f"The mail server at {where} refused the recipient {to}: {_reply(code, reply)}",
            permanent=code >= 500,
        ) from exc
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryFailed(
            f"The mail server at {where} refused the sender {exc.sender}: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}",
            permanent=exc.smtp_code >= 500,
        ) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(
            f"The mail server at {where} did not accept the user name and password of "
            f"{target.user}: {_reply(exc.smtp_code, exc.smtp_error)}"
        ) from exc
    except smtplib.SMTPNotSupportedError as exc:
        wanted = "STARTTLS" if target.starttls and "STARTTLS" in str(exc) else "login"
        raise DeliveryFailed(
            f"The mail server at {where} does not offer {wanted}, which BULKDESK_SMTP_URL asks for"
        ) from exc
    except smtplib.SMTPResponseException as exc:
        raise DeliveryFailed(
            f"The mail server at {where} refused the message: "
            f"{_reply(exc.smtp_code, exc.smtp_error)}",
            permanent=exc.smtp_code >= 500,
        ) from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise DeliveryFailed(
            f"The mail server at {where} closed the connection before taking the message"
            + (f" ({exc})" if str(exc) else "")
        ) from exc
    except smtplib.SMTPException as exc:
        raise DeliveryFailed(
            f"The mail server at {where} could not take the message: {exc}"
        ) from exc
    except ssl.SSLError as exc:
        raise DeliveryFailed(
            f"A secure connection (STARTTLS) to the mail server at {where} failed: "
            f"{exc.reason or exc}"
        ) from exc
    except TimeoutError as exc:
        raise DeliveryFailed(
            f"The mail server at {where} did not answer within {SMTP_TIMEOUT:g} seconds"
        ) from exc
    except OSError as exc:
        raise DeliveryFailed(
            f"The mail server at {where} could not be reached: {exc.strerror or exc}"
        ) from exc


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {' '.join(text.split())}".strip()
