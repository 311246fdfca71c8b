"""Errors the service API raises; each message is written for the person who acted."""

from __future__ import annotations


class BulkdeskError(Exception):
    """Base class: ``str(error)`` is a sentence to show the user as it is."""


class NotFound(BulkdeskError):
    """The job, group, user or other record does not exist (or is not visible)."""


class PermissionDenied(BulkdeskError):
    """The acting user's role or permissions do not allow this action."""


class ActionNotAllowed(BulkdeskError):
    """The record's current status does not allow this action."""


class InvalidInput(BulkdeskError):
    """A form value, filter or file is not acceptable; nothing was written."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class IllegalTransition(BulkdeskError):
    """A status change that the status machine does not allow."""


class ConfigError(BulkdeskError):
    """A setting (environment variable) is missing, malformed or out of range."""
