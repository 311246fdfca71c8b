"""The Assign dialog's collector list (seed 004): search for a collector, give a number of
accounts (or leave it empty for an even share of the rest), press + to add them; each line
can be removed. Its ``value`` is the allocation as text (``"Ann Lee = 300; Bob Stone"``),
the same text the CLI takes with ``--to``; the service checks it.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from apps.display import esc


def parse_lines(text: str) -> list[tuple[str, int | None]]:
    """The allocation text as (name, number or None) lines, as typed (not checked)."""
    out: list[tuple[str, int | None]] = []
    for part in (text or "").replace("\n", ";").split(";"):
        name, _, number = part.partition("=")
        if name.strip():
            digits = number.strip().replace(",", "")
            out.append((name.strip(), int(digits) if digits.isdigit() else None))
    return out


def join_lines(lines: list[tuple[str, int | None]]) -> str:
    return "; ".join(f"{n} = {c}" if c else n for n, c in lines)


class AllocationInput(pn.widgets.CompositeWidget):
    """Collectors with a number of accounts each; ``value`` is the allocation text."""

    value = param.String(default="")
    options = param.List(default=[], doc="The collectors to search (and Unassign).")

    _composite_type = pn.Column

    def __init__(self, label: str = "Assign to", **params: Any) -> None:
        css = params.pop("css_classes", [])
        params.pop("sizing_mode", None)
        super().__init__(**params)
        self.search = pn.widgets.AutocompleteInput(
            label=label,
            options=list(self.options),
            min_characters=1,
            case_sensitive=False,
            search_strategy="includes",
            restrict=True,
            placeholder="Search for a collector",
            css_classes=["bd-allocation-search"],
            sizing_mode="stretch_width",
        )
        self.count = pn.widgets.IntInput(
            label="Accounts",
            value=None,
            start=1,
            placeholder="even share",
            width=120,
            css_classes=["bd-allocation-count"],
        )
        self.add = pn.widgets.Button(
            label="+", width=40, align="end", color="primary", css_classes=["bd-allocation-add"]
        )
        self.add.on_click(self._add)
        self.listing = pn.Column(css_classes=["bd-allocation-list"], sizing_mode="stretch_width")
        self._composite[:] = [pn.Row(self.search, self.count, self.add), self.listing]
        self._composite.css_classes = css
        self._composite.sizing_mode = "stretch_width"
        self.param.watch(self._show, "value")
        self._show()

    def _add(self, *_: Any) -> None:
        name = (self.search.value or "").strip()
        if not name:
            return
        lines = [(n, c) for n, c in parse_lines(self.value) if n.casefold() != name.casefold()]
        lines.append((name, self.count.value or None))
        self.value = join_lines(lines)
        self.search.value = ""
        self.count.value = None

    def _remove(self, name: str) -> None:
        self.value = join_lines([(n, c) for n, c in parse_lines(self.value) if n != name])

    def _show(self, *_: Any) -> None:
        rows: list[Any] = []
        for name, count in parse_lines(self.value):
            remove = pn.widgets.Button(label="✕", width=34, css_classes=["bd-allocation-remove"])
            remove.on_click(lambda _e, n=name: self._remove(n))
            words = f"{count:,} accounts" if count else "an even share of the rest"
            rows.append(
                pn.Row(
                    pn.pane.HTML(f"<b>{esc(name)}</b> — {words}", sizing_mode="stretch_width"),
                    remove,
                )
            )
        if not rows:
            rows = [pn.pane.HTML('<span style="color:#6b7280">No collector added yet</span>')]
        self.listing[:] = rows
