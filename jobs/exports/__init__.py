"""Exports of accounts: masking of sensitive columns, saved templates, and the CSV file a job
writes in one streaming pass (the action is ``jobs.actions.export_accounts``)."""
