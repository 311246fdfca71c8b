"""How the analyst notebooks connect to Bulkdesk, and how the CLI and tests run them.

A notebook runs with its own folder (``notebooks/``) as working directory under JupyterLab, and
with the project root under ``panel serve``; :func:`database_url` finds the same database in both.
:func:`run_notebook` executes a notebook with papermill on a kernel of *this* interpreter, so the
kernel sees the same installed Bulkdesk whatever kernels the machine has registered.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dramatiq import Worker

from jobs import runtime
from jobs.config import Settings
from jobs.reports.queries import JobSummary
from jobs.service import JobService

#: The name of the kernel :func:`run_notebook` registers for the current interpreter.
KERNEL_NAME = "bulkdesk-python"


def notebook_path(name: str) -> Path:
    """The path of one of Bulkdesk's notebooks (``notebooks/<name>.ipynb`` of this checkout)."""
    return Path(__file__).resolve().parent.parent / "notebooks" / f"{name}.ipynb"


def project_root(start: Path | None = None) -> Path:
    """The Bulkdesk checkout around ``start`` (the folder holding ``pyproject.toml``).

    Parameters:
      start: where to look from; the working directory by default.

    Returns:
      The first of ``start`` and its parents with a ``pyproject.toml`` next to a ``jobs``
      folder, or the folder above this package when there is none (an installed Bulkdesk).
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "jobs").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def database_url(explicit: str | None = None) -> str:
    """The database a notebook should use.

    Parameters:
      explicit: a SQLAlchemy URL given as a notebook parameter; empty for the default.

    Returns:
      ``explicit``, else ``BULKDESK_DATABASE_URL``, else the project's ``var/bulkdesk.db``
      (``BULKDESK_VAR_DIR`` moves the ``var`` folder, as for every Bulkdesk command).
    """
    if explicit:
        return explicit
    if os.environ.get("BULKDESK_DATABASE_URL"):
        return os.environ["BULKDESK_DATABASE_URL"]
    return f"sqlite:///{_var_dir() / 'bulkdesk.db'}"


def _var_dir() -> Path:
    return Path(os.environ.get("BULKDESK_VAR_DIR") or project_root() / "var")


def connect(url: str | None = None) -> JobService:
    """Point this process's Bulkdesk at a database and return the service API over it.

    Parameters:
      url: a SQLAlchemy URL; empty for :func:`database_url`'s default.

    Returns:
      A :class:`JobService` on that database; the broker and workers of this process use it too.
    """
    settings = dataclasses.replace(Settings.from_env(), database_url=database_url(url))
    runtime.configure(settings)
    return JobService(runtime.database())


def embedded_broker() -> bool:
    """True when jobs run on in-process worker threads (no Redis or RabbitMQ configured)."""
    return runtime.settings().embedded_broker


def start_worker(threads: int = 2) -> Worker | None:
    """Start this process's in-process worker threads, once, on the embedded broker.

    Call it after :func:`connect`. With a Redis or RabbitMQ broker nothing starts here: the
    ``bulkdesk worker`` processes work the jobs. Nothing starts either when the process already
    has workers of its own (``panel serve --setup apps/serve.py`` starts them).

    Parameters:
      threads: worker threads to start (the first call decides).

    Returns:
      The worker started here (now or by an earlier call), or None when others do the work.
    """
    import jobs.worker.actors  # noqa: F401  (declares the actors on the configured broker)
    from jobs.worker import broker

    if not runtime.settings().embedded_broker:
        return None
    return broker.shared_in_process_worker(broker.current(), threads)


def stop_worker() -> None:
    """Stop this process's in-process worker threads (their current chunks finish)."""
    from jobs.worker import broker

    broker.stop_shared_in_process_worker(broker.current())


def wait_until_final(
    service: JobService, user: str, job_id: int, *, timeout: float = 300, poll: float = 0.25
) -> JobSummary:
    """Wait for a job to reach a final status, reading it as ``user`` would.

    Parameters:
      service: the service API.
      user: the acting username (who may see the job).
      job_id: the job.
      timeout: seconds to wait at most.
      poll: seconds between reads.

    Returns:
      The job's final summary.

    Raises:
      TimeoutError: when the job is still not final after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while True:
        summary = service.job(user, job_id).summary
        if summary.status.is_final:
            return summary
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"Job {job_id} is still {summary.status.label} after {timeout:.0f} s"
                f" ({summary.processed:,} of {summary.total:,} items done); is a "
                "worker running?"
            )
        time.sleep(poll)


@contextlib.contextmanager
def _kernel_for_this_python() -> Iterator[str]:
    """Register a throw-away kernelspec that starts ipykernel with ``sys.executable``."""
    with tempfile.TemporaryDirectory(prefix="bulkdesk-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Bulkdesk (this Python)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        before = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (tmp, before) if p)
        try:
            yield KERNEL_NAME
        finally:
            if before is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = before


def run_notebook(
    notebook: Path,
    output: Path,
    parameters: dict[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    timeout: int = 600,
) -> None:
    """Execute a notebook top to bottom with papermill, injecting ``parameters``.

    Parameters:
      notebook: the notebook to run (it is not modified).
      output: where the executed copy, with its outputs, is written.
      parameters: values for the cell tagged ``parameters``.
      cwd: the kernel's working directory; the notebook's own folder by default.
      timeout: seconds any one cell may take.

    Raises:
      papermill.PapermillExecutionError: when a cell fails, naming the cell and the error.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    with _kernel_for_this_python() as kernel:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters or {},
            kernel_name=kernel,
            cwd=str(cwd or notebook.parent),
            progress_bar=False,
            execution_timeout=timeout,
        )


def output_dir(explicit: str | None = None) -> Path:
    """Where a notebook writes its files.

    Parameters:
      explicit: a folder given as a notebook parameter; empty for the default.

    Returns:
      ``explicit`` (created if needed), else ``reports`` in the project's ``var`` folder.
    """
    folder = Path(explicit) if explicit else _var_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder.resolve()
