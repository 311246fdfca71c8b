"""The step types of job definitions: what a step does (report, bulk action, email, copy).

``STEP_TYPES`` maps a step's ``kind`` (``definition_steps.kind``) to its type; :func:`get`
finds one or says which kinds there are. The contract every type keeps is in
:mod:`jobs.definitions.steps.base`.
"""

from __future__ import annotations

from jobs.definitions.steps.base import StepContext, StepOutcome, StepType
from jobs.definitions.steps.bulk_action import BulkActionStep
from jobs.definitions.steps.copy import CopyStep
from jobs.definitions.steps.email import EmailStep
from jobs.definitions.steps.report import ReportStep
from jobs.errors import InvalidInput

STEP_TYPES: dict[str, StepType] = {
    t.kind: t for t in (ReportStep(), BulkActionStep(), EmailStep(), CopyStep())
}


def get(kind: str) -> StepType:
    """The step type called ``kind``.

    Raises:
      InvalidInput: field ``kind``, naming the known kinds.
    """
    found = STEP_TYPES.get((kind or "").strip())
    if found is None:
        known = ", ".join(STEP_TYPES)
        raise InvalidInput(f"Unknown step type {kind!r}; expected one of: {known}", field="kind")
    return found


__all__ = ["STEP_TYPES", "StepContext", "StepOutcome", "StepType", "get"]
