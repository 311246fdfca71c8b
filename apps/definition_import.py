"""The Definitions page's Import YAML card: a file is previewed first (a dry run that says
what would be created, updated or left alone, or every problem with its line), then imported;
for a user the card says why it is not offered."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import panel as pn

from apps.definitions_state import what_changed
from apps.display import esc
from jobs.errors import BulkdeskError


@dataclass(frozen=True)
class ImportingPage:
    """What the card needs of the Definitions page it sits on."""

    service: Any
    user: Any
    can_define: bool
    refusal: str | None
    #: Called after an import wrote something (the page's list reloads).
    imported: Callable[[], None]


def yaml_importer(page: ImportingPage) -> pn.viewable.Viewable:
    """The Import YAML card of ``page``: choose a file, preview (a dry run), then import."""
    upload = pn.widgets.FileInput(
        accept=".yaml,.yml", disabled=not page.can_define, css_classes=["bd-import-file"]
    )
    preview = pn.widgets.Button(
        label="Preview (dry run)",
        width=150,
        disabled=not page.can_define,
        css_classes=["bd-import-preview"],
    )
    apply = pn.widgets.Button(
        label="Import",
        width=100,
        color="primary",
        disabled=True,
        css_classes=["bd-import-apply"],
    )
    said = pn.pane.HTML("", css_classes=["bd-import-result"], sizing_mode="stretch_width")
    if not page.can_define:
        said.object = f'<div style="color:#4b5563">{esc(page.refusal)}</div>'

    def run(dry: bool) -> None:
        if not upload.value:
            said.object = '<div style="color:#b91c1c">Choose a YAML file first</div>'
            return
        text = upload.value.decode("utf-8", errors="replace")
        try:
            result = page.service.definitions.import_yaml(page.user, text, dry_run=dry)
        except BulkdeskError as error:
            problems = getattr(error, "problems", None) or []
            items = (
                "".join(
                    f"<li>{esc(p.definition or '')} {esc(p.field or '')}"
                    f"{' (line ' + str(p.line) + ')' if p.line else ''}: {esc(p.message)}</li>"
                    for p in problems
                )
                or f"<li>{esc(error)}</li>"
            )
            said.object = f'<div style="color:#b91c1c">Nothing was imported:<ul>{items}</ul></div>'
            apply.disabled = True
            return
        lines = [
            ("Would create" if dry else "Created", result.created),
            ("Would update" if dry else "Updated", result.updated),
            ("Unchanged", result.unchanged),
        ]
        text_ = (
            " · ".join(f"{k}: {esc(', '.join(v))}" for k, v in lines if v) or "Nothing in the file"
        )
        changes = "".join(
            f"<li>{esc(name)}: {esc(what_changed(fields))}</li>"
            for name, fields in result.changes.items()
            if name in result.updated  # a new one's "changes" are all its fields
        )
        said.object = f"<div>{text_}{f'<ul>{changes}</ul>' if changes else ''}</div>"
        apply.disabled = not dry or not (result.created or result.updated)
        if not dry:
            page.imported()

    preview.on_click(lambda _: run(True))
    apply.on_click(lambda _: run(False))
    upload.param.watch(lambda _e: setattr(apply, "disabled", True), "value")
    return pn.Card(
        pn.Row(upload, preview, apply),
        said,
        title="Import YAML",
        collapsed=True,
        sizing_mode="stretch_width",
        css_classes=["bd-importer"],
    )
