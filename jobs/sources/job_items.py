"""Items of an earlier job: its exceptions (for "Retry exceptions") or the items it changed
(for "Undo"). Each new item carries the earlier item's account and payload (the collector
planned for it, the values before and after)."""

from __future__ import annotations

from typing import Any, ClassVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from jobs.errors import InvalidInput, NotFound
from jobs.models import ItemOutcome, Job, JobItem
from jobs.sources.base import Source

#: Which of the earlier job's items: name → the outcome they ended with, and the words.
WHICH = {
    "exceptions": (ItemOutcome.EXCEPTION, "the exceptions of job {job}"),
    "changed": (ItemOutcome.OK, "the accounts job {job} changed"),
}


class JobItemsSource(Source):
    kind: ClassVar[str] = "job_items"

    def __init__(self, job_id: int, which: str) -> None:
        if which not in WHICH:
            raise InvalidInput(
                f"Unknown kind of items {which!r}; expected one of: {', '.join(WHICH)}",
                field="selection",
            )
        self.job_id = int(job_id)
        self.which = which

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobItemsSource:
        return cls(int(data["job_id"]), str(data["which"]))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "job_id": self.job_id, "which": self.which}

    def check(self, session: Session) -> None:
        found = session.scalar(
            select(Job.id).where(Job.id == self.job_id, Job.deleted_at.is_(None))
        )
        if found is None:
            raise NotFound(f"Job {self.job_id} was not found; it may have been deleted")

    def items(self, session: Session) -> Select[Any]:
        outcome = WHICH[self.which][0]
        return select(
            JobItem.seq.label("key"), JobItem.account_id, JobItem.payload.label("payload")
        ).where(JobItem.job_id == self.job_id, JobItem.outcome == outcome)

    def count(self, session: Session) -> int:
        outcome = WHICH[self.which][0]
        return (
            session.scalar(
                select(func.count()).where(
                    JobItem.job_id == self.job_id, JobItem.outcome == outcome
                )
            )
            or 0
        )

    def describe(self, session: Session) -> str:
        return WHICH[self.which][1].format(job=self.job_id)
