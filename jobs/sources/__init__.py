"""Where a job's items come from; each kind of source is one module with one ``Source``."""

from __future__ import annotations

from typing import Any

from jobs.errors import InvalidInput
from jobs.sources.accounts import AccountFilter, AccountSelection
from jobs.sources.base import Source
from jobs.sources.file_rows import FileRows
from jobs.sources.job_items import JobItemsSource

SOURCES: dict[str, type[Source]] = {AccountSelection.kind: AccountSelection}
SOURCES[FileRows.kind] = FileRows
SOURCES[JobItemsSource.kind] = JobItemsSource


def source_from_dict(data: dict[str, Any]) -> Source:
    """The source stored on a job (jobs from before sources were kinds are account selections).

    Raises:
      InvalidInput: for an unknown kind of source.
    """
    kind = data.get("kind", AccountSelection.kind)
    try:
        return SOURCES[kind].from_dict(data)
    except KeyError:
        raise InvalidInput(f"Unknown kind of source {kind!r}", field="selection") from None


__all__ = [
    "SOURCES",
    "AccountFilter",
    "AccountSelection",
    "JobItemsSource",
    "Source",
    "source_from_dict",
]
