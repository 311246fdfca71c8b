"""One job: its status view (counters, progress, rate, per-account outcomes) and its details.

``JobStatusView`` is seed 000's "Bulk Interaction Job Status" (opened from the status icon);
``JobDetailsView`` is the bulk update job details (opened from the action's name): parameters,
selection, who submitted it and its audit events. Both render inline in a notebook::

    from apps.job_view import JobStatusView
    JobStatusView(service=JobService(), user="alice", job_id=12)
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import panel as pn
import param

from apps.display import esc, fmt_duration, fmt_time, status_badge
from apps.follow_up import FollowUp
from apps.items_state import JobItemsState
from apps.paged_table import PagedTable
from apps.run_view import RunSteps
from jobs.errors import BulkdeskError
from jobs.models import RUN_ACTION
from jobs.reports.queries import ItemRow, JobSummary
from jobs.service import JobService
from jobs.status import JobStatus

BAR_COLORS = {
    JobStatus.COMPLETED: "success",
    JobStatus.COMPLETED_WITH_EXCEPTIONS: "warning",
    JobStatus.FAILED: "danger",
    JobStatus.STOPPED: "secondary",
}
#: "Message" holds the exception's reason, or what the item changed ("Open → On hold").
ITEM_COLUMNS = ["#", "File number", "Debtor", "Outcome", "Message"]


def _card(label: str, value: str, color: str = "#111827") -> str:
    return (
        f'<div style="padding:8px 14px;border:1px solid #e5e7eb;border-radius:8px;'
        f'min-width:92px;background:#fff"><div style="font-size:11px;color:#6b7280;'
        f'text-transform:uppercase;letter-spacing:.04em">{esc(label)}</div>'
        f'<div style="font-size:20px;font-weight:600;color:{color}">{value}</div></div>'
    )


def counters_html(job: JobSummary) -> str:
    """The job's counters, rate and time left as a row of cards."""
    if job.action == RUN_ACTION:  # a definition's run counts its steps, not accounts
        return (
            '<div style="display:flex;flex-wrap:wrap;gap:8px">'
            + _card("Status", status_badge(job.status, clickable=False))
            + _card("Steps", f"{job.total:,}")
            + _card("Ok", f"{job.ok:,}", "#15803d")
            + _card("Failed", f"{job.exceptions:,}", "#b91c1c" if job.exceptions else "#111827")
            + _card("Not reached", f"{job.not_processed:,}")
            + "</div>"
        )
    rate = job.rate()
    cards = [
        _card("Status", status_badge(job.status, clickable=False)),
        _card("Accounts", f"{job.total:,}"),
        _card("Processed", f"{job.processed:,}"),
        _card("Ok", f"{job.ok:,}", "#15803d"),
        _card("Exceptions", f"{job.exceptions:,}", "#b45309" if job.exceptions else "#111827"),
        _card("Not processed", f"{job.not_processed:,}"),
        _card("Rate", f"{rate:,.0f}/s" if rate else "—"),
        _card("Time left", fmt_duration(job.seconds_left())),
    ]
    return f'<div style="display:flex;flex-wrap:wrap;gap:8px">{"".join(cards)}</div>'


def heading_html(title: str, job: JobSummary) -> str:
    return (
        f'<div style="font-size:18px;font-weight:600">{esc(title)}</div>'
        f'<div style="color:#374151">Job {job.id}: {esc(job.description)}</div>'
        f'<div style="color:#6b7280;font-size:12px">Submitted {fmt_time(job.submitted_at)}'
        f" by {esc(job.owner)} · started {fmt_time(job.started_at)} · ended "
        f"{fmt_time(job.ended_at)}</div>"
    )


def item_rows(rows: list[ItemRow]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r.seq, r.file_number, r.debtor_name, r.outcome, r.message or r.change) for r in rows],
        columns=ITEM_COLUMNS,
    )


class JobStatusView(pn.viewable.Viewer):
    """The Bulk Interaction Job Status of one job, refreshed by :meth:`refresh`."""

    job_id = param.Integer(doc="The job shown.")

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.summary: JobSummary = service.job(user, self.job_id).summary
        self.items = JobItemsState(service, user, self.job_id)
        self._heading = pn.pane.HTML(sizing_mode="stretch_width")
        self._counters = pn.pane.HTML(sizing_mode="stretch_width")
        self._progress = pn.indicators.Progress(
            value=0, max=100, sizing_mode="stretch_width", height=14, bar_color="primary"
        )
        self._table = PagedTable(
            self.items,
            item_rows,
            key="#",
            height=330,
            css_classes=["bd-items"],
            widths={"#": 70, "File number": 120, "Debtor": 180, "Outcome": 120},
        )
        self._download = pn.widgets.FileDownload(
            callback=self._csv,
            filename=f"job-{self.job_id}-outcomes.csv",
            label="Export CSV",
            width=140,
        )
        self.follow_up = FollowUp(service, user, self.job_id)
        # A definition's run: its step history (steps, outcomes, outputs, child jobs).
        self.run_steps = (
            RunSteps(service, user, self.job_id) if self.summary.action == RUN_ACTION else None
        )
        # A run has no items of its own (its bulk steps' jobs do): no items table.
        items: list[Any] = (
            []
            if self.run_steps is not None
            else [
                pn.Row(
                    pn.widgets.Select.from_param(self.items.param.outcome, width=180),
                    pn.Spacer(),
                    self._download,
                    align="end",
                ),
                self._table,
            ]
        )
        self._layout = pn.Column(
            self._heading,
            self._counters,
            self._progress,
            *([self.run_steps] if self.run_steps is not None else []),
            self.follow_up,
            *items,
            sizing_mode="stretch_width",
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def _items(self) -> pn.widgets.Tabulator:
        """The items' Tabulator (its value is the current page)."""
        return self._table.table

    @property
    def outcome(self) -> str:
        return self.items.outcome

    @outcome.setter
    def outcome(self, value: str) -> None:
        self.items.outcome = value

    def refresh(self) -> None:
        """Re-read the counters, and the outcome page while the job is still moving."""
        try:
            summary = self.service.job(self.user, self.job_id).summary
        except BulkdeskError as error:
            self._heading.object = f"<b>{esc(error)}</b>"
            return
        moving = summary != self.summary or not summary.status.is_final
        self.summary = summary
        self._heading.object = heading_html("Bulk Interaction Job Status", summary)
        self._counters.object = counters_html(summary)
        self._progress.value = int(round(100 * summary.progress))
        self._progress.bar_color = BAR_COLORS.get(summary.status, "primary")
        if moving:
            self.follow_up.update(summary)
            if self.run_steps is not None:
                self.run_steps.refresh()
        if moving or not self.items.version:
            self.items.load()

    def _csv(self) -> io.BytesIO:
        text = "".join(self.service.export_items_csv(self.user, self.job_id, self.items.outcome))
        return io.BytesIO(text.encode("utf-8"))


class JobDetailsView(pn.viewable.Viewer):
    """A job's parameters, selection, owner and audit events."""

    job_id = param.Integer(doc="The job shown.")

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self._body = pn.Column(sizing_mode="stretch_width")
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._body

    def refresh(self) -> None:
        try:
            detail = self.service.job(self.user, self.job_id)
        except BulkdeskError as error:
            self._body[:] = [pn.pane.Alert(esc(error), alert_type="danger")]
            return
        job = detail.summary
        rows = [
            ("Action", job.action_label),
            ("Parameters", detail.parameters_text),
            *[(k.replace("_", " ").capitalize(), v) for k, v in detail.parameters.items()],
            ("Selection", detail.selection_text),
            ("Accounts at submit", f"{detail.selection.get('count_at_submit', job.total):,}"),
            ("Submitted by", job.owner),
            ("Status", job.status.label),
        ]
        if detail.error:
            rows.append(("Error", detail.error))
        table = "".join(
            f'<tr><th style="text-align:left;padding:3px 12px 3px 0;color:#6b7280;'
            f'font-weight:500;vertical-align:top">{esc(k)}</th>'
            f'<td style="padding:3px 0">{esc(v)}</td></tr>'
            for k, v in rows
        )
        events = pd.DataFrame(
            [(fmt_time(e.at), e.action, e.actor or "system", e.summary) for e in detail.events],
            columns=["When", "Event", "Who", "What"],
        )
        self._body[:] = [
            pn.pane.HTML(
                heading_html("Bulk update job details", job) + f"<table>{table}</table>",
                sizing_mode="stretch_width",
            ),
            pn.pane.HTML("<b>Audit events</b>"),
            pn.widgets.Tabulator(
                events,
                show_index=False,
                disabled=True,
                layout="fit_columns",
                sizing_mode="stretch_width",
                height=220,
                widths={"When": 150, "Event": 80, "Who": 130},
            ),
        ]
