"""Serve the real dashboard in a subprocess and drive it with Debian's headless Chromium.

Used by the browser tests' fixtures, and as a script that takes the README's screenshot::

    .venv/bin/python tests/browser/browser_tooling.py --screenshot docs/dashboard.png
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jobs.seed import demo_password

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The demo users; their passwords are ``jobs.seed.demo_password`` (README, "Demo logins").
DEMO_USERS = ("admin", "alice", "bob", "carol", "dave")


@dataclass(frozen=True)
class ServedApp:
    url: str
    database_url: str
    passwords: dict[str, str]
    log: Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2):
                return
        except urllib.error.HTTPError:  # it answers (a server without login has no /login)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise RuntimeError(f"panel serve did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def serve_app(
    db_file: Path,
    *,
    chunk_pause: float = 0.3,
    chunk_size: int = 100,
    threads: int = 2,
    no_login_user: str | None = None,
    files: Sequence[str] = ("apps/app.py",),
    extra_args: Sequence[str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[ServedApp]:
    """``panel serve apps/app.py`` with Bulkdesk's login on a free port, over a copy of
    ``db_file``, with signed Bokeh sessions (a fresh secret key per server).

    ``no_login_user``: serve without the login instead, with ``BULKDESK_NO_LOGIN_USER`` set
    to it (empty string: without the login and without the flag). ``files``: what to serve;
    ``extra_args``, ``extra_env``: more for ``panel serve``'s command line and environment.
    """
    work = Path(tempfile.mkdtemp(prefix="bulkdesk-served-"))
    db_copy = work / "bulkdesk.db"
    shutil.copy(db_file, db_copy)
    port = free_port()
    url = f"http://localhost:{port}"
    database_url = f"sqlite:///{db_copy}"
    env = {
        **os.environ,
        "BULKDESK_DATABASE_URL": database_url,
        "BULKDESK_VAR_DIR": str(work),
        "BULKDESK_CHUNK_PAUSE": str(chunk_pause),
        "BULKDESK_CHUNK_SIZE": str(chunk_size),
        "BULKDESK_WORKER_THREADS": str(threads),
        "BULKDESK_BROKER_URL": "",
    }
    for name in (
        "BULKDESK_USER",
        "BULKDESK_NO_LOGIN_USER",
        "BOKEH_SIGN_SESSIONS",
        "BOKEH_SECRET_KEY",
    ):
        env.pop(name, None)
    if no_login_user is None:
        env.update(BOKEH_SIGN_SESSIONS="yes", BOKEH_SECRET_KEY=secrets.token_urlsafe(32))
        auth = ["--auth-module", "apps/auth.py"]
    else:
        auth = []
        if no_login_user:
            env["BULKDESK_NO_LOGIN_USER"] = no_login_user
    env.update(extra_env or {})
    log = work / "panel.log"
    cmd = [
        str(Path(sys.executable).parent / "panel"),
        "serve",
        *files,
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"localhost:{port}",
        *auth,
        "--setup",
        "apps/serve.py",
        *extra_args,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, proc, log)
        yield ServedApp(url, database_url, {u: demo_password(u) for u in DEMO_USERS}, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (Playwright Browser) from Debian's package."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page, app: ServedApp, user: str) -> None:  # type: ignore[no-untyped-def]
    """Log in through Bulkdesk's login page and wait for the dashboard."""
    page.goto(f"{app.url}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", app.passwords[user])
    page.click("button[type=submit]")
    page.wait_for_selector(".bd-user", timeout=60_000)


def take_screenshot(target: Path, db_file: Path | None = None) -> None:
    """Serve the demo database, launch a few jobs as alice and admin, photograph the Monitor."""
    from playwright.sync_api import expect

    if db_file is None:
        db_file = Path(tempfile.mkdtemp()) / "demo.db"
        env = {**os.environ, "BULKDESK_DATABASE_URL": f"sqlite:///{db_file}"}
        subprocess.run(
            [str(Path(sys.executable).parent / "bulkdesk"), "seed", "--if-empty"],
            env=env,
            check=True,
            cwd=ROOT,
        )
    with (
        serve_app(db_file, chunk_pause=0.5, chunk_size=500, threads=2) as app,
        chromium() as browser,
    ):
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        log_in(page, app, "admin")
        for group, status, description in [
            ("Dispute review", "Any", "Dispute review follow-up notes"),
            ("Texas open accounts", "Any", "Q4 hardship outreach <Texas>"),
            ("Skip-trace batch", "Any", "Skip-trace: log vendor hand-off"),
            ("(no group: filter all accounts)", "Open", "Courtesy note on every open account"),
            ("High balance (> $10k)", "Any", "High balance courtesy calls"),
        ]:
            if group.startswith("(no group"):
                expect(page.locator(".bd-jobs")).not_to_contain_text("In progress", timeout=60_000)
            page.get_by_role("button", name="Launch").click()
            page.locator(".bd-group select").select_option(label=group)
            page.locator(".bd-account-status select").select_option(label=status)
            page.get_by_placeholder("Shown in the job list").fill(description)
            page.get_by_placeholder("Shown in the job list").press("Enter")
            page.get_by_role("button", name="Review (dry run)").click()
            expect(page.locator(".bd-preview")).to_contain_text("Would change", timeout=30_000)
            page.get_by_role("button", name="Queue the bulk update").click()
            expect(page.locator(".bd-jobs")).to_contain_text(description, timeout=30_000)
        expect(page.locator(".bd-jobs")).to_contain_text("In progress", timeout=60_000)
        page.wait_for_timeout(4000)
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--screenshot", type=Path, default=ROOT / "docs" / "dashboard.png")
    parser.add_argument("--db", type=Path, default=None, help="A seeded SQLite file to copy.")
    args = parser.parse_args()
    take_screenshot(args.screenshot, args.db)
    print(f"saved {args.screenshot}")
