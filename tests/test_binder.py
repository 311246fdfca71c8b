"""Binder: binder/requirements.txt and binder/postBuild build a working environment.

repo2docker cannot run here (no Docker), so the test does what it does: a fresh virtual
environment (no system site-packages), ``pip install -r binder/requirements.txt`` from the
repository root, then ``binder/postBuild`` from the repository root. The repository is a copy
of the working tree, so the build leaves nothing behind in the checkout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NOT_COPIED = (
    ".venv",
    ".git",
    "var",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    "build",
    "benchmarks",
)


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: int) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


def test_binder_has_requirements_a_runnable_postbuild_and_a_dashboard_proxy() -> None:
    requirements = (BINDER / "requirements.txt").read_text().splitlines()

    assert {"-e .", "-e ./binder/dashboard-proxy"} <= set(requirements)
    assert {"jupyter-server-proxy", "nbconvert", "papermill", "ipykernel"} <= {
        line.split(">")[0].split("=")[0] for line in requirements
    }
    assert os.access(BINDER / "postBuild", os.X_OK)
    assert "bulkdesk seed --accounts 5000" in (BINDER / "postBuild").read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, timeout: float) -> tuple[int, str]:
    """GET ``url``, retrying while the server is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                return response.status, response.read().decode("utf-8", "replace")
        except (urllib.error.URLError, ConnectionError) as error:
            if isinstance(error, urllib.error.HTTPError) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_binder_builds_a_fresh_environment_that_seeds_the_demo_data_and_serves_the_dashboard(
    tmp_path: Path,
) -> None:
    # Given a copy of the repository and a fresh virtual environment,
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=shutil.ignore_patterns(*NOT_COPIED))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BULKDESK_", "PYTHON", "VIRTUAL_ENV", "JUPYTER"))
    }
    env.update(
        PATH=f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        HOME=str(tmp_path / "home"),
    )
    python = str(venv / "bin" / "python")

    # when Binder's two steps run from the repository root,
    # (--no-compile: byte-compiling every installed module is most of pip's time here.)
    pip = [python, "-m", "pip", "install", "--quiet", "--no-compile"]
    _run([*pip, "-r", "binder/requirements.txt"], cwd=repo, env=env, timeout=420)
    _run(["bash", "binder/postBuild"], cwd=repo, env=env, timeout=180)

    # then the demo database has its 5,000 accounts where every Bulkdesk command looks,
    with sqlite3.connect(repo / "var" / "bulkdesk.db") as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (5000,)
    # the notebooks' kernel and papermill (for `bulkdesk audit`) are there,
    _run([python, "-c", "import ipykernel, nbconvert, papermill"], cwd=repo, env=env, timeout=60)
    # and Jupyter's server proxies the dashboard and the served notebook at /bulkdesk/.
    port = _free_port()
    jupyter = subprocess.Popen(
        [
            str(venv / "bin" / "jupyter"),
            "server",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ServerApp.ip=127.0.0.1",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={repo}",
        ],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        status, servers = _get(f"{base}/server-proxy/servers-info", timeout=60)
        assert status == 200 and '"bulkdesk"' in servers
        for page in ("app", "launch_and_monitor"):
            status, html = _get(f"{base}/bulkdesk/{page}", timeout=120)
            assert status == 200 and "bokeh" in html.lower(), page
    finally:
        os.killpg(jupyter.pid, signal.SIGTERM)  # the server and the panel serve it started
        jupyter.wait(timeout=30)
