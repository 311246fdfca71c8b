"""State of the Approvals page, without Panel: the communications waiting for approval (a
paged, server-sorted list), the one being read, and the person's approve or reject.

An approver (an admin or a supervisor) sees every communication waiting; anyone else sees
their own, read-only. What may be decided is the service's answer, not the page's: the page
only offers what the service says is allowed, and shows its refusal when it says no.
"""

from __future__ import annotations

from typing import Any, ClassVar

import param

from apps.table_state import PagedState
from jobs.comms.approvals import ApprovalDetail, ApprovalRow, is_approver
from jobs.errors import BulkdeskError, InvalidInput
from jobs.people.permissions import Actor
from jobs.reports.queries import Page
from jobs.service import JobService


class ApprovalsState(PagedState):
    """A page of the communications waiting, oldest first, and the one chosen."""

    sort = param.String(default="submitted")
    chosen = param.Parameter(default=None, doc="The ApprovalDetail being read, or None.")
    reason = param.String(default="", label="Reason for rejecting")
    #: What the last decision did, in words ("Job 12 approved …").
    done = param.String(default="")
    #: Why the last decision was refused, by field ("reason", or "" for the page).
    errors = param.Dict(default={})

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Job": "id",
        "Description": "description",
        "Action": "action",
        "Send date": "send_date",
        "Submitted by": "owner",
        "Submitted": "submitted",
    }
    DESCENDING_FIRST = frozenset({"submitted", "send_date"})
    EMPTY = "Nothing waits for approval"
    NOUN = "communication"

    def __init__(self, service: JobService, user: str | Actor, **params: Any) -> None:
        self.service = service
        self.actor: Actor = service.actor(user)
        super().__init__(**params)
        self.load()

    @property
    def approver(self) -> bool:
        return is_approver(self.actor)

    def fetch(self) -> Page[ApprovalRow]:
        return self.service.approvals(
            self.actor,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )

    # -- what the person does -----------------------------------------------------------

    def choose(self, job_id: int | None) -> None:
        """Read a communication (None: close it)."""
        self.errors = {}
        self.reason = ""
        if job_id is None:
            self.chosen = None
            return
        try:
            self.chosen = self.service.approval(self.actor, job_id)
        except BulkdeskError as error:
            self.chosen = None
            self.errors = {"": str(error)}

    def approve(self) -> bool:
        """Approve the chosen communication; True when the service accepted."""
        chosen: ApprovalDetail | None = self.chosen
        if chosen is None:
            return False
        try:
            self.service.approve(self.actor, chosen.row.id)
        except BulkdeskError as error:
            self.errors = {"": str(error)}
            return False
        when = f" for {chosen.row.send_date.isoformat()}" if chosen.row.send_date else ""
        self._decided(f"Job {chosen.row.id} approved and queued{when}: {chosen.row.description}")
        return True

    def reject(self) -> bool:
        """Reject the chosen communication with ``reason``; True when the service accepted."""
        chosen: ApprovalDetail | None = self.chosen
        if chosen is None:
            return False
        try:
            self.service.reject(self.actor, chosen.row.id, self.reason)
        except BulkdeskError as error:
            field = error.field if isinstance(error, InvalidInput) else ""
            self.errors = {field or "": str(error)}
            return False
        self._decided(
            f"Job {chosen.row.id} rejected; nothing is sent and {chosen.row.owner} is told"
        )
        return True

    def withdraw(self) -> bool:
        """Withdraw the chosen communication (its submitter, an admin); True when the
        service accepted."""
        chosen: ApprovalDetail | None = self.chosen
        if chosen is None:
            return False
        try:
            self.service.withdraw(self.actor, chosen.row.id)
        except BulkdeskError as error:
            self.errors = {"": str(error)}
            return False
        self._decided(f"Job {chosen.row.id} withdrawn; nothing is sent: {chosen.row.description}")
        return True

    def _decided(self, sentence: str) -> None:
        with param.parameterized.batch_call_watchers(self):
            self.errors = {}
            self.reason = ""
            self.chosen = None
            self.done = sentence
        self.load()
