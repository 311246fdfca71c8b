"""Without internet: the served dashboard, the served notebook and the audit report from disk.

Each page is opened in a browser context that reaches loopback only: every other request is
aborted and recorded (:class:`lab_tooling.Offline`). The page must show what a person needs
(the login, the Monitor's rows, the report's tables and timeline), ask no other host for
anything, and log no resource-loading error. The notebooks in JupyterLab: ``test_lab.py``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from audit_jobs import make_audit_jobs
from browser_tooling import ServedApp, log_in, serve_app
from lab_tooling import Offline
from playwright.sync_api import Page, expect

from jobs import notebooks
from jobs.db import Database
from jobs.service import JobService

WAIT = 60_000
#: A tag that makes a browser fetch from a host: a script, stylesheet, icon, image or frame.
LINKED = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=[\"']?(https?://[^\"' >]+)")
SHOTS = Path(os.environ["BULKDESK_SCREENSHOTS"]) if os.environ.get("BULKDESK_SCREENSHOTS") else None


def shot(page: Page, name: str) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.fixture
def offline(browser) -> Iterator[tuple[Page, Offline]]:  # type: ignore[no-untyped-def]
    context, record = Offline.context(browser, viewport={"width": 1500, "height": 1000})
    page = context.new_page()
    record.watch(page)
    yield page, record
    context.close()


def assert_offline(record: Offline) -> None:
    assert record.blocked == [], f"asked outside loopback: {record.blocked}"
    assert record.resource_errors() == [], record.console


def test_the_served_dashboard_needs_nothing_from_the_internet(
    served: ServedApp, offline: tuple[Page, Offline]
) -> None:
    page, record = offline
    # The login page, its mark and its stylesheet,
    page.goto(f"{served.url}/login")
    expect(page.locator(".brand svg.mark")).to_be_visible()
    # then every page of the dashboard, with Panel's theme stylesheets and the Monitor's rows.
    log_in(page, served, "admin")
    expect(page.get_by_text("Bulk update monitoring")).to_be_visible(timeout=WAIT)
    shot(page, "offline-monitor.png")
    pages = (("Launch", ".bd-review"), ("Accounts", ".tabulator"), ("Monitor", ".bd-pager"))
    for name, shows in pages:
        page.get_by_role("button", name=name, exact=True).first.click()
        expect(page.locator(shows).first).to_be_visible(timeout=WAIT)
    shot(page, "offline-accounts-then-monitor.png")

    assert_offline(record)


def test_the_served_notebook_needs_nothing_from_the_internet(
    sqlite_template: Path, offline: tuple[Page, Offline]
) -> None:
    page, record = offline
    with serve_app(sqlite_template, files=["notebooks/launch_and_monitor.ipynb"]) as app:
        log_in_to_notebook(page, app)
        expect(page.get_by_text("Bulk update monitoring")).to_be_visible(timeout=WAIT)
        page.locator(".bk-tab", has_text="Launch").click()
        expect(page.locator(".bd-review")).to_be_visible(timeout=WAIT)
        shot(page, "offline-served-notebook.png")

    assert_offline(record)


def log_in_to_notebook(page: Page, app: ServedApp) -> None:
    page.goto(f"{app.url}/login?next=/launch_and_monitor")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", app.passwords["alice"])
    page.click("button[type=submit]")
    if "/launch_and_monitor" not in page.url:
        page.goto(f"{app.url}/launch_and_monitor")


@pytest.fixture
def audit_html(
    sqlite_db: Database, stub_broker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Path:  # type: ignore[no-untyped-def]
    """The audit notebook's HTML report over a trail of finished, stopped and deleted jobs."""
    monkeypatch.setenv("BULKDESK_DATABASE_URL", str(sqlite_db.url))
    monkeypatch.setenv("BULKDESK_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("BULKDESK_BROKER_URL", raising=False)
    make_audit_jobs(JobService(sqlite_db), stub_broker)
    out = tmp_path / "report"
    notebooks.run_notebook(
        notebooks.notebook_path("audit"),
        tmp_path / "audit.ipynb",
        {"output_dir": str(out)},
        timeout=300,
    )
    (html,) = out.glob("*.html")
    # Alone in a folder of its own: the file is all there is.
    alone = tmp_path / "alone" / html.name
    alone.parent.mkdir()
    shutil.copy(html, alone)
    return alone


@pytest.mark.slow
def test_the_audit_report_opens_offline_from_disk_as_one_file(
    audit_html: Path, offline: tuple[Page, Offline]
) -> None:
    page, record = offline
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(audit_html.as_uri())

    expect(page.get_by_text("Who stopped or deleted what")).to_be_visible(timeout=WAIT)
    expect(page.locator("table").first).to_be_visible()
    canvas = page.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    expect(canvas).to_be_visible(timeout=WAIT)
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100, box
    shot(page, "offline-audit-report.png")
    # Everything came from the file itself (or data: URLs inside it).
    outside = [u for u in requests if not u.startswith(("file:", "data:", "blob:"))]
    assert outside == []
    assert_offline(record)
    # Nor would any other browser fetch anything: no tag of the file points at another host
    # (headless Chromium asks for no favicon, a desktop browser would).
    assert LINKED.findall(audit_html.read_text()) == []
