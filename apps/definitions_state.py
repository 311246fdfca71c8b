"""The Definitions screen's state, without Panel: the filtered, server-paged list, the open
definition (its steps, schedule and history) with what an admin may do to it, and the
create/edit form built from the declarations (``DefinitionSpec.FIELDS`` and each step
type's ``fields()``), with one error per field path.

Everything goes through ``JobService.definitions`` (``DefinitionService``), which checks who
may do what; this module only reflects it (a user sees the write controls disabled, with
the reason).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pandas as pd
import param

from apps.batch_log_state import batch_status
from apps.display import esc, fmt_time
from apps.table_state import PagedState
from jobs.errors import BulkdeskError
from jobs.models import DefinitionTrigger
from jobs.service import JobService

COLUMNS = [
    "ID",
    "Name",
    "Trigger",
    "Schedule",
    "Next run",
    "Enabled",
    "Suspended",
    "Owner",
    "Last run",
]
HTML_COLUMNS = ("Last run",)
TRIGGERS = dict(DefinitionTrigger.LABELS)
SCHEDULE_PRESETS = ["hourly", "end_of_day", "weekly", "monthly"]


def _when(value: dt.datetime | None) -> str:
    return fmt_time(value) if value else "—"


class DefinitionListState(PagedState):
    """A page of definitions matching the Filter, disabled ones only when asked."""

    text = param.String(default="", label="Filter")
    show_disabled = param.Boolean(default=False, label="Show disabled")
    message = param.String(default="")
    sort = param.String(default="name")

    SORT_KEYS: ClassVar[dict[str, str]] = {
        "Name": "name",
        "Trigger": "trigger",
        "Next run": "next_due_at",
        "Enabled": "enabled",
        "Owner": "owner",
        "Last run": "last_run_at",
    }
    DESCENDING_FIRST = frozenset({"last_run_at"})
    EMPTY = "No definitions match this filter"
    NOUN = "definition"

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        self.service = service
        self.user = user
        super().__init__(**params)
        self.EMPTY = self.empty_text
        self.load()

    @property
    def empty_text(self) -> str:
        if self.text.strip():
            return f"No definitions match “{self.text.strip()}”" + (
                "" if self.show_disabled else " (disabled ones are hidden: tick Show disabled)"
            )
        if self.show_disabled:
            return "No definitions yet"
        return "No enabled definitions (tick Show disabled to see the disabled ones)"

    def fetch(self) -> Any:
        return self.service.definitions.list_definitions(
            self.user,
            text=self.text.strip(),
            show_disabled=self.show_disabled,
            page=self.page,
            page_size=self.page_size,
            sort=self.sort,
            descending=self.descending,
        )

    @param.depends("text", "show_disabled", watch=True)
    def _filtered(self) -> None:
        self.EMPTY = self.empty_text
        if self.page != 1:
            self.page = 1
        else:
            self.load()

    def frame(self, rows: list[Any]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                (
                    r.id,
                    r.name,
                    r.trigger_label,
                    r.schedule_text or "—",
                    _when(r.next_due_at) if r.enabled and not r.suspended else "—",
                    "Yes" if r.enabled else "No",
                    "Suspended" if r.suspended else "",
                    r.owner,
                    (
                        batch_status(r.last_run_status)
                        + f' <span style="color:#4b5563">{esc(_when(r.last_run_at))}</span>'
                        if r.last_run_status is not None
                        else '<span style="color:#4b5563">never ran</span>'
                    ),
                )
                for r in rows
            ],
            columns=COLUMNS,
        )


class DefinitionState(param.Parameterized):
    """One definition as the screen shows it, and the admin's actions on it."""

    message = param.String(default="", doc="The last action's outcome, for the person.")
    failed = param.Boolean(default=False, doc="Whether ``message`` is a refusal.")
    version = param.Integer(default=0, doc="Bumped whenever the definition was re-read.")
    selected_step = param.String(default="", doc="The step whose settings are shown.")

    def __init__(self, service: JobService, user: str, definition: int | str) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.key = definition
        self.detail: Any = None
        self.history: Any = None
        self.load()

    @property
    def svc(self) -> Any:
        return self.service.definitions

    @property
    def can_define(self) -> bool:
        return bool(self.svc.can_define(self.user))

    @property
    def refusal(self) -> str:
        """Why the write controls are disabled ("" for an admin)."""
        if self.can_define:
            return ""
        return self.svc.define_refusal(self.user) or "Only administrators change definitions"

    def load(self) -> None:
        self.detail = self.svc.definition_detail(self.user, self.key)
        self.key = self.detail.id
        self.history = self.svc.definition_history(self.user, self.detail.id)
        self.version += 1

    def step(self, name: str) -> Any:
        return next((s for s in self.detail.steps if s.name == name), None)

    def step_settings(self, name: str) -> list[tuple[str, str]]:
        """A step's settings as (setting, value) rows, for the double-click view."""
        step = self.step(name)
        if step is None:
            return []
        rows = [
            ("Type", step.kind_label),
            ("Next success step", step.next_success or "(end of run)"),
            ("Next failure step", step.next_failure or "(end of run)"),
            ("Summary", step.settings_text),
        ]
        for key, value in step.settings.items():
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            rows.append((key.replace("_", " ").capitalize(), "" if value is None else str(value)))
        return rows

    # -- what an admin does (the service refuses anyone else) ----------------------------

    def act(self, action: str, reason: str = "") -> bool:
        """enable, disable, suspend (a reason is needed), resume or run_now."""
        try:
            if action == "suspend":
                self.svc.suspend(self.user, self.detail.id, reason)
                said = f"Suspended: its due runs are recorded as Suspended ({reason.strip()})"
            elif action == "resume":
                self.svc.resume(self.user, self.detail.id, reason)
                said = "Resumed: it runs on its schedule again"
            elif action == "run_now":
                job_id = self.svc.run_now(self.user, self.detail.id)
                said = (
                    f"Run {job_id} queued: it is in the Monitor and the batch audit log"
                    if job_id
                    else "A run was queued"
                )
            elif action in ("enable", "disable"):
                getattr(self.svc, action)(self.user, self.detail.id)
                said = "Enabled" if action == "enable" else "Disabled: it no longer runs"
            else:
                raise ValueError(action)
        except BulkdeskError as error:
            self.param.update(message=str(error), failed=True)
            return False
        self.load()
        self.param.update(message=said, failed=False)
        return True

    def export_yaml(self) -> str:
        return str(self.svc.export_yaml(self.user, [self.detail.name]))


def parse_options(text: str) -> dict[str, Any]:
    """``at=18:00, weekday=mon`` as ``{"at": "18:00", "weekday": "mon"}`` (numbers as
    numbers).

    Raises:
      ValueError: for a part without ``=``.
    """
    options: dict[str, Any] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ValueError(f"Write each option as name=value, e.g. at=18:00 ({part.strip()!r})")
        key, value = (x.strip() for x in part.split("=", 1))
        options[key] = int(value) if value.isdigit() else value
    return options


def options_text(options: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in (options or {}).items())


def _names(text: str) -> list[str]:
    return [x.strip() for x in (text or "").replace(";", ",").split(",") if x.strip()]


class DefinitionForm(param.Parameterized):
    """A definition being created or edited: its fields as text, its steps, and the
    errors the service gave, by field path (``name``, ``steps[1].next_failure``…)."""

    errors = param.Dict(default={})
    message = param.String(default="")
    steps_version = param.Integer(default=0, doc="Bumped when a step is added or removed.")

    def __init__(self, service: JobService, user: str, detail: Any = None) -> None:
        super().__init__()
        self.service = service
        self.user = user
        self.editing = detail
        spec = detail.spec if detail is not None else None
        self.values: dict[str, Any] = {
            "name": spec.name if spec else "",
            "description": spec.description if spec else "",
            "trigger": spec.trigger if spec else DefinitionTrigger.SCHEDULED,
            "schedule": (spec.schedule or "") if spec else "end_of_day",
            "schedule_options": options_text(spec.schedule_options) if spec else "at=18:00",
            "timezone": spec.timezone if spec else "UTC",
            "inbox": (spec.inbox or "") if spec else "",
            "enabled": spec.enabled if spec else True,
            "owner": spec.owner if spec else "",
            "success_recipients": ", ".join(spec.success_recipients) if spec else "",
            "failure_recipients": ", ".join(spec.failure_recipients) if spec else "",
            "depends_on": ", ".join(spec.depends_on) if spec else "",
        }
        self.steps: list[dict[str, Any]] = (
            [dict(s.as_dict()) for s in spec.steps]
            if spec
            else [
                {
                    "name": "Report",
                    "kind": "report",
                    "settings": {},
                    "next_success": "",
                    "next_failure": "",
                }
            ]
        )

    @property
    def title(self) -> str:
        return f"Edit {self.editing.name}" if self.editing is not None else "New definition"

    def set_value(self, name: str, value: Any) -> None:
        self.values[name] = value
        self._clear(name)

    def set_step(self, index: int, name: str, value: Any) -> None:
        self.steps[index][name] = value
        self._clear(f"steps[{index}].{name}")

    def set_setting(self, index: int, name: str, value: Any) -> None:
        self.steps[index].setdefault("settings", {})[name] = value
        self._clear(f"steps[{index}].settings.{name}")

    def _clear(self, path: str) -> None:
        # An error goes as soon as the value it speaks of changes.
        if path in self.errors or self.message:
            self.errors = {k: v for k, v in self.errors.items() if k != path}
            self.message = ""

    def add_step(self) -> None:
        n = len(self.steps) + 1
        self.steps.append(
            {
                "name": f"Step {n}",
                "kind": "email",
                "settings": {},
                "next_success": "",
                "next_failure": "",
            }
        )
        self.steps_version += 1

    def remove_step(self, index: int) -> None:
        if 0 <= index < len(self.steps) and len(self.steps) > 1:
            del self.steps[index]
            self.errors = {}
            self.steps_version += 1

    def spec(self) -> Any:
        """The form as a ``DefinitionSpec`` (the service validates it).

        Raises:
          ValueError: with the field path, for schedule options that cannot be read.
        """
        from jobs.definitions.spec import DefinitionSpec, StepSpec

        v = self.values
        scheduled = v["trigger"] == DefinitionTrigger.SCHEDULED
        return DefinitionSpec(
            name=str(v["name"]).strip(),
            trigger=v["trigger"],
            description=str(v["description"]).strip(),
            schedule=(str(v["schedule"]).strip() or None) if scheduled else None,
            schedule_options=parse_options(v["schedule_options"]) if scheduled else {},
            timezone=str(v["timezone"]).strip() or "UTC",
            inbox=(str(v["inbox"]).strip() or None)
            if v["trigger"] == DefinitionTrigger.FILE_IN
            else None,
            enabled=bool(v["enabled"]),
            owner=str(v["owner"] or "").strip(),
            success_recipients=_names(v["success_recipients"]),
            failure_recipients=_names(v["failure_recipients"]),
            depends_on=_names(v["depends_on"]),
            steps=[
                StepSpec(
                    name=str(s["name"]).strip(),
                    kind=s["kind"],
                    settings={
                        k: x for k, x in (s.get("settings") or {}).items() if x not in ("", None)
                    },
                    next_success=s.get("next_success") or "",
                    next_failure=s.get("next_failure") or "",
                )
                for s in self.steps
            ],
        )

    def save(self) -> Any:
        """Create or update through the service; the saved detail, or None with ``errors``
        (by field path) and ``message`` set."""
        try:
            spec = self.spec()
        except ValueError as error:
            self.param.update(errors={"schedule_options": str(error)}, message="")
            return None
        svc = self.service.definitions
        try:
            if self.editing is None:
                saved = svc.create(self.user, spec)
            else:
                saved = svc.update(self.user, self.editing.id, spec, self.editing.version)
        except BulkdeskError as error:
            found = dict(getattr(error, "errors", None) or {})
            if not found and getattr(error, "field", None):
                found = {error.field: str(error)}  # type: ignore[attr-defined]
            self.param.update(
                errors=found,
                message=str(error) if not found else "Nothing was saved: see the fields in red",
            )
            return None
        self.param.update(errors={}, message="")
        return saved

    def orphan_errors(self, shown: set[str]) -> list[str]:
        """Errors whose field has no place on the form (shown at the top instead)."""
        return [f"{path}: {text}" for path, text in self.errors.items() if path not in shown]


def what_changed(details: dict[str, Any]) -> str:
    """A change's ``{field: [before, after]}`` in words: ``schedule: hourly → weekly``."""
    parts = []
    for name, change in (details or {}).items():
        if isinstance(change, list | tuple) and len(change) == 2:
            before, after = change
            parts.append(f"{name}: {_short(before)} → {_short(after)}")
        else:
            parts.append(f"{name}: {_short(change)}")
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = "—" if value in (None, "", [], {}) else str(value)
    return text if len(text) <= 80 else text[:77] + "…"
