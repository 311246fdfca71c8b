"""A real SMTP server on loopback (aiosmtpd) for mail tests: ``smtp_server``.

Use it with ``pytest_plugins = ["tests.smtp_server"]``. The server keeps every message it
accepts; ``refuse(...)`` makes it answer the message (or its recipients) with an error, as a
full mailbox or a spam filter would.
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on now (nor, very likely, a moment later)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class _Recorder:
    """aiosmtpd handler: stores accepted envelopes, or answers with a refusal."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.refuse_data: str | None = None
        self.refuse_rcpt: str | None = None
        self.arrived = threading.Condition()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return self.refuse_data
        with self.arrived:
            self.envelopes.append(envelope)
            self.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpServer:
    """A running aiosmtpd server on 127.0.0.1 and what it received."""

    def __init__(self) -> None:
        self._recorder = _Recorder()
        self.host = HOST
        self.port = free_port()
        self._controller = Controller(self._recorder, hostname=self.host, port=self.port)

    @property
    def url(self) -> str:
        """Its ``BULKDESK_SMTP_URL``."""
        return f"smtp://{self.host}:{self.port}"

    @property
    def envelopes(self) -> list[Any]:
        return list(self._recorder.envelopes)

    @property
    def messages(self) -> list[EmailMessage]:
        """The accepted messages, parsed, in the order they arrived."""
        # Lines travel as CRLF; read them back as Python writes them.
        return [
            email.message_from_bytes(
                (e.original_content or e.content).replace(b"\r\n", b"\n"),
                policy=email.policy.default,
            )
            for e in self.envelopes
        ]

    def refuse(self, reply: str | None = "550 5.7.1 Message rejected as spam") -> None:
        """Answer every message's data with ``reply`` (4xx or 5xx); None accepts again."""
        self._recorder.refuse_data = reply

    def refuse_recipients(self, reply: str | None = "550 5.1.1 No such mailbox") -> None:
        """Answer every recipient with ``reply``; None accepts again."""
        self._recorder.refuse_rcpt = reply

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until ``count`` messages arrived, then return them all.

        Raises:
          AssertionError: fewer arrived within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._recorder.arrived:
            while len(self._recorder.envelopes) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"{len(self._recorder.envelopes)} of {count} emails arrived "
                        f"within {timeout} s"
                    )
                self._recorder.arrived.wait(left)
        return self.messages

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture
def unreachable_smtp_url() -> str:
    """An SMTP URL on loopback where no server listens."""
    return f"smtp://{HOST}:{free_port()}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback for this test (plain: no AUTH, no STARTTLS)."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()
