"""The All System Tasks screens' state, without Panel: the task list (a paged, server-sorted
list in the chosen view's columns), the open task's data and its messages."""

from __future__ import annotations

from typing import Any, ClassVar

import pandas as pd
import param

from apps.table_state import PagedState
from jobs.errors import BulkdeskError
from jobs.imports import tasks
from jobs.imports.specs import IMPORT_TYPES, MATCH_RULES
from jobs.reports.queries import Page
from jobs.service import JobService

ALL = "All"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "—"


class TaskListState(PagedState):
    """A page of the import tasks the user may see, in the columns of the chosen view."""

    sort = param.String(default="submitted")
    descending = param.Boolean(default=True)
    view = param.Selector(default=tasks.DEFAULT_VIEW, objects=[tasks.DEFAULT_VIEW], label="View")
    columns = param.List(default=list(tasks.DEFAULT_COLUMNS))
    message = param.String(default="")

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Task": "id",
        "Name": "name",
        "Type": "type",
        "File": "file",
        "Submitted": "submitted",
        "Started": "started",
        "Ended": "ended",
        "Status": "status",
        "Rows": "rows",
        "Errors": "errors",
    }
    DESCENDING_FIRST = frozenset({"submitted", "started", "ended", "rows", "errors", "id"})
    EMPTY = "No import tasks yet: import a file above"
    NOUN = "task"

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        self.service = service
        self.user = user
        super().__init__(**params)
        self.refresh_views()
        self.load()

    def fetch(self) -> Page[Any]:
        return self.service.import_tasks(
            self.user,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )

    def refresh_views(self) -> None:
        self.views = self.service.task_views(self.user)
        self.param.view.objects = list(self.views)

    @param.depends("view", watch=True)
    def _view_chosen(self) -> None:
        self.columns = list(self.views.get(self.view, tasks.DEFAULT_COLUMNS))
        self.version += 1

    def save_view(self, name: str, columns: list[str]) -> bool:
        try:
            self.service.save_task_view(self.user, name, columns)
        except BulkdeskError as error:
            self.message = str(error)
            return False
        self.message = f"View {name.strip()!r} saved"
        self.refresh_views()
        self.view = name.strip()
        self._view_chosen()
        return True

    def frame(self, rows: list[tasks.TaskRow]) -> pd.DataFrame:
        titles = ["Task", *(tasks.TASK_COLUMNS[c] for c in self.columns if c != "id")]
        data = []
        for r in rows:
            shown: dict[str, Any] = {"Task": r.id}
            for c in self.columns:
                if c == "id":
                    continue
                value = r.value(c)
                if c in ("submitted", "started", "ended"):
                    value = _when(value)
                elif c == "status":
                    value = _status_text(r)
                elif c == "size":
                    value = f"{value:,} B"
                elif isinstance(value, int):
                    value = f"{value:,}"
                shown[tasks.TASK_COLUMNS[c]] = value
            data.append(shown)
        return pd.DataFrame(data, columns=titles)


def _status_text(r: tasks.TaskRow) -> str:
    if r.status.label == "In progress" and r.rows:
        return f"In progress · {r.processed:,} of {r.rows:,}"
    return r.status.label


class TaskMessagesState(PagedState):
    """A page of one task's messages, of one status or all."""

    status = param.Selector(default=ALL, objects=[ALL], label="Status")
    page_size = param.Selector(default=25, objects=[25, 50, 100], label="Rows per page")
    sort = param.String(default="row")

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Row": "row",
        "Import status": "status",
        "Message": "message",
    }
    EMPTY = "No messages"
    NOUN = "message"

    def __init__(self, service: JobService, user: str, job_id: int, **params: Any) -> None:
        self.service = service
        self.user = user
        self.job_id = job_id
        self.headings: list[str] = []
        super().__init__(**params)
        self.refresh_statuses()
        self.load()

    def refresh_statuses(self) -> None:
        present = self.service.import_statuses(self.user, self.job_id)
        self.param.status.objects = [ALL, *present]
        if self.status not in self.param.status.objects:
            self.status = ALL

    def fetch(self) -> Page[dict[str, Any]]:
        self.headings, page = self.service.import_messages(
            self.user,
            self.job_id,
            status=None if self.status == ALL else self.status,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )
        return page

    @param.depends("status", watch=True)
    def _status_changed(self) -> None:
        if self.page != 1:
            self.page = 1
        else:
            self.load()

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        titles = ["Row", "Import status", "Message", "Account", *self.headings]
        data = [
            {
                "Row": r[tasks.ROW],
                "Import status": r[tasks.STATUS],
                "Message": r[tasks.MESSAGE],
                "Account": r[tasks.ACCOUNT],
                **{h: r.get(h, "") for h in self.headings},
                "_key": f"{r['_seq']}-{r[tasks.ACCOUNT]}",
            }
            for r in rows
        ]
        frame = pd.DataFrame(data, columns=[*titles, "_key"])
        return frame

    def export_name(self) -> str:
        suffix = "" if self.status == ALL else "-" + self.status.lower().replace(" ", "-")
        return f"task-{self.job_id}-messages{suffix}.csv"


class ImportForm(param.Parameterized):
    """What to import: the type and how its rows match; help and template follow the type."""

    kind = param.Selector(default="accounts", objects=list(IMPORT_TYPES), label="Import")
    match_by = param.Selector(
        default="account_id", objects=list(MATCH_RULES), label="Match rows by"
    )

    def match_labels(self) -> dict[str, str]:
        return {MATCH_RULES[r][0]: r for r in IMPORT_TYPES[self.kind].match_rules}

    def help_text(self) -> str:
        return IMPORT_TYPES[self.kind].help_text()

    def template(self) -> str:
        return IMPORT_TYPES[self.kind].template_csv()
