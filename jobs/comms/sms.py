"""Text messages out: a gateway interface, and its default that writes one file per message.

A real SMS provider is one :class:`SmsGateway` subclass (``send`` hands a message over and
returns where it went, or raises :class:`~jobs.outbound.mail.DeliveryFailed`); install it with
:func:`use`. The default, :class:`FolderGateway`, writes ``{delivery id:08d}.txt`` into the
folder ``BULKDESK_SMS_OUTBOX`` names (default: ``sms/`` inside the email outbox folder), whole
or not at all, so a laptop without a provider still shows what would have gone.
"""

from __future__ import annotations

import abc
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobs.outbound.mail import DeliveryFailed

if TYPE_CHECKING:
    from jobs.config import Settings

SMS_OUTBOX_ENV = "BULKDESK_SMS_OUTBOX"


class SmsGateway(abc.ABC):
    """Where text messages are handed over."""

    @abc.abstractmethod
    def send(self, to: str, body: str, *, delivery_id: int, settings: Settings) -> str:
        """Send one message; return where it went.

        Raises:
          DeliveryFailed: it could not be handed over (the outbox tries again, then gives up
            and the item becomes an exception).
        """


class FolderGateway(SmsGateway):
    """One text file per message in a folder: ``To:``, a blank line, the message."""

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else None

    def where(self, settings: Settings) -> Path:
        if self.folder is not None:
            return self.folder
        configured = os.environ.get(SMS_OUTBOX_ENV, "").strip()
        return Path(configured) if configured else Path(settings.outbox_dir) / "sms"

    def send(self, to: str, body: str, *, delivery_id: int, settings: Settings) -> str:
        folder = self.where(settings)
        path = folder / f"{delivery_id:08d}.txt"
        text = f"To: {to}\nDelivery: {delivery_id}\n\n{body}\n"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write(text)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise DeliveryFailed(
                f"The text message could not be written to {path}: {exc.strerror or exc}"
            ) from exc
        return str(path)


_gateway: SmsGateway = FolderGateway()


def use(gateway: SmsGateway | None) -> None:
    """Send text messages through ``gateway`` from now on; None: the default folder."""
    global _gateway
    _gateway = gateway or FolderGateway()


def send(payload: dict[str, Any], *, delivery_id: int, settings: Settings) -> str:
    """Send a delivery of kind ``sms`` (``{"to", "body"}``) through the gateway."""
    return _gateway.send(
        str(payload["to"]), str(payload.get("body", "")), delivery_id=delivery_id, settings=settings
    )


def normalise_phone(raw: str | None) -> str | None:
    """A phone number as a gateway wants it (``+12015550123``), or None when it is not a
    valid 10-digit North American number (optionally with the leading 1)."""
    digits = re.sub(r"[\s().+-]", "", raw or "")
    if not digits.isdigit():
        return None
    if len(digits) == 10:
        digits = "1" + digits
    if len(digits) != 11 or not digits.startswith("1"):
        return None
    return "+" + digits
