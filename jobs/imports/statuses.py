"""The status of each row of an import: what happened to it, in the Task Messages' words."""

from __future__ import annotations

import enum


class RowStatus(enum.IntEnum):
    PENDING = 0
    CREATED = 1
    UPDATED = 2
    IMPORTED = 3
    INVALID = 4
    NO_MATCH = 5
    MULTIPLE_MATCHES = 6
    NOT_PROCESSED = 7

    @property
    def label(self) -> str:
        return _LABELS[self]

    @property
    def applied(self) -> bool:
        return self in (RowStatus.CREATED, RowStatus.UPDATED, RowStatus.IMPORTED)

    @classmethod
    def from_label(cls, text: str) -> RowStatus:
        for status, label in _LABELS.items():
            if label.lower() == text.strip().lower():
                return status
        raise ValueError(text)


_LABELS = {
    RowStatus.PENDING: "Pending",
    RowStatus.CREATED: "Created",
    RowStatus.UPDATED: "Updated",
    RowStatus.IMPORTED: "Imported",
    RowStatus.INVALID: "Invalid",
    RowStatus.NO_MATCH: "No match",
    RowStatus.MULTIPLE_MATCHES: "Multiple matches",
    RowStatus.NOT_PROCESSED: "Not processed",
}

#: Statuses of rows that were not applied (they become the job's exceptions).
REFUSED = (RowStatus.INVALID, RowStatus.NO_MATCH, RowStatus.MULTIPLE_MATCHES)
