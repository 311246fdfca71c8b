"""Export from the account grid: a template, the columns, masking per sensitive column, a
dry run, then the job; and the person's recent exports with their files to download.

The dialog is the launch state over the grid's selection (``apps.account_grid_actions``)
with the export's parameters set by widgets made for them. Sensitive columns are masked
unless unticked by someone with the unmask permission; the service checks it again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from apps.account_grid_actions import SelectionCriteria
from apps.display import esc, fmt_time, status_badge
from apps.launch_state import LaunchState
from jobs.errors import BulkdeskError
from jobs.exports.templates import DEFAULT_COLUMNS
from jobs.grid.columns import COLUMNS, SENSITIVE
from jobs.people import permissions
from jobs.reports.queries import JobFilter, JobSummary
from jobs.service import DESCRIPTION_MAX, JobService
from jobs.sources.accounts import AccountSelection

NO_TEMPLATE = "(no template)"
_LABELS = {c.label: k for k, c in COLUMNS.items()}


class ExportDialog(pn.viewable.Viewer):
    """Export the grid's selection to CSV.

    Parameters:
      service, user: the service and the acting user.
      selection, text: the grid's selection and it in words.
      on_submitted: called with the queued export job.
    """

    def __init__(
        self,
        service: JobService,
        user: Any,
        selection: AccountSelection,
        text: str,
        on_submitted: Callable[[JobSummary], None] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(**params)
        self.service = service
        self.on_submitted = on_submitted
        self.state = s = LaunchState(
            service, user, action="export_accounts", criteria=SelectionCriteria(selection, text)
        )
        self.may_unmask = s.actor.has(permissions.UNMASK_SENSITIVE)
        self.templates = {t.name: t for t in service.export_templates(s.actor)}
        self.template = pn.widgets.Select(
            label="Saved template",
            options=[NO_TEMPLATE, *self.templates],
            css_classes=["bd-export-template"],
        )
        self.columns = pn.widgets.MultiChoice(
            label="Columns (in file order)",
            options=list(_LABELS),
            value=[COLUMNS[k].label for k in DEFAULT_COLUMNS],
            css_classes=["bd-export-columns"],
            sizing_mode="stretch_width",
        )
        self.unmask = pn.widgets.CheckBoxGroup(
            label="Unmask",
            options=[],
            value=[],
            inline=True,
            disabled=not self.may_unmask,
            css_classes=["bd-export-unmask"],
        )
        self.mask_note = pn.pane.HTML(css_classes=["bd-mask-note"], sizing_mode="stretch_width")
        self.file_format = pn.widgets.Select(label="Format", options=["CSV"], width=120)
        s.description = f"Export of {text}"[:DESCRIPTION_MAX]
        self.description = pn.widgets.TextInput.from_param(
            s.param.description,
            max_length=DESCRIPTION_MAX,
            sizing_mode="stretch_width",
            css_classes=["bd-description"],
        )
        self.template_name = pn.widgets.TextInput(
            placeholder="Template name", width=220, css_classes=["bd-template-name"]
        )
        self.save_button = pn.widgets.Button(label="Save as template", width=160)
        self.save_button.on_click(lambda _: self.save_template())
        self.count = pn.pane.HTML(css_classes=["bd-count"], sizing_mode="stretch_width")
        self.message = pn.pane.Alert("", alert_type="danger", visible=False)
        self.preview = pn.pane.HTML("", visible=False, css_classes=["bd-preview"])
        self.done = pn.pane.Alert("", alert_type="success", visible=False)
        self.review_button = pn.widgets.Button(
            label="Review (dry run)", color="primary", width=180, css_classes=["bd-review"]
        )
        self.queue_button = pn.widgets.Button(
            label="Export", color="success", width=160, disabled=True, css_classes=["bd-submit"]
        )
        self.review_button.on_click(lambda _: self.review())
        self.queue_button.on_click(lambda _: self.submit())
        self.template.param.watch(self._template_chosen, "value")
        self.columns.param.watch(self._columns_changed, "value")
        self.unmask.param.watch(lambda *_: self._sync(), "value")
        s.param.watch(self._show_errors, ["errors"])
        s.param.watch(self._show_preview, ["preview"])
        self._layout = pn.Column(
            pn.pane.HTML('<h3 style="margin:0">Export Accounts</h3>'),
            pn.pane.HTML(f"<div>Of <b>{esc(text)}</b></div>"),
            self.count,
            pn.Row(self.template, self.file_format),
            self.columns,
            self.mask_note,
            self.unmask,
            pn.Row(self.template_name, self.save_button),
            self.description,
            pn.Row(self.review_button, self.queue_button),
            self.message,
            self.preview,
            self.done,
            sizing_mode="stretch_width",
            css_classes=["bd-export-dialog"],
        )
        self._columns_changed()
        if s.target_count is not None:
            self.count.object = f"<b>{s.target_count:,}</b> accounts selected"

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- what the person does --------------------------------------------------------------

    def _template_chosen(self, event: Any) -> None:
        chosen = self.templates.get(event.new)
        if chosen is None:
            return
        self.columns.value = chosen.labels
        self.unmask.value = [COLUMNS[k].label for k in chosen.unmasked if self.may_unmask]
        self.template_name.value = chosen.name

    def _columns_changed(self, *_: Any) -> None:
        sensitive = [label for label in self.columns.value if _LABELS[label] in SENSITIVE]
        self.unmask.options = sensitive
        self.unmask.value = [v for v in self.unmask.value if v in sensitive]
        if not sensitive:
            note = "No sensitive columns chosen."
        elif self.may_unmask:
            note = "Sensitive columns are masked (SSN ***-**-1234); tick one to export it in clear:"
        else:
            note = (
                "Sensitive columns are masked (SSN ***-**-1234). Unmasking needs the permission "
                "“Export sensitive data unmasked”."
            )
        self.mask_note.object = f'<div style="color:#374151">{esc(note)}</div>'
        self.unmask.visible = bool(sensitive)
        self._sync()

    def _sync(self) -> None:
        """The widgets' choice as the export's parameters."""
        self.state.values = {
            "template": "",
            "columns": ",".join(_LABELS[label] for label in self.columns.value),
            "unmasked": ",".join(_LABELS[label] for label in self.unmask.value),
            "file_format": self.file_format.value,
        }

    def save_template(self) -> None:
        try:
            saved = self.service.save_export_template(
                self.state.actor,
                self.template_name.value,
                self.state.values["columns"],
                self.state.values["unmasked"],
            )
        except BulkdeskError as error:
            self._say(str(error))
            return
        self.templates[saved.name] = saved
        self.template.options = [NO_TEMPLATE, *self.templates]
        self.done.object = esc(f"Template “{saved.name}” saved")
        self.done.visible = True
        self._say("")

    def review(self) -> Any:
        self.done.visible = False
        self._sync()
        return self.state.review()

    def submit(self) -> JobSummary | None:
        job = self.state.submit()
        if job is not None:
            self.done.object = esc(
                f"Job {job.id} queued: {job.description}. The file is listed under "
                "“Your exports” when it is ready."
            )
            self.done.visible = True
            self.queue_button.disabled = True
            if self.on_submitted is not None:
                self.on_submitted(job)
        return job

    # -- what the person sees ---------------------------------------------------------------

    def _say(self, message: str) -> None:
        self.message.object = esc(message)
        self.message.visible = bool(message)

    def _show_errors(self, *_: Any) -> None:
        self._say(" ".join(self.state.errors.values()))

    def _show_preview(self, *_: Any) -> None:
        preview = self.state.preview
        self.queue_button.disabled = preview is None or preview.touch == 0
        self.preview.visible = preview is not None
        if preview is None:
            return
        chosen = [_LABELS[label] for label in self.columns.value]
        clear = {_LABELS[label] for label in self.unmask.value}
        masked = [COLUMNS[k].label for k in chosen if k in SENSITIVE and k not in clear]
        self.preview.object = (
            f'<div style="font-size:15px"><b>Would export {preview.touch:,} accounts</b> '
            f"with {len(chosen)} columns</div>"
            f"<div>Masked: {esc(', '.join(masked) or 'none')}; unmasked: "
            f"{esc(', '.join(COLUMNS[k].label for k in chosen if k in clear) or 'none')}</div>"
            + (
                f"<div>{preview.exception_count:,} accounts no longer exist</div>"
                if preview.exceptions
                else ""
            )
            + '<div style="color:#4b5563">Nothing has been written yet. "Export" writes '
            "the file.</div>"
        )


class ExportList(pn.viewable.Viewer):
    """The acting user's recent exports, each finished one with its file to download."""

    def __init__(self, service: JobService, user: Any, limit: int = 5, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.actor = service.actor(user)
        self.limit = limit
        self._layout = pn.Column(sizing_mode="stretch_width", css_classes=["bd-exports"])
        self.refresh()

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def refresh(self) -> None:
        page = self.service.list_jobs(
            self.actor,
            JobFilter(action="export_accounts", owner_id=self.actor.id),
            page_size=self.limit,
        )
        rows: list[pn.viewable.Viewable] = [pn.pane.HTML("<b>Your exports</b>")]
        if not page.rows:
            rows.append(pn.pane.HTML('<div style="color:#6b7280">No exports yet.</div>'))
        for job in page.rows:
            line = pn.pane.HTML(
                f"{status_badge(job.status, clickable=False)} Job {job.id}: "
                f"{esc(job.description)} · {fmt_time(job.submitted_at)} · "
                f"{job.processed:,} of {job.total:,}",
                sizing_mode="stretch_width",
            )
            if job.status.is_final and job.ok:
                rows.append(pn.Row(line, self._download(job)))
            else:
                rows.append(line)
        self._layout[:] = rows

    def _download(self, job: JobSummary) -> pn.widgets.FileDownload:
        def fetch() -> Any:
            return open(self.service.export_file(self.actor, job.id), "rb")

        return pn.widgets.FileDownload(
            callback=fetch,
            filename=f"accounts-job-{job.id}.csv",
            label=f"Download accounts-job-{job.id}.csv",
            color="success",
            width=300,
            css_classes=["bd-export-download"],
        )

    def unfinished(self) -> bool:
        page = self.service.list_jobs(
            self.actor,
            JobFilter(action="export_accounts", owner_id=self.actor.id),
            page_size=self.limit,
        )
        return any(not j.status.is_final for j in page.rows)
