"""The bulk actions a job can run; each is one module with one ``BulkAction`` subclass."""

from __future__ import annotations

from jobs.actions.add_interaction import AddInteraction
from jobs.actions.base import BulkAction, ChunkContext
from jobs.errors import InvalidInput

ACTIONS: dict[str, BulkAction] = {action.name: action for action in (AddInteraction(),)}


def get_action(name: str) -> BulkAction:
    """The action called ``name``.

    Raises:
      InvalidInput: for an unknown action name.
    """
    try:
        return ACTIONS[name]
    except KeyError:
        raise InvalidInput(f"Unknown bulk action {name!r}", field="action") from None


__all__ = ["ACTIONS", "BulkAction", "ChunkContext", "get_action"]
