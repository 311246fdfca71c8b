"""The bulk update monitoring screen (seed 000): the job table, filters, stop/delete, timeline.

One page of jobs is read at a time (``JobService.list_jobs``) and re-read every second; rows
are patched in place, so the person keeps their page, sort and selection. In a notebook::

    from apps.monitor import Monitor
    from jobs.service import JobService
    Monitor(service=JobService(), user="alice")
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps import display
from apps.display import not_permitted
from apps.job_view import JobDetailsView, JobStatusView
from apps.live import start_live
from apps.monitor_state import MonitorState
from apps.paged_table import PagedTable
from apps.timeline import Timeline
from jobs.errors import NotFound
from jobs.reports.queries import JobSummary
from jobs.service import JobService

HTML_COLUMNS = ("Description", "Status", "Progress", "Action", "Stop", "Delete")
COLUMNS = ["Job", "Description", "Submitted", "Started", "Ended", *HTML_COLUMNS[1:]]
# Fixed widths for everything but the description, which takes the rest (and wraps).
WIDTHS = {
    "Job": 62,
    "Submitted": 104,
    "Started": 96,
    "Ended": 96,
    "Status": 180,
    "Progress": 150,
    "Action": 124,
    "Stop": 60,
    "Delete": 70,
}
#: The fixed columns and 160 px for the description (1,102 px: it fits the dashboard beside
#: its menu at 1,400 px).
MIN_WIDTH = sum(WIDTHS.values()) + 160
#: Runs in the browser when the confirmation opens: focus its Cancel button.
FOCUS_CANCEL = """
if (window.bdEscape) { document.removeEventListener("keydown", window.bdEscape, true); }
window.bdEscape = null;
if (!source.open) { return; }
setTimeout(() => {
  for (const root of Bokeh.index.values ? Bokeh.index.values() : Object.values(Bokeh.index)) {
    const view = root.owner.get_one(cancel);
    if (view == null) { continue; }
    const button = view.shadow_el.querySelector("button");
    if (button == null) { return; }
    button.focus();
    // Escape answers Cancel (the dialog's own Escape does not reach the server).
    window.bdEscape = (event) => { if (event.key === "Escape") { button.click(); } };
    document.addEventListener("keydown", window.bdEscape, true);
    return;
  }
}, 150);
"""


def job_rows(jobs: list[JobSummary], *, with_owner: bool) -> pd.DataFrame:
    """The table's rows: plain text columns, and escaped HTML for the status and actions."""
    rows = [
        (
            j.id,
            display.description_cell(j, with_owner=with_owner),
            display.fmt_short(j.submitted_at),
            display.fmt_short(j.started_at),
            display.fmt_short(j.ended_at),
            display.status_badge(j.status),
            display.progress_bar(j),
            display.action_link(j),
            display.stop_button(j),
            display.delete_button(j),
        )
        for j in jobs
    ]
    return display.page_frame(rows, COLUMNS, numbers=["Job"])


class Monitor(pn.viewable.Viewer):
    """The monitoring screen for ``user``.

    Parameters:
      service: the service API.
      user: the acting username.
      live: refresh every second (a per-session periodic callback).
      on_launch: called by "New bulk update"; by default the launch form opens in a dialog.
      on_view: called with the job whose status view opens, and None when it closes.
    """

    def __init__(
        self,
        service: JobService,
        user: str,
        live: bool = True,
        on_launch: Callable[[], None] | None = None,
        on_view: Callable[[int | None], None] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.state = MonitorState(service, user)
        self.on_launch = on_launch
        self.on_view = on_view
        self.view: JobStatusView | JobDetailsView | None = None
        self._live = None
        if not self.state.permitted:
            self._layout = not_permitted(self.state.actor)
            return
        self._build()
        if live:
            self._live = start_live(self.tick)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- building --------------------------------------------------------------------------

    def _build(self) -> None:
        s = self.state
        admin = s.actor.is_admin
        # Wraps onto a second line where the page is narrower than the filters (a laptop, a
        # notebook cell) instead of running off its right edge.
        filters = pn.FlexBox(
            pn.widgets.MultiChoice.from_param(
                s.param.statuses, width=200, placeholder="All statuses"
            ),
            pn.widgets.Select.from_param(
                s.param.owner, width=150, visible=admin, css_classes=["bd-owner"]
            ),
            pn.widgets.Select.from_param(
                s.param.action, width=160, css_classes=["bd-action-filter"]
            ),
            pn.widgets.TextInput.from_param(
                s.param.text, width=190, placeholder="Description or job number"
            ),
            pn.widgets.DatePicker.from_param(s.param.submitted_from, width=130),
            pn.widgets.DatePicker.from_param(s.param.submitted_to, width=130),
            pn.widgets.Select.from_param(s.param.page_size, width=100),
            flex_wrap="wrap",
            sizing_mode="stretch_width",
        )
        self.paged = PagedTable(
            s,
            lambda jobs: job_rows(jobs, with_owner=admin),
            key="Job",
            css_classes=["bd-jobs"],
            selectable=1,
            # The row marked is the job selected (here or on the timeline), wherever it is.
            mark=lambda: s.selected_id,
            formatters={
                "Job": {"type": "plaintext"},
                **{c: {"type": "html"} for c in HTML_COLUMNS},
            },
            widths=WIDTHS,
            # The seed's Action column: the job's action (its link), then Stop and Delete
            # beside it without titles of their own (a two-row header over three columns
            # read as a heading with a sub-heading that repeated it).
            titles={"Action": "Action", "Stop": "", "Delete": ""},
            # Never narrower than the fixed columns and a readable description: in a
            # narrower place (a notebook cell) the table scrolls sideways instead of
            # squeezing the description to a letter per line.
            min_width=MIN_WIDTH,
        )
        #: The Tabulator itself (its value is the current page).
        self.table = self.paged.table
        self.table.on_click(self._clicked)
        self.table.param.watch(self._table_selected, "selection")
        s.param.watch(lambda *_: self.paged.mark_row(), "selected_id")
        s.param.watch(self._show_message, "message")
        s.param.watch(self._show_pending, "pending")

        self.alert = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["bd-message"],
        )
        self.export = pn.widgets.FileDownload(
            callback=self._csv,
            filename="bulkdesk-jobs.csv",
            label="Export CSV",
            width=130,
            css_classes=["bd-export-jobs"],
        )
        launch = pn.widgets.Button(label="+ New bulk update", color="primary", width=180)
        launch.on_click(lambda _: self._launch())

        self.question = pn.pane.HTML("", css_classes=["bd-question"])
        ok = pn.widgets.Button(label="OK", color="primary", width=90, css_classes=["bd-ok"])
        cancel = pn.widgets.Button(label="Cancel", width=90, css_classes=["bd-cancel"])
        ok.on_click(lambda _: s.confirm())
        cancel.on_click(lambda _: s.cancel())
        # Escape, or a click beside the dialog, closes it: the same as Cancel.
        self.confirm = pn.Modal(
            self.question,
            pn.Row(cancel, ok),
            show_close_button=True,
            background_close=True,
            width=460,
        )
        self.confirm.param.watch(self._confirm_closed, "open")
        # The safe answer has the focus when the dialog opens (Enter cancels).
        self.confirm.jscallback(open=FOCUS_CANCEL, args={"cancel": cancel})
        self.job_modal = pn.Modal(width=980)
        self.job_modal.param.watch(self._modal_closed, "open")
        self.timeline = Timeline(self.service, self.user, state=s, live=False)
        self._layout = pn.Column(
            pn.Row(
                pn.pane.HTML(
                    '<h2 style="margin:0">Bulk update monitoring</h2>'
                    '<div style="color:#6b7280">Jobs you may see; click a column to sort; '
                    "updates every second.</div>"
                ),
                pn.HSpacer(),
                self.export,
                launch,
                sizing_mode="stretch_width",
            ),
            filters,
            self.alert,
            self.paged,
            pn.Card(self.timeline, title="Timeline", sizing_mode="stretch_width", collapsible=True),
            self.confirm,
            self.job_modal,
            sizing_mode="stretch_width",
        )

    # -- reacting to the state -----------------------------------------------------------

    def tick(self) -> None:
        """The live refresh: re-read the page, and the open job view."""
        self.state.load()
        if self.view is not None and self.job_modal.open:
            self.view.refresh()

    def _table_selected(self, event: Any) -> None:
        if self.paged.marking:
            return
        ids = list(self.table.value["Job"])
        if event.new:
            self.state.selected_id = int(ids[event.new[0]])
        elif self.state.selected_id in ids:
            self.state.selected_id = None

    def _csv(self) -> io.StringIO:
        """The jobs the filters select (all pages), as CSV, in the list's order."""
        s = self.state
        return io.StringIO(
            "".join(
                self.service.export_jobs_csv(
                    s.actor, s.job_filter(), sort=s.sort, descending=s.descending
                )
            )
        )

    def _confirm_closed(self, event: Any) -> None:
        if not event.new and self.state.pending:
            self.state.cancel()

    def _show_message(self, *_: Any) -> None:
        self.alert.object = display.esc(self.state.message)
        self.alert.visible = bool(self.state.message)

    def _show_pending(self, *_: Any) -> None:
        if self.state.pending:
            self.question.object = (
                f'<div style="font-size:16px;padding:8px 0">'
                f"{display.esc(self.state.question)}</div>"
            )
            self.confirm.open = True
        else:
            self.confirm.open = False

    # -- what the person does ------------------------------------------------------------

    def _clicked(self, event: Any) -> None:
        job_id = int(self.table.value["Job"].iloc[event.row])
        job = self.state.job(job_id)
        if job is None:
            return
        if event.column == "Stop" and job.can_stop:
            self.state.request("stop", job_id)
        elif event.column == "Delete" and job.can_delete:
            self.state.request("delete", job_id)
        elif event.column == "Status":
            self.open_view(JobStatusView(self.service, self.user, job_id=job_id))
        elif event.column == "Action":
            self.open_view(JobDetailsView(self.service, self.user, job_id=job_id))

    def open_view(self, view: JobStatusView | JobDetailsView) -> None:
        self.view = view
        self.job_modal[:] = [view]
        self.job_modal.open = True
        if self.on_view is not None:
            self.on_view(view.job_id)

    def _modal_closed(self, event: Any) -> None:
        if not event.new:
            self.view = None
            if self.on_view is not None:
                self.on_view(None)

    def _launch(self) -> None:
        if self.on_launch is not None:
            self.on_launch()
            return
        from apps.launch import LaunchForm

        form = LaunchForm(self.service, self.user, on_submitted=self._launched)
        self.view = None
        self.job_modal[:] = [form]
        self.job_modal.open = True

    def _launched(self, job: JobSummary) -> None:
        self.job_modal.open = False
        self.show_job(job.id)

    def open_job(self, job_id: int) -> bool:
        """Open a job's status view (a link to the job, e.g. from its completion email).

        Returns:
          False, with the service's words in ``state.message``, for a job this user may
          not see or that does not exist.
        """
        try:
            view = JobStatusView(self.service, self.user, job_id=job_id)
        except NotFound as error:
            self.state.message = str(error)
            return False
        self.state.selected_id = job_id
        self.open_view(view)
        return True

    def show_job(self, job_id: int) -> None:
        """Go to the first page without filters and select ``job_id`` (after a launch)."""
        s = self.state
        s.param.update(
            statuses=[],
            action=s.param.action.default,
            text="",
            submitted_from=None,
            submitted_to=None,
        )
        s.page = 1
        s.load()
        s.selected_id = job_id
