"""Bulkdesk's Panel screens; they call the service API in ``jobs``."""
