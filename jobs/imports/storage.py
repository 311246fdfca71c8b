"""Where import files are kept: one folder per upload under the imports folder.

The folder (``BULKDESK_IMPORTS_DIR``, default ``var/imports``) must be one the dashboard,
the CLI and the workers all see (a shared disk when workers run on other machines): the job
stores the file's path, and the worker that starts the job reads it from there.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

_COPY_BLOCK = 1 << 20


def imports_dir() -> Path:
    default = Path(os.environ.get("BULKDESK_VAR_DIR", Path.cwd() / "var")) / "imports"
    return Path(os.environ.get("BULKDESK_IMPORTS_DIR", default)).resolve()


def safe_name(name: str) -> str:
    """A file name without folders or characters that file systems refuse."""
    base = Path(name.replace("\\", "/")).name.strip() or "import.csv"
    return re.sub(r"[^\w.\- ]+", "_", base)[:200]


def new_slot(name: str) -> Path:
    """A fresh path for an upload called ``name``."""
    folder = imports_dir() / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    return folder / safe_name(name)


def save_stream(name: str, stream: BinaryIO | Iterable[bytes]) -> Path:
    """Copy an upload to disk block by block (never whole in memory); its path."""
    path = new_slot(name)
    with path.open("wb") as out:
        if hasattr(stream, "read"):
            shutil.copyfileobj(stream, out, _COPY_BLOCK)  # type: ignore[arg-type]
        else:
            for block in stream:  # type: ignore[union-attr]
                out.write(block)
    return path


def keep_copy(source: Path) -> Path:
    """Copy a file given by path (CLI, notebook) into the imports folder, in blocks."""
    path = new_slot(source.name)
    with source.open("rb") as f, path.open("wb") as out:
        shutil.copyfileobj(f, out, _COPY_BLOCK)
    return path


def inbox() -> Path:
    """The imports' file-in folder (``BULKDESK_FILE_IN_DIR``, else ``<imports>/inbox``)."""
    return Path(os.environ.get("BULKDESK_FILE_IN_DIR", imports_dir() / "inbox"))
