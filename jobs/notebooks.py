"""How the analyst notebooks connect to Bulkdesk, and how the CLI and tests run them.

A notebook runs with its own folder (``notebooks/``) as working directory under JupyterLab, and
with the project root under ``panel serve``; :func:`database_url` finds the same database in both.
The notebooks name the "Bulkdesk" kernel (:data:`KERNEL_NAME`): ``make lab`` registers it for the
project's venv with :func:`install_kernel`, so any JupyterLab of the user can run them.
:func:`run_notebook` executes a notebook with papermill on that kernel, made for *this*
interpreter, so the kernel sees the same installed Bulkdesk whatever kernels the machine has.
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
from jobs.errors import NotFound
from jobs.people.permissions import Actor
from jobs.reports.queries import JobSummary
from jobs.service import JobService

#: The kernel the notebooks name in their metadata (``make lab`` registers it).
KERNEL_NAME = "bulkdesk"
#: How JupyterLab lists that kernel (launcher, kernel picker).
KERNEL_DISPLAY_NAME = "Bulkdesk"
#: The kernel's environment: Panel loads its JavaScript and CSS from this installation, never
#: from a CDN, in any notebook run on it (the notebooks also ask for it themselves).
KERNEL_ENV = {"PANEL_INLINE": "true"}


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


def acting_user(service: JobService, user: str) -> Actor:
    """The user a notebook acts as, held to the same rules as a login.

    Parameters:
      service: the service API.
      user: the notebook's ``user`` parameter.

    Returns:
      That user, as the service sees them (role, permissions).

    Raises:
      NotFound: when ``user`` is empty, unknown or disabled, in words that name the parameter;
        every call of the service checks the user again, so a user disabled later is refused.
    """
    try:
        return service.actor(user or "")
    except NotFound:
        raise NotFound(
            f"The notebook's user parameter is {user!r}: there is no active Bulkdesk user of "
            "that name (`bulkdesk users list` lists them; a disabled user may not act)"
        ) from None


def embedded_broker() -> bool:
    """True when jobs run on in-process worker threads (no Redis or RabbitMQ configured)."""
    return runtime.settings().embedded_broker


def start_worker(threads: int = 2) -> Worker | None:
    """Start this process's in-process worker threads, once, on the embedded broker.

    Call it after :func:`connect`. With a Redis or RabbitMQ broker nothing starts here: the
    ``bulkdesk worker`` processes work the jobs. Nothing starts either when the process already
    has workers of its own (``panel serve --setup apps/serve.py`` starts them). The threads live
    as long as the process (the notebook's kernel): a job launched after the last cell still
    runs, and *Run All* again gets the same worker (a second worker on the same broker would
    add dramatiq's worker middleware twice).

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


def how_jobs_run(worker: Worker | None) -> str:
    """One sentence for the notebook: who works the jobs it launches, and for how long."""
    if worker is None:
        return (
            "Jobs go to the configured broker; `bulkdesk worker` processes (or a served "
            "dashboard) work them, whether or not this kernel runs."
        )
    threads = getattr(worker, "worker_threads", None) or "its"
    return (
        f"Jobs run on {threads} worker threads inside this kernel, for as long as the kernel "
        "runs: jobs launched from the form keep running after the last cell. Shutting the kernel "
        "down pauses them; the next Bulkdesk worker on this database resumes them."
    )


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


def install_kernel(*, user: bool = True, prefix: Path | None = None) -> Path:
    """Register the "Bulkdesk" kernel: ipykernel on *this* interpreter (the project's venv).

    Parameters:
      user: into the user's Jupyter data folder (``~/.local/share/jupyter``), where every
        JupyterLab of this user finds it; ignored with ``prefix``.
      prefix: into ``<prefix>/share/jupyter/kernels`` instead (tests, throw-away kernels).

    Returns:
      The folder holding the kernel's ``kernel.json``.
    """
    from ipykernel.kernelspec import install

    return Path(
        install(
            user=user and prefix is None,
            prefix=str(prefix) if prefix is not None else None,
            kernel_name=KERNEL_NAME,
            display_name=KERNEL_DISPLAY_NAME,
            env=dict(KERNEL_ENV),
        )
    )


@contextlib.contextmanager
def kernel_for_this_python() -> Iterator[str]:
    """A throw-away "Bulkdesk" kernel for ``sys.executable``, first on ``JUPYTER_PATH``."""
    with tempfile.TemporaryDirectory(prefix="bulkdesk-kernel-") as tmp:
        install_kernel(prefix=Path(tmp))
        before = os.environ.get("JUPYTER_PATH")
        shared = str(Path(tmp) / "share" / "jupyter")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (shared, before) if p)
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
    with kernel_for_this_python() as kernel:
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


#: JupyterLab settings for the notebooks: render every cell. With JupyterLab 4's default
#: (``contentVisibility``) a cell out of view is not laid out, and a table (the Monitor) whose
#: rows arrive then stays empty when scrolled to: Tabulator drew its rows for a zero height.
LAB_SETTINGS = {"@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"}}


def install_lab_settings(prefix: Path | None = None) -> Path:
    """Write :data:`LAB_SETTINGS` as the defaults of the JupyterLab installed in ``prefix``.

    Parameters:
      prefix: the environment (``sys.prefix`` by default: the venv of ``make lab``).

    Returns:
      The ``overrides.json`` written (other settings already in it are kept).
    """
    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    current = json.loads(path.read_text()) if path.is_file() else {}
    for plugin, values in LAB_SETTINGS.items():
        current[plugin] = {**current.get(plugin, {}), **values}
    path.write_text(json.dumps(current, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    """``python -m jobs.notebooks install-kernel``: register the "Bulkdesk" kernel (make lab)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m jobs.notebooks", description=main.__doc__)
    parser.add_argument("command", choices=["install-kernel", "lab-settings"])
    parser.add_argument("--prefix", type=Path, help="install under PREFIX/share/jupyter")
    args = parser.parse_args(argv)
    if args.command == "lab-settings":
        print(f"JupyterLab settings for the notebooks in {install_lab_settings(args.prefix)}")
        return
    folder = install_kernel(prefix=args.prefix)
    print(f'Kernel "{KERNEL_DISPLAY_NAME}" ({sys.executable}) registered in {folder}')


if __name__ == "__main__":
    main()
