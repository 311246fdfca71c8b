"""Every bulk action a job can run, by name: the registry (``jobs.actions.ACTIONS``)."""

from __future__ import annotations

from jobs.actions.add_interaction import AddInteraction
from jobs.actions.assign import Assign
from jobs.actions.base import BulkAction
from jobs.actions.change_status import ChangeStatus
from jobs.actions.definition_run import DefinitionRun
from jobs.actions.export_accounts import ExportAccounts
from jobs.actions.send_email import SendEmail
from jobs.actions.send_sms import SendSms
from jobs.actions.undo import Undo
from jobs.errors import InvalidInput
from jobs.imports.actions import IMPORT_ACTIONS

ACTIONS: dict[str, BulkAction] = {
    a.name: a for a in (AddInteraction(), ChangeStatus(), SendEmail(), SendSms())
}
# Imports (jobs.imports): their items are a file's rows, not accounts (``on_accounts`` false).
ACTIONS.update({a.name: a for a in IMPORT_ACTIONS})
ACTIONS[ExportAccounts.name] = ExportAccounts()
ACTIONS[Assign.name] = Assign()
ACTIONS[Undo.name] = Undo()
# A job definition's run (jobs.definitions.runner): listed like any job, never launched.
ACTIONS[DefinitionRun.name] = DefinitionRun()


def get_action(name: str) -> BulkAction:
    """The action called ``name`` (its stored name, or its CLI word such as
    ``change-status``).

    Raises:
      InvalidInput: for an unknown action name.
    """
    found = ACTIONS.get(name) or next((a for a in ACTIONS.values() if a.cli_name == name), None)
    if found is None:
        known = ", ".join(a.cli_name for a in ACTIONS.values())
        raise InvalidInput(
            f"Unknown bulk action {name!r}; expected one of: {known}", field="action"
        )
    return found


def register(action: BulkAction) -> None:
    """Add an action (a plugin's, or a test's) to the ones jobs can run."""
    ACTIONS[action.name] = action
