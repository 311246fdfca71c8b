"""The file-in folder: drop a CSV file in ``<inbox>/<type>/<user>/`` and it is imported as
that user (the same permissions as an upload).

Every worker process polls the folder (:class:`FileInWatcher`, about every
``BULKDESK_FILE_IN_SECONDS``, default 5). A file is taken once, whatever the number of
workers: it is renamed out of the inbox (an atomic rename; a worker that loses the race finds
it gone) into ``processed/<time>-<id>-<name>``, where its task reads it, or, when the
import is refused (an unknown user, no permission, an empty file), moved to
``failed/<name>`` with the reason beside it in ``failed/<name>.txt``. A file still being
written (changed in the last 2 seconds) is left for the next poll.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from dramatiq import Broker, Middleware

from jobs.errors import BulkdeskError
from jobs.imports import storage
from jobs.imports.specs import IMPORT_TYPES

if TYPE_CHECKING:
    from jobs.service import JobService

log = logging.getLogger(__name__)

#: A file changed more recently than this is still being copied in.
SETTLE_SECONDS = 2.0


inbox = storage.inbox


def poll(
    service: JobService, root: Path | None = None, settle: float = SETTLE_SECONDS
) -> list[str]:
    """Take every settled file waiting in the inbox; one line per file about what happened."""
    root = root or inbox()
    if not root.is_dir():
        return []
    done: list[str] = []
    now = time.time()
    for kind in IMPORT_TYPES:
        for user_dir in sorted((root / kind).glob("*")) if (root / kind).is_dir() else []:
            if not user_dir.is_dir():
                continue
            for path in sorted(user_dir.iterdir()):
                if not path.is_file() or path.name.startswith("."):
                    continue
                try:
                    if now - path.stat().st_mtime < settle:
                        continue
                except FileNotFoundError:
                    continue
                line = _take(service, root, kind, user_dir.name, path)
                if line:
                    done.append(line)
    return done


def _take(service: JobService, root: Path, kind: str, user: str, path: Path) -> str | None:
    processed = root / "processed"
    processed.mkdir(exist_ok=True)
    # The task reads the file from processed/, where it stays: an atomic rename out of the
    # inbox, so exactly one poller gets it.
    kept = processed / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}-{path.name}"
    try:
        os.rename(path, kept)
    except FileNotFoundError:
        return None
    try:
        job = service.submit_import(user, kind, kept, file_name=path.name, keep=True)
    except BulkdeskError as error:
        failed = root / "failed"
        failed.mkdir(exist_ok=True)
        target = _free(failed / path.name)
        os.rename(kept, target)
        target.with_name(target.name + ".txt").write_text(f"{error}\n", encoding="utf-8")
        log.info("file-in %s/%s/%s refused: %s", kind, user, path.name, error)
        return f"{kind}/{user}/{path.name}: refused ({error}); moved to {target}"
    log.info("file-in %s/%s/%s queued as task %s", kind, user, path.name, job.id)
    return f"{kind}/{user}/{path.name}: import task {job.id} queued; kept as {kept}"


def _free(path: Path) -> Path:
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


class FileInWatcher(Middleware):
    """Polls the file-in folder from a thread of every worker process."""

    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or float(os.environ.get("BULKDESK_FILE_IN_SECONDS", "5") or 5)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def after_worker_boot(self, broker: Broker, worker: object) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="bulkdesk-file-in", daemon=True)
        self._thread.start()

    def before_worker_shutdown(self, broker: Broker, worker: object) -> None:
        self._stop.set()

    def _run(self) -> None:
        from jobs.service import JobService

        while not self._stop.wait(self.interval):
            try:
                if inbox().is_dir():
                    poll(JobService())
            except Exception:  # a failed poll is retried at the next one
                log.exception("file-in poll failed")
