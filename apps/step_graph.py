"""A picture of a definition's step graph (Bokeh, from the local install: nothing fetched).

The steps stand in their order from top to bottom, then "End of run". A success edge is a
green solid curve on the left, a failure edge a red dashed curve on the right, so the two
are told apart without colour too.
"""

from __future__ import annotations

from typing import Any

from bokeh.models import Arrow, ColumnDataSource, LabelSet, Legend, LegendItem, NormalHead
from bokeh.plotting import figure

SUCCESS = "#166534"
FAILURE = "#b91c1c"
END = "(end of run)"


def step_figure(steps: list[Any]) -> Any:
    """A Bokeh figure of ``steps`` (objects with name, kind_label, next_success,
    next_failure); empty next steps go to "End of run"."""
    names = [s.name for s in steps]
    y = {name: -i for i, name in enumerate(names)}
    y[END] = -len(names)
    height = 90 + 70 * (len(names) + 1)
    fig = figure(
        height=height,
        width=460,
        x_range=(-2.6, 2.6),
        y_range=(-len(names) - 0.6, 0.6),
        toolbar_location=None,
        tools="",
        title="Step graph",
    )
    fig.axis.visible = False
    fig.grid.visible = False
    fig.outline_line_color = None
    nodes = ColumnDataSource(
        {
            "x": [0.0] * (len(names) + 1),
            "y": [y[n] for n in names] + [y[END]],
            "label": [
                s.name if s.name.lower() == s.kind_label.lower() else f"{s.name} ({s.kind_label})"
                for s in steps
            ]
            + ["End of run"],
            "fill": ["#eff6ff"] * len(names) + ["#f3f4f6"],
        }
    )
    fig.rect("x", "y", width=2.2, height=0.5, source=nodes, fill_color="fill", line_color="#1e3a8a")
    fig.add_layout(
        LabelSet(
            x="x",
            y="y",
            text="label",
            source=nodes,
            text_align="center",
            text_baseline="middle",
            text_font_size="12px",
            text_color="#111827",
        )
    )
    legend: list[LegendItem] = []
    for side, color, dash, attr, label in (
        (-1, SUCCESS, "solid", "next_success", "on success"),
        (1, FAILURE, "dashed", "next_failure", "on failure"),
    ):
        curves: dict[str, list[float]] = {
            k: [] for k in ("x0", "y0", "x1", "y1", "cx0", "cy0", "cx1", "cy1")
        }
        for s in steps:
            target = getattr(s, attr) or END
            if attr == "next_failure" and not getattr(s, attr):
                continue  # no failure step: a failure ends the run in Error (said in the table)
            if target not in y:
                continue
            y0, y1 = y[s.name], y[target]
            bend = side * (1.25 + 0.25 * abs(y1 - y0))
            x0 = side * 1.1
            curves["x0"].append(x0)
            curves["y0"].append(y0)
            curves["x1"].append(x0)
            curves["y1"].append(y1 + (0.12 if y1 < y0 else -0.12))
            curves["cx0"].append(bend)
            curves["cy0"].append(y0)
            curves["cx1"].append(bend)
            curves["cy1"].append(y1)
        if not curves["x0"]:
            continue
        source = ColumnDataSource(curves)
        glyph = fig.bezier(
            "x0",
            "y0",
            "x1",
            "y1",
            "cx0",
            "cy0",
            "cx1",
            "cy1",
            source=source,
            line_color=color,
            line_width=2,
            line_dash=dash,
        )
        for x1, y1 in zip(curves["x1"], curves["y1"], strict=True):
            fig.add_layout(
                Arrow(
                    end=NormalHead(size=9, fill_color=color, line_color=color),
                    x_start=x1 + side * 0.25,
                    y_start=y1,
                    x_end=x1,
                    y_end=y1,
                    line_color=color,
                    line_width=2,
                )
            )
        legend.append(LegendItem(label=label, renderers=[glyph]))
    if legend:
        fig.add_layout(
            Legend(items=legend, orientation="horizontal", label_text_font_size="12px"), "above"
        )
    return fig
