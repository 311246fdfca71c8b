"""Fixtures for the browser tests: the served dashboard, a headless Chromium, a logged-in page.

Outside CI the tests skip (with the reason) only when Debian's Chromium is missing; under
``CI=true`` a missing browser fails them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browser_tooling import CHROMIUM, ServedApp, chromium, log_in, serve_app

from jobs.db import Database
from jobs.service import JobService

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        reason = f"Debian's chromium is not installed at {CHROMIUM}"
        if IN_CI:
            pytest.fail(f"{reason}; CI must run the browser tests")
        pytest.skip(f"{reason} (apt-get install chromium)")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def served(sqlite_template: Path, browser: object) -> Iterator[ServedApp]:
    """The real app (``panel serve`` with basic auth) over a copy of the seeded database.

    Chunks of 25 accounts and a 0.5 s pause per chunk on 2 worker threads make a job over a
    couple of thousand accounts run for about 20 s: long enough to watch and to stop, even
    on a busy machine.
    """
    with serve_app(sqlite_template, chunk_pause=0.5, chunk_size=25, threads=2) as app:
        yield app


@pytest.fixture(scope="session")
def served_service(served: ServedApp) -> Iterator[JobService]:
    """The service API over the served app's database, for arranging jobs."""
    db = Database(served.database_url)
    yield JobService(db)
    db.dispose()


@pytest.fixture
def login(browser, served: ServedApp) -> Iterator[Callable[[str], object]]:
    """``login("alice")`` gives a page logged in as alice, in a fresh browser context."""
    contexts = []

    def open_as(user: str):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": 1500, "height": 1000})
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        log_in(page, served, user)
        return page

    yield open_as
    for context in contexts:
        context.close()
