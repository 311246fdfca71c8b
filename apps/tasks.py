"""The All System Tasks page: import a file, the task list (views), and a task's record.

- Import: the type, how rows match, the expected columns (from ``jobs.imports.specs``), a
  template to download, and the upload, which the browser streams to the server
  (``apps.task_upload``) with its progress shown;
- the list: the "System Task List" view (name, type, file, submitted, started, ended,
  status, rows, errors) or a saved view with more columns, refreshed every second;
- the record of the task picked in the list: "File import has failed" at the top when its
  headings were wrong, a **Task Data** tab (figures and parameters) and a **Task Messages**
  tab (row, status, message and the file's columns), filtered by the statuses this import
  produced, exported as CSV ready to fix and import again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param
from panel.custom import JSComponent

from apps.display import esc
from apps.live import start_live
from apps.paged_table import PagedTable
from apps.tasks_state import ImportForm, TaskListState, TaskMessagesState
from jobs.errors import BulkdeskError
from jobs.imports import tasks
from jobs.service import JobService


class Uploader(JSComponent):
    """A file chooser and an Upload button; the file goes to ``/task-upload`` as the
    request's body (streamed by the browser, never read into the page), with a progress bar.
    ``result`` is the server's answer: ``{"job": n}`` or ``{"error": …}``."""

    kind = param.String(default="accounts")
    match_by = param.String(default="account_id")
    result = param.Dict(default={})

    _esm = """
    export function render({ model, el }) {
      const box = document.createElement("div");
      box.className = "bd-uploader";
      box.style.cssText = "display:flex;gap:10px;align-items:center;font-size:14px";
      const input = document.createElement("input");
      input.type = "file";
      input.accept = ".csv,.txt,text/csv";
      input.className = "bd-upload-file";
      const button = document.createElement("button");
      button.textContent = "Upload and import";
      button.className = "bd-upload-button";
      button.style.cssText = "padding:6px 14px;background:#1d4ed8;color:#fff;border:0;" +
        "border-radius:4px;cursor:pointer;font-size:14px;white-space:nowrap";
      const bar = document.createElement("progress");
      bar.max = 100; bar.value = 0; bar.style.cssText = "width:160px;visibility:hidden";
      bar.className = "bd-upload-progress";
      const said = document.createElement("span");
      said.className = "bd-upload-status";
      button.onclick = () => {
        const file = input.files[0];
        if (!file) { said.textContent = "Choose a CSV file first"; return; }
        const query = new URLSearchParams({
          kind: model.kind, match_by: model.match_by, name: file.name });
        const xhr = new XMLHttpRequest();
        xhr.open("POST", "task-upload?" + query.toString());
        xhr.upload.onprogress = (e) => {
          if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
          said.textContent = "Uploading " + bar.value + "%";
        };
        xhr.onload = () => {
          let answer = {};
          try { answer = JSON.parse(xhr.responseText); }
          catch (e) { answer = { error: "The server answered " + xhr.status }; }
          bar.style.visibility = "hidden";
          button.disabled = false;
          said.textContent = answer.job ? "Queued as task " + answer.job : "";
          model.result = answer;
          input.value = "";
        };
        xhr.onerror = () => {
          bar.style.visibility = "hidden"; button.disabled = false;
          said.textContent = "The upload failed (connection lost); try again";
        };
        bar.value = 0; bar.style.visibility = "visible"; button.disabled = true;
        said.textContent = "Uploading…";
        xhr.send(file);
      };
      box.append(input, button, bar, said);
      el.append(box);
    }
    """


class TasksPage(pn.viewable.Viewer):
    """The All System Tasks page for one session's user."""

    def __init__(self, service: JobService, user: str, live: bool = True) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.list = TaskListState(service, user)
        self.form = ImportForm()
        self.open_id: int | None = None
        self.messages: TaskMessagesState | None = None

        # -- import ------------------------------------------------------------------------
        kind = pn.widgets.Select.from_param(self.form.param.kind, width=170)
        kind.options = {t.label: t.name for t in _types()}
        self.match = pn.widgets.Select(
            label="Match rows by", options=self.form.match_labels(), width=260
        )
        self.uploader = Uploader(
            kind=self.form.kind, match_by=self.match.value, sizing_mode="stretch_width"
        )
        self.help = pn.pane.HTML("", css_classes=["bd-import-help"], sizing_mode="stretch_width")
        self.template = pn.widgets.FileDownload(
            callback=lambda: _text_io(self.form.template()),
            filename=f"{self.form.kind}-template.csv",
            label="Download template",
            width=180,
            css_classes=["bd-template"],
        )
        self.upload_message = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            sizing_mode="stretch_width",
            css_classes=["bd-upload-message"],
        )
        self.form.param.watch(self._kind_changed, "kind")
        self.match.param.watch(lambda e: setattr(self.uploader, "match_by", e.new), "value")
        self.uploader.param.watch(self._uploaded, "result")
        self._kind_changed()
        importer = pn.Card(
            pn.Row(kind, self.match, pn.Column(pn.Spacer(height=18), self.template)),
            self.uploader,
            self.upload_message,
            pn.Card(
                self.help,
                title="Expected columns",
                collapsed=True,
                sizing_mode="stretch_width",
                margin=(12, 5, 5, 5),  # apart from the file box above it
            ),
            title="Import a file",
            sizing_mode="stretch_width",
            css_classes=["bd-importer"],
        )

        # -- the list, and its views ---------------------------------------------------------
        self.view = pn.widgets.Select.from_param(self.list.param.view, width=220)
        self.view_name = pn.widgets.TextInput(
            label="Save as view", placeholder="View name", width=200, max_length=64
        )
        self.view_columns = pn.widgets.MultiChoice(
            label="Columns",
            options={title: key for key, title in tasks.TASK_COLUMNS.items()},
            value=list(tasks.DEFAULT_COLUMNS),
            width=520,
        )
        save = pn.widgets.Button(label="Save view", width=110, css_classes=["bd-save-view"])
        save.on_click(lambda _: self._save_view())
        self.view_message = pn.pane.HTML("", css_classes=["bd-view-message"])
        self.table = PagedTable(
            self.list,
            self.list.frame,
            key="Task",
            css_classes=["bd-tasks"],
            selectable=1,
            # The row marked is the task open below, wherever the list puts it.
            mark=lambda: self.open_id,
            widths={"Task": 70, "Name": 260, "Status": 200},
        )
        self.table.table.on_click(self._clicked)
        self.list.param.watch(self._columns_changed, "columns")
        views = pn.Card(
            pn.Row(self.view_name, self.view_columns, pn.Column(pn.Spacer(height=18), save)),
            self.view_message,
            title="View Manager",
            collapsed=True,
            sizing_mode="stretch_width",
        )
        self.record = pn.Column(sizing_mode="stretch_width", css_classes=["bd-task-record"])
        self._layout = pn.Column(
            # The page's title first (it stood below the import, as if it titled the list only)
            pn.pane.HTML(
                "<h2 style='margin:4px 0 2px'>All System Tasks</h2>"
                "<div style='color:#4b5563'>Import a file of accounts, interactions or payments "
                "as a task; each task below shows its progress, and a click opens its figures "
                "and its rows' messages.</div>",
                sizing_mode="stretch_width",
            ),
            importer,
            pn.Row(
                pn.pane.HTML("<h3 style='margin:4px 0'>Tasks</h3>"),
                pn.HSpacer(),
                self.view,
            ),
            views,
            self.table,
            self.record,
            sizing_mode="stretch_width",
        )
        if live:
            self._live = start_live(self.tick)

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    # -- importing ---------------------------------------------------------------------

    def _kind_changed(self, *_: Any) -> None:
        labels = self.form.match_labels()
        self.match.options = labels
        self.match.value = next(iter(labels.values()))
        self.uploader.kind = self.form.kind
        self.uploader.match_by = self.match.value
        self.template.filename = f"{self.form.kind}-template.csv"
        lines = self.form.help_text().splitlines()
        items = "".join(
            f"<li>{esc(x.strip()[2:])}</li>" for x in lines if x.strip().startswith("- ")
        )
        notes = "".join(
            f"<p>{esc(x.strip())}</p>" for x in lines[3:] if not x.strip().startswith("- ")
        )
        self.help.object = (
            f"<p>{esc(lines[0])}</p><p>{esc(lines[1])}</p><ul>{items}</ul>{notes}"
            "<p>Headings go on the first row, in any order; a missing, unknown or repeated "
            "heading fails the whole file. UTF-8 (with or without BOM) or Windows-1252; "
            "commas, semicolons or tabs.</p>"
        )

    def _uploaded(self, event: Any) -> None:
        answer = event.new or {}
        if answer.get("error"):
            self.upload_message.object = esc(answer["error"])
            self.upload_message.visible = True
            return
        self.upload_message.visible = False
        if answer.get("job"):
            self.list.sort, self.list.descending = "submitted", True
            self.list.page = 1
            self.list.load()
            self.open_task(int(answer["job"]))

    # -- the list ----------------------------------------------------------------------

    def _columns_changed(self, *_: Any) -> None:
        self.table.table.value = self.list.frame(self.list.rows)

    def _save_view(self) -> None:
        ok = self.list.save_view(self.view_name.value, list(self.view_columns.value))
        color = "#166534" if ok else "#b91c1c"
        self.view_message.object = f'<span style="color:{color}">{esc(self.list.message)}</span>'

    def _clicked(self, event: Any) -> None:
        frame = self.table.table.value
        if event.row is not None and 0 <= event.row < len(frame):
            self.open_task(int(frame.iloc[event.row]["Task"]))

    def tick(self) -> None:
        self.list.load()
        if self.open_id is not None:
            self._refresh_record()

    # -- the task's record -----------------------------------------------------------------

    def open_task(self, job_id: int) -> None:
        try:
            detail = self.service.import_task(self.user, job_id)
        except BulkdeskError as error:
            self.record[:] = [pn.pane.Alert(esc(str(error)), alert_type="danger")]
            return
        self.open_id = job_id
        self.messages = TaskMessagesState(self.service, self.user, job_id)
        self._detail = detail
        self._build_record(detail)
        self.table.mark_row()

    def _build_record(self, detail: tasks.TaskDetail) -> None:
        assert self.messages is not None
        m = self.messages
        self.banner = pn.pane.Alert(
            "", alert_type="danger", sizing_mode="stretch_width", css_classes=["bd-task-failed"]
        )
        self.title = pn.pane.HTML("", css_classes=["bd-task-title"], sizing_mode="stretch_width")
        self.data = pn.widgets.Tabulator(
            _figures(detail),
            show_index=False,
            disabled=True,
            width=520,
            css_classes=["bd-task-data"],
            layout="fit_data_table",
        )
        status = pn.widgets.Select.from_param(m.param.status, width=200)
        status.css_classes = ["bd-status-filter"]
        self.messages_table = PagedTable(
            m,
            m.frame,
            key="_key",
            css_classes=["bd-task-messages"],
            hidden_columns=["_key"],
            widths={"Row": 70, "Import status": 140, "Message": 380, "Account": 110},
        )
        export = pn.widgets.FileDownload(
            callback=self._export,
            filename=m.export_name(),
            label="Export",
            width=110,
            css_classes=["bd-export-messages"],
        )
        m.param.watch(lambda e: setattr(export, "filename", m.export_name()), "status")
        self.tabs = pn.Tabs(
            ("Task Data", self.data),
            (
                "Task Messages",
                pn.Column(
                    pn.Row(status, pn.HSpacer(), export),
                    self.messages_table,
                    sizing_mode="stretch_width",
                ),
            ),
            sizing_mode="stretch_width",
            css_classes=["bd-task-tabs"],
        )
        close = pn.widgets.Button(label="Close", width=90)
        close.on_click(lambda _: self._close())
        self.record[:] = [pn.Row(self.title, close), self.banner, self.tabs]
        self._show_detail(detail)

    def _show_detail(self, d: tasks.TaskDetail) -> None:
        s = d.summary
        if d.failed_whole:
            progress = "nothing was imported"
        elif s.total:
            progress = f"{s.processed:,} of {s.total:,} rows"
        else:
            progress = "the file's rows are not read yet"
        self.title.object = (
            f"<h3 style='margin:6px 0'>Task {s.id}: {esc(s.description)}</h3>"
            f"<div class='bd-task-progress'>{esc(s.status.label)} · {esc(progress)} · "
            f"{s.exceptions:,} with messages</div>"
        )
        self.banner.visible = bool(d.error)
        self.banner.object = esc(d.error or "")

    def _refresh_record(self) -> None:
        if self.messages is None or self.open_id is None:
            return
        d = self.service.import_task(self.user, self.open_id)
        before = self._detail
        self._detail = d
        self._show_detail(d)
        if (d.summary.processed, d.summary.status) != (
            before.summary.processed,
            before.summary.status,
        ) or d.rows != before.rows:
            self.data.value = _figures(d)
            self.messages.refresh_statuses()
            self.messages.load()

    def _export(self) -> Any:
        assert self.messages is not None
        m = self.messages
        status = None if m.status == "All" else m.status
        pieces = self.service.export_import_messages_csv(self.user, m.job_id, status)
        return _text_io("".join(pieces))

    def _close(self) -> None:
        self.open_id = None
        self.messages = None
        self.record[:] = []
        self.table.mark_row()


def _types() -> list[Any]:
    from jobs.imports.specs import IMPORT_TYPES

    return list(IMPORT_TYPES.values())


def _figures(d: tasks.TaskDetail) -> pd.DataFrame:
    return pd.DataFrame(d.figures(), columns=["Field", "Value"])


def _text_io(text: str) -> Any:
    import io

    return io.BytesIO(text.encode("utf-8"))
