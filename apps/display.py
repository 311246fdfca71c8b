"""How jobs look on screen: status colours and icons, times, progress bars, escaped HTML.

Small functions shared by every screen, and the "not permitted" page. Anything that ends up
in HTML goes through :func:`esc` first, so a description such as ``<script>`` shows as text.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import panel as pn

from jobs import clock
from jobs.people.permissions import Actor
from jobs.reports.queries import JobSummary
from jobs.status import JobStatus

#: status → (colour, icon); the icon is a DejaVu Sans glyph so it renders without emoji fonts.
#: The colours keep 4.5:1 contrast (WCAG AA) on white and on the table's grey rows.
STATUS_STYLE: dict[JobStatus, tuple[str, str]] = {
    JobStatus.QUEUED: ("#475569", "◷"),
    JobStatus.IN_PROGRESS: ("#2563eb", "▶"),
    JobStatus.COMPLETED: ("#166534", "✔"),
    JobStatus.STOPPED: ("#9333ea", "■"),
    JobStatus.FAILED: ("#b91c1c", "✖"),
    JobStatus.COMPLETED_WITH_EXCEPTIONS: ("#92400e", "!"),
    JobStatus.SKIPPED: ("#854d0e", "↷"),
    JobStatus.SUSPENDED: ("#475569", "‖"),
    JobStatus.AWAITING_APPROVAL: ("#155e75", "?"),
}

BUTTON_STYLE = (
    "display:inline-block;padding:1px 10px;border-radius:4px;font-size:12px;"
    "font-weight:600;cursor:pointer;border:1px solid {c};color:{c};background:#fff"
)


def page_frame(
    rows: Iterable[Sequence[Any]], columns: Sequence[str], *, numbers: Sequence[str] = ()
) -> pd.DataFrame:
    """A page's rows as a table's DataFrame of plain Python values (``numbers``: the columns
    kept numeric, e.g. the job number, which the table aligns as a number).

    pandas 3 makes each text column an Arrow string array, and the table turns it back into
    Python strings to send it: for a page of 25 jobs that took about 1 ms to build and 1 ms
    more in the table's update, for nothing (the Monitor rebuilds a page on every jump)."""
    frame = pd.DataFrame(list(rows), columns=list(columns), dtype=object)
    for column in numbers:
        frame[column] = pd.to_numeric(frame[column])
    return frame


def esc(value: object) -> str:
    """``value`` as text that is safe inside HTML (quotes escaped too)."""
    return html.escape("" if value is None else str(value), quote=True)


def status_color(status: JobStatus) -> str:
    return STATUS_STYLE[status][0]


def status_badge(status: JobStatus, *, clickable: bool = True) -> str:
    """A coloured round icon plus the label; the icon opens the job's status view."""
    color, icon = STATUS_STYLE[status]
    cursor = "pointer" if clickable else "default"
    return (
        f'<span class="bd-status" title="Open the job status" style="cursor:{cursor};'
        f'white-space:normal"><span style="display:inline-block;width:18px;height:18px;'
        f"border-radius:50%;background:{color};color:#fff;text-align:center;"
        f'line-height:18px;font-size:11px;font-weight:700;margin-right:6px">{icon}</span>'
        f'<span style="color:{color};font-weight:600">{esc(status.label)}</span></span>'
    )


def fmt_time(value: dt.datetime | None) -> str:
    """A timestamp in the server's local time, or an em dash."""
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def fmt_short(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """A compact timestamp for table cells: the time alone today, else the date too."""
    if value is None:
        return "—"
    local = value.astimezone()
    today = (now or dt.datetime.now(dt.UTC)).astimezone().date()
    return local.strftime("%H:%M:%S" if local.date() == today else "%b %d %H:%M")


def description_cell(job: JobSummary, *, with_owner: bool) -> str:
    """The job's description (escaped), with its owner underneath for admins."""
    owner = (
        f'<div style="font-size:11px;color:#6b7280">by {esc(job.owner)}</div>' if with_owner else ""
    )
    # Up to two lines, then an ellipsis; the whole text is in the tooltip.
    return (
        f'<div class="bd-description" title="{esc(job.description)}" style="overflow:hidden;'
        f"white-space:normal;display:-webkit-box;-webkit-line-clamp:2;"
        f'-webkit-box-orient:vertical;word-break:break-word">{esc(job.description)}</div>'
        f"{owner}"
    )


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def progress_bar(job: JobSummary) -> str:
    """A bar (ok in the status colour, exceptions amber, not processed grey) over
    "processed of total", exceptions and not processed."""
    total = max(job.total, 1)
    ok = 100 * job.ok / total
    bad = 100 * job.exceptions / total
    skipped = 100 * job.not_processed / total
    color = status_color(job.status)
    if job.status == JobStatus.QUEUED and job.not_before and job.not_before > clock.now():
        # Short enough for the column ("Jan 06 00:00"); the whole time in the tooltip.
        when = fmt_time(job.not_before)
        label = f'<span title="{when}">scheduled for {fmt_short(job.not_before)}</span>'
    elif job.status == JobStatus.QUEUED:
        label = "waiting for a worker"
    elif job.status == JobStatus.AWAITING_APPROVAL:
        label = "awaiting approval"
    elif job.total:
        label = f"{job.processed:,} of {job.total:,}"
    else:
        label = "no items"
    if job.exceptions:
        label += f' · <span style="color:#92400e">{job.exceptions:,} exc.</span>'
    if job.not_processed:
        label += f' · <span style="color:#4b5563">{job.not_processed:,} not processed</span>'
    rate = job.rate() if job.status == JobStatus.IN_PROGRESS else None
    if rate:
        label += (
            f'<br><span class="bd-rate">{rate:,.0f}/s · '
            f"{fmt_duration(job.seconds_left())} left</span>"
        )
    return (
        f'<div style="height:7px;border-radius:4px;background:#e5e7eb;overflow:hidden;'
        f'display:flex;margin-top:3px"><div style="width:{ok:.1f}%;background:{color}"></div>'
        f'<div style="width:{bad:.1f}%;background:#f59e0b"></div>'
        f'<div style="width:{skipped:.1f}%;background:#9ca3af"></div></div>'
        f'<div style="font-size:11px;color:#374151;margin-top:2px;white-space:nowrap">'
        f"{label}</div>"
    )


def action_link(job: JobSummary) -> str:
    """The action's name as a link; it opens the job's details."""
    return (
        # Wraps rather than cut: "Schedule Text Messages", "Job definition run".
        f'<a class="bd-action" style="color:#1d4ed8;text-decoration:underline;'
        f'cursor:pointer;white-space:normal;word-break:break-word" '
        f'title="Open the job details">{esc(job.action_label)}</a>'
    )


def button(label: str, color: str) -> str:
    return f'<span class="bd-button" style="{BUTTON_STYLE.format(c=color)}">{esc(label)}</span>'


def stop_button(job: JobSummary) -> str:
    return button("Stop", "#b91c1c") if job.can_stop else ""


def delete_button(job: JobSummary) -> str:
    return button("Delete", "#475569") if job.can_delete else ""


def not_permitted(
    actor: Actor | None,
    reason: str = "",
    *,
    page: str = "",
    open_pages: Sequence[tuple[str, str]] = (),
) -> pn.viewable.Viewable:
    """The page for someone without the bulk-update permission (or an unknown login):
    ``page`` is what they tried to open, ``open_pages`` the pages they may open instead."""
    who = esc(actor.display_name if actor else "This login")
    what = f"<b>{esc(page)}</b>" if page else "bulk updates"
    links = ", ".join(
        f'<a href="?page={esc(address)}">{esc(title)}</a>' for title, address in open_pages
    )
    text = reason or (
        f"You are not permitted to open {what}: it needs the permission "
        "<i>Client Bulk Updates | Bulk Update - Interactions</i>. "
        "Ask an administrator to grant it. "
        + (
            f"Open to you: {links}."
            if links
            else 'Your own job completion emails are on your <a href="?page=profile">Profile</a>.'
        )
    )
    return pn.Column(
        pn.pane.HTML(
            f'<h2 style="margin:0">Not permitted</h2><p>{who}: {text}</p>',
            css_classes=["bd-not-permitted"],
        ),
        sizing_mode="stretch_width",
        styles={"padding": "12px"},
    )
