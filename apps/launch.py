"""The launch form for "Add interaction": pick accounts, describe the interaction, queue.

The service validates before anything is queued; its message shows next to the form. The
count of accounts the job will touch follows the selection as it changes. In a notebook::

    from apps.launch import LaunchForm
    LaunchForm(service=JobService(), user="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from apps.display import esc
from apps.launch_state import AccountCriteria, LaunchState
from apps.monitor import not_permitted
from jobs.people import permissions
from jobs.reports.queries import JobSummary
from jobs.service import JobService


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


class LaunchForm(pn.viewable.Viewer):
    """The "Add interaction" form for ``user``.

    Parameters:
      service: the service API.
      user: the acting username.
      criteria: accounts to start from (e.g. an account search's); copied, not shared.
      on_submitted: called with the queued job's summary.
    """

    def __init__(
        self,
        service: JobService,
        user: str,
        criteria: AccountCriteria | None = None,
        on_submitted: Callable[[JobSummary], None] | None = None,
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
        self.state = LaunchState(service, actor)
        if criteria is not None:
            self.state.prefill(criteria)
        s = self.state
        p = s.param
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
        submit = pn.widgets.Button(
            label="Queue the bulk update",
            button_type="primary",
            width=220,
            css_classes=["bd-submit"],
        )
        submit.on_click(lambda _: self.submit())
        s.param.watch(self._show_count, ["target_count", "count_error"])
        s.param.watch(self._show_error, ["error"])
        accounts = pn.Column(
            pn.pane.HTML("<b>1. Accounts</b>"), *criteria_widgets(s.criteria), self.count, width=340
        )
        interaction = pn.Column(
            pn.pane.HTML("<b>2. Interaction</b>"),
            pn.Row(
                pn.widgets.Select.from_param(p.interaction_type, width=150),
                pn.widgets.Select.from_param(p.outcome, width=190),
            ),
            pn.widgets.DatePicker.from_param(p.interaction_date, width=150),
            pn.widgets.TextAreaInput.from_param(
                p.note,
                height=90,
                sizing_mode="stretch_width",
                placeholder="The note logged on each account",
            ),
            pn.widgets.TextInput.from_param(
                p.description, sizing_mode="stretch_width", placeholder="Shown in the job list"
            ),
            pn.Row(submit),
            width=380,
        )
        self._layout = pn.Column(
            pn.pane.HTML(
                '<h2 style="margin:0">Add interaction to many accounts</h2>'
                '<div style="color:#6b7280">The same interaction is logged on every '
                "account of the selection; locked and closed accounts become "
                "exceptions.</div>"
            ),
            pn.Row(accounts, pn.Spacer(width=24), interaction),
            self.error,
            self.done,
            sizing_mode="stretch_width",
            max_width=820,
        )
        self._show_count()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def submit(self) -> JobSummary | None:
        """Queue the job through the service; show its refusal next to the form."""
        assert self.state is not None
        job = self.state.submit()
        self.done.visible = job is not None
        if job is not None:
            self.done.object = esc(f"Job {job.id} queued: {job.description}")
            if self.on_submitted is not None:
                self.on_submitted(job)
        return job

    def _show_count(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        if s.count_error:
            text = f'<span style="color:#b91c1c">{esc(s.count_error)}</span>'
        elif s.target_count is not None:
            color = "#b91c1c" if s.target_count == 0 else "#111827"
            text = (
                f'<span style="color:{color}">This will touch <b>{s.target_count:,}</b> '
                f"account{'s' if s.target_count != 1 else ''}</span>"
            )
        else:
            text = ""
        self.count.object = f'<div style="font-size:15px;padding:4px 0">{text}</div>'

    def _show_error(self, *_: Any) -> None:
        s = self.state
        assert s is not None
        self.error.object = esc(s.error)
        self.error.visible = bool(s.error)
