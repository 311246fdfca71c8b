"""Real file destinations on loopback for copy tests: an SFTP server and an S3 server.

Use with ``pytest_plugins = ["tests.destinations"]``:

- ``sftp_server``: asyncssh's SSH server in a thread on 127.0.0.1 (a fresh host key, a user
  with a password and an authorised client key), serving a temporary folder through
  SFTP (chrooted: ``sftp://…/inbox`` is ``root/inbox``). ``known_hosts`` is a file naming
  its host key, so clients check it as they would a real server's.
- ``s3_server``: moto's S3-compatible server (``ThreadedMotoServer``) on a free port, one
  per test session; ``s3_bucket`` makes a fresh bucket on it for one test.

Both are reached through fsspec (``sshfs``, ``s3fs``) exactly as Bulkdesk's copy step
reaches real ones; ``connection(...)`` gives the storage options a step's named connection
would hold in ``BULKDESK_DEST_<NAME>``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from tests.smtp_server import HOST, free_port

SFTP_USER = "partner"


class _SshServer(asyncssh.SSHServer):
    def __init__(self, owner: SftpServer) -> None:
        self._owner = owner

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._owner.connections.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        self._owner.connections.difference_update(
            c for c in list(self._owner.connections) if c.is_closed()
        )

    def begin_auth(self, username: str) -> bool:
        return True  # every user must authenticate

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == SFTP_USER and secrets.compare_digest(password, self._owner.password)

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        wanted = self._owner.client_key.export_public_key("openssh").split()[1]
        return username == SFTP_USER and key.export_public_key("openssh").split()[1] == wanted


class _RecordingSftp(asyncssh.SFTPServer):
    """asyncssh's SFTP server, noting the files opened and renamed (paths as clients see
    them), so a test can tell how a file arrived."""

    def __init__(self, chan: Any, operations: list[tuple[str, ...]], chroot: str) -> None:
        super().__init__(chan, chroot=chroot)
        self._operations = operations

    def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
        writing = pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC)
        self._operations.append(("open", self._shown(path), "write" if writing else "read"))
        return super().open(path, pflags, attrs)

    def rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self._operations.append(("rename", self._shown(oldpath), self._shown(newpath)))
        return super().rename(oldpath, newpath)

    def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
        self._operations.append(("rename", self._shown(oldpath), self._shown(newpath)))
        return super().posix_rename(oldpath, newpath)

    @staticmethod
    def _shown(path: bytes) -> str:
        return path.decode("utf-8", "replace")


class SftpServer:
    """A running SFTP server on 127.0.0.1 serving ``root``.

    Parameters:
      root: the folder the server shows as ``/``.
      keys: a folder for the client key and the known-hosts file.
    """

    def __init__(self, root: Path, keys: Path) -> None:
        self.root = root
        self.host = HOST
        self.port = free_port()
        self.username = SFTP_USER
        self.password = secrets.token_urlsafe(12)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        keys.mkdir(parents=True, exist_ok=True)
        self.client_key_file = keys / "client_ed25519"
        self.client_key.write_private_key(str(self.client_key_file))
        self.known_hosts = keys / "known_hosts"
        public = self.host_key.export_public_key("openssh").decode().split()[:2]
        self.known_hosts.write_text(f"[{self.host}]:{self.port} {' '.join(public)}\n")
        self._loop = asyncio.new_event_loop()
        self._server: Any = None
        self.connections: set[Any] = set()
        #: What clients did, in order: ("open", path, "write"|"read"), ("rename", old, new).
        self.operations: list[tuple[str, ...]] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def url(self, path: str = "/inbox") -> str:
        """The destination URL of ``path`` on this server (no password: that is the
        connection's)."""
        return f"sftp://{self.username}@{self.host}:{self.port}{path}"

    def connection(self, *, password: str | None = None, key: bool = False) -> dict[str, Any]:
        """Storage options for a named connection: the password (or the client key) and
        the known-hosts file."""
        options: dict[str, Any] = {"known_hosts": str(self.known_hosts)}
        if key:
            options["client_keys"] = [str(self.client_key_file)]
        else:
            options["password"] = self.password if password is None else password
        return options

    def start(self) -> None:
        root = str(self.root)

        def sftp_factory(chan: asyncssh.SSHServerChannel) -> asyncssh.SFTPServer:
            return _RecordingSftp(chan, self.operations, chroot=root)

        async def listen() -> Any:
            return await asyncssh.create_server(
                lambda: _SshServer(self),
                self.host,
                self.port,
                server_host_keys=[self.host_key],
                sftp_factory=sftp_factory,
                allow_scp=False,
            )

        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(listen(), self._loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()
            for conn in list(self.connections):
                conn.close()
                await conn.wait_closed()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class S3Server:
    """moto's S3-compatible server on 127.0.0.1 (any access key is accepted)."""

    key = "bulkdesk-test"
    secret = "bulkdesk-test-secret"
    #: Not us-east-1: s3fs names the region when it makes a bucket, which us-east-1 refuses.
    region = "eu-west-1"

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        # Its request log would fill the test output.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)

    def start(self) -> None:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.stop()

    def connection(self, *, endpoint: bool = True) -> dict[str, Any]:
        """Storage options for a named connection (s3fs): key, secret, region, endpoint."""
        options: dict[str, Any] = {
            "key": self.key,
            "secret": self.secret,
            "client_kwargs": {"region_name": self.region},
        }
        if endpoint:
            options["endpoint_url"] = self.endpoint
        return options

    def filesystem(self) -> Any:
        """An s3fs filesystem on this server, to look at what arrived."""
        import s3fs

        return s3fs.S3FileSystem(skip_instance_cache=True, **self.connection())

    def make_bucket(self) -> str:
        name = f"bulkdesk-{uuid.uuid4().hex[:10]}"
        self.filesystem().mkdir(name)
        return name


@pytest.fixture
def sftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SftpServer]:
    """A real SFTP server on loopback for this test, serving an empty temporary folder."""
    base = tmp_path_factory.mktemp("sftp")
    root = base / "root"
    root.mkdir()
    server = SftpServer(root, base / "keys")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on loopback, for the test session."""
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket on the session's S3 server."""
    return s3_server.make_bucket()
