"""What can follow a finished job: "Retry exceptions" and "Undo", each previewed first.

Shown in a job's status view. The buttons appear only where the job allows them (ended; with
exceptions; a Change Status or Assign job that changed accounts); the service still decides
(ownership, permissions, an undo already made) and its refusal is shown in its words. A click
shows the dry run (how many accounts, the exceptions and why, a sample of before → after);
the new job is queued only on "Queue it". The job's links ("Retry of job 12", "Undone by job
15") are listed with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from apps.display import esc
from jobs.actions.undo import REVERSIBLE
from jobs.errors import BulkdeskError
from jobs.reports.queries import JobSummary
from jobs.service import JobService


class FollowUp(pn.viewable.Viewer):
    """Links, and the Retry exceptions / Undo buttons of one job."""

    def __init__(
        self,
        service: JobService,
        user: str,
        job_id: int,
        on_queued: Callable[[JobSummary], None] | None = None,
    ) -> None:
        super().__init__()
        self.service, self.user, self.job_id = service, user, job_id
        self.on_queued = on_queued
        self._pending: str | None = None  # "retry" | "undo" while its preview is shown
        self._links = pn.pane.HTML("", css_classes=["bd-links"], margin=(0, 5))
        self.retry = pn.widgets.Button(
            label="Retry exceptions…", color="primary", variant="outline", width=170
        )
        self.undo = pn.widgets.Button(label="Undo…", color="warning", variant="outline", width=110)
        self.confirm = pn.widgets.Button(label="Queue it", color="primary", width=110)
        self.cancel = pn.widgets.Button(label="Cancel", width=90)
        self._preview = pn.pane.HTML("", css_classes=["bd-follow-preview"], margin=(0, 5))
        self.message = pn.pane.HTML("", css_classes=["bd-follow-message"], margin=(0, 5))
        self.retry.on_click(lambda _: self._show("retry"))
        self.undo.on_click(lambda _: self._show("undo"))
        self.confirm.on_click(self._queue)
        self.cancel.on_click(lambda _: self._close())
        self._confirm_row = pn.Row(self.confirm, self.cancel, visible=False)
        self._layout = pn.Column(
            self._links,
            pn.Row(self.retry, self.undo),
            self._preview,
            self._confirm_row,
            self.message,
            sizing_mode="stretch_width",
        )
        self.update(service.job(user, job_id).summary)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def update(self, job: JobSummary) -> None:
        """Show what the job allows now (called on each refresh of the status view)."""
        ended = job.status.is_final
        self.retry.visible = ended and job.exceptions > 0
        self.undo.visible = ended and job.action in REVERSIBLE and job.ok > 0
        try:
            links = self.service.job(self.user, self.job_id).links()
        except BulkdeskError:
            links = []
        self._links.object = " · ".join(esc(link) for link in links)

    def _show(self, what: str) -> None:
        preview = self.service.preview_retry if what == "retry" else self.service.preview_undo
        try:
            found = preview(self.user, self.job_id)
        except BulkdeskError as error:
            self._close()
            self.message.object = f'<span style="color:#b91c1c">{esc(error)}</span>'
            return
        title = "Retry the exceptions" if what == "retry" else "Undo this job"
        lines = "<br>".join(esc(line) for line in found.lines())
        self._preview.object = (
            f'<div style="border:1px solid #d1d5db;border-radius:6px;padding:8px 12px;'
            f'background:#f9fafb"><b>{title}: preview</b><br>{lines}</div>'
        )
        self._pending = what
        self._confirm_row.visible = True
        self.message.object = ""

    def _queue(self, *_: Any) -> None:
        what = self._pending
        if what is None:
            return
        submit = self.service.retry_exceptions if what == "retry" else self.service.undo
        try:
            job = submit(self.user, self.job_id)
        except BulkdeskError as error:
            self._close()
            self.message.object = f'<span style="color:#b91c1c">{esc(error)}</span>'
            return
        self._close()
        self.message.object = (
            f'<span style="color:#166534">Job {job.id} queued: {esc(job.description)}</span>'
        )
        self.update(self.service.job(self.user, self.job_id).summary)
        if self.on_queued is not None:
            self.on_queued(job)

    def _close(self) -> None:
        self._pending = None
        self._preview.object = ""
        self._confirm_row.visible = False
