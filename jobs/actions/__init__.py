"""The bulk actions a job can run; each is one module with one ``BulkAction`` subclass.

The registry of them all (``ACTIONS``, ``get_action``, ``register``, in
``jobs.actions.registry``) is loaded on first use, so that a module defining an action (in
``jobs.imports`` or ``jobs.comms``) can import ``jobs.actions.base`` without loading every
other action first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jobs.actions.base import BulkAction, ChunkContext, DryRun, JobContext

if TYPE_CHECKING:
    from jobs.actions.registry import ACTIONS, get_action, register

_REGISTRY = ("ACTIONS", "get_action", "register")


def __getattr__(name: str) -> Any:
    if name in _REGISTRY:
        from jobs.actions import registry

        return getattr(registry, name)
    raise AttributeError(f"module 'jobs.actions' has no attribute {name!r}")


__all__ = [
    "ACTIONS",
    "BulkAction",
    "ChunkContext",
    "DryRun",
    "JobContext",
    "get_action",
    "register",
]
