"""The copy step: deliver the run's file to a folder, an SFTP server or object storage.

Settings:

- ``destination``: the target folder as an fsspec URL: an absolute path or
  ``file:///srv/reports``, ``sftp://user@host:port/path`` (``sshfs``), ``s3://bucket/prefix``
  (``s3fs``). A password in the URL is refused: credentials are not kept in definitions;
- ``connection``: the name of the connection whose storage options (password, keys,
  known hosts, S3 key and secret, endpoint) are read from the environment variable
  ``BULKDESK_DEST_<NAME>`` (JSON) on the worker when the file is sent — see
  :mod:`jobs.outbound.files` for what they may hold;
- ``endpoint``: for ``s3://``, the endpoint of an S3-compatible server
  (``https://minio.example:9000``); empty for AWS itself (a connection may give it too);
- ``file_name``: the name at the destination; placeholders ``{file}`` (the file's own
  name, the default), ``{definition}``, ``{day}``, ``{step}``;
- ``source``: empty for the newest file an earlier step wrote here (in a file-in run with
  none, the arriving file), or the name of the step whose output is copied.

The copy is written to the outbox (kind ``file``) and done after commit by the ``deliver``
actor, retried by the outbox's retries; the step's output is the target URL. A connection
that is not configured on this worker fails the step at once, naming the variable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from jobs.definitions.steps.base import (
    DeclaredStep,
    StepContext,
    StepOutcome,
    check_placeholders,
    earlier_output,
    param,
    placeholder_values,
    render,
)
from jobs.errors import InvalidInput
from jobs.outbound import files, outbox
from jobs.outbound.files import CONNECTION_NAME, PROTOCOLS, CopyFailed, protocol_of

_BAD_NAME = re.compile(r"[/\\\x00-\x1f]")


@dataclass(frozen=True)
class CopySettings:
    destination: str | None = param(
        label="Destination",
        max_length=500,
        help="A folder, sftp://user@host:port/path or s3://bucket/prefix",
    )
    connection: str | None = param(
        label="Connection",
        required=False,
        default="",
        max_length=40,
        help="Its storage options come from BULKDESK_DEST_<NAME> (JSON) on the workers",
    )
    endpoint: str | None = param(
        label="S3 endpoint",
        required=False,
        default="",
        max_length=300,
        help="An S3-compatible server's URL; empty for AWS",
    )
    file_name: str | None = param(
        label="File name",
        default="{file}",
        max_length=200,
        help="Placeholders: {file}, {definition}, {day}, {step}",
    )
    source: str | None = param(
        label="File from step",
        required=False,
        default="",
        max_length=80,
        help="Empty: the last output",
    )


class CopyStep(DeclaredStep):
    """Copy the run's file to a destination (see the module's docstring)."""

    kind = "copy"
    label = "Copy"
    Settings = CopySettings

    def validate(self, values: dict[str, Any], session: Session | None) -> dict[str, Any]:
        destination = check_destination(values["destination"])
        protocol = protocol_of(destination)
        connection = values["connection"]
        if connection and not CONNECTION_NAME.fullmatch(connection):
            raise InvalidInput(
                f"Connection {connection!r}: letters, digits and _ (starting with a letter), "
                "at most 40; its settings are read from BULKDESK_DEST_<NAME>",
                field="connection",
            )
        endpoint = values["endpoint"]
        if endpoint:
            if protocol != "s3":
                raise InvalidInput("An endpoint is for s3:// destinations only", field="endpoint")
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise InvalidInput(
                    f"S3 endpoint {endpoint!r} is not an http:// or https:// URL",
                    field="endpoint",
                )
            if parts.password is not None or parts.username is not None:
                raise InvalidInput(
                    "Keep credentials out of the endpoint: put them in the connection's "
                    "BULKDESK_DEST_<NAME>",
                    field="endpoint",
                )
        check_placeholders(values["file_name"], "file_name", "File name")
        probe = render(
            values["file_name"], {"file": "x", "definition": "x", "day": "x", "step": "x"}
        )
        if _BAD_NAME.search(probe) or probe.startswith("."):
            raise InvalidInput(
                "File name is a name, without / or \\ and not starting with a dot",
                field="file_name",
            )
        return {**values, "destination": destination, "connection": connection.lower()}

    def describe(self, settings: dict[str, Any]) -> str:
        source = settings.get("source") or ""
        what = f"the output of “{source}”" if source else "the last output"
        via = f" (connection {settings['connection']})" if settings.get("connection") else ""
        return f"Copy {what} to {settings.get('destination', '')}{via}"

    def run(self, ctx: StepContext) -> StepOutcome:
        try:
            settings = self.check(ctx.settings)
            path = earlier_output(ctx, settings["source"])
        except InvalidInput as bad:
            return StepOutcome.failed(str(bad))
        name = render(settings["file_name"], placeholder_values(ctx, path))
        if _BAD_NAME.search(name) or name.startswith(".") or not name.strip():
            return StepOutcome.failed(f"The file name {name!r} cannot be used at a destination")
        destination = settings["destination"]
        target = f"{destination.rstrip('/')}/{name}"
        connection = settings["connection"] or None
        try:
            # Fail now, on this worker, rather than after the outbox's retries.
            files.storage_options(connection, protocol_of(target))
        except CopyFailed as bad:
            return StepOutcome.failed(str(bad))
        payload = {
            "source": str(path),
            "target": target,
            "connection": connection,
            "endpoint": settings["endpoint"] or None,
        }
        with ctx.db.write_conn() as conn:
            delivery = outbox.add(conn, kind="file", payload=payload, job_id=ctx.job_id)
        return StepOutcome(
            ok=True,
            message=f"Copy of {path.name} to {target} queued",
            output=target,
            deliveries=[delivery],
        )


def check_destination(url: str) -> str:
    """A destination folder URL, normalised; InvalidInput (field ``destination``) says what
    is wrong."""
    url = url.strip()
    protocol = protocol_of(url)
    if protocol not in PROTOCOLS:
        known = ", ".join(f"{p}://" for p in PROTOCOLS)
        raise InvalidInput(
            f"Destination {url!r}: {protocol}:// is not supported; use a folder, {known}",
            field="destination",
        )
    if protocol == "file":
        path = url.removeprefix("file://")
        if not PurePosixPath(path).is_absolute():
            raise InvalidInput(
                f"Destination {url!r}: a folder is an absolute path (/srv/reports)",
                field="destination",
            )
        return url
    parts = urlsplit(url)
    if parts.password is not None:
        raise InvalidInput(
            "Destination: keep the password out of the URL (it would be stored in clear); "
            "name a connection and put it in BULKDESK_DEST_<NAME>",
            field="destination",
        )
    if parts.query or parts.fragment:
        raise InvalidInput(
            f"Destination {url!r}: no ?options or #fragment; options go in the connection",
            field="destination",
        )
    if not parts.hostname:
        what = "bucket" if protocol == "s3" else "host"
        raise InvalidInput(f"Destination {url!r} names no {what}", field="destination")
    try:
        _ = parts.port  # raises for a port that is no number
    except ValueError:
        raise InvalidInput(
            f"Destination {url!r}: the port is not a number", field="destination"
        ) from None
    return url
