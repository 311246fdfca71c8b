"""State of the Profile page (email address, job completion email), without Panel.

The person edits their own profile only; the service validates and saves, and its refusal
shows under the field it names.
"""

from __future__ import annotations

from typing import Any

import param

from jobs.errors import BulkdeskError, InvalidInput
from jobs.people.permissions import Actor
from jobs.people.profile import NOTIFY_CHOICES, Profile
from jobs.service import JobService

#: The radio buttons: the choice in words → the stored choice.
NOTIFY_OPTIONS = {words: key for key, words in NOTIFY_CHOICES.items()}


class ProfileState(param.Parameterized):
    """The acting user's profile as the page edits it.

    Parameters:
      service: the service API.
      user: the acting username (or an Actor): whose profile this is.
    """

    email = param.String(default="", label="Email address")
    notify = param.Selector(default="all", objects=NOTIFY_OPTIONS, label="Job completion email")

    username = param.String(default="", constant=True)
    display_name = param.String(default="", constant=True)
    saved = param.ClassSelector(class_=Profile, default=None, doc="The profile as stored.")
    message = param.String(default="", doc="What the last save did.")
    error = param.String(default="", doc="A refusal that names no field.")
    email_error = param.String(default="")
    notify_error = param.String(default="")

    def __init__(self, service: JobService, user: str | Actor, **params: Any) -> None:
        super().__init__(**params)
        self.service = service
        self.actor: Actor = service.actor(user)
        self._show(service.profile(self.actor))

    def _show(self, profile: Profile) -> None:
        with param.edit_constant(self):
            self.param.update(username=profile.username, display_name=profile.display_name)
        self.param.update(
            saved=profile,
            email=profile.email or "",
            notify=profile.notify if profile.notify in NOTIFY_CHOICES else "all",
        )

    @param.depends("email", "notify", "saved")
    def has_changes(self) -> bool:
        """Whether the form differs from what is stored (Save has something to do)."""
        saved = self.saved
        return saved is None or (
            self.email.strip() != (saved.email or "") or self.notify != saved.notify
        )

    @param.depends("email", "notify", "saved")
    def nothing_to_save(self) -> bool:
        return not self.has_changes()

    @param.depends("email", "notify")
    def hint(self) -> str:
        """What the choice means for this person's emails, in a sentence."""
        if self.notify == "none":
            return "You get no job completion emails."
        if not self.email.strip():
            return "Without an email address you get no job completion emails."
        when = (
            "whenever one of your jobs ends"
            if self.notify == "all"
            else "when one of your jobs fails, is stopped or ends with exceptions"
        )
        return f"An email goes to {self.email.strip()} {when}."

    @param.depends("email", watch=True)
    def _email_edited(self) -> None:
        self.param.update(email_error="", message="")

    @param.depends("notify", watch=True)
    def _notify_edited(self) -> None:
        self.param.update(notify_error="", message="")

    def save(self) -> Profile | None:
        """Save through the service; None (and the refusal under its field) when refused."""
        self.param.update(message="", error="", email_error="", notify_error="")
        try:
            profile = self.service.set_profile(self.actor, notify=self.notify, email=self.email)
        except InvalidInput as refusal:
            where = {"email": "email_error", "notify": "notify_error"}.get(refusal.field or "")
            self.param.update({where or "error": str(refusal)})
            return None
        except BulkdeskError as refusal:
            self.error = str(refusal)
            return None
        self._show(profile)
        self.message = f"Saved. {self.hint()}"
        return profile
