"""Panel in a notebook: an output's messages reach the browser in the order they were made."""

from __future__ import annotations

import panel.io.notebook as panel_notebook
import pytest

from apps import notebook


class FakeComm:
    """An output's comm: ``_comm`` stays None until the browser has drawn the output."""

    def __init__(self) -> None:
        self.id = "comm-1"
        self._comm: object | None = None


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    messages: list[str] = []
    monkeypatch.setattr(panel_notebook, "send", lambda comm, msg: messages.append(msg))
    monkeypatch.setattr(notebook, "_WAITING", {})
    return messages


def test_a_message_made_before_the_comm_opened_is_sent_before_a_later_one(sent):
    comm = FakeComm()
    # Given a refresh's message made while the browser had not drawn the output yet,
    notebook.push_in_order(None, comm, msg="no rows yet")
    assert sent == []
    # when the comm opens and a later change is pushed at once,
    comm._comm = object()
    notebook.push_in_order(None, comm, msg="the rows with the job")
    # then the older message goes first, and the newer one has the last word.
    assert sent == ["no rows yet", "the rows with the job"]
    assert notebook._WAITING == {}


def test_the_waiting_messages_go_in_order_when_the_retry_finds_the_comm_open(sent):
    comm = FakeComm()
    notebook.push_in_order(None, comm, msg="first")
    notebook.push_in_order(None, comm, msg="second")
    comm._comm = object()

    notebook._send_waiting(comm)  # what the 0.1 s retry calls

    assert sent == ["first", "second"]


def test_every_panel_module_pushes_through_the_ordered_push(monkeypatch):
    import sys

    original = panel_notebook.push
    for module in list(sys.modules.values()):
        if module is not None and getattr(module, "push", None) is original:
            monkeypatch.setattr(module, "push", original)  # put back after the test

    notebook.keep_messages_in_order()
    notebook.keep_messages_in_order()  # Run All again: nothing wrapped twice

    import panel.reactive

    assert panel.reactive.push is notebook.push_in_order
    assert panel_notebook.push is notebook.push_in_order
