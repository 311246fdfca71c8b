"""The create/edit form of a definition: a widget per field of ``DefinitionSpec.FIELDS`` and
per setting its step type declares (``fields()``), with the service's error under each field
(by path: ``name``, ``steps[1].next_failure``, ``steps[0].settings.recipients``); errors clear
as the value changes, and those without a field of their own show at the top."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn

from apps.definitions_state import SCHEDULE_PRESETS, TRIGGERS, DefinitionForm
from apps.display import esc
from jobs.service import JobService

ERROR_STYLE = {"color": "#b91c1c", "font-size": "13px", "margin-top": "-6px"}


def _error(path: str) -> pn.pane.HTML:
    return pn.pane.HTML(
        "",
        visible=False,
        styles=ERROR_STYLE,
        css_classes=["bd-field-error", "bd-error-" + path.replace("[", "-").replace("].", "-")],
        sizing_mode="stretch_width",
    )


class DefinitionFormView(pn.viewable.Viewer):
    """The create/edit form: a widget per declared field, the error under each."""

    def __init__(
        self, service: JobService, form: DefinitionForm, on_done: Callable[[Any], None]
    ) -> None:
        super().__init__()
        from jobs.definitions.spec import DefinitionSpec
        from jobs.definitions.steps import STEP_TYPES

        self.service = service
        self.form = form
        self.on_done = on_done
        self.step_types = STEP_TYPES
        self.labels = {f.name: (f.label, f.help) for f in DefinitionSpec.FIELDS}
        self.panes: dict[str, pn.pane.HTML] = {}
        self.top = pn.pane.Alert(
            "",
            alert_type="danger",
            visible=False,
            css_classes=["bd-form-error"],
            sizing_mode="stretch_width",
        )
        self.columns: dict[str, pn.Column] = {}
        fields = [
            self._field(name)
            for name in (
                "name",
                "description",
                "trigger",
                "schedule",
                "schedule_options",
                "timezone",
                "inbox",
                "owner",
                "success_recipients",
                "failure_recipients",
                "depends_on",
                "enabled",
            )
        ]
        self._trigger_fields(form.values["trigger"])
        self.steps = pn.Column(sizing_mode="stretch_width", css_classes=["bd-form-steps"])
        add = pn.widgets.Button(label="+ Add step", width=120, css_classes=["bd-add-step"])
        add.on_click(lambda _: form.add_step())
        save = pn.widgets.Button(
            label="Save", color="primary", width=110, css_classes=["bd-save-definition"]
        )
        save.on_click(lambda _: self._save())
        cancel = pn.widgets.Button(label="Cancel", width=100)
        cancel.on_click(lambda _: on_done(None))
        form.param.watch(self._show_errors, ["errors", "message"])
        form.param.watch(lambda _e: self._build_steps(), "steps_version")
        self._build_steps()
        self._layout = pn.Column(
            pn.pane.HTML(f'<h3 style="margin:4px 0">{esc(form.title)}</h3>'),
            self.top,
            pn.GridBox(*fields, ncols=2, sizing_mode="stretch_width"),
            pn.pane.HTML(
                "<h4 style='margin:8px 0 2px'>Steps</h4><div style='color:#4b5563'>The first step "
                "runs first; each names the step after success and after failure (empty: the "
                "run ends).</div>"
            ),
            self.steps,
            pn.Row(add, pn.HSpacer(), cancel, save, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            css_classes=["bd-definition-form"],
            styles={"border": "1px solid #d1d5db", "border-radius": "8px", "padding": "8px"},
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def _pane(self, path: str) -> pn.pane.HTML:
        pane = _error(path)
        self.panes[path] = pane
        return pane

    def _field(self, name: str) -> pn.Column:
        f = self.form
        label, help_ = self.labels.get(name, (name, ""))
        if name == "schedule_options":  # the form reads name=value pairs
            help_ = "name=value, comma-separated: at=18:00, weekday=mon, day=1, minute=0"
        value = f.values[name]
        css = [f"bd-form-{name}"]
        if name == "trigger":
            widget: Any = pn.widgets.Select(
                label=label,
                options={v: k for k, v in TRIGGERS.items()},
                value=value,
                css_classes=css,
            )
        elif name == "enabled":
            widget = pn.widgets.Checkbox(label=label, value=bool(value), css_classes=css)
        elif name == "owner":
            users = {
                "(me)": "",
                **{f"{a.display_name} ({a.username})": a.username for a in self.service.users()},
            }
            widget = pn.widgets.Select(
                label=label,
                options=users,
                value=value if value in users.values() else "",
                css_classes=css,
            )
        elif name == "description":
            widget = pn.widgets.TextAreaInput(
                label=label, value=value, max_length=500, height=70, css_classes=css
            )
        else:
            limits = {"name": 120, "schedule": 120, "timezone": 64, "inbox": 500}
            placeholder = {"schedule": " / ".join(SCHEDULE_PRESETS) + " / a cron expression"}.get(
                name, ""
            )
            widget = pn.widgets.TextInput(
                label=label,
                value=str(value),
                placeholder=placeholder,
                max_length=limits.get(name, 2000),
                css_classes=css,
            )
        widget.sizing_mode = "stretch_width"
        widget.param.watch(lambda e, n=name: f.set_value(n, e.new), "value")
        hint = pn.pane.HTML(
            f'<div style="color:#4b5563;font-size:12px;margin-top:-8px">{esc(help_)}</div>'
            if help_ and name not in ("schedule",)
            else "",
            sizing_mode="stretch_width",
        )
        column = pn.Column(widget, hint, self._pane(name), sizing_mode="stretch_width")
        self.columns[name] = column
        if name == "trigger":
            widget.param.watch(lambda e: self._trigger_fields(e.new), "value")
        return column

    def _trigger_fields(self, trigger: str) -> None:
        """Only the fields the trigger uses: a schedule for Scheduled, a folder for FTPin."""
        for name in ("schedule", "schedule_options"):
            if name in self.columns:
                self.columns[name].visible = trigger == "scheduled"
        if "inbox" in self.columns:
            self.columns["inbox"].visible = trigger == "file_in"

    def _build_steps(self) -> None:
        f = self.form
        for path in [p for p in self.panes if p.startswith("steps[")]:
            del self.panes[path]
        cards = []
        names = [s["name"] for s in f.steps]
        for i, step in enumerate(f.steps):
            prefix = f"steps[{i}]"
            name = pn.widgets.TextInput(
                label="Name",
                value=step["name"],
                max_length=80,
                width=180,
                css_classes=[f"bd-step-{i}-name"],
            )
            kind = pn.widgets.Select(
                label="Type",
                options={t.label: k for k, t in self.step_types.items()},
                value=step["kind"],
                width=170,
                css_classes=[f"bd-step-{i}-kind"],
            )
            others = {"(end of run)": "", **{n: n for n in names if n != step["name"]}}
            ok = pn.widgets.Select(
                label="Next success step",
                options=others,
                value=step.get("next_success")
                if step.get("next_success") in others.values()
                else "",
                width=180,
            )
            bad = pn.widgets.Select(
                label="Next failure step",
                options=others,
                value=step.get("next_failure")
                if step.get("next_failure") in others.values()
                else "",
                width=180,
            )
            name.param.watch(lambda e, i=i: f.set_step(i, "name", e.new), "value")
            kind.param.watch(
                lambda e, i=i: (
                    f.set_step(i, "kind", e.new),
                    f.steps[i].__setitem__("settings", {}),
                    self._build_steps(),
                ),
                "value",
            )
            ok.param.watch(lambda e, i=i: f.set_step(i, "next_success", e.new), "value")
            bad.param.watch(lambda e, i=i: f.set_step(i, "next_failure", e.new), "value")
            remove = pn.widgets.Button(label="Remove", width=90, disabled=len(f.steps) == 1)
            remove.on_click(lambda _e, i=i: f.remove_step(i))
            settings = []
            for field in self.step_types[step["kind"]].fields():
                settings.append(self._setting(i, field, step.get("settings", {}).get(field.name)))
            cards.append(
                pn.Column(
                    pn.Row(
                        pn.Column(name, self._pane(f"{prefix}.name")),
                        pn.Column(kind, self._pane(f"{prefix}.kind")),
                        pn.Column(ok, self._pane(f"{prefix}.next_success")),
                        pn.Column(bad, self._pane(f"{prefix}.next_failure")),
                        pn.Column(pn.Spacer(height=18), remove),
                    ),
                    pn.GridBox(*settings, ncols=2, sizing_mode="stretch_width"),
                    self._pane(f"{prefix}.settings"),
                    sizing_mode="stretch_width",
                    styles={"border-top": "1px solid #e5e7eb", "padding-top": "6px"},
                    css_classes=[f"bd-form-step-{i}"],
                )
            )
        self.steps[:] = cards
        self._show_errors()

    def _setting(self, index: int, field: Any, value: Any) -> pn.Column:
        from jobs.service import FieldView

        with self.service.db.read() as session:
            view = FieldView.of(field, field.options(session))
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        css = [f"bd-step-{index}-{field.name}"]
        common = {"label": view.label, "sizing_mode": "stretch_width", "css_classes": css}
        if view.kind == "choice":
            options = list(view.options)
            chosen = (
                value
                if value in options
                else (view.initial if view.initial in options else options[0])
            )
            widget: Any = pn.widgets.Select(options=options, value=chosen, **common)
            self.form.set_setting(index, field.name, chosen)
        elif view.kind == "int":
            widget = pn.widgets.IntInput(
                value=value if isinstance(value, int) else view.initial, **common
            )
        else:
            text = "" if value is None else str(value)
            limit = {"max_length": view.max_length} if view.max_length else {}
            if view.multiline:
                widget = pn.widgets.TextAreaInput(
                    value=text, placeholder=view.help, height=70, **limit, **common
                )
            else:
                widget = pn.widgets.TextInput(value=text, placeholder=view.help, **limit, **common)
        widget.param.watch(
            lambda e, i=index, n=field.name: self.form.set_setting(i, n, e.new), "value"
        )
        return pn.Column(
            widget, self._pane(f"steps[{index}].settings.{field.name}"), sizing_mode="stretch_width"
        )

    def _show_errors(self, *_: Any) -> None:
        errors = self.form.errors
        for path, pane in self.panes.items():
            message = errors.get(path, "")
            pane.object = esc(message)
            pane.visible = bool(message)
        orphans = self.form.orphan_errors(set(self.panes))
        text = self.form.message
        if orphans:
            text = (text + ": " if text else "") + "; ".join(orphans)
        self.top.object = esc(text)
        self.top.visible = bool(text)

    def _save(self) -> None:
        saved = self.form.save()
        if saved is not None:
            self.on_done(saved)
