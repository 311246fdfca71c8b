"""The Monitor's state: filters, the one page of jobs on screen, the selection, pending dialogs.

A ``param.Parameterized`` class without Panel, so its logic is tested in plain Python and
shared by the table and the timeline. Every read is one page from
:meth:`jobs.service.JobService.list_jobs`; nothing loads all jobs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import param

from apps.table_state import PagedState
from jobs.actions import ACTIONS
from jobs.errors import BulkdeskError
from jobs.people import permissions
from jobs.people.permissions import Actor
from jobs.reports.queries import JobFilter, JobSummary, Page
from jobs.service import JobService
from jobs.status import IN_USE, JobStatus

STATUS_CHOICES = [s.label for s in IN_USE]
ALL_ACTIONS = "All actions"
EVERYONE = "Everyone"
QUESTIONS = {
    "stop": "Are you sure you want to stop the job?",
    "delete": "Are you sure you want to delete the job?",
}


class MonitorState(PagedState):
    """The monitoring screen for one user: filters, and a page of jobs sorted on the server.

    Parameters:
      service: the service API to read and act through.
      user: the acting username (or an Actor).
    """

    statuses = param.ListSelector(default=[], objects=STATUS_CHOICES, label="Status")
    owner = param.Selector(default=EVERYONE, objects=[EVERYONE], label="Owner")
    action = param.Selector(default=ALL_ACTIONS, objects=[ALL_ACTIONS], label="Action")
    text = param.String(default="", label="Search")
    submitted_from = param.CalendarDate(default=None, allow_None=True, label="Submitted from")
    submitted_to = param.CalendarDate(default=None, allow_None=True, label="Submitted to")
    sort = param.String(default="submitted")
    descending = param.Boolean(default=True)

    selected_id = param.Integer(default=None, allow_None=True, doc="The highlighted job.")
    message = param.String(default="", doc="The last refusal or error, for the person.")
    pending = param.Tuple(
        default=None, length=2, allow_None=True, doc="(action, job id) waiting for OK or Cancel."
    )

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Job": "id",
        "Description": "description",
        "Submitted": "submitted",
        "Started": "started",
        "Ended": "ended",
        "Status": "status",
        "Action": "action",
    }
    DESCENDING_FIRST = frozenset({"submitted", "started", "ended"})
    EMPTY = "No jobs match these filters"
    NOUN = "job"

    def __init__(self, service: JobService, user: str | Actor, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.actor: Actor = service.actor(user)
        self._owners: dict[str, int | None] = {EVERYONE: None}
        if self.actor.is_admin:
            self._owners.update({a.display_name: a.id for a in service.users()})
        self.param.owner.objects = list(self._owners)
        self._actions: dict[str, str | None] = {
            ALL_ACTIONS: None,
            **{a.label: a.name for a in ACTIONS.values()},
        }
        self.param.action.objects = list(self._actions)
        self.EMPTY = self.empty_text()
        if self.permitted:
            self.load()

    def empty_text(self) -> str:
        """What an empty list says: that the filters match nothing, or that there is
        nothing yet (a new user's first visit is not a filter's fault)."""
        flt = self.job_filter()
        filtered = (
            flt.statuses
            or flt.owner_id is not None
            or flt.action
            or flt.text
            or flt.submitted_from
            or flt.submitted_to
        )
        if filtered:
            return "No jobs match these filters"
        return "No jobs yet: “+ New bulk update” launches one"

    @property
    def permitted(self) -> bool:
        """Only people with the bulk-update permission may open the monitor (seed 000)."""
        return self.actor.has(permissions.BULK_UPDATE)

    @property
    def jobs(self) -> list[JobSummary]:
        """The jobs on the current page."""
        return self.rows

    def job_filter(self) -> JobFilter:
        return JobFilter(
            statuses=[JobStatus.from_label(s) for s in self.statuses],
            owner_id=self._owners.get(self.owner) if self.actor.is_admin else None,
            action=self._actions.get(self.action),
            text=self.text or None,
            submitted_from=_date(self.submitted_from),
            submitted_to=_date(self.submitted_to),
        )

    @param.depends(
        "statuses", "owner", "action", "text", "submitted_from", "submitted_to", watch=True
    )
    def _filters_changed(self) -> None:
        self.EMPTY = self.empty_text()
        if self.page != 1:
            self.page = 1  # triggers load via the page watcher
        else:
            self.load()

    def fetch(self) -> Page[JobSummary]:
        return self.service.list_jobs(
            self.actor,
            self.job_filter(),
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
            anchor=self.anchor,  # the refresh and nearby pages start from the last read
        )

    def load(self) -> None:
        """Re-read the current page from the database (also the live refresh)."""
        if self.permitted:
            super().load()

    def job(self, job_id: int | None) -> JobSummary | None:
        return next((j for j in self.jobs if j.id == job_id), None)

    def next_page(self) -> None:
        self.go(self.page + 1)

    def previous_page(self) -> None:
        self.go(self.page - 1)

    # -- stop and delete, with the seed's confirmation --------------------------------------

    def request(self, action: str, job_id: int) -> bool:
        """Ask for confirmation of a stop or delete the rules allow; False if not offered."""
        job = self.job(job_id)
        allowed = job is not None and (job.can_stop if action == "stop" else job.can_delete)
        if allowed:
            self.message = ""
            self.pending = (action, job_id)
        return allowed

    @property
    def question(self) -> str:
        """The dialog's question, naming the job and what the answer does."""
        if not self.pending:
            return ""
        action, job_id = self.pending
        job = self.job(job_id)
        if job is None:
            return QUESTIONS[action]
        name = f"job {job.id} — {job.description}"
        if action == "stop":
            return (
                f"Stop {name}? {job.processed:,} of {job.total:,} accounts are done; the rest "
                "will not be processed."
            )
        return f"Delete {name}? It disappears from the lists; the audit trail keeps what it did."

    def cancel(self) -> None:
        """Cancel: close the question; the job stays as it was."""
        self.pending = None

    def confirm(self) -> None:
        """OK: stop or delete through the service; a refusal becomes ``message``."""
        if not self.pending:
            return
        action, job_id = self.pending
        self.pending = None
        try:
            if action == "stop":
                self.service.stop(self.actor, job_id)
            else:
                self.service.delete(self.actor, job_id)
                if self.selected_id == job_id:
                    self.selected_id = None
        except BulkdeskError as error:
            self.message = str(error)
        self.load()


def _date(value: dt.date | dt.datetime | None) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    return value
