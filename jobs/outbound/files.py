"""File deliveries: copy a file to a destination given as an fsspec URL (the outbox's ``file``).

A destination is a folder (``file:///srv/reports`` or a plain path), an SFTP server
(``sftp://user@host:port/path``, through ``sshfs``) or object storage
(``s3://bucket/prefix``, through ``s3fs``, with a configurable endpoint for S3-compatible
servers such as MinIO). The payload is ``{"source", "target", "connection"?, "endpoint"?}``.

**Credentials are never stored in a definition nor in the outbox.** A step names a
*connection* (``partner_sftp``); its fsspec storage options are read when the file is sent
from the environment variable ``BULKDESK_DEST_<NAME>`` (the name upper-cased), holding a
JSON object, for example::

    BULKDESK_DEST_PARTNER_SFTP='{"password": "…", "known_hosts": "/etc/bulkdesk/known_hosts"}'
    BULKDESK_DEST_ARCHIVE='{"key": "AKIA…", "secret": "…", "endpoint_url": "https://minio:9000"}'

SFTP: ``password``, ``client_keys`` (key file paths), ``passphrase``, ``username``,
``port``, ``known_hosts`` (a known-hosts file; without it ``~/.ssh/known_hosts`` is used,
and ``null`` explicitly accepts any host key). S3: ``key``, ``secret``, ``token``,
``endpoint_url``, ``client_kwargs`` (e.g. ``{"region_name": …}``); without a connection
the usual AWS chain (``AWS_ACCESS_KEY_ID``, ``~/.aws``) applies.

A copy is idempotent: on a folder or SFTP the file is written under a temporary name in the
target folder and renamed over the target, so the target is whole or absent and a
redelivered copy leaves one target with the same bytes; on object storage one PUT is
already all or nothing. Failures raise :class:`CopyFailed` with a sentence; the outbox
retries and, in the end, shows the last one on the run.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from jobs.errors import BulkdeskError

if TYPE_CHECKING:
    from jobs.config import Settings

#: Protocols a copy step may name, and whether they are object stores (no folders, no
#: rename: one PUT per object).
PROTOCOLS = {"file": False, "sftp": False, "s3": True}
CONNECTION_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
ENV_PREFIX = "BULKDESK_DEST_"
#: Seconds an SFTP server may take to connect.
CONNECT_TIMEOUT = 20.0


class CopyFailed(BulkdeskError):
    """A file could not be copied to its destination (a sentence for people)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def protocol_of(url: str) -> str:
    """``file`` for a plain path, else the URL's scheme (lower-case)."""
    scheme = urlsplit(url).scheme.lower()
    return scheme if "://" in url and scheme else "file"


def shown(url: str) -> str:
    """The URL without any password, for messages and outputs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}" if user else netloc))


def env_name(connection: str) -> str:
    return ENV_PREFIX + connection.upper()


def storage_options(connection: str | None, protocol: str) -> dict[str, Any]:
    """The fsspec storage options of a named connection, from ``BULKDESK_DEST_<NAME>``.

    Raises:
      CopyFailed: (permanent) the variable is missing or is not a JSON object; the message
        names the variable, never its value.
    """
    options: dict[str, Any] = {}
    if connection:
        name = env_name(connection)
        raw = os.environ.get(name, "").strip()
        if not raw:
            raise CopyFailed(
                f"The connection {connection!r} is not configured: set {name} to its "
                "storage options as JSON on every worker",
                permanent=True,
            )
        try:
            options = json.loads(raw)
        except ValueError as exc:
            raise CopyFailed(
                f"{name} is not valid JSON ({exc.msg} at character {exc.pos})", permanent=True
            ) from None
        if not isinstance(options, dict):
            raise CopyFailed(f"{name} must be a JSON object of storage options", permanent=True)
    if protocol == "sftp":
        options.setdefault("timeout", CONNECT_TIMEOUT)
        if "known_hosts" not in options:
            default = Path("~/.ssh/known_hosts").expanduser()
            if not default.is_file():
                raise CopyFailed(
                    'The SFTP server\'s host key cannot be checked: give "known_hosts" (a '
                    f"known-hosts file) in {env_name(connection or 'NAME')}, or create "
                    f"{default}",
                    permanent=True,
                )
            options["known_hosts"] = str(default)
    return options


def copy(payload: dict[str, Any], *, delivery_id: int, settings: Settings | None = None) -> str:
    """Copy ``payload["source"]`` (a local file) to ``payload["target"]`` (an fsspec URL).

    Returns:
      The target URL (without a password).

    Raises:
      CopyFailed: the file is gone, the connection is not configured, or the destination
        could not be reached or refused the file.
    """
    import fsspec

    source = Path(payload["source"])
    target = payload["target"]
    where = shown(target)
    if not source.is_file():
        raise CopyFailed(f"The file to copy, {source}, is not there any more", permanent=True)
    protocol = protocol_of(target)
    if protocol not in PROTOCOLS:
        raise CopyFailed(f"No way to copy to a {protocol}:// destination", permanent=True)
    options = storage_options(payload.get("connection"), protocol)
    if payload.get("endpoint") and protocol == "s3":
        options.setdefault("endpoint_url", payload["endpoint"])
    try:
        fs, path = fsspec.core.url_to_fs(target, skip_instance_cache=True, **options)
        if PROTOCOLS[protocol]:
            fs.put_file(str(source), path)
        else:
            _put_and_rename(fs, source, path, delivery_id)
    except CopyFailed:
        raise
    except Exception as exc:  # whatever the remote side says is one failed attempt
        raise CopyFailed(f"The copy to {where} failed: {_reason(exc)}") from exc
    return where


def _put_and_rename(fs: Any, source: Path, path: str, delivery_id: int) -> None:
    parent = fs._parent(path)
    fs.makedirs(parent, exist_ok=True)
    name = path.rstrip("/").rpartition("/")[2]
    # A unique temporary name: an attempt counted as lost may still be writing its own.
    temporary = f"{parent.rstrip('/')}/.{name}.{delivery_id}.{uuid.uuid4().hex[:8]}.part"
    fs.put_file(str(source), temporary)
    try:
        fs.mv(temporary, path)
    except BaseException:
        try:
            fs.rm_file(temporary)
        except Exception:  # the rename's error is the one worth telling
            pass
        raise


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if isinstance(exc, OSError) and exc.strerror and not text:
        text = exc.strerror
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def describe(payload: dict[str, Any]) -> str:
    """The copy in words: "The copy of daily-billing.csv to sftp://…"."""
    return (
        f"The copy of {Path(payload.get('source', '')).name} to {shown(payload.get('target', ''))}"
    )
