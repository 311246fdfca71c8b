"""Who may see, stop and delete which job: the rules of the bulk update monitoring screen.

The service layer calls these before acting; the UI calls them only to decide what to offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobs.errors import ActionNotAllowed, PermissionDenied
from jobs.status import DELETABLE, STOPPABLE, JobStatus

#: "Client Bulk Updates | Bulk Update - Interactions": may open the monitor and launch jobs.
BULK_UPDATE = "bulk_update_interactions"
#: May schedule emails and text messages to debtors (the communications actions).
SEND_COMMUNICATIONS = "send_communications"
#: May approve or reject communications sent for approval (supervisors; admins hold it).
APPROVE_COMMUNICATIONS = "approve_communications"

#: May export sensitive account data (SSN, birth date, email, phone) unmasked.
UNMASK_SENSITIVE = "unmask_sensitive_data"

ALL_PERMISSIONS = (BULK_UPDATE, SEND_COMMUNICATIONS, APPROVE_COMMUNICATIONS, UNMASK_SENSITIVE)

ADMIN = "admin"
USER = "user"


@dataclass(frozen=True)
class Actor:
    """The person acting, as the service layer sees them."""

    id: int
    username: str
    display_name: str
    role: str
    permissions: frozenset[str] = field(default_factory=frozenset)
    email: str | None = None
    notify: str = "all"

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN

    def has(self, permission: str) -> bool:
        return self.is_admin or permission in self.permissions


#: Who acts: an :class:`Actor`, or a username the service looks up.
ActorLike = Actor | str


def require(actor: Actor, permission: str) -> None:
    """Raise unless ``actor`` holds ``permission`` (admins hold all).

    Raises:
      PermissionDenied: with a sentence naming what is missing.
    """
    if not actor.has(permission):
        raise PermissionDenied(
            f"You do not have the permission to do this ({_PERMISSION_NAMES[permission]}). "
            "Ask an administrator to grant it."
        )


_PERMISSION_NAMES = {
    BULK_UPDATE: "Client Bulk Updates | Bulk Update - Interactions",
    SEND_COMMUNICATIONS: "Send emails and text messages",
    APPROVE_COMMUNICATIONS: "Approve emails and text messages sent for approval",
    UNMASK_SENSITIVE: "Export sensitive data unmasked",
}


def can_see(actor: Actor, owner_id: int) -> bool:
    """An admin sees every job; a user sees only the jobs they created."""
    return actor.is_admin or actor.id == owner_id


def stop_refusal(actor: Actor, owner_id: int, status: JobStatus) -> str | None:
    """Why ``actor`` may not stop this job, or None when they may."""
    if not actor.has(BULK_UPDATE):
        return "You do not have the permission to stop bulk jobs"
    if not actor.is_admin and actor.id != owner_id:
        return "You can only stop jobs you created"
    if status not in STOPPABLE:
        return f"Only jobs that are In progress can be stopped; this job is {status.label}"
    return None


def delete_refusal(actor: Actor, owner_id: int, status: JobStatus) -> str | None:
    """Why ``actor`` may not delete this job, or None when they may."""
    if not actor.has(BULK_UPDATE):
        return "You do not have the permission to delete bulk jobs"
    if not actor.is_admin and actor.id != owner_id:
        return "You can only delete jobs you created"
    if status not in DELETABLE:
        return f"Only jobs that are {_DELETABLE_WORDS} can be deleted; this job is {status.label}"
    return None


# In the order and words of the monitoring screen's rules.
_DELETABLE_WORDS = "Queued, Completed, Failed, Stopped or Completed with exceptions"


def check_stop(actor: Actor, owner_id: int, status: JobStatus) -> None:
    """Raises PermissionDenied or ActionNotAllowed when the stop is refused."""
    _raise(stop_refusal(actor, owner_id, status), actor, owner_id)


def check_delete(actor: Actor, owner_id: int, status: JobStatus) -> None:
    """Raises PermissionDenied or ActionNotAllowed when the delete is refused."""
    _raise(delete_refusal(actor, owner_id, status), actor, owner_id)


def _raise(reason: str | None, actor: Actor, owner_id: int) -> None:
    if reason is None:
        return
    if not actor.has(BULK_UPDATE) or (not actor.is_admin and actor.id != owner_id):
        raise PermissionDenied(reason)
    raise ActionNotAllowed(reason)


def define_refusal(actor: Actor) -> str | None:
    """Why ``actor`` may not create, edit, enable, disable, suspend, resume, import or run
    job definitions, or end campaigns; None when they may. Everyone reads definitions."""
    if actor.is_admin:
        return None
    return "Only administrators define jobs; you can read definitions and their runs"


def check_define(actor: Actor) -> None:
    """Raises PermissionDenied unless ``actor`` may change job definitions."""
    reason = define_refusal(actor)
    if reason is not None:
        raise PermissionDenied(reason)
