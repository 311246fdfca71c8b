"""The Batch audit log page (seed 002): search definition runs by date range (at most 7 days),
add a status and a process-name field with Add, Search; a page of runs with their status
icons; a process name opens the run's detail in a new browser tab (its own address,
``?page=batch-log&run=12``), which this page shows instead of the search."""

from __future__ import annotations

from typing import Any

import panel as pn

from apps.batch_log_state import EXTRA_FIELDS, HTML_COLUMNS, MAX_DAYS, BatchLogState
from apps.display import esc
from apps.live import start_live
from apps.paged_table import PagedTable
from apps.run_view import RunView
from jobs.service import JobService
from jobs.status import JobStatus

MOVING = (JobStatus.QUEUED, JobStatus.IN_PROGRESS)

ERROR_STYLE = {"color": "#b91c1c", "font-size": "13px", "margin-top": "-4px"}
WIDTHS = {
    "Run": 64,
    "Status": 128,
    "Due": 158,
    "Trigger": 118,
    "Started": 150,
    "Ended": 150,
    "Owner": 120,
}


def error_pane(name: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        "",
        visible=False,
        css_classes=["bd-field-error", f"bd-error-{name}"],
        styles=ERROR_STYLE,
        sizing_mode="stretch_width",
    )


class BatchLogPage(pn.viewable.Viewer):
    """The Batch audit log for one session's user."""

    def __init__(self, service: JobService, user: str, live: bool = True) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.live = live
        self.state = s = BatchLogState(service, user)
        self.run_view: RunView | None = None
        self._run_live: Any = None

        since = pn.widgets.DatePicker.from_param(s.param.since, width=150)
        until = pn.widgets.DatePicker.from_param(s.param.until, width=150)
        since.css_classes = ["bd-since"]
        until.css_classes = ["bd-until"]
        self.errors = {name: error_pane(name) for name in ("since", "until", "status", "process")}
        status = pn.widgets.MultiChoice.from_param(
            s.param.statuses, width=260, placeholder="Any status"
        )
        status.css_classes = ["bd-status-field"]
        process = pn.widgets.TextInput.from_param(
            s.param.process, width=240, placeholder="Part of a definition's name", max_length=120
        )
        process.css_classes = ["bd-process-field"]
        # Enter in the name searches, as the Search button does.
        process.param.watch(lambda _e: self.search(), "enter_pressed")
        self.extra = {
            "status": self._removable("status", status),
            "process": self._removable("process", process),
        }
        self.add_button = pn.widgets.Button(
            label="+ Add", width=90, css_classes=["bd-add-field"], description=""
        )
        self.add_button.on_click(lambda _: s.add_field())
        self.search_button = pn.widgets.Button(
            label="Search", color="primary", width=110, css_classes=["bd-search"]
        )
        self.search_button.on_click(lambda _: self.search())
        self._dates = [
            pn.Column(since, self.errors["since"], width=160),
            pn.Column(until, self.errors["until"], width=270),
        ]
        self._buttons = [
            pn.Column(pn.Spacer(height=18), self.add_button, width=100),
            pn.Column(pn.Spacer(height=18), self.search_button, width=120),
        ]
        # Only the fields added so far are in the row (a hidden one still takes its width),
        # and a narrow window wraps them instead of pushing the page wider than itself.
        self.fields = pn.FlexBox(
            *self._dates,
            *self._buttons,
            flex_wrap="wrap",
            align_items="flex-start",
            sizing_mode="stretch_width",
            css_classes=["bd-batch-fields"],
        )
        self.summary = pn.pane.HTML(
            "", css_classes=["bd-batch-summary"], sizing_mode="stretch_width"
        )
        self.table = PagedTable(
            s,
            s.frame,
            key="Run",
            css_classes=["bd-batch-log"],
            formatters={
                "Run": {"type": "plaintext"},
                **{c: {"type": "html"} for c in HTML_COLUMNS},
            },
            widths=WIDTHS,
        )
        s.param.watch(self._show_errors, "errors")
        s.param.watch(self._show_added, "added")
        s.param.watch(self._show_summary, ["version", "counts"])
        self.search_view = pn.Column(
            pn.pane.HTML(
                '<h2 style="margin:0">Batch audit log</h2>'
                '<div style="color:#4b5563">Runs of job definitions by due date. Search at '
                f"most {MAX_DAYS} days at a time; <b>+ Add</b> brings a status and a process "
                "name field. Click a process name to open its run in a new tab.</div>"
            ),
            self.fields,
            self.summary,
            self.table,
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(self.search_view, sizing_mode="stretch_width")
        self._show_added()
        self._show_summary()
        if live:
            self._run_live = start_live(self._tick)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def _removable(self, key: str, widget: pn.widgets.Widget) -> pn.Column:
        remove = pn.widgets.Button(
            label="×",
            width=34,
            description=f"Remove the {EXTRA_FIELDS[key].lower()} field",
            css_classes=[f"bd-remove-{key}"],
        )
        remove.on_click(lambda _: self.state.remove_field(key))
        return pn.Column(
            pn.Row(widget, pn.Column(pn.Spacer(height=18), remove)),
            self.errors[key],
            visible=False,
            width=widget.width + 60,
        )

    # -- what the person does ------------------------------------------------------------

    def search(self) -> None:
        self.state.search()

    def open_run(self, job_id: int) -> None:
        """Show run ``job_id``'s detail instead of the search (its own address)."""
        view = RunView(self.service, self.user, job_id)
        self.run_view = view
        back = pn.pane.HTML(
            '<a class="bd-back" href="?page=batch-log">← Batch audit log</a>',
            sizing_mode="stretch_width",
        )
        self._layout[:] = [back, view]

    def close_run(self) -> None:
        self.run_view = None
        self._layout[:] = [self.search_view]

    def _tick(self) -> None:
        """Every second: the open run while it moves; the list while a run in it is New or
        Running (a finished page costs nothing)."""
        if self.run_view is not None:
            if self.run_view.moving:
                self.run_view.refresh()
        elif any(r.status in MOVING for r in self.state.rows):
            self.state.load()

    # -- what the person sees -------------------------------------------------------------

    def _show_errors(self, *_: Any) -> None:
        for name, pane in self.errors.items():
            message = self.state.errors.get(name, "")
            pane.object = esc(message)
            pane.visible = bool(message)

    def _show_added(self, *_: Any) -> None:
        for key, column in self.extra.items():
            column.visible = key in self.state.added
        added = [self.extra[k] for k in self.state.added]
        self.fields[:] = [*self._dates, *added, *self._buttons]
        self.add_button.disabled = not self.state.can_add
        self.add_button.description = (
            "Add a search field: "
            + " or ".join(
                EXTRA_FIELDS[k].lower() for k in EXTRA_FIELDS if k not in self.state.added
            )
            if self.state.can_add
            else "Both extra fields (status, process name) are shown"
        )

    def _show_summary(self, *_: Any) -> None:
        self.summary.object = (
            f'<div style="color:#111827;padding:4px 0">{esc(self.state.summary())}</div>'
        )
