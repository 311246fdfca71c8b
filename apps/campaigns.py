"""The Definitions page's Campaigns card: the campaigns (running ones first; a page at a time
from the database, sorted there by any column), and for admins
starting one and ending one — ending a campaign raises the end-of-campaign event, which runs
the campaign definition (the run's number is said). Users read the list; the buttons are
disabled with the reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import panel as pn

from apps.campaigns_state import CampaignsState
from apps.display import esc, fmt_time
from apps.paged_table import PagedTable
from jobs.errors import BulkdeskError
from jobs.service import JobService

COLUMNS = ["ID", "Campaign", "Client", "Started", "Ended", "Ended by"]


def campaign_rows(rows: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (
                c.id,
                c.name,
                c.client or "All clients",
                fmt_time(c.started_at),
                fmt_time(c.ended_at) if c.ended_at else "Running",
                c.ended_by or "",
            )
            for c in rows
        ],
        columns=COLUMNS,
    )


class CampaignsCard(pn.viewable.Viewer):
    """The campaigns, and (admins) start and end them.

    Parameters:
      on_ended: called after a campaign ended (the page refreshes its lists).
    """

    def __init__(
        self,
        service: JobService,
        user: str,
        refusal: str = "",
        on_ended: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.on_ended = on_ended
        can = not refusal
        self.state = CampaignsState(service, user)
        #: The campaign chosen (by id): marked wherever the sort or page puts it, and only
        #: ended while it is on the page shown.
        self._chosen_id: int | None = None
        self.paged = PagedTable(
            self.state,
            campaign_rows,
            key="ID",
            css_classes=["bd-campaigns"],
            selectable=1,
            mark=lambda: self._chosen_id,
            formatters={"ID": {"type": "plaintext"}},  # left, as the definitions' IDs
            widths={"ID": 54, "Client": 110, "Started": 160, "Ended": 160, "Ended by": 130},
        )
        #: The Tabulator itself (its value is the current page).
        self.table = self.paged.table
        self.name_input = pn.widgets.TextInput(
            placeholder="New campaign's name",
            width=240,
            max_length=120,
            disabled=not can,
            css_classes=["bd-campaign-name"],
        )
        start = pn.widgets.Button(
            label="Start campaign",
            width=140,
            disabled=not can,
            description=refusal or "Start a campaign",
            css_classes=["bd-campaign-start"],
        )
        self.end = pn.widgets.Button(
            label="End selected campaign",
            width=190,
            disabled=True,
            description=refusal or "Ends it and runs the campaign definition",
            css_classes=["bd-campaign-end"],
        )
        self.can = can
        self.said = pn.pane.HTML(
            f'<div style="color:#4b5563">{esc(refusal)}</div>' if refusal else "",
            css_classes=["bd-campaign-message"],
            sizing_mode="stretch_width",
        )
        start.on_click(lambda _: self._start())
        self.end.on_click(lambda _: self._end())
        self.table.param.watch(self._selected, "selection")
        self.state.param.watch(self._show_end, "version")
        self._layout = pn.Card(
            self.paged,
            pn.Row(self.name_input, start, pn.HSpacer(), self.end, sizing_mode="stretch_width"),
            self.said,
            title="Campaigns (ending one runs the campaign definition)",
            collapsed=True,
            sizing_mode="stretch_width",
            css_classes=["bd-campaigns-card"],
        )
        self._show_end()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def refresh(self) -> None:
        """Read the page shown again (its sort and page kept)."""
        self.state.load()
        self._show_end()

    def _chosen(self) -> Any:
        """The chosen campaign if it is on the page shown (End acts on what is seen)."""
        return next((c for c in self.state.rows if c.id == self._chosen_id), None)

    def _selected(self, *_: Any) -> None:
        if not self.paged.marking:  # a click, not the table marking the chosen row
            picked, rows = self.table.selection, self.state.rows
            self._chosen_id = rows[picked[0]].id if picked and picked[0] < len(rows) else None
        self._show_end()

    def _show_end(self, *_: Any) -> None:
        chosen = self._chosen()
        self.end.disabled = not self.can or chosen is None or chosen.ended_at is not None

    def _say(self, text: str, failed: bool = False) -> None:
        color = "#b91c1c" if failed else "#166534"
        self.said.object = f'<div style="color:{color}">{esc(text)}</div>'

    def _start(self) -> None:
        try:
            row = self.service.definitions.create_campaign(self.user, self.name_input.value)
        except BulkdeskError as error:
            self._say(str(error), failed=True)
            return
        self.name_input.value = ""
        # The new campaign where it shows: page 1 of the list, running ones first
        self.state.param.update(sort="", descending=False)
        if self.state.page != 1:
            self.state.page = 1
        else:
            self.refresh()
        self._say(f"Campaign {row.name!r} started")

    def _end(self) -> None:
        chosen = self._chosen()
        if chosen is None:
            return
        try:
            ended = self.service.definitions.end_campaign(self.user, chosen.id)
        except BulkdeskError as error:
            self._say(str(error), failed=True)
            return
        self.refresh()
        run = (
            f"; run {ended.job_id} of the campaign definition is queued"
            if ended.job_id
            else "; no campaign definition is enabled, so nothing runs"
        )
        self._say(f"Campaign {chosen.name!r} ended{run}")
        if self.on_ended is not None:
            self.on_ended()
