"""One paged table for every list: pages and sorting come from the server.

Clicking a sortable header sorts the whole result on the server (``PagedState.sort_by``)
and shows page 1 of it; the table itself never re-sorts the rows it shows, and an arrow in
the header says how the list is sorted. The pager's ends are disabled at the ends and a page
number can be typed; an empty list says so in words. The sort and the page survive the live
refresh, which patches the rows that changed instead of redrawing the table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.display import esc
from apps.styles import TABLE_CSS
from apps.table_state import PagedState

#: Tabulator's own sort arrow and the room it keeps beside each title go (its stylesheet's
#: rules are more specific than any here, hence ``!important``).
SORT_CSS = """
.tabulator .tabulator-col .tabulator-col-sorter { display: none !important; }
.tabulator .tabulator-col.tabulator-sortable .tabulator-col-title {
  cursor: pointer;
  padding-right: 0 !important;
}
"""

#: Runs in the browser whenever the table's rows change. Panel's table view (1.9) ignores new
#: rows that arrive while it is still building its table (``setData`` returns early), and
#: nothing shows them afterwards: a table shown and given new rows at once (the Monitor after a
#: launch; the live refresh just after the page or the notebook cell is drawn) kept its old
#: rows until a reload, as the refresh then sends only changed cells. So, once the table is
#: built, it is given the rows it holds now.
ROWS_WHEN_BUILT = """
const building = (view) => view.tabulator == null || view._initializing || view._building
  || !view.tabulator.initialized;
const index = window.Bokeh && Bokeh.index;
const views = index && index.find_all ? index.find_all(table) : [];
for (const view of views) {
  if (!building(view) || view._bd_rows_when_built) { continue; }
  view._bd_rows_when_built = true;
  const started = Date.now();
  const again = () => {
    if (building(view) && Date.now() - started < 120000) {
      setTimeout(again, 100);
      return;
    }
    view._bd_rows_when_built = false;
    if (!building(view)) {
      view.setData().then(() => view.postUpdate());
    }
  };
  setTimeout(again, 100);
}
"""


class PagedTable(pn.viewable.Viewer):
    """A Tabulator over ``state``'s current page.

    Parameters:
      state: the list's state (page, sort, rows).
      frame: turns the page's rows into the table's DataFrame (its columns are the titles).
      key: the column that identifies a row (for patching and selection), e.g. "Job".
      mark: gives the key of the row to show selected (the one open beside the list), or
        None: after every read the table marks that row wherever the sort or page put it,
        or no row (Tabulator alone keeps marking the same place, another row).
      tabulator: more options for ``pn.widgets.Tabulator`` (widths, formatters, groups…).
      css_classes: classes of the table, for tests and styles.
    """

    def __init__(
        self,
        state: PagedState,
        frame: Callable[[list[Any]], pd.DataFrame],
        *,
        key: str,
        css_classes: list[str] | None = None,
        height: int | None = None,
        mark: Callable[[], Any] | None = None,
        **tabulator: Any,
    ) -> None:
        super().__init__()
        self.state = state
        self.frame = frame
        self.key = key
        self.mark = mark
        #: True while the table's selection is being set to the marked row (not a click).
        self.marking = False
        first = frame(state.rows)
        self.table = pn.widgets.Tabulator(
            first,
            show_index=False,
            disabled=True,
            sizing_mode="stretch_width",
            layout="fit_columns",
            header_align="left",
            sortable={c: c in state.SORT_KEYS for c in first.columns},
            # The arrow in the title says how the whole list is sorted; Tabulator's own
            # arrow would speak of the page only.
            stylesheets=[SORT_CSS, TABLE_CSS, *tabulator.pop("stylesheets", [])],
            css_classes=css_classes or [],
            **({"height": height} if height else {}),
            **tabulator,
        )
        self.table.jscallback(args={"table": self.table}, **{"source.data": ROWS_WHEN_BUILT})
        self._titles = dict(tabulator.get("titles") or {})
        self._resetting = False
        self.table.param.watch(self._sorted, "sorters")
        self.empty = pn.pane.HTML(
            "",
            visible=False,
            css_classes=["bd-empty"],
            sizing_mode="stretch_width",
            styles={
                "padding": "18px",
                "color": "#374151",
                "font-size": "15px",
                "background": "#f9fafb",
                "border": "1px dashed #d1d5db",
            },
        )
        self.first_button = pn.widgets.Button(label="« First", width=80)
        self.previous_button = pn.widgets.Button(label="‹ Previous", width=100)
        self.next_button = pn.widgets.Button(label="Next ›", width=100)
        self.last_button = pn.widgets.Button(label="Last »", width=80)
        self.page_input = pn.widgets.IntInput(
            label="", value=state.page, start=1, width=90, css_classes=["bd-page-number"]
        )
        # The words take the room the buttons leave (and wrap in a narrow place: beside the
        # accounts' filters, fixed widths pushed "Last »" out of sight).
        self.pager = pn.pane.HTML(
            "", css_classes=["bd-pager"], align="center", sizing_mode="stretch_width", min_width=160
        )
        self.first_button.on_click(lambda _: state.go(1))
        self.previous_button.on_click(lambda _: state.go(state.page - 1))
        self.next_button.on_click(lambda _: state.go(state.page + 1))
        self.last_button.on_click(lambda _: state.go_last())
        self.page_input.param.watch(self._typed_page, "value")
        state.param.watch(self._show_rows, "version")
        self.pager_row = pn.Row(
            self.first_button,
            self.previous_button,
            pn.pane.HTML("Page", align="center", width=38),
            self.page_input,
            self.pager,
            self.next_button,
            self.last_button,
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            self.table, self.empty, self.pager_row, sizing_mode="stretch_width"
        )
        self._show_rows()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- what the person does -----------------------------------------------------------

    def _sorted(self, event: Any) -> None:
        """A header was clicked: sort on the server, and undo the table's own sort."""
        if self._resetting or not event.new:
            return
        title = event.new[0].get("field")
        key = self.state.SORT_KEYS.get(title)
        if key is not None:
            self.state.sort_by(key)
        self._resetting = True
        try:
            self.table.sorters = []
        finally:
            self._resetting = False

    def _typed_page(self, event: Any) -> None:
        if event.new is not None and event.new != self.state.page:
            self.state.go(event.new)
            if self.page_input.value != self.state.page:
                self.page_input.value = self.state.page

    # -- what the person sees -------------------------------------------------------------

    def _show_rows(self, *_: Any) -> None:
        s = self.state
        frame = self.frame(s.rows)
        current = self.table.value
        # The same rows (none included: an empty list is not sent again every refresh).
        same_rows = len(frame) == len(current) and list(frame[self.key]) == list(current[self.key])
        if same_rows:
            patch = {
                c: [
                    (i, v)
                    for i, (v, old) in enumerate(zip(frame[c], current[c], strict=True))
                    if v != old
                ]
                for c in frame.columns
            }
            patch = {c: changes for c, changes in patch.items() if changes}
            if patch:
                self.table.patch(patch)
        else:
            self.table.value = frame
        titles = {
            **self._titles,
            **{c: self._titles.get(c, c) + s.sort_mark(c) for c in s.SORT_KEYS},
        }
        if titles != self.table.titles:
            self.table.titles = titles
        empty = not s.rows
        self.table.visible = not empty
        self.empty.visible = empty
        self.empty.object = f"<b>{esc(s.EMPTY)}</b>"
        self.pager.object = esc(s.pager_text())
        self.first_button.disabled = self.previous_button.disabled = s.page <= 1
        self.next_button.disabled = self.last_button.disabled = s.exact and s.page >= s.pages
        self.page_input.end = s.pages if s.exact else None
        if self.page_input.value != s.page:
            self.page_input.value = s.page
        self.pager_row.visible = not empty or s.page > 1
        if self.mark is not None:
            self.mark_row()

    def mark_row(self) -> None:
        """Show selected the row whose key ``mark`` gives (none if it is not on the page)."""
        wanted_key = self.mark() if self.mark is not None else None
        keys = [str(k) for k in self.table.value[self.key]] if len(self.table.value) else []
        wanted = (
            [keys.index(str(wanted_key))]
            if wanted_key is not None and str(wanted_key) in keys
            else []
        )
        if list(self.table.selection) != wanted:
            self.marking = True
            try:
                self.table.selection = wanted
            finally:
                self.marking = False
