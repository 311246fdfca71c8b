"""How the dashboard looks, in one place: the tables' rows and headers, the font, the design.

Every colour pair here keeps text readable (WCAG AA, a contrast of at least 4.5:1) in every
state of a row: normal, pointed at, selected, selected and pointed at. The served pages fetch
nothing from the internet: the font is the system's, and :class:`OfflineFast` is Panel's Fast
design without the web font it links. Used as::

    pn.widgets.Tabulator(..., stylesheets=[TABLE_CSS])
    pn.template.FastListTemplate(..., design=OfflineFast, font=FONT)
"""

from __future__ import annotations

from panel.io.resources import CDN_DIST
from panel.theme.fast import Fast

#: The system's own sans-serif (nothing downloaded), as on the login page.
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'

TEXT = "#111827"
#: Links in cells (the job's action): 6.7:1 on white, 6.1:1 on the selected row.
LINK = "#1d4ed8"
LINK_HOVER = "#1e3a8a"
#: Secondary lines in cells (the owner under a description): 6.9:1 on the selected row.
MUTED = "#4b5563"
HOVER_BACKGROUND = "#f4f8fe"
SELECTED_BACKGROUND = "#eef5ff"
#: The outline of the row pointed at, of the selected row, and the bar at its left.
HOVER_RING = "#60a5fa"
SELECTED_RING = "#bfdbfe"
SELECTED_BAR = LINK

#: For tables of one-line values (the account grid): a value too long for its column ends in
#: "…" (Panel's formatters wrap it in a div of its own, which Tabulator's cell rule misses).
ONE_LINE_CELLS_CSS = """
.tabulator-row .tabulator-cell > div {
  overflow: hidden; text-overflow: ellipsis; white-space: nowrap;
}
"""

#: Radio buttons drawn round (Panel's Fast design draws them square, like the checkboxes,
#: so a one-of choice looked like a many-of one): a ring, filled when chosen.
RADIO_CSS = """
.bk-input-group input[type='radio'] { border-radius: 50%; }
"""

# Tabulator's theme paints the row pointed at and the selected row in the accent blue with
# white text, which hides blue links and grey lines; its rules are not !important, so these
# win. The selected row keeps its light background when pointed at (the outline says
# "pointed at"): a darker tint would push the amber and grey texts of the cells below 4.5:1.
TABLE_CSS = f"""
.tabulator-row .tabulator-cell {{ color: {TEXT}; padding-top: 6px; padding-bottom: 6px; }}
.tabulator-row.tabulator-selectable:hover {{
  background-color: {HOVER_BACKGROUND} !important;
  color: {TEXT} !important;
  box-shadow: inset 0 0 0 1px {HOVER_RING};
}}
.tabulator-row.tabulator-selected {{
  background-color: {SELECTED_BACKGROUND} !important;
  color: {TEXT} !important;
  box-shadow: inset 4px 0 0 {SELECTED_BAR}, inset 0 0 0 1px {SELECTED_RING};
}}
.tabulator-row.tabulator-selected:hover {{
  background-color: {SELECTED_BACKGROUND} !important;
  box-shadow: inset 4px 0 0 {SELECTED_BAR}, inset 0 0 0 1px {HOVER_RING};
}}
.tabulator-row .tabulator-cell a {{ color: {LINK} !important; }}
.tabulator-row .tabulator-cell a:hover {{ color: {LINK_HOVER} !important; }}
.tabulator-row .tabulator-cell .bd-description + div {{ color: {MUTED} !important; }}
.tabulator .tabulator-header .tabulator-col {{ background: #f8fafc; }}
/* Titles wrap at spaces instead of ending in "…" ("Account nu…"), and keep only the room
   the sort arrow takes (12 px at 4 px from the edge), not Tabulator's 25 px. */
.tabulator .tabulator-header .tabulator-col .tabulator-col-content .tabulator-col-title {{
  white-space: normal !important;
  text-overflow: clip !important;
  overflow-wrap: break-word;
}}
.tabulator .tabulator-header .tabulator-col.tabulator-sortable .tabulator-col-content
  .tabulator-col-title {{ padding-right: 18px; }}
"""


class OfflineFast(Fast):
    """Panel's Fast design without the Google-hosted Open Sans it links on every page (a
    failed request, and a console error, on a machine without internet)."""

    # Panel looks a design's relative files up under its class name; point them at the
    # files Panel bundles for Fast.
    _resources = {
        kind: (
            {
                name: url if "://" in url else f"{CDN_DIST}bundled/fast/{url}"
                for name, url in entries.items()
            }
            if isinstance(entries, dict) and kind != "tarball"
            else entries
        )
        for kind, entries in Fast._resources.items()
        if kind != "font"
    }
