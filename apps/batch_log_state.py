"""The Batch audit log's state, without Panel: the search fields (a date range, and the
status and process-name fields the Add button brings), the errors under them, and one
server-sorted page of definition runs (``DefinitionService.batch_log``).

The fields are edited freely; Search applies them. Paging and sorting re-read the page with
what was last searched, so a half-typed name never changes the list behind the person's back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pandas as pd
import param

from apps.display import STATUS_STYLE, esc, fmt_time
from apps.table_state import PagedState
from jobs.definitions.batch_log import BATCH_STATUSES, FIRED_BY, MAX_DAYS, BatchLogPage, RunRow
from jobs.errors import BulkdeskError, InvalidInput
from jobs.service import JobService
from jobs.status import JobStatus

#: The fields the Add button adds, in the order it adds them, with their labels.
EXTRA_FIELDS = {"status": "Status", "process": "Process name"}
STATUS_LABELS = [s.batch_label for s in BATCH_STATUSES]
COLUMNS = ["Run", "Status", "Process name", "Due", "Trigger", "Started", "Ended", "Owner"]
HTML_COLUMNS = ("Status", "Process name")
#: Seed 002's icons: a green check for Ok, a red x for Error, the others by their own
#: mark and label; Suspended has no icon.
BATCH_ICONS = {
    JobStatus.QUEUED: "◷",
    JobStatus.IN_PROGRESS: "▶",
    JobStatus.COMPLETED: "✔",
    JobStatus.STOPPED: "■",
    JobStatus.FAILED: "✖",
    JobStatus.COMPLETED_WITH_EXCEPTIONS: "!",
    JobStatus.SKIPPED: "⚠",
}


def today() -> dt.date:
    """Today in the server's time zone (the zone the dashboard shows times in)."""
    return dt.datetime.now().astimezone().date()


def batch_status(status: JobStatus) -> str:
    """The run's status as seed 002 shows it: an icon (none for Suspended) and its label."""
    color = STATUS_STYLE[status][0]
    icon = BATCH_ICONS.get(status)
    mark = (
        f'<span class="bd-batch-icon" aria-hidden="true" style="display:inline-block;'
        f"width:18px;height:18px;border-radius:50%;background:{color};color:#fff;"
        f'text-align:center;line-height:18px;font-size:11px;font-weight:700;margin-right:6px">'
        f"{icon}</span>"
        if icon
        else '<span style="display:inline-block;width:24px"></span>'
    )
    return (
        f'<span class="bd-batch-status" data-status="{status.batch_label}" '
        f'title="{esc(status.batch_label)} ({int(status)}): {esc(status.meaning)}" '
        f'style="white-space:nowrap">{mark}<span style="color:{color};font-weight:600">'
        f"{esc(status.batch_label)}</span></span>"
    )


def run_url(job_id: int) -> str:
    """The address of a run's detail page (opened in a new browser tab)."""
    return f"?page=batch-log&run={int(job_id)}"


def run_link(row: RunRow) -> str:
    """The process name as a link that opens the run's detail in a new tab."""
    return (
        f'<a class="bd-run-link" href="{run_url(row.job_id)}" target="_blank" '
        f'rel="noopener" title="Open run {row.job_id} in a new tab">{esc(row.process)}</a>'
    )


def search_log(service: JobService, user: str, **options: Any) -> BatchLogPage:
    """``DefinitionService.batch_log`` (who may read is checked there)."""
    return service.definitions.batch_log(user, **options)


class BatchLogState(PagedState):
    """The batch audit log for one user: search fields, errors, and a page of runs."""

    since = param.CalendarDate(default=None, allow_None=True, label="From")
    until = param.CalendarDate(default=None, allow_None=True, label="To")
    statuses = param.ListSelector(default=[], objects=STATUS_LABELS, label="Status")
    process = param.String(default="", label="Process name")
    #: The extra search fields added with the Add button (keys of EXTRA_FIELDS).
    added = param.List(default=[], item_type=str)
    #: Field → what is wrong with it (shown under the field).
    errors = param.Dict(default={})
    counts = param.Dict(default={}, doc="Batch label → runs of the searched range.")
    sort = param.String(default="due")
    descending = param.Boolean(default=True)

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Run": "run",
        "Status": "status",
        "Process name": "process",
        "Due": "due",
        "Started": "started",
        "Ended": "ended",
    }
    DESCENDING_FIRST = frozenset({"run", "due", "started", "ended"})
    EMPTY = "No runs match this search"
    NOUN = "run"

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        self.service = service
        self.user = user
        self._applied: dict[str, Any] = {}
        self._searched: BatchLogPage | None = None
        super().__init__(**params)
        day = today()
        with param.parameterized.discard_events(self):
            self.since = self.since or day
            self.until = self.until or day
        self.search()

    # -- the fields ---------------------------------------------------------------------

    @property
    def can_add(self) -> bool:
        return len(self.added) < len(EXTRA_FIELDS)

    def add_field(self) -> str | None:
        """Add the next extra search field (status, then process name); returns its key."""
        for key in EXTRA_FIELDS:
            if key not in self.added:
                self.added = [*self.added, key]
                return key
        return None

    def remove_field(self, key: str) -> None:
        """Take a field away again; its value no longer narrows the next search."""
        if key in self.added:
            self.added = [k for k in self.added if k != key]
            if key == "status":
                self.statuses = []
            elif key == "process":
                self.process = ""

    @param.depends("since", "until", "statuses", "process", watch=True)
    def _edited(self) -> None:
        # An error clears as soon as the value it speaks of changes.
        if self.errors:
            self.errors = {}

    # -- searching ----------------------------------------------------------------------

    def criteria(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "until": self.until,
            "status": list(self.statuses) if "status" in self.added else [],
            "process": self.process.strip() if "process" in self.added else "",
        }

    def search(self) -> bool:
        """Search with the fields as they are; False (errors set) when refused."""
        wanted = self.criteria()
        try:
            self._searched = self._read(wanted, page=1)
        except InvalidInput as error:
            self.errors = {_field(error.field): str(error)}
            return False
        except BulkdeskError as error:
            self.errors = {"until": str(error)}
            return False
        self.errors = {}
        self._applied = wanted
        self.EMPTY = self.empty_text()
        with param.parameterized.discard_events(self):
            self.page = 1
        self.load()
        return True

    def fetch(self) -> BatchLogPage:
        result, self._searched = self._searched, None
        return result or self._read(self._applied, page=self.page)

    def _read(self, criteria: dict[str, Any], page: int) -> BatchLogPage:
        result = search_log(
            self.service,
            self.user,
            **criteria,
            page=page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )
        self.counts = {s.batch_label: n for s, n in result.counts.items()}
        return result

    def empty_text(self) -> str:
        """Said when the search found nothing: which days, and what to try."""
        a = self._applied
        days = f"{a['since']:%a %d %b %Y}" + (
            "" if a["since"] == a["until"] else f" to {a['until']:%a %d %b %Y}"
        )
        narrowed = " with this status and name" if a["status"] or a["process"] else ""
        return f"No runs were due {days}{narrowed}: choose other dates and Search again"

    def summary(self) -> str:
        """What the list shows, in words: the days searched, and the runs by status."""
        a = self._applied
        if not a:
            return ""
        since, until = a["since"], a["until"]
        days = f"{since:%a %d %b %Y}" + ("" if since == until else f" to {until:%a %d %b %Y}")
        parts = [f"Runs due {days}"]
        if a["status"]:
            parts.append("status " + " or ".join(a["status"]))
        if a["process"]:
            parts.append(f"process name containing “{a['process']}”")
        counts = ", ".join(f"{n:,} {label}" for label, n in self.counts.items() if n)
        return " · ".join(parts) + (f" — {counts}" if counts else "")

    def frame(self, rows: list[RunRow]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                (
                    r.job_id,
                    batch_status(r.status),
                    run_link(r),
                    fmt_time(r.due_at) + (" (late)" if r.late else ""),
                    FIRED_BY.get(r.fired_by, r.fired_by),
                    fmt_time(r.started_at),
                    fmt_time(r.ended_at),
                    r.owner,
                )
                for r in rows
            ],
            columns=COLUMNS,
        )


def _field(name: str | None) -> str:
    return name if name in ("since", "until", "status", "process") else "until"


__all__ = ["BatchLogState", "MAX_DAYS", "batch_status", "run_url"]
