"""Bulkdesk's engine: models, statuses, permissions, the service API, actions and actors."""
