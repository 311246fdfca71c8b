"""A definition run's detail: its definition, what fired it, when it was due and whether
late, its status (seed 002's icon), and its step history (step, started, ended, outcome,
message, output file, the child job). Opened from the Batch audit log in a new browser tab
(``?page=batch-log&run=12``), and shown under a run's status view in the Monitor::

    from apps.run_view import RunView
    RunView(JobService(), "alice", job_id=12)
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn

from apps.batch_log_state import batch_status
from apps.display import esc, fmt_time
from apps.styles import TABLE_CSS
from jobs.definitions.batch_log import RunDetail, StepRow
from jobs.errors import BulkdeskError
from jobs.service import JobService

STEP_COLUMNS = ["#", "Step", "Type", "Started", "Ended", "Outcome", "Message", "Output file", "Job"]
OUTCOMES = {
    "ok": ("#166534", "✔ Ok"),
    "failed": ("#b91c1c", "✖ Failed"),
    "running": ("#2563eb", "▶ Running"),
    "waiting": ("#475569", "◷ Waiting"),
    "stopped": ("#92400e", "■ Stopped"),
}


def read_run(service: JobService, user: str, job_id: int) -> RunDetail:
    """``DefinitionService.run_detail`` (any logged-in user reads runs).

    Raises:
      NotFound: for a number that is no definition run.
    """
    return service.definitions.run_detail(user, job_id)


def outcome_html(outcome: str) -> str:
    color, text = OUTCOMES.get(outcome, ("#374151", outcome or "—"))
    return f'<span style="color:{color};font-weight:600;white-space:nowrap">{esc(text)}</span>'


def step_rows(steps: list[StepRow]) -> pd.DataFrame:
    """The step history's rows; text cells are plain text, the outcome and job are HTML."""
    return pd.DataFrame(
        [
            (
                s.seq,
                s.step_name,
                s.kind,
                fmt_time(s.started_at),
                fmt_time(s.ended_at),
                outcome_html(s.outcome),
                s.message,
                s.output or "—",
                (
                    f'<a class="bd-child-job" href="?page=monitor&job={s.child_job_id}" '
                    f'target="_blank" rel="noopener">Job {s.child_job_id}</a>'
                    if s.child_job_id
                    else ""
                ),
            )
            for s in steps
        ],
        columns=STEP_COLUMNS,
    )


def facts_html(run: RunDetail) -> str:
    """The run's facts as a two-column table (every value escaped)."""
    detail = run.detail
    rows: list[tuple[str, str]] = [
        (
            "Definition",
            f'<a class="bd-run-definition" href="?page=definitions&definition={run.definition_id}"'
            f' target="_blank" rel="noopener">{esc(run.process)}</a>',
        ),
        ("Trigger", esc(f"{run.trigger} (this run: {run.fired_by.lower()})")),
        ("Due", esc(fmt_time(run.due_at))),
        ("Business day", esc(f"{run.business_day:%Y-%m-%d}")),
        ("Late", esc(run.late_text)),
        ("Status", batch_status(run.status)),
        ("Submitted", esc(fmt_time(run.submitted_at))),
        ("Started", esc(fmt_time(run.started_at))),
        ("Ended", esc(fmt_time(run.ended_at))),
        ("Runs as", esc(run.owner)),
    ]
    if detail.get("file"):
        rows.append(("File", esc(detail["file"])))
    if detail.get("campaign"):
        rows.append(("Campaign", esc(detail["campaign"])))
    if run.error:
        rows.append(("Error", f'<span style="color:#b91c1c">{esc(run.error)}</span>'))
    body = "".join(
        f'<tr><th style="text-align:left;padding:3px 14px 3px 0;color:#4b5563;'
        f'font-weight:500;vertical-align:top;white-space:nowrap">{esc(k)}</th>'
        f'<td style="padding:3px 0">{v}</td></tr>'
        for k, v in rows
    )
    return f'<table class="bd-run-facts">{body}</table>'


class StepHistory(pn.viewable.Viewer):
    """A run's step history as a table (a run has a handful of steps: not paged)."""

    def __init__(self, steps: list[StepRow], **params: Any) -> None:
        super().__init__(**params)
        self.table = pn.widgets.Tabulator(
            step_rows(steps),
            show_index=False,
            disabled=True,
            layout="fit_columns",
            sizing_mode="stretch_width",
            header_align="left",
            # Messages and file names wrap instead of ending mid-word at the edge.
            formatters={
                "Outcome": {"type": "html"},
                "Job": {"type": "html"},
                "Message": {"type": "textarea"},
                "Output file": {"type": "textarea"},
            },
            widths={
                "#": 44,
                "Step": 130,
                "Type": 96,
                "Started": 150,
                "Ended": 150,
                "Outcome": 104,
                "Job": 70,
            },
            stylesheets=[TABLE_CSS],
            css_classes=["bd-run-steps"],
        )
        self.empty = pn.pane.HTML(
            "<b>No step has run yet</b> (a run that waits, is suspended or skipped runs none).",
            css_classes=["bd-empty"],
            styles={"padding": "12px", "color": "#374151", "background": "#f9fafb"},
            visible=not steps,
        )
        self.table.visible = bool(steps)
        self._layout = pn.Column(self.table, self.empty, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def show(self, steps: list[StepRow]) -> None:
        frame = step_rows(steps)
        if not frame.equals(self.table.value):
            self.table.value = frame
        self.table.visible = bool(steps)
        self.empty.visible = not steps


class RunView(pn.viewable.Viewer):
    """One run's detail page; :meth:`refresh` re-reads it (while it is still moving)."""

    def __init__(self, service: JobService, user: str, job_id: int, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.job_id = job_id
        self.run: RunDetail | None = None
        self.heading = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["bd-run-title"])
        self.facts = pn.pane.HTML("", sizing_mode="stretch_width")
        self.steps = StepHistory([])
        self._layout = pn.Column(
            self.heading,
            self.facts,
            pn.pane.HTML("<h3 style='margin:10px 0 4px'>Step history</h3>"),
            self.steps,
            sizing_mode="stretch_width",
            css_classes=["bd-run-view"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    @property
    def moving(self) -> bool:
        return self.run is None or not self.run.status.is_final

    def refresh(self) -> None:
        try:
            run = read_run(self.service, self.user, self.job_id)
        except BulkdeskError as error:
            self.heading.object = (
                f'<h2 style="margin:0">Run {self.job_id}</h2>'
                f'<p class="bd-run-missing">{esc(error)}</p>'
            )
            self.facts.object = ""
            self.steps.show([])
            return
        if run == self.run:
            return
        self.run = run
        self.heading.object = (
            f'<h2 style="margin:0">Run {run.job_id}: {esc(run.process)}</h2>'
            f'<div style="color:#4b5563">A run of the definition, as recorded in the batch '
            f"audit log{'; it refreshes while it runs' if not run.status.is_final else ''}."
            "</div>"
        )
        self.facts.object = facts_html(run)
        self.steps.show(run.steps)


class RunSteps(pn.viewable.Viewer):
    """The step history of a run, as a section of its status view in the Monitor."""

    def __init__(self, service: JobService, user: str, job_id: int, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.job_id = job_id
        self.steps = StepHistory([])
        self.note = pn.pane.HTML("", sizing_mode="stretch_width")
        self._layout = pn.Column(
            pn.pane.HTML(
                "<b>Definition run: step history</b> · "
                f'<a href="?page=batch-log&run={int(job_id)}" target="_blank" rel="noopener">'
                "open its detail in a new tab</a>",
                sizing_mode="stretch_width",
            ),
            self.note,
            self.steps,
            sizing_mode="stretch_width",
            css_classes=["bd-run-section"],
        )
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def refresh(self) -> None:
        try:
            run = read_run(self.service, self.user, self.job_id)
        except BulkdeskError as error:
            self.note.object = esc(error)
            return
        self.note.object = esc(f"Due {fmt_time(run.due_at)} · {run.late_text}")
        self.steps.show(run.steps)
