"""The import upload: ``POST /task-upload?kind=…&match_by=…&name=…`` with the file as the body.

A ``panel serve --plugins apps.task_upload`` route. The body is streamed to disk block by block
as it arrives (Tornado's ``stream_request_body``), never held whole in memory, however large
the file; then the import is queued as the logged-in user (the session cookie, checked
against ``login_sessions``; or the no-login user), with the service's permission checks.
The answer is JSON: ``{"job": 12}`` or ``{"error": "…"}``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import tornado.web

from apps.login import COOKIE, acting_user
from jobs.errors import BulkdeskError
from jobs.imports import storage

log = logging.getLogger(__name__)

#: Larger uploads are refused (Tornado's default is 100 MB).
MAX_BYTES = 4 * 1024**3


@tornado.web.stream_request_body
class TaskUploadHandler(tornado.web.RequestHandler):
    def prepare(self) -> None:
        self._file: Any = None
        self._path = None
        self._error: str | None = None
        if self.request.method != "POST":
            return
        acting = acting_user({COOKIE: self.get_cookie(COOKIE) or ""})
        self._user = acting.username
        if self._user is None:
            self._error = "Your login has ended; log in again"
            return
        self.request.connection.set_max_body_size(MAX_BYTES)  # type: ignore[union-attr]
        name = self.get_query_argument("name", "import.csv")
        self._path = storage.new_slot(name)
        self._file = self._path.open("wb")

    def data_received(self, chunk: bytes) -> None:
        if self._file is not None:
            self._file.write(chunk)

    def post(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._error:
            return self._answer(401, {"error": self._error})
        from jobs.service import JobService

        try:
            job = JobService().submit_import(
                self._user,
                self.get_query_argument("kind", ""),
                str(self._path),
                file_name=self.get_query_argument("name", "import.csv"),
                match_by=self.get_query_argument("match_by", "") or None,
                keep=True,
            )
        except BulkdeskError as error:
            return self._answer(400, {"error": str(error)})
        log.info("upload %s queued as import task %s by %s", self._path, job.id, self._user)
        self._answer(200, {"job": job.id})

    def on_connection_close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(body))


ROUTES = [("/task-upload", TaskUploadHandler, {})]
