"""The account grid: filter accounts, pick them (or all that match, less a few), and launch
any bulk action on the selection from the toolbar.

One page of accounts at a time (``JobService.account_grid``), sorted on the server over the
whole filtered table. The header checkbox selects every account matching the filter, not
just the page; unchecking rows afterwards records exclusions, listed under the counter and
removable. The toolbar's actions open their dry run before anything is queued. In a
notebook::

    from apps.account_grid import AccountGrid
    AccountGrid(service=JobService(), user="alice")
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn
from bokeh.models.widgets.tables import HTMLTemplateFormatter

from apps.account_grid_actions import ActionDialog
from apps.account_grid_export import ExportDialog, ExportList
from apps.account_grid_state import AccountGridState
from apps.display import esc, not_permitted
from apps.paged_table import PagedTable
from apps.styles import ONE_LINE_CELLS_CSS
from jobs.grid.columns import COLUMNS, CORE, OPTIONAL
from jobs.people import permissions
from jobs.reports.queries import JobSummary
from jobs.service import JobService

#: The row's account id: in the table's data for selection, never shown.
ID = "id"
_FORMATS = {
    "money": {"type": "money", "symbol": "$", "precision": 2},
}
#: File Number opens the account: the grid filtered to it (``?page=accounts&account=…``).
_LINK = HTMLTemplateFormatter(
    template='<a class="bd-account-link" href="?page=accounts&account=<%- value %>" '
    'target="_blank"><%- value %></a>'
)


def grid_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The page's rows as the table shows them (every core and optional column)."""
    keys = [*CORE, *OPTIONAL]
    frame = pd.DataFrame(
        [[r["id"], *(_cell(r.get(k), COLUMNS[k].kind) for k in keys)] for r in rows],
        columns=[ID, *(COLUMNS[k].label for k in keys)],
    )
    return frame


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return "" if kind not in ("money", "int") else None
    if kind == "money":
        return float(value)
    if kind == "date":
        return value.isoformat()
    return value


class AccountGrid(pn.viewable.Viewer):
    """The account grid for ``user``.

    Parameters:
      service: the service API.
      user: the acting user.
      on_submitted: called with each job queued from the toolbar (the shell opens it).
    """

    def __init__(
        self,
        service: JobService,
        user: str,
        on_submitted: Callable[[JobSummary], None] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.service = service
        self.user = user
        self.actor = service.actor(user)
        self.on_submitted = on_submitted
        if not self.actor.has(permissions.BULK_UPDATE):
            self._layout = not_permitted(self.actor)
            return
        self.state = s = AccountGridState(service, self.actor)
        self._showing = False
        self._page_ids: list[int] = []
        self._exports_pending = False
        self.table_view = PagedTable(
            s,
            grid_frame,
            key=ID,
            height=560,
            css_classes=["bd-grid"],
            # A value too long for its column ends in "…"; pointing at it shows it whole.
            configuration={"columnDefaults": {"tooltip": True}},
            stylesheets=[ONE_LINE_CELLS_CSS],
            # Whole account numbers; the names share the rest.
            widths={"File Number": 92, "Account": 140, "Current Balance": 100, "Status": 96},
            selectable="checkbox",
            hidden_columns=[ID],
            formatters={
                "File Number": _LINK,
                **{
                    COLUMNS[k].label: _FORMATS[COLUMNS[k].kind]
                    for k in COLUMNS
                    if COLUMNS[k].kind in _FORMATS and k in (*CORE, *OPTIONAL)
                },
            },
        )
        self.table = self.table_view.table
        self.table.param.watch(self._selection_changed, "selection")
        s.param.watch(self._show_page, ["version"])
        s.param.watch(self._show_selection, ["selected", "all_selected", "excluded", "picked"])
        s.param.watch(self._show_columns, ["columns"])
        s.param.watch(self._show_error, ["error"])

        f = s.filters.param
        filters = [
            pn.widgets.Select.from_param(f.client, css_classes=["bd-client"]),
            pn.widgets.Select.from_param(f.portfolio, css_classes=["bd-portfolio"]),
            pn.Row(
                pn.widgets.Select.from_param(f.status, width=150, css_classes=["bd-status"]),
                pn.widgets.TextInput.from_param(
                    f.state, width=130, placeholder="any", css_classes=["bd-state"]
                ),
            ),
            pn.widgets.Select.from_param(f.collector, css_classes=["bd-collector"]),
            pn.Row(
                pn.widgets.FloatInput.from_param(f.min_balance, width=140, placeholder="any"),
                pn.widgets.FloatInput.from_param(f.max_balance, width=140, placeholder="any"),
            ),
            pn.Row(
                pn.widgets.DatePicker.from_param(
                    f.worked_from, width=140, css_classes=["bd-worked-from"]
                ),
                pn.widgets.DatePicker.from_param(
                    f.worked_to, width=140, css_classes=["bd-worked-to"]
                ),
            ),
            pn.widgets.TextInput.from_param(
                f.text, placeholder="any", css_classes=["bd-text"], sizing_mode="stretch_width"
            ),
        ]
        clear = pn.widgets.Button(label="Clear filters", width=130)
        clear.on_click(lambda _: s.filters.clear())

        self.counter = pn.pane.HTML(
            css_classes=["bd-selection-counter"], sizing_mode="stretch_width"
        )
        self.actions = {a.name: a for a in service.actions(self.actor)}
        self.toolbar = pn.FlexBox(css_classes=["bd-toolbar"], sizing_mode="stretch_width")
        self.action_buttons: dict[str, pn.widgets.Button] = {}
        for action in self.actions.values():
            button = pn.widgets.Button(
                label=action.label,
                width=24 + 8 * len(action.label),
                disabled=True,
                color="primary",
                variant="outline",
                css_classes=[f"bd-tool-{action.name}"],
            )
            button.on_click(lambda _e, name=action.name: self.open_action(name))
            self.action_buttons[action.name] = button
            self.toolbar.append(button)
        self.clear_button = pn.widgets.Button(
            label="Clear selection", width=140, disabled=True, css_classes=["bd-clear-selection"]
        )
        self.clear_button.on_click(lambda _: s.clear_selection())
        self.toolbar.append(self.clear_button)
        self.selection_note = pn.pane.HTML(
            "", css_classes=["bd-selection-note"], sizing_mode="stretch_width"
        )
        self.exclusions = pn.widgets.MultiChoice(
            label="Excluded (remove one to select it again)",
            options=[],
            value=[],
            visible=False,
            css_classes=["bd-exclusions"],
            sizing_mode="stretch_width",
        )
        self.exclusions.param.watch(self._exclusions_edited, "value")
        self.column_picker = pn.widgets.MultiChoice(
            label="More columns",
            options=[COLUMNS[k].label for k in OPTIONAL],
            value=[COLUMNS[k].label for k in s.columns],
            css_classes=["bd-columns"],
            sizing_mode="stretch_width",
        )
        self.column_picker.param.watch(
            lambda e: s.show_columns(list(e.new)) if not self._showing else None, "value"
        )
        self.page_size = pn.widgets.Select.from_param(s.param.page_size, width=120)
        self.info = pn.pane.HTML(css_classes=["bd-account-count"], sizing_mode="stretch_width")
        self.bulk = pn.widgets.Button(
            label="Bulk update these", color="success", width=260, css_classes=["bd-bulk-these"]
        )
        self.bulk.on_click(lambda _: self.bulk_update())
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False)
        self.modal = pn.Modal(width=900, css_classes=["bd-modal"])
        self.exports = ExportList(service, self.actor)
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            # Served: an export being written shows its file here as soon as it is ready.
            pn.state.add_periodic_callback(self._refresh_exports, period=2000)
        # The filters fold away, giving the table their width (on a laptop's screen the
        # grid's columns were cut to a few letters beside them); the count line still
        # says what the filters select.
        self.filters = pn.Column(*filters, clear, self.bulk, width=320, css_classes=["bd-filters"])
        self.filters_button = pn.widgets.Button(
            label="◀ Hide filters", width=130, align="center", css_classes=["bd-filters-toggle"]
        )
        self.filters_button.on_click(lambda _: self.show_filters(not self.filters.visible))
        self._layout = pn.Column(
            pn.Row(
                pn.pane.HTML('<h2 style="margin:0">Accounts</h2>', align="center", width=130),
                self.filters_button,
            ),
            pn.Row(
                self.filters,
                pn.Column(
                    self.counter,
                    self.toolbar,
                    self.selection_note,
                    self.exclusions,
                    self.alert,
                    pn.Row(self.info, self.column_picker, self.page_size),
                    self.table_view,
                    self.exports,
                    sizing_mode="stretch_width",
                ),
                sizing_mode="stretch_width",
            ),
            self.modal,
            sizing_mode="stretch_width",
            css_classes=["bd-account-grid"],
        )
        self._show_page()
        self._show_columns()
        self._show_selection()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- what the person does --------------------------------------------------------------

    def show_filters(self, shown: bool) -> None:
        """Show the filters beside the table, or fold them away for a wider table."""
        self.filters.visible = shown
        self.filters_button.label = "◀ Hide filters" if shown else "Filters ▶"

    def _selection_changed(self, event: Any) -> None:
        """Checkboxes clicked: one row at a time, or the header's (every row of the page at
        once), which selects every account matching the filter, or clears the selection."""
        s = self.state
        rows = s.rows
        # A new page replacing the rows may move the table's selection: not a click.
        if self._showing or [r["id"] for r in rows] != self._page_ids:
            return
        if list(self.table.value[ID]) != self._page_ids:
            return
        before, after = set(event.old or []), set(event.new or [])
        everything = set(range(len(rows)))
        added, removed = after - before, before - after
        if rows and after == everything and len(added) > 1:
            s.select_all()
            return
        if rows and not after and len(removed) > 1:
            s.clear_selection()
            return
        for i in sorted(added | removed):
            if i < len(rows):
                s.check(rows[i]["id"], rows[i]["file_number"], i in added)

    def _exclusions_edited(self, event: Any) -> None:
        if self._showing:
            return
        kept = set(event.new)
        for account_id, file_number in list(self.state.excluded.items()):
            if file_number not in kept:
                self.state.include_again(account_id)

    def open_action(self, name: str) -> ActionDialog | ExportDialog | None:
        """The toolbar: ``name``'s dialog on the selection (fields, dry run, Queue)."""
        s = self.state
        if not s.selected:
            return None
        if name == "export_accounts":
            export = ExportDialog(
                self.service,
                self.actor,
                s.selection(),
                s.selection_text(),
                on_submitted=lambda _job: self._export_queued(),
            )
            self.modal[:] = [export]
            self.modal.open = True
            return export
        dialog = ActionDialog(
            self.service,
            self.actor,
            name,
            s.selection(),
            s.selection_text(),
            on_submitted=self._submitted,
        )
        self.modal[:] = [dialog]
        self.modal.open = True
        return dialog

    def _refresh_exports(self) -> None:
        """While an export queued here is unfinished, its line follows it (then it stops)."""
        if self._exports_pending:
            self.exports.refresh()
            self._exports_pending = self.exports.unfinished()

    def bulk_update(self) -> ActionDialog | ExportDialog | None:
        """Every account the filters match: select them all and open the first action."""
        self.state.select_all()
        return self.open_action(next(iter(self.actions))) if self.actions else None

    def show_account(self, file_number: str) -> None:
        """The grid filtered to one account (where File Number links lead)."""
        self.state.filters.clear()
        self.state.filters.text = file_number.strip()

    def _export_queued(self) -> None:
        self._exports_pending = True
        self.exports.refresh()

    def _submitted(self, job: JobSummary) -> None:
        if self.on_submitted is not None:
            self.modal.open = False
            self.on_submitted(job)

    # -- what the person sees ---------------------------------------------------------------

    def _show_page(self, *_: Any) -> None:
        s = self.state
        self.info.object = (
            f"<b>{s.total:,}</b> account{'s' if s.total != 1 else ''} match ({esc(s.described)})"
        )
        self.bulk.label = (
            f"Bulk update these {s.total:,} accounts" if s.total else "Bulk update these"
        )
        self.bulk.disabled = not s.total
        self._check_rows()
        self._show_selection()

    def _check_rows(self) -> None:
        s = self.state
        self._page_ids = [r["id"] for r in s.rows]
        wanted = [i for i, r in enumerate(s.rows) if s.is_selected(r["id"])]
        if list(self.table.selection) != wanted:
            self._showing = True
            try:
                self.table.selection = wanted
            finally:
                self._showing = False

    def _show_selection(self, *_: Any) -> None:
        s = self.state
        self.counter.object = (
            f'<div style="font-size:16px;padding-top:6px"><b>{esc(s.counter_text())}</b></div>'
        )
        for button in self.action_buttons.values():
            button.disabled = not s.selected
        self.clear_button.disabled = not (s.selected or s.all_selected)
        if s.all_selected:
            matching = "" if s.applied.is_empty() else f" matching {esc(s.described)}"
            note = f"All <b>{s.total:,}</b> accounts{matching} are selected"
            if s.excluded:
                note += f", less <b>{len(s.excluded):,}</b> excluded"
        elif s.picked:
            note = f"<b>{len(s.picked):,}</b> picked by hand (they stay picked as you filter)"
        else:
            note = "Tick accounts, or the header box to select every account that matches"
        self.selection_note.object = f'<div style="color:#374151">{note}</div>'
        labels = sorted(s.excluded.values())
        self._showing = True
        try:
            self.exclusions.options = labels
            self.exclusions.value = labels
        finally:
            self._showing = False
        self.exclusions.visible = bool(labels)
        self._check_rows()

    def _show_columns(self, *_: Any) -> None:
        s = self.state
        hidden = [ID, *(COLUMNS[k].label for k in OPTIONAL if k not in s.columns)]
        self.table.hidden_columns = hidden
        labels = [COLUMNS[k].label for k in s.columns]
        if list(self.column_picker.value) != labels:
            self._showing = True
            try:
                self.column_picker.value = labels
            finally:
                self._showing = False

    def _show_error(self, *_: Any) -> None:
        self.alert.object = esc(self.state.error)
        self.alert.visible = bool(self.state.error)
