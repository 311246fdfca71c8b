"""The Approvals page: communications waiting for a supervisor's approval.

A paged, server-sorted list (``apps.paged_table``) of what waits; choosing a row shows the
message as it was frozen at submit, how many accounts it would reach and the first messages
as they would go out. An admin or a supervisor approves it (it is queued for its send date)
or rejects it with a reason (it ends, and the submitter is told); everyone else reads their
own, without the buttons. In a notebook::

    ApprovalsPage(JobService(), "dave")
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from apps.approvals_state import ApprovalsState
from apps.display import esc, fmt_time
from apps.live import start_live
from apps.paged_table import PagedTable
from jobs.comms.approvals import ApprovalDetail, ApprovalRow
from jobs.service import JobService

#: How often the list is read again (ms): approvals are not a second-by-second matter.
REFRESH_MS = 5000

COLUMNS = [
    "Job",
    "Description",
    "Action",
    "Template",
    "Accounts",
    "Send date",
    "Submitted by",
    "Submitted",
]


def approvals_frame(rows: list[ApprovalRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Job": r.id,
                "Description": r.description,
                "Action": r.action_label,
                "Template": r.template,
                "Accounts": f"{r.accounts:,}",
                "Send date": r.send_date.isoformat() if r.send_date else "—",
                "Submitted by": r.owner,
                "Submitted": fmt_time(r.submitted_at),
            }
            for r in rows
        ],
        columns=COLUMNS,
    )


class ApprovalsPage(pn.viewable.Viewer):
    """The Approvals page for ``user``."""

    def __init__(self, service: JobService, user: str, live: bool = True, **params: Any) -> None:
        super().__init__(**params)
        self.state = s = ApprovalsState(service, user)
        self.paged = PagedTable(
            s,
            approvals_frame,
            key="Job",
            selectable=1,
            # The row marked is the communication being read, wherever the list puts it.
            mark=lambda: s.chosen.row.id if s.chosen is not None else None,
            css_classes=["bd-approvals"],
            widths={"Job": 70, "Accounts": 90, "Send date": 110, "Submitted": 170},
        )
        self.paged.table.param.watch(self._selected, "selection")
        intro = (
            "Communications sent for approval by people without the send permission. Choose "
            "one to read it; <b>Approve</b> queues it for its send date, <b>Reject</b> (with a "
            "reason) ends it and tells the submitter."
            if s.approver
            else "Your communications waiting for a supervisor's approval. Only an admin or a "
            "supervisor can approve or reject them; here you can read them, or "
            "<b>Withdraw</b> one you no longer want sent."
        )
        self.done = pn.pane.Alert(
            "", alert_type="success", visible=False, css_classes=["bd-approval-done"]
        )
        self.error = pn.pane.Alert(
            "", alert_type="danger", visible=False, css_classes=["bd-approval-error"]
        )
        self.detail = pn.Column(
            visible=False, css_classes=["bd-approval-detail"], sizing_mode="stretch_width"
        )
        self.approve_button = pn.widgets.Button(
            label="Approve", color="success", width=140, css_classes=["bd-approve"]
        )
        self.reject_button = pn.widgets.Button(
            label="Reject", color="danger", width=140, css_classes=["bd-reject"]
        )
        self.reason = pn.widgets.TextInput.from_param(
            s.param.reason,
            placeholder="Why it is rejected; the submitter reads it",
            max_length=500,
            sizing_mode="stretch_width",
            css_classes=["bd-reason"],
        )
        self.reason_error = pn.pane.HTML(
            "",
            visible=False,
            css_classes=["bd-field-error", "bd-error-reason"],
            styles={"color": "#b91c1c", "font-size": "13px"},
        )
        self.withdraw_button = pn.widgets.Button(
            label="Withdraw",
            color="danger",
            variant="outline",
            width=140,
            css_classes=["bd-withdraw"],
        )
        self.withdraw_button.on_click(lambda _: s.withdraw())
        self.approve_button.on_click(lambda _: s.approve())
        self.reject_button.on_click(lambda _: s.reject())
        s.param.watch(self._show_detail, ["chosen"])
        s.param.watch(self._show_messages, ["errors", "done"])
        self._layout = pn.Column(
            pn.pane.HTML('<h2 style="margin:0">Approvals</h2>'),
            pn.pane.HTML(f'<div style="color:#4b5563">{intro}</div>', sizing_mode="stretch_width"),
            self.done,
            self.error,
            self.paged,
            self.detail,
            sizing_mode="stretch_width",
            max_width=1200,
        )
        if live:
            self._live = start_live(self._tick, period=REFRESH_MS)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def _tick(self) -> None:
        # New requests show up by themselves, but not while one is being read (a refresh
        # would take its row, and the person's place, away).
        if self.state.chosen is None:
            self.state.load()

    # -- what the person does -----------------------------------------------------------

    def _selected(self, event: Any) -> None:
        if self.paged.marking:
            return
        rows = self.state.rows
        chosen = [rows[i].id for i in event.new if i < len(rows)]
        self.state.choose(chosen[0] if chosen else None)

    # -- what the person sees -------------------------------------------------------------

    def _show_messages(self, *_: Any) -> None:
        s = self.state
        general = s.errors.get("", "")
        self.error.object = esc(general)
        self.error.visible = bool(general)
        reason = s.errors.get("reason", "")
        self.reason_error.object = esc(reason)
        self.reason_error.visible = bool(reason)
        self.done.object = esc(s.done)
        self.done.visible = bool(s.done) and not s.errors

    def _show_detail(self, *_: Any) -> None:
        chosen: ApprovalDetail | None = self.state.chosen
        if chosen is None:
            self.detail.visible = False
            self.detail[:] = []
            if self.paged.table.selection:
                self.paged.table.selection = []
            return
        row = chosen.row
        self.done.visible = False
        reasons = "".join(
            f"<li>{n:,} × {esc(reason)}</li>" for reason, n in chosen.exceptions.items()
        )
        subject = f"<div><b>Subject:</b> {esc(chosen.subject)}</div>" if chosen.subject else ""
        head = pn.pane.HTML(
            f'<h3 style="margin:8px 0 4px">Job {row.id}: {esc(row.description)}</h3>'
            f"<div>{esc(row.action_label)} “{esc(row.template)}” on "
            f"<b>{esc(row.send_date.isoformat() if row.send_date else '—')}</b>, submitted by "
            f"{esc(row.owner)} for {esc(row.selection_text)}</div>"
            f'<div style="margin-top:6px">Would send <b>{chosen.would_send:,}</b> now'
            + (f"; not sent to:<ul style='margin:2px 0'>{reasons}</ul>" if reasons else "")
            + "</div>"
            f'<div style="margin-top:8px">{subject}<pre class="bd-approval-body" '
            'style="white-space:pre-wrap;background:#f9fafb;border:1px solid #e5e7eb;'
            f'padding:8px;font-family:inherit">{esc(chosen.body)}</pre></div>',
            sizing_mode="stretch_width",
        )
        parts: list[pn.viewable.Viewable] = [head]
        if chosen.sample:
            frame = pd.DataFrame(chosen.sample).rename(
                columns={
                    "file_number": "File Number",
                    "debtor": "Debtor",
                    "to": "To",
                    "subject": "Subject",
                    "text": "Message",
                }
            )
            if not chosen.subject:
                frame = frame.drop(columns=["Subject"])
            parts.append(pn.pane.HTML("<div>The first messages, as they would go out:</div>"))
            parts.append(
                pn.widgets.Tabulator(
                    frame,
                    show_index=False,
                    disabled=True,
                    layout="fit_columns",
                    height=min(40 + 30 * len(frame), 220),
                    sizing_mode="stretch_width",
                    css_classes=["bd-approval-sample"],
                )
            )
        if row.can_decide:
            parts += [
                pn.Row(self.approve_button, sizing_mode="stretch_width"),
                pn.Row(self.reason, self.reject_button, sizing_mode="stretch_width"),
                self.reason_error,
            ]
        else:
            parts.append(
                pn.pane.HTML(
                    f'<div class="bd-read-only" style="color:#4b5563">{esc(row.refusal)}</div>'
                )
            )
        if row.can_withdraw:
            parts.append(
                pn.Row(
                    self.withdraw_button,
                    pn.pane.HTML(
                        '<div style="color:#4b5563;padding-top:6px">Takes the request back: '
                        "it ends Stopped and nothing is sent.</div>"
                    ),
                    sizing_mode="stretch_width",
                )
            )
        self.detail[:] = parts
        self.detail.visible = True
