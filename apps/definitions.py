"""The Definitions page (seed 001): the Filter field, Show disabled, Refresh and a
server-paged list; a definition's tabs — Steps (name, type, next success, next failure, the
step graph; double-click a step for its settings), Schedules (enabled time, schedule, next
run) and History (changes, and the last execution of each step). Admins create and edit
(a form built from the declarations, the error under each field), enable/disable,
suspend/resume with a reason, export and import YAML (with a dry run first) and run now;
users see it all read-only, the write controls disabled with the reason."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.campaigns import CampaignsCard
from apps.definition_form import DefinitionFormView
from apps.definition_import import ImportingPage, yaml_importer
from apps.definitions_state import (
    HTML_COLUMNS,
    DefinitionForm,
    DefinitionListState,
    DefinitionState,
    what_changed,
)
from apps.display import esc, fmt_time
from apps.live import start_live
from apps.paged_table import PagedTable
from apps.run_view import outcome_html
from apps.step_graph import step_figure
from apps.styles import TABLE_CSS
from jobs.errors import BulkdeskError
from jobs.service import JobService

DOUBLE_CLICK_S = 0.7


def _table(frame: pd.DataFrame, css: str, **options: Any) -> pn.widgets.Tabulator:
    return pn.widgets.Tabulator(
        frame,
        show_index=False,
        disabled=True,
        layout="fit_columns",
        sizing_mode="stretch_width",
        header_align="left",
        css_classes=[css],
        **{"stylesheets": [TABLE_CSS], **options},
    )


#: How long the list follows a run started from it (a longer run: press Refresh).
FOLLOW_SECONDS = 300.0


class DefinitionsPage(pn.viewable.Viewer):
    """The Definitions page for one session's user."""

    def __init__(
        self,
        service: JobService,
        user: str,
        on_open: Callable[[int | None], None] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.on_open = on_open
        self.list = s = DefinitionListState(service, user)
        self.can_define = bool(service.definitions.can_define(user))
        self.refusal = (
            ""
            if self.can_define
            else (
                service.definitions.define_refusal(user) or "Only administrators change definitions"
            )
        )
        self.open: DefinitionState | None = None
        self._last_click: tuple[int, float] = (-1, 0.0)
        self._following: Any = None  # the refresh that follows runs started here

        self.filter = pn.widgets.TextInput.from_param(
            s.param.text, width=260, placeholder="Part of a name or description"
        )
        self.filter.css_classes = ["bd-definitions-filter"]
        show_disabled = pn.widgets.Checkbox.from_param(s.param.show_disabled, align="end")
        show_disabled.css_classes = ["bd-show-disabled"]
        refresh = pn.widgets.Button(label="Refresh", width=100, css_classes=["bd-refresh"])
        refresh.on_click(lambda _: self.refresh())
        self.new_button = pn.widgets.Button(
            label="+ New definition",
            color="primary",
            width=170,
            disabled=not self.can_define,
            description=self.refusal or "Define a new multi-step job",
            css_classes=["bd-new-definition"],
        )
        self.new_button.on_click(lambda _: self.edit(None))
        self.importer = yaml_importer(
            ImportingPage(service, user, self.can_define, self.refusal, self.list.load)
        )
        self.campaigns = CampaignsCard(service, user, self.refusal, on_ended=self.list.load)
        self.table = PagedTable(
            s,
            s.frame,
            key="ID",
            css_classes=["bd-definitions"],
            selectable=1,
            # The row marked is the definition open below, wherever the list puts it.
            mark=lambda: self.open.detail.id if self.open is not None else None,
            formatters={
                "ID": {"type": "plaintext"},
                # Long names and schedules wrap rather than end mid-word.
                "Name": {"type": "textarea"},
                "Schedule": {"type": "textarea"},
                **{c: {"type": "html"} for c in HTML_COLUMNS},
            },
            widths={
                "ID": 50,
                "Trigger": 84,
                "Next run": 150,
                "Enabled": 90,
                "Suspended": 100,
                "Owner": 110,
                "Last run": 214,
            },
        )
        self.table.table.on_click(self._row_clicked)
        self.detail = pn.Column(sizing_mode="stretch_width", css_classes=["bd-definition"])
        read_only = pn.pane.Alert(
            f"<b>Read-only.</b> {esc(self.refusal)}",
            alert_type="secondary",
            visible=not self.can_define,
            css_classes=["bd-read-only"],
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            pn.pane.HTML(
                '<h2 style="margin:0">Job definitions</h2><div style="color:#4b5563">'
                "Multi-step jobs and what triggers them. Click a definition to see its steps, "
                "schedules and history.</div>"
            ),
            read_only,
            pn.Row(
                self.filter,
                pn.Column(pn.Spacer(height=14), show_disabled, width=150),
                pn.Column(pn.Spacer(height=18), refresh, width=110),
                pn.HSpacer(),
                pn.Column(pn.Spacer(height=18), self.new_button, width=180),
                sizing_mode="stretch_width",
            ),
            self.importer,
            self.campaigns,
            self.table,
            self.detail,
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- the list -------------------------------------------------------------------------

    def refresh(self) -> None:
        self.list.load()
        if self.open is not None:
            try:
                self.open.load()
            except BulkdeskError:
                self.close()
                return
            self._show_definition()

    def _row_clicked(self, event: Any) -> None:
        frame = self.table.table.value
        if event.row is not None and 0 <= event.row < len(frame):
            self.open_definition(int(frame.iloc[event.row]["ID"]))

    def open_definition(self, key: int | str) -> bool:
        """Open a definition by id or name (``?page=definitions&definition=3``)."""
        text = str(key).strip()
        try:
            self.open = DefinitionState(
                self.service, self.user, int(text) if text.isdigit() else text
            )
        except BulkdeskError as error:
            self.detail[:] = [
                pn.pane.Alert(
                    esc(error), alert_type="danger", css_classes=["bd-definition-missing"]
                )
            ]
            return False
        self._show_definition()
        self.table.mark_row()
        if self.on_open is not None:
            self.on_open(self.open.detail.id)
        return True

    def close(self) -> None:
        self.open = None
        self.detail[:] = []
        self.table.mark_row()
        if self.on_open is not None:
            self.on_open(None)

    # -- one definition -------------------------------------------------------------------

    def _show_definition(self) -> None:
        st = self.open
        assert st is not None
        d = st.detail
        state = "Enabled" if d.enabled else "Disabled"
        if d.suspended_at:
            state += (
                f" · <b style='color:#92400e'>Suspended</b> by {esc(d.suspended_by or '?')} at "
                f"{esc(fmt_time(d.suspended_at))}: “{esc(d.suspended_reason or '')}”"
            )
        heading = pn.pane.HTML(
            f'<h3 style="margin:4px 0">{esc(d.name)}</h3>'
            f'<div style="color:#374151">{esc(d.description)}</div>'
            f'<div style="color:#4b5563;font-size:13px">{esc(d.trigger_label)} · '
            f"{esc(d.schedule_text)} · runs as {esc(d.owner)} · {state}</div>",
            sizing_mode="stretch_width",
            css_classes=["bd-definition-title"],
        )
        self.message = pn.pane.HTML(
            "", css_classes=["bd-definition-message"], sizing_mode="stretch_width"
        )
        st.param.watch(self._show_message, ["message", "failed"])
        self._show_message()
        close = pn.widgets.Button(label="Close", width=80)
        close.on_click(lambda _: self.close())
        self.detail[:] = [
            pn.Row(heading, close, sizing_mode="stretch_width"),
            self._actions(st),
            self.message,
            pn.Tabs(
                ("Steps", self._steps_tab(st)),
                ("Schedules", self._schedules_tab(st)),
                ("History", self._history_tab(st)),
                sizing_mode="stretch_width",
                css_classes=["bd-definition-tabs"],
            ),
        ]

    def _show_message(self, *_: Any) -> None:
        st = self.open
        if st is None:
            return
        color = "#b91c1c" if st.failed else "#166534"
        self.message.object = (
            f'<div style="color:{color};padding:2px 0">{esc(st.message)}</div>'
            if st.message
            else ""
        )

    def _actions(self, st: DefinitionState) -> pn.Row:
        d = st.detail
        why = self.refusal
        can = self.can_define

        def button(
            label: str, css: str, handler: Callable[[], None], **kw: Any
        ) -> pn.widgets.Button:
            b = pn.widgets.Button(
                label=label,
                width=kw.pop("width", 110),
                disabled=not can,
                description=why or kw.pop("help", label),
                css_classes=[css],
                **kw,
            )
            b.on_click(lambda _: handler())
            return b

        edit = button("Edit", "bd-edit", lambda: self.edit(st.detail))
        toggle = button(
            "Disable" if d.enabled else "Enable",
            "bd-toggle",
            lambda: self._act("disable" if st.detail.enabled else "enable"),
        )
        reason = pn.widgets.TextInput(
            placeholder="Reason (needed to suspend)",
            width=240,
            disabled=not can,
            css_classes=["bd-suspend-reason"],
            max_length=500,
        )
        suspended = bool(d.suspended_at)
        suspend = button(
            "Resume" if suspended else "Suspend…",
            "bd-suspend",
            lambda: self._act("resume" if st.detail.suspended_at else "suspend", reason.value),
            width=110,
        )
        run_now = button("Run now", "bd-run-now", lambda: self._act("run_now"), color="primary")
        if can and suspended:  # the service refuses a suspended definition's run
            run_now.disabled = True
            run_now.description = "Suspended: resume it first"
        export = pn.widgets.FileDownload(
            callback=lambda: io.BytesIO(st.export_yaml().encode("utf-8")),
            filename=f"{_file_name(d.name)}.yaml",
            label="Export YAML",
            width=130,
            css_classes=["bd-export-yaml"],
        )
        return pn.Row(
            edit,
            toggle,
            reason,
            suspend,
            run_now,
            pn.HSpacer(),
            export,
            sizing_mode="stretch_width",
        )

    def _act(self, action: str, reason: str = "") -> None:
        st = self.open
        if st is None:
            return
        if st.act(action, reason):
            self.list.load()
            self._show_definition()
            if action == "run_now":
                self.follow_runs()

    def follow_runs(self, seconds: float = FOLLOW_SECONDS) -> None:
        """Keep the list's "Last run" current (every 2 s) while a run on its page is not
        final, for up to ``seconds``: a run started here shows Queued, Running, then Ok
        without a press of Refresh."""
        if self._following is not None:
            return
        until = time.monotonic() + seconds

        def tick() -> None:
            self.list.load()
            going = any(
                r.last_run_status is not None and not r.last_run_status.is_final
                for r in self.list.rows
            )
            if (not going or time.monotonic() > until) and self._following is not None:
                self._following.stop()
                self._following = None

        self._following = start_live(tick, period=2000)

    def _steps_tab(self, st: DefinitionState) -> pn.viewable.Viewable:
        d = st.detail
        frame = pd.DataFrame(
            [
                (
                    s.name,
                    s.kind_label,
                    s.next_success or "(end of run)",
                    s.next_failure or "(end: run ends in Error)",
                    s.settings_text,
                )
                for s in d.steps
            ],
            columns=["Name", "Type", "Next success step", "Next failure step", "Settings"],
        )
        self.steps_table = _table(
            frame,
            "bd-steps",
            selectable=1,
            widths={"Name": 130, "Type": 90, "Next success step": 150, "Next failure step": 190},
            # The settings' summary wraps instead of ending mid-word at the edge.
            formatters={"Settings": {"type": "textarea"}},
            # A double-click opens the settings; it should not also select the cell's text.
            stylesheets=[TABLE_CSS, ".tabulator-row { user-select: none; }"],
        )
        self.settings_view = pn.Column(
            pn.pane.HTML(
                '<div style="color:#4b5563">Double-click a step to see its settings.</div>'
            ),
            sizing_mode="stretch_width",
            css_classes=["bd-step-settings"],
        )
        self.steps_table.on_click(self._step_clicked)
        graph = pn.Column(
            pn.pane.Bokeh(step_figure(d.steps)), width=470, css_classes=["bd-step-graph"]
        )
        return pn.Row(
            pn.Column(self.steps_table, self.settings_view, sizing_mode="stretch_width"),
            graph,
            sizing_mode="stretch_width",
        )

    def _step_clicked(self, event: Any) -> None:
        """Two clicks on the same row in quick succession: the step's settings."""
        row, at = event.row, time.monotonic()
        last_row, last_at = self._last_click
        self._last_click = (row, at)
        if row == last_row and at - last_at < DOUBLE_CLICK_S:
            self.show_step(str(self.steps_table.value.iloc[row]["Name"]))

    def show_step(self, name: str) -> None:
        st = self.open
        if st is None:
            return
        st.selected_step = name
        rows = st.step_settings(name)
        body = "".join(
            f'<tr><th style="text-align:left;padding:3px 14px 3px 0;color:#4b5563;'
            f'font-weight:500;vertical-align:top">{esc(k)}</th><td>{esc(v)}</td></tr>'
            for k, v in rows
        )
        self.settings_view[:] = [
            pn.pane.HTML(
                f'<h4 style="margin:8px 0 4px">Settings of step “{esc(name)}”</h4>'
                f'<table class="bd-step-settings-table">{body}</table>',
                sizing_mode="stretch_width",
            )
        ]

    def _schedules_tab(self, st: DefinitionState) -> pn.viewable.Viewable:
        d = st.detail
        frame = pd.DataFrame(
            [
                (
                    fmt_time(d.enabled_at) if d.enabled else "Disabled",
                    d.schedule_text or "—",
                    d.timezone,
                    fmt_time(d.next_due_at)
                    if d.enabled and not d.suspended_at and d.next_due_at
                    else ("Not scheduled" if d.enabled else "— (disabled)"),
                    fmt_time(d.last_due_at),
                    ", ".join(d.depends_on) or "—",
                )
            ],
            columns=["Enabled time", "Schedule", "Time zone", "Next run", "Last due", "Depends on"],
        )
        return _table(frame, "bd-schedules", height=90)

    def _history_tab(self, st: DefinitionState) -> pn.viewable.Viewable:
        h = st.history
        changes = pd.DataFrame(
            [
                (fmt_time(c.at), c.actor, c.action, c.summary or what_changed(c.details))
                for c in h.changes
            ],
            columns=["When", "Who", "Change", "What changed"],
        )
        last = pd.DataFrame(
            [
                (
                    r.step_name + ("" if r.in_definition else " (removed since)"),
                    r.kind,
                    (
                        f'<a href="?page=batch-log&run={r.job_id}" target="_blank" '
                        f'rel="noopener">Run {r.job_id}</a>'
                        if r.job_id
                        else "never ran"
                    ),
                    fmt_time(r.started_at),
                    fmt_time(r.ended_at),
                    outcome_html(r.outcome) if r.outcome else "—",
                    r.message,
                    r.output or "—",
                )
                for r in h.last_steps
            ],
            columns=[
                "Step",
                "Type",
                "Run",
                "Started",
                "Ended",
                "Outcome",
                "Message",
                "Output file",
            ],
        )
        return pn.Column(
            pn.pane.HTML("<h4 style='margin:6px 0'>Changes</h4>"),
            _table(
                changes,
                "bd-changes",
                height=min(60 + 34 * len(changes), 300),
                widths={"When": 160, "Who": 130, "Change": 100},
            ),
            pn.pane.HTML("<h4 style='margin:6px 0'>Last execution of each step</h4>"),
            _table(
                last,
                "bd-last-steps",
                formatters={"Outcome": {"type": "html"}, "Run": {"type": "html"}},
                widths={
                    "Step": 140,
                    "Type": 80,
                    "Run": 80,
                    "Started": 150,
                    "Ended": 150,
                    "Outcome": 100,
                },
            ),
            sizing_mode="stretch_width",
        )

    # -- create / edit ------------------------------------------------------------------------

    def edit(self, detail: Any) -> None:
        """The create (``detail`` None) or edit form, in place of the definition."""
        if not self.can_define:
            return
        form = DefinitionForm(self.service, self.user, detail)
        self.form = form
        self.detail[:] = [DefinitionFormView(self.service, form, on_done=self._saved)]

    def _saved(self, saved: Any) -> None:
        self.list.load()
        if saved is None:
            if self.open is not None:
                self._show_definition()
            else:
                self.detail[:] = []
            return
        self.open_definition(saved.id)
        if self.open is not None:
            self.open.param.update(message="Saved", failed=False)


def _file_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in name).strip("-") or "definition"
