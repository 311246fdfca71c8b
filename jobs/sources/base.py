"""What every source of a job's items provides: a check, a count, a description, a snapshot.

``jobs.engine.execution`` asks a job's source to snapshot its items when the job starts and
never knows which kind of source it is: an account selection, a CSV file's rows, a
definition's run.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from sqlalchemy import Connection, Select, func, insert, literal, select
from sqlalchemy.orm import Session

from jobs.models import ItemOutcome, JobItem


class Source(abc.ABC):
    """Where a job's items come from. Instances are values: stored on the job as a dict."""

    #: Stored as ``kind`` in the job's ``selection``; the key of ``jobs.sources.SOURCES``.
    kind: ClassVar[str]

    @classmethod
    @abc.abstractmethod
    def from_dict(cls, data: dict[str, Any]) -> Source:
        """The source stored in ``data`` (as :meth:`as_dict` wrote it).

        Raises:
          InvalidInput: for a value of the wrong kind.
        """

    @abc.abstractmethod
    def as_dict(self) -> dict[str, Any]:
        """What is stored on the job, ``kind`` included."""

    def check(self, session: Session) -> None:
        """Refuse what names nothing (a status, a group, a file that does not exist).

        Raises:
          InvalidInput or NotFound: naming the value that is wrong.
        """
        return None

    @abc.abstractmethod
    def items(self, session: Session) -> Select[Any]:
        """A select of the items, with columns ``key`` (their order), ``account_id`` (or
        NULL) and ``payload`` (or NULL), ready for ``INSERT … SELECT``."""

    def count(self, session: Session) -> int:
        """How many items the source yields now."""
        sub = self.items(session).subquery()
        return session.scalar(select(func.count()).select_from(sub)) or 0

    @abc.abstractmethod
    def describe(self, session: Session) -> str:
        """What was chosen, in words, for lists and the audit trail."""

    def snapshot(self, session: Session, job_id: int) -> int:
        """Freeze the items as the job's ``job_items``, numbered 1..n in one statement.

        Returns:
          n, the number of items.
        """
        conn: Connection = session.connection()
        items = self.items(session).subquery()
        numbered = select(
            literal(job_id),
            func.row_number().over(order_by=items.c.key),
            items.c.account_id,
            literal(ItemOutcome.PENDING),
            items.c.payload,
        )
        conn.execute(
            insert(JobItem).from_select(
                ["job_id", "seq", "account_id", "outcome", "payload"], numbered
            )
        )
        # Not the INSERT's rowcount: psycopg reports -1 for INSERT … SELECT with parameters.
        return conn.scalar(
            select(func.coalesce(func.max(JobItem.seq), 0)).where(JobItem.job_id == job_id)
        )
