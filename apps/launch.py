"""The launch form: pick a bulk action and the accounts, fill in the action's own fields,
review the dry run, then queue.

The action's fields are built from its declared parameters (``JobService.action_fields``), so
a new action needs no form code. The count of accounts follows the selection as it changes;
"Review" shows what the job would do (the same dry run as ``bulkdesk submit … --dry-run``),
and only then can it be queued. A refusal shows under the field it is about. In a notebook::

    from apps.launch import LaunchForm
    LaunchForm(service=JobService(), user="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.display import esc, not_permitted
from apps.launch_state import AccountCriteria, LaunchState
from jobs.people import permissions
from jobs.reports.queries import JobSummary
from jobs.service import DESCRIPTION_MAX, FieldView, JobService
from jobs.status import JobStatus

QUEUE = "Queue the bulk update"
#: What a person without the send permission sees for a communication (seed 004).
SEND_FOR_APPROVAL = "Send for Approval"


def criteria_widgets(criteria: AccountCriteria) -> list[pn.viewable.Viewable]:
    """Widgets for a group and account filter (shared with the account search)."""
    p = criteria.param
    return [
        pn.widgets.Select.from_param(
            p.group, sizing_mode="stretch_width", css_classes=["bd-group"]
        ),
        pn.Row(
            pn.widgets.Select.from_param(
                p.account_status, width=170, css_classes=["bd-account-status"]
            ),
            pn.widgets.TextInput.from_param(
                p.state, width=120, placeholder="any", css_classes=["bd-state"]
            ),
        ),
        pn.widgets.TextInput.from_param(p.text, sizing_mode="stretch_width", placeholder="any"),
        pn.Row(
            pn.widgets.FloatInput.from_param(p.min_balance, width=145, placeholder="any"),
            pn.widgets.FloatInput.from_param(p.max_balance, width=145, placeholder="any"),
        ),
    ]


def field_widget(field: FieldView, value: Any) -> pn.widgets.Widget | pn.widgets.CompositeWidget:
    """The widget for one declared parameter."""
    css = [f"bd-field-{field.name}"]
    common = {"label": field.label, "css_classes": css, "sizing_mode": "stretch_width"}
    if field.kind == "choice":
        options = (
            field.options if value in field.options or value is None else [value, *field.options]
        )
        return pn.widgets.Select(
            options=options, value=value if value in options else None, **common
        )
    if field.kind == "date":
        return pn.widgets.DatePicker(value=value, **{**common, "sizing_mode": "fixed"}, width=170)
    if field.kind == "int":
        return pn.widgets.IntInput(value=value, **common)
    if field.kind == "allocation":
        from apps.allocation import AllocationInput

        return AllocationInput(
            label=field.label, options=field.options, value=value or "", css_classes=css
        )
    text = {"value": value or "", "placeholder": field.help, **common}
    if field.max_length:
        text["max_length"] = field.max_length
    if field.multiline:
        return pn.widgets.TextAreaInput(height=90, **text)
    return pn.widgets.TextInput(**text)


def character_counter(widget: pn.widgets.Widget, limit: int, name: str) -> pn.pane.HTML:
    """ "12 / 200" under a text field, following what is typed; red at the limit (the field
    itself refuses more)."""
    counter = pn.pane.HTML(
        "",
        css_classes=["bd-counter", f"bd-counter-{name}"],
        sizing_mode="stretch_width",
        styles={"margin-top": "-8px", "font-size": "12px"},
    )

    def show(*events: Any) -> None:
        # value and value_input may change together (one call with both events).
        text = events[-1].new if events else widget.value
        used = len(text or "")
        color = "#b91c1c" if used >= limit else "#6b7280"
        note = " — the limit" if used >= limit else ""
        counter.object = (
            f'<div style="text-align:right;color:{color}">{used:,} / {limit:,}{note}</div>'
        )

    widget.param.watch(show, ["value_input", "value"])
    show()
    return counter


class LaunchForm(pn.viewable.Viewer):
    """The launch form for ``user``.

    Parameters:
      service: the service API.
      user: the acting username.
      criteria: accounts to start from (e.g. an account search's); copied, not shared.
      action: the action to start with (e.g. ``change_status``); default the first.
      on_submitted: called with the queued job's summary.
    """

    def __init__(
        self,
        service: JobService,
        user: str,
        criteria: AccountCriteria | None = None,
        on_submitted: Callable[[JobSummary], None] | None = None,
        action: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.on_submitted = on_submitted
        actor = service.actor(user)
        if not actor.has(permissions.BULK_UPDATE):
            self.state = None
            self._layout = not_permitted(actor)
            return
        self.state = LaunchState(service, actor, action=action)
        if criteria is not None:
            self.state.prefill(criteria)
        s = self.state
        self.count = pn.pane.HTML(css_classes=["bd-count"], sizing_mode="stretch_width")
        self.error = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            css_classes=["bd-form-error"],
            sizing_mode="stretch_width",
        )
        self.done = pn.pane.Alert(
            "", alert_type="success", visible=False, sizing_mode="stretch_width"
        )
        self.preview = pn.Column(
            visible=False, css_classes=["bd-preview"], sizing_mode="stretch_width"
        )
        self.summary = pn.pane.HTML(styles={"color": "#4b5563"}, sizing_mode="stretch_width")
        self.fields = pn.Column(sizing_mode="stretch_width")
        self.field_errors: dict[str, pn.pane.HTML] = {}
        self.review_button = pn.widgets.Button(
            label="Review (dry run)", color="primary", width=180, css_classes=["bd-review"]
        )
        self.review_button.on_click(lambda _: self.review())
        self.queue_button = pn.widgets.Button(
            label=QUEUE,
            color="success",
            width=220,
            disabled=True,
            css_classes=["bd-submit"],
        )
        self.queue_button.on_click(lambda _: self.submit())
        description = pn.widgets.TextInput.from_param(
            s.param.description,
            sizing_mode="stretch_width",
            max_length=DESCRIPTION_MAX,
            placeholder="Shown in the job list",
            css_classes=["bd-description"],
        )
        self.field_errors["description"] = self._error_pane("description")
        description_count = character_counter(description, DESCRIPTION_MAX, "description")
        picker = pn.widgets.RadioButtonGroup.from_param(
            s.param.action,
            label="",
            color="primary",
            variant="outline",
            css_classes=["bd-action"],
        )
        s.param.watch(self._show_count, ["target_count", "count_error"])
        s.param.watch(self._show_errors, ["errors"])
        s.param.watch(self._show_preview, ["preview"])
        s.param.watch(self._build_fields, ["action"])
        accounts = pn.Column(
            pn.pane.HTML("<b>2. Accounts</b>"), *criteria_widgets(s.criteria), self.count, width=340
        )
        self.parameters = pn.Column(
            pn.pane.HTML("<b>3. Details</b>"),
            self.fields,
            description,
            description_count,
            self.field_errors["description"],
            pn.Row(self.review_button, self.queue_button),
            width=420,
        )
        self._layout = pn.Column(
            pn.pane.HTML('<h2 style="margin:0">Launch a bulk update</h2>'),
            pn.pane.HTML("<b>1. What to do</b>"),
            picker,
            self.summary,
            pn.Row(accounts, pn.Spacer(width=24), self.parameters),
            self.error,
            self.preview,
            self.done,
            sizing_mode="stretch_width",
            max_width=860,
        )
        self._build_fields()
        self._show_count()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- actions of the person ------------------------------------------------------------

    def review(self) -> Any:
        """Show the dry run of the current inputs (or why they are refused)."""
        assert self.state is not None
        self.done.visible = False
        return self.state.review()

    def submit(self) -> JobSummary | None:
        """Queue the job through the service; show its refusal next to the form."""
        assert self.state is not None
        job = self.state.submit()
        self.done.visible = job is not None
        if job is not None:
            verb = "sent for approval" if job.status is JobStatus.AWAITING_APPROVAL else "queued"
            self.done.object = esc(f"Job {job.id} {verb}: {job.description}")
            if self.on_submitted is not None:
                self.on_submitted(job)
        return job

    # -- what the person sees ---------------------------------------------------------------

    def _error_pane(self, name: str) -> pn.pane.HTML:
        return pn.pane.HTML(
            "",
            visible=False,
            css_classes=["bd-field-error", f"bd-error-{name}"],
            styles={"color": "#b91c1c", "font-size": "13px", "margin-top": "-6px"},
            sizing_mode="stretch_width",
        )

    def _build_fields(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        self.summary.object = esc(s.summary)
        # Without the send permission a communication goes for approval (the service decides).
        waits = bool(s.action_name) and self.service.needs_approval(s.actor, s.action_name or "")
        self.queue_button.label = SEND_FOR_APPROVAL if waits else QUEUE
        rows: list[pn.viewable.Viewable] = []
        self.field_errors = {"description": self.field_errors["description"]}
        for field in s.fields:
            widget = field_widget(field, s.values.get(field.name))
            if s.values.get(field.name) is None and widget.value is not None:
                s.set_value(field.name, widget.value)  # a Select shows its first choice
            widget.param.watch(lambda e, name=field.name: s.set_value(name, e.new), "value")
            self.field_errors[field.name] = self._error_pane(field.name)
            rows.append(widget)
            if field.max_length and field.kind == "text":
                rows.append(character_counter(widget, field.max_length, field.name))
            rows.append(self.field_errors[field.name])
        self.fields[:] = rows

    def _show_count(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        if s.count_error:
            # What to do next, in grey: red before anything was asked of the form read as a
            # mistake already made (a Review then says it in red beside the field).
            text = f'<span class="bd-count-hint" style="color:#4b5563">{esc(s.count_error)}</span>'
        elif s.target_count is not None:
            color = "#b91c1c" if s.target_count == 0 else "#111827"
            text = (
                f'<span style="color:{color}">This will touch <b>{s.target_count:,}</b> '
                f"account{'s' if s.target_count != 1 else ''}</span>"
            )
        else:
            text = ""
        self.count.object = f'<div style="font-size:15px;padding:4px 0">{text}</div>'

    def _show_errors(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        for name, pane in self.field_errors.items():
            message = s.errors.get(name, "")
            pane.object = esc(message)
            pane.visible = bool(message)
        general = s.errors.get("", "")
        self.error.object = esc(general)
        self.error.visible = bool(general)

    def _show_preview(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        preview = s.preview
        self.queue_button.disabled = preview is None or preview.touch == 0
        if preview is None:
            self.preview.visible = False
            self.preview[:] = []
            return
        lines = preview.lines()
        head = (
            f'<div style="font-size:15px"><b>{esc(lines[0])}</b>'
            + (f" — {preview.exception_count:,} would be exceptions" if preview.exceptions else "")
            + "</div>"
        )
        reasons = "".join(
            f"<li>{n:,} × {esc(reason)}</li>" for reason, n in preview.exceptions.items()
        )
        parts: list[pn.viewable.Viewable] = [
            pn.pane.HTML(
                head
                + (f'<ul style="margin:4px 0">{reasons}</ul>' if reasons else "")
                + "<div>For example:</div>" * bool(preview.sample),
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
