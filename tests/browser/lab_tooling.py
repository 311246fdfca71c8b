"""A real JupyterLab for the browser tests, and a browser that has no internet.

:func:`serve_lab` starts ``jupyter lab`` from this venv on loopback, on a free port, without a
token, over a folder of copies of the notebooks, with the "Bulkdesk" kernel registered for this
interpreter in a throw-away Jupyter path and Jupyter's settings, workspaces and runtime files in
a temporary folder (nothing of the user's own Jupyter is read or written).

:class:`Offline` makes a browser context behave like a machine without internet: every request
to anything but loopback is aborted and remembered, and every console message is kept, so that
a test can say which resource would have come from outside.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from browser_tooling import ROOT, free_port

from jobs import notebooks

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

#: What a browser console says when a script, a stylesheet or a font could not be fetched, or
#: when Panel found no Bokeh to run on.
RESOURCE_ERROR = re.compile(
    r"Failed to load resource|net::ERR_|Bokeh or Panel library is missing|"
    r"Refused to (load|apply)|Loading (module|chunk) .* failed",
    re.IGNORECASE,
)

#: JupyterLab's settings for the test: no news from the internet, no update check.
PAGE_CONFIG = {
    "disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True},
}


@dataclass(frozen=True)
class Lab:
    url: str
    root: Path
    log: Path


def wait_for_lab(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/api/status", timeout=3):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise RuntimeError(f"jupyter lab did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def serve_lab(
    notebook_names: Sequence[str],
    env: Mapping[str, str],
    *,
    timeout: float = 180,
) -> Iterator[Lab]:
    """``jupyter lab`` over copies of the named notebooks (``notebooks/<name>.ipynb``).

    Parameters:
      notebook_names: the notebooks to copy into the server's root folder.
      env: extra environment for the server and so for its kernels (the database, …).
      timeout: seconds the server may take to answer (generous: a loaded machine).
    """
    work = Path(tempfile.mkdtemp(prefix="bulkdesk-lab-"))
    root = work / "notebooks"
    root.mkdir()
    for name in notebook_names:
        shutil.copy(notebooks.notebook_path(name), root / f"{name}.ipynb")
    notebooks.install_kernel(prefix=work / "kernel")
    config = work / "config"
    (config / "labconfig").mkdir(parents=True)
    (config / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    # As `make lab` sets them (jobs.notebooks.LAB_SETTINGS), as the user's settings here.
    for plugin, values in notebooks.LAB_SETTINGS.items():
        package, name = plugin.split(":")
        settings = work / "settings" / package / f"{name}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server_env = {
        **os.environ,
        "JUPYTER_PATH": str(work / "kernel" / "share" / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(work / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": str(ROOT),
        **env,
    }
    log = work / "lab.log"
    cmd = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        # The test shuts kernels down through the REST API, without a browser's XSRF cookie.
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # Nothing asks PyPI for extensions from the server either.
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:  # CI runs as root
        cmd.append("--allow-root")
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=server_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_lab(url, proc, log, timeout)
        yield Lab(url, root, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


def shut_down_kernels(lab: Lab) -> None:
    """Shut every kernel of ``lab`` down, as *Kernel → Shut Down All Kernels* does."""
    with urllib.request.urlopen(f"{lab.url}/api/kernels", timeout=30) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        request = urllib.request.Request(f"{lab.url}/api/kernels/{kernel['id']}", method="DELETE")
        with urllib.request.urlopen(request, timeout=60):
            pass


def is_loopback(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about", "file"):
        return True
    return (parsed.hostname or "") in LOOPBACK


@dataclass
class Offline:
    """A browser context without internet: what it blocked, and what its pages' consoles said."""

    blocked: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @classmethod
    def context(cls, browser, **options):  # type: ignore[no-untyped-def]
        """A new browser context of ``browser`` that reaches only loopback; and its record."""
        record = cls()
        context = browser.new_context(**options)
        context.set_default_timeout(60_000)

        def route(route):  # type: ignore[no-untyped-def]
            if is_loopback(route.request.url):
                route.continue_()
            else:
                record.blocked.append(route.request.url)
                route.abort("internetdisconnected")

        context.route("**/*", route)
        return context, record

    def watch(self, page) -> None:  # type: ignore[no-untyped-def]
        """Keep ``page``'s console messages and its failed requests."""
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.on(
            "requestfailed",
            lambda r: self.failed.append(f"{r.url} ({r.failure})"),
        )

    def resource_errors(self) -> list[str]:
        """Console lines that say a resource could not be loaded."""
        return [line for line in self.console if RESOURCE_ERROR.search(line)]
