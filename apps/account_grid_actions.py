"""The grid toolbar's action dialog: any registered bulk action, on the grid's selection.

The dialog is the launch form's state (:class:`apps.launch_state.LaunchState`: the action's
declared fields, the dry run to review, then the submit) over a fixed selection instead of
a group and filter typed in: :class:`SelectionCriteria` hands it the grid's filter, picked
and excluded accounts. Nothing is queued before the dry run was shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.display import esc
from apps.launch import SEND_FOR_APPROVAL, field_widget
from apps.launch_state import AccountCriteria, LaunchState
from jobs.reports.queries import JobSummary
from jobs.service import DESCRIPTION_MAX, JobService
from jobs.sources.accounts import AccountFilter, AccountSelection
from jobs.status import JobStatus


class SelectionCriteria(AccountCriteria):
    """Criteria that are a selection made in the grid, not a group and filter."""

    def __init__(self, selection: AccountSelection, text: str, **params: Any) -> None:
        super().__init__(**params)
        self._selection = selection
        self._text = text

    def selection(self) -> AccountSelection:
        return self._selection

    def account_filter(self) -> AccountFilter:
        return self._selection.filter

    def describe(self) -> str:
        return self._text


class ActionDialog(pn.viewable.Viewer):
    """One bulk action on the grid's selection: its fields, a dry run, then Queue.

    Parameters:
      service: the service API.
      user: the acting user.
      action: the action's name (``change_status``).
      selection: the grid's selection; ``text``: it in words.
      shown: the count the grid's counter showed (the job says if its start differs).
      on_submitted: called with the queued job.
    """

    def __init__(
        self,
        service: JobService,
        user: Any,
        action: str,
        selection: AccountSelection,
        text: str,
        on_submitted: Callable[[JobSummary], None] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.on_submitted = on_submitted
        self.state = LaunchState(
            service, user, action=action, criteria=SelectionCriteria(selection, text)
        )
        s = self.state
        self.title = pn.pane.HTML(
            f'<h3 style="margin:0">{esc(s.action)}</h3>'
            f'<div style="color:#4b5563">{esc(s.summary)}</div>',
            sizing_mode="stretch_width",
        )
        self.count = pn.pane.HTML(css_classes=["bd-count"], sizing_mode="stretch_width")
        self.error = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["bd-form-error"]
        )
        self.preview = pn.Column(visible=False, css_classes=["bd-preview"])
        self.done = pn.pane.Alert("", alert_type="success", visible=False)
        self.fields = pn.Column(sizing_mode="stretch_width")
        for f in s.fields:
            widget = field_widget(f, s.values.get(f.name))
            if s.values.get(f.name) is None and widget.value is not None:
                s.set_value(f.name, widget.value)  # a Select shows its first choice
            widget.param.watch(lambda e, name=f.name: s.set_value(name, e.new), "value")
            self.fields.append(widget)
        description = pn.widgets.TextInput.from_param(
            s.param.description,
            sizing_mode="stretch_width",
            max_length=DESCRIPTION_MAX,
            placeholder="Shown in the job list",
            css_classes=["bd-description"],
        )
        self.review_button = pn.widgets.Button(
            label="Review (dry run)", color="primary", width=180, css_classes=["bd-review"]
        )
        # Without the send permission a communication goes for approval (the service says).
        waits = service.needs_approval(s.actor, s.action_name or "")
        self.queue_button = pn.widgets.Button(
            label=SEND_FOR_APPROVAL if waits else "Queue",
            color="success",
            width=180,
            disabled=True,
            css_classes=["bd-submit"],
        )
        self.review_button.on_click(lambda _: self.review())
        self.queue_button.on_click(lambda _: self.submit())
        s.param.watch(self._show_preview, ["preview"])
        s.param.watch(self._show_errors, ["errors"])
        s.param.watch(self._show_count, ["target_count", "count_error"])
        self._layout = pn.Column(
            self.title,
            pn.pane.HTML(f"<div>On <b>{esc(text)}</b></div>", sizing_mode="stretch_width"),
            self.count,
            self.fields,
            description,
            pn.Row(self.review_button, self.queue_button),
            self.error,
            self.preview,
            self.done,
            sizing_mode="stretch_width",
            css_classes=["bd-action-dialog"],
        )
        self._show_count()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def review(self) -> Any:
        self.done.visible = False
        return self.state.review()

    def submit(self) -> JobSummary | None:
        job = self.state.submit()
        if job is not None:
            verb = "sent for approval" if job.status is JobStatus.AWAITING_APPROVAL else "queued"
            self.done.object = esc(f"Job {job.id} {verb}: {job.description}")
            self.done.visible = True
            self.queue_button.disabled = True
            if self.on_submitted is not None:
                self.on_submitted(job)
        return job

    def _show_count(self, *_: Any) -> None:
        s = self.state
        if s.count_error:
            self.count.object = f'<span style="color:#b91c1c">{esc(s.count_error)}</span>'
        elif s.target_count is not None:
            self.count.object = (
                f"This will touch <b>{s.target_count:,}</b> "
                f"account{'s' if s.target_count != 1 else ''}"
            )

    def _show_errors(self, *_: Any) -> None:
        message = " ".join(self.state.errors.values())
        self.error.object = esc(message)
        self.error.visible = bool(message)

    def _show_preview(self, *_: Any) -> None:
        preview = self.state.preview
        self.queue_button.disabled = preview is None or preview.touch == 0
        if preview is None:
            self.preview.visible = False
            self.preview[:] = []
            return
        lines = preview.lines()
        reasons = "".join(
            f"<li>{n:,} × {esc(reason)}</li>" for reason, n in preview.exceptions.items()
        )
        parts: list[Any] = [
            pn.pane.HTML(
                f'<div style="font-size:15px"><b>{esc(lines[0])}</b></div>'
                + (f'<ul style="margin:4px 0">{reasons}</ul>' if reasons else ""),
                sizing_mode="stretch_width",
            )
        ]
        if preview.sample:
            frame = pd.DataFrame(preview.sample).rename(
                columns={
                    "file_number": "File Number",
                    "debtor": "Debtor",
                    "before": "Before",
                    "after": "After",
                }
            )
            parts.append(
                pn.widgets.Tabulator(
                    frame,
                    show_index=False,
                    disabled=True,
                    height=min(40 + 30 * len(frame), 340),
                    sizing_mode="stretch_width",
                    css_classes=["bd-preview-sample"],
                )
            )
        parts.append(
            pn.pane.HTML(
                '<div style="color:#4b5563">Nothing has been changed yet. '
                f'"{self.queue_button.label}" runs it; changing any input asks for a new '
                "review.</div>"
            )
        )
        self.preview[:] = parts
        self.preview.visible = True
