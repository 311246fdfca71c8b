"""What every bulk action provides: validation of its parameters and set-based chunk effects."""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, select

from jobs.models import ItemOutcome, JobItem
from jobs.people.permissions import BULK_UPDATE, Actor


@dataclass(frozen=True)
class ChunkContext:
    """The chunk being worked: a job's items ``seq_lo..seq_hi``, and who submitted the job."""

    job_id: int
    seq_lo: int
    seq_hi: int
    owner_id: int
    parameters: dict[str, Any]
    now: dt.datetime

    def in_chunk(self) -> ColumnElement[bool]:
        return (JobItem.job_id == self.job_id) & JobItem.seq.between(self.seq_lo, self.seq_hi)

    def pending(self) -> ColumnElement[bool]:
        """Items of this chunk with no outcome yet: what the action is to act on."""
        return self.in_chunk() & (JobItem.outcome == ItemOutcome.PENDING)

    def pending_account_ids(self) -> Select[tuple[int]]:
        return select(JobItem.account_id).where(self.pending())


class BulkAction(abc.ABC):
    """One kind of bulk job. Subclasses are stateless; one instance serves every job."""

    #: Stored on the job; the key of ``jobs.actions.ACTIONS``.
    name: str
    #: What people call it ("Add Interaction"), shown in the Action column.
    label: str
    #: What the acting user needs to submit it.
    permission: str = BULK_UPDATE

    @abc.abstractmethod
    def validate(self, parameters: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """Check and normalise submitted parameters; return what is stored on the job.

        Raises:
          InvalidInput: naming the field and what is wrong with it.
        """

    def mark_exceptions(self, conn: Connection, chunk: ChunkContext) -> int:
        """Give pending items that cannot be processed an exception outcome and message.

        Returns:
          How many items got an exception.
        """
        return 0

    @abc.abstractmethod
    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        """Apply the action's effects to every pending item of the chunk, set-based."""

    def describe(self, parameters: dict[str, Any]) -> str:
        """A one-line summary of the parameters, for lists and the audit trail."""
        return ", ".join(f"{k}: {v}" for k, v in parameters.items())
