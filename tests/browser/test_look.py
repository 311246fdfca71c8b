"""How the dashboard looks in Chromium: a login that needs no internet, table rows that stay
readable while pointed at or selected, header titles that wrap, and a timeline that Bokeh
draws without warnings.

Contrast is measured the way WCAG defines it, on the colours Chromium computes: the text's
colour against the row's background as painted (the first opaque background up the tree,
through the table's shadow root). Set ``BULKDESK_SCREENSHOTS=<dir>`` to keep screenshots of
what the tests saw.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browser_tooling import ROOT, ServedApp, free_port, log_in, wait_until_up
from playwright.sync_api import Page, expect

WAIT = 30_000
AA = 4.5
SHOTS = Path(os.environ["BULKDESK_SCREENSHOTS"]) if os.environ.get("BULKDESK_SCREENSHOTS") else None

#: The Monitor's table CSS before apps/styles.py: nothing for the row pointed at, so
#: Tabulator's theme turns it accent blue with white text over the blue link.
CSS_BEFORE = """
.tabulator-row.tabulator-selected { background-color: #dbeafe !important; }
.tabulator-row.tabulator-selected .tabulator-cell { color: #111827 !important; }
.tabulator-row.tabulator-selected:hover { background-color: #bfdbfe !important; }
"""

#: A page like the Monitor's: the same template and design, a table of the same cells.
ROWS_PAGE = """
from types import SimpleNamespace

import pandas as pd
import panel as pn

from apps.display import action_link, description_cell, status_badge
from apps.styles import FONT, TABLE_CSS, OfflineFast
from jobs.status import JobStatus

CSS = {css}
pn.extension("tabulator")
jobs = [
    SimpleNamespace(
        id=n, description=f"Dispute review follow-up {{n}}", owner="Alice Analyst",
        action_label="Add Interaction",
    )
    for n in range(1, 6)
]
frame = pd.DataFrame({{
    "Job": [j.id for j in jobs],
    "Description": [description_cell(j, with_owner=True) for j in jobs],
    "Account number": [f"40{{n}}1203" for n in range(5)],
    "File number": [f"F-{{n}}77" for n in range(5)],
    "Submitted": ["07:22:38"] * 5,
    "Status": [status_badge(JobStatus.IN_PROGRESS)] * 5,
    "Action": [action_link(j) for j in jobs],
}})
table = pn.widgets.Tabulator(
    frame,
    show_index=False,
    disabled=True,
    selectable=1,
    layout="fit_columns",
    sizing_mode="stretch_width",
    header_align="left",
    formatters={{c: {{"type": "html"}} for c in ("Description", "Status", "Action")}},
    widths={{"Job": 62, "Account number": 90, "File number": 80, "Submitted": 106,
             "Status": 200, "Action": 130}},
    stylesheets=[CSS],
    css_classes=["bd-jobs"],
)
pn.template.FastListTemplate(
    title="Bulkdesk", accent="#1d4ed8", design=OfflineFast, font=FONT, main=[table],
    main_layout=None, theme_toggle=False,
).servable(title="Rows")
"""

#: The colour of ``el``'s text and the backgrounds painted under it, innermost first, up to
#: the first opaque one (crossing shadow roots to their hosts); null for an element the table
#: has just replaced.
PAINTED = """(el) => {
  if (!el.isConnected) return null;
  const rgba = (c) => {
    const parts = (c.match(/[\\d.]+/g) || []).map(Number);
    if (parts.length < 3) return [0, 0, 0, 0];  // "transparent", "none"
    const scale = c.startsWith("color(") ? 255 : 1;  // color(srgb 0.1 0.2 0.3 / 0.5)
    return [parts[0] * scale, parts[1] * scale, parts[2] * scale, parts.length > 3 ? parts[3] : 1];
  };
  const layers = [];
  for (let node = el; node; node = node.parentNode || node.host) {
    if (node.nodeType !== 1) continue;
    const bg = rgba(getComputedStyle(node).backgroundColor);
    if (bg[3] > 0) { layers.push(bg); if (bg[3] >= 1) break; }
  }
  return {text: rgba(getComputedStyle(el).color), layers};
}"""

#: What a person reads in a row: plain text, the description, the owner line, the link.
PARTS = {
    "text": ".tabulator-cell[tabulator-field='Job']",
    "description": ".bd-description",
    "owner": ".bd-description + div",
    "link": "a.bd-action",
}


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def painted_contrast(element) -> float:  # type: ignore[no-untyped-def]
    """The contrast of ``element``'s text on what is painted behind it (white at the bottom)."""
    seen = element.evaluate(PAINTED)
    for _ in range(20):  # Tabulator redraws its rows after it first shows them
        if seen is not None:
            break
        element.page.wait_for_timeout(100)
        seen = element.evaluate(PAINTED)
    background = (255.0, 255.0, 255.0)
    for *rgb, alpha in reversed(seen["layers"]):
        background = tuple(
            alpha * c + (1 - alpha) * b for c, b in zip(rgb, background, strict=True)
        )
    *text, alpha = seen["text"]
    text = tuple(alpha * c + (1 - alpha) * b for c, b in zip(text, background, strict=True))
    return contrast(text, background)


def row_contrasts(row) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {part: round(painted_contrast(row.locator(css).first), 2) for part, css in PARTS.items()}


def states(page: Page, rows, name: str) -> dict[str, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Contrasts of each part of a row: normal (an odd and an even row), pointed at,
    selected, and selected while pointed at."""
    away = {"x": 2, "y": 2}
    page.mouse.move(**away)
    seen = {"normal": row_contrasts(rows.nth(0)), "normal, even row": row_contrasts(rows.nth(1))}
    rows.nth(2).hover()
    seen["pointed at"] = row_contrasts(rows.nth(2))
    shot(page, f"{name}-pointed-at.png")
    rows.nth(1).locator(".tabulator-cell").nth(1).click()
    expect(rows.nth(1)).to_have_class(re.compile("tabulator-selected"), timeout=WAIT)
    page.mouse.move(**away)
    page.wait_for_timeout(200)
    seen["selected"] = row_contrasts(rows.nth(1))
    rows.nth(1).hover()
    seen["selected, pointed at"] = row_contrasts(rows.nth(1))
    rows.nth(2).hover()
    shot(page, f"{name}-selected-and-pointed-at.png")
    return seen


def unreadable(seen: dict[str, dict[str, float]]) -> list[str]:
    return [
        f"{state}: {part} {ratio}:1"
        for state, parts in seen.items()
        for part, ratio in parts.items()
        if ratio < AA
    ]


def shot(page: Page, name: str, element=None) -> None:  # type: ignore[no-untyped-def]
    if SHOTS is None:
        return
    SHOTS.mkdir(parents=True, exist_ok=True)
    (element or page).screenshot(path=str(SHOTS / name))


def other_hosts(urls: list[str], app: str) -> set[str]:
    """Hosts other than the app's that ``urls`` went to (``data:`` and ``blob:`` go nowhere)."""
    ours = urlparse(app).netloc
    return {
        urlparse(u).netloc
        for u in urls
        if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != ours
    }


@pytest.fixture(scope="module")
def rows_page(browser: object) -> Iterator[str]:
    """A small served page like the Monitor's table: ``/rows`` with apps.styles' CSS and
    ``/rows_before`` with the CSS it replaced."""
    work = Path(tempfile.mkdtemp(prefix="bulkdesk-look-"))
    (work / "rows.py").write_text(ROWS_PAGE.format(css="TABLE_CSS"))
    (work / "rows_before.py").write_text(ROWS_PAGE.format(css=repr(CSS_BEFORE)))
    port = free_port()
    url = f"http://localhost:{port}"
    log = work / "panel.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        str(Path(sys.executable).parent / "panel"),
        "serve",
        str(work / "rows.py"),
        str(work / "rows_before.py"),
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"localhost:{port}",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, proc, log)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def open_rows(browser, url: str) -> tuple[Page, object]:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 1300, "height": 700})
    page.goto(url)
    rows = page.locator(".bd-jobs .tabulator-row")
    expect(rows.nth(4)).to_be_visible(timeout=WAIT)
    return page, rows


def test_rows_stay_readable_when_pointed_at_selected_or_both(browser, rows_page):
    page, rows = open_rows(browser, f"{rows_page}/rows")

    seen = states(page, rows, "rows")

    assert unreadable(seen) == [], seen
    page.close()


def test_the_contrast_check_catches_the_dark_row_the_table_had_before(browser, rows_page):
    page, rows = open_rows(browser, f"{rows_page}/rows_before")

    seen = states(page, rows, "rows-before")

    # The row pointed at turned accent blue: the blue link on it could not be read
    assert "pointed at: link" in " ".join(unreadable(seen))
    assert seen["pointed at"]["link"] < 2
    page.close()


def test_header_titles_wrap_instead_of_being_cut(browser, rows_page):
    page, _ = open_rows(browser, f"{rows_page}/rows")
    titles = page.locator(".bd-jobs .tabulator-col-title")

    cut = [
        title.inner_text()
        for title in titles.all()
        if title.inner_text().strip()
        and title.evaluate("(el) => el.scrollWidth > el.clientWidth + 1")
    ]

    assert cut == []
    assert titles.filter(has_text="Account number").evaluate("(el) => el.clientHeight") > 20
    shot(page, "rows-headers.png", page.locator(".bd-jobs"))
    page.close()


def test_the_login_page_is_bulkdeskss_own_and_fetches_nothing_from_another_host(
    browser, served: ServedApp
):
    context = browser.new_context(viewport={"width": 1000, "height": 760})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(f"{served.url}/login")
    expect(page.get_by_role("heading", name="Bulkdesk")).to_be_visible()
    expect(page.locator(".brand p")).to_have_text(
        "Launch bulk jobs on accounts and watch each one run to its end."
    )
    expect(page.locator(".brand svg.mark")).to_be_visible()
    shot(page, "login.png")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not her password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_have_text("Wrong username or password.")
    shot(page, "login-wrong-password.png")

    assert requests and other_hosts(requests, served.url) == set()
    context.close()


def logged_in(browser, served: ServedApp, user: str) -> tuple[Page, list, list[str]]:  # type: ignore[no-untyped-def]
    """A page logged in as ``user`` that records its console and its requests from the start."""
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.set_default_timeout(WAIT)
    page = context.new_page()
    console: list = []
    requests: list[str] = []
    page.on("console", lambda message: console.append(message))
    page.on("pageerror", lambda error: console.append(error))
    page.on("request", lambda request: requests.append(request.url))
    log_in(page, served, user)
    return page, console, requests


def bokeh_complaints(console: list) -> list[str]:
    """Bokeh's warnings and errors, and uncaught page errors, from a console record."""
    said = []
    for entry in console:
        if isinstance(entry, Exception):
            said.append(f"page error: {entry}")
        elif entry.type in ("warning", "error") and "bokeh" in entry.text.lower():
            said.append(f"{entry.type}: {entry.text}")
    return said


def submit(service, description: str) -> int:  # type: ignore[no-untyped-def]
    return service.submit_bulk_interaction(
        "alice",
        description=description,
        interaction_type="Note",
        outcome="Information only",
        account_filter={"state": "WY"},
    ).id


def search(page: Page, text: str) -> None:
    box = page.get_by_placeholder("Description or job number")
    box.fill(text)
    box.press("Enter")


def test_the_timeline_fits_its_jobs_and_bokeh_never_complains(browser, served, served_service):
    # Given alice's Monitor, filtered to jobs that do not exist yet
    tag = f"Timeline look {uuid.uuid4().hex[:6]}"
    page, console, _ = logged_in(browser, served, "alice")
    search(page, tag)
    words = page.locator(".bd-timeline-empty")
    expect(words).to_contain_text("No jobs on this page", timeout=WAIT)
    shot(page, "timeline-0-jobs.png", page.locator(".bd-timeline"))

    # When two jobs arrive, one is selected, a filter leaves one, then none, then both again
    for n in (1, 2):
        submit(served_service, f"{tag} {n}")
    rows = page.locator(".bd-jobs .tabulator-row")
    expect(rows).to_have_count(2, timeout=WAIT)
    expect(words).to_be_hidden()
    timeline = page.locator(".bd-timeline canvas").first
    expect(timeline).to_be_visible()
    page.wait_for_timeout(2500)
    two_lanes = page.locator(".bd-timeline").bounding_box()["height"]
    shot(page, "timeline-2-jobs.png", page.locator(".bd-timeline"))
    rows.nth(0).locator(".tabulator-cell").nth(1).click()
    page.wait_for_timeout(2000)
    search(page, f"{tag} 2")
    expect(rows).to_have_count(1, timeout=WAIT)
    page.wait_for_timeout(2500)
    one_lane = page.locator(".bd-timeline").bounding_box()["height"]
    shot(page, "timeline-1-job.png", page.locator(".bd-timeline"))
    search(page, f"{tag} none")
    expect(words).to_be_visible(timeout=WAIT)
    search(page, tag)
    expect(rows).to_have_count(2, timeout=WAIT)
    page.wait_for_timeout(3000)

    # Then the plot was one lane shorter for one job, and Bokeh said nothing wrong
    assert one_lane < two_lanes
    assert bokeh_complaints(console) == []
    page.context.close()


def test_the_dashboard_fetches_nothing_from_another_host(browser, served):
    page, _, requests = logged_in(browser, served, "alice")
    expect(page.locator(".bd-page")).to_be_visible()
    page.wait_for_timeout(1500)

    assert other_hosts(requests, served.url) == set()
    page.context.close()


def test_opening_the_dashboard_logs_no_bokeh_layout_warning(browser, served):
    page, _, _ = logged_in(browser, served, "bob")
    expect(page.locator(".bd-page")).to_be_visible()
    page.wait_for_timeout(500)

    warned = [line for line in served.log.read_text().splitlines() if "FIXED_SIZING" in line]
    assert warned == []
    page.context.close()


def test_the_monitors_rows_stay_readable_when_pointed_at_or_selected(
    browser, served, served_service
):
    tag = f"Readable rows {uuid.uuid4().hex[:6]}"
    for n in range(3):
        submit(served_service, f"{tag} {n}")
    page, _, _ = logged_in(browser, served, "admin")
    search(page, tag)
    rows = page.locator(".bd-jobs .tabulator-row")
    expect(rows).to_have_count(3, timeout=WAIT)

    seen = states(page, rows, "monitor")

    assert unreadable(seen) == [], seen
    page.context.close()
