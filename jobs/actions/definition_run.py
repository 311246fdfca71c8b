"""A job definition's run, as the Monitor lists it: a job whose work is its steps.

Runs are not submitted on accounts: the scheduler records them
(``jobs.scheduler.triggers.fire``) and the run actor works them (``jobs.definitions.runner``).
This action only gives them a label and a description of their parameters (the definition's
steps as they were when the run fired), so that every screen that shows a job shows a run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from jobs.actions.base import BulkAction, ChunkContext, DryRun
from jobs.errors import ActionNotAllowed
from jobs.models import RUN_ACTION
from jobs.sources.base import Source


@dataclass(frozen=True)
class RunParams:
    """What a run's job stores: the definition, its version, and its steps then."""

    definition_id: int = 0
    version: int = 0
    steps: tuple[dict[str, Any], ...] = ()


class DefinitionRun(BulkAction):
    name = RUN_ACTION
    label = "Job definition run"
    cli_name = "definition-run"
    summary = "A run of a job definition: its steps, one after the other."
    Params = RunParams
    #: Not an action people launch on accounts (the launch page and CLI leave it out).
    on_accounts: ClassVar[bool] = False

    def fields(self) -> list[Any]:
        return []

    def load(self, stored: dict[str, Any]) -> RunParams:
        return RunParams(
            definition_id=int(stored.get("definition_id") or 0),
            version=int(stored.get("version") or 0),
            steps=tuple(stored.get("steps") or ()),
        )

    def describe(self, params: RunParams) -> str:
        names = " → ".join(str(s.get("name")) for s in params.steps) or "no steps"
        return f"Definition {params.definition_id} (version {params.version}): {names}"

    def validate(self, raw: dict[str, Any], session: Session) -> Any:
        raise ActionNotAllowed("A definition's run is started by its trigger or Run now")

    def apply(self, conn: Connection, chunk: ChunkContext) -> None:
        raise ActionNotAllowed("A definition's run has no items to apply")

    def dry_run(self, session: Session, source: Source, params: Any) -> DryRun:
        raise ActionNotAllowed("A definition's run has no dry run")
