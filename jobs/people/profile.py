"""A person's own profile: their email address and when they get a job completion email.

The seed's "Person Profile › Settings › Job Completion Email Notification": every job, only
the jobs that failed, were stopped or ended with exceptions, or never. A person changes only
their own profile; each change is written to the audit trail with the change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from jobs import audit
from jobs.errors import InvalidInput, NotFound
from jobs.models import User

#: The choices of "Job completion email", in the words the Profile page shows.
NOTIFY_CHOICES = {
    "all": "Every job",
    "failures": "Only jobs that failed, were stopped or ended with exceptions",
    "none": "Never",
}
#: The longest address SMTP carries (RFC 5321 path limit), as the ``users.email`` column.
EMAIL_MAX = 254
_LOCAL_MAX = 64
# A plausible address: something@domain.tld, with nothing that would break a mail header.
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"\\]+@[^\s@<>()\[\],;:\"\\.]+(\.[^\s@<>()\[\],;:\"\\.]+)+")


@dataclass(frozen=True)
class Profile:
    """What the Profile page and ``bulkdesk profile`` show of a person."""

    username: str
    display_name: str
    email: str | None
    notify: str

    @property
    def notify_label(self) -> str:
        """The completion-email choice in words ("Every job")."""
        return NOTIFY_CHOICES.get(self.notify, self.notify)


def check_notify(value: str) -> str:
    """The choice ``value`` names (``all``, ``failures`` or ``none``).

    Raises:
      InvalidInput: field ``notify``, naming the choices.
    """
    choice = value.strip().lower()
    if choice not in NOTIFY_CHOICES:
        choices = "; ".join(f"{key} ({words})" for key, words in NOTIFY_CHOICES.items())
        raise InvalidInput(
            f"{value!r} is not a choice for job completion emails; choose one of: {choices}",
            field="notify",
        )
    return choice


def check_email(value: str) -> str | None:
    """A plausible email address (``name@example.com``), or None for empty text (no email).

    Raises:
      InvalidInput: field ``email``, saying what is wrong.
    """
    address = value.strip()
    if not address:
        return None
    if len(address) > EMAIL_MAX:
        raise InvalidInput(
            f"The email address is {len(address)} characters long; the limit is {EMAIL_MAX}",
            field="email",
        )
    local = address.rpartition("@")[0]
    if not _EMAIL.fullmatch(address) or len(local) > _LOCAL_MAX:
        raise InvalidInput(
            f"{address!r} does not look like an email address; expected name@example.com "
            "(or leave it empty for no emails)",
            field="email",
        )
    return address


def read(conn: Connection, user_id: int) -> Profile:
    """The profile of the user with id ``user_id``.

    Raises:
      NotFound: there is no such user.
    """
    row = conn.execute(
        select(User.username, User.display_name, User.email, User.notify).where(User.id == user_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"There is no user with id {user_id}")
    return Profile(row.username, row.display_name, row.email or None, row.notify)


def change(
    conn: Connection, user_id: int, *, notify: str | None = None, email: str | None = None
) -> Profile:
    """Set a user's completion-email choice and/or address, in the caller's transaction.

    Parameters:
      notify: ``all``, ``failures`` or ``none``; None leaves it as it is.
      email: the new address; empty text removes it; None leaves it as it is.

    Returns:
      The profile after the change. A change is written to the audit trail with what it
      was before; setting what is already there writes nothing.

    Raises:
      InvalidInput: field ``notify`` or ``email``; then nothing is changed.
      NotFound: there is no such user.
    """
    values: dict[str, str | None] = {}
    if notify is not None:
        values["notify"] = check_notify(notify)
    if email is not None:
        values["email"] = check_email(email)
    before = read(conn, user_id)
    changes = {k: (getattr(before, k), v) for k, v in values.items() if getattr(before, k) != v}
    if not changes:
        return before
    conn.execute(
        update(User).where(User.id == user_id).values({k: new for k, (_, new) in changes.items()})
    )
    summary = "; ".join(
        f"{_WHAT[k]} {_shown(k, old)} → {_shown(k, new)}" for k, (old, new) in changes.items()
    )
    audit.record(
        conn,
        audit.PROFILE,
        job_id=None,
        actor_id=user_id,
        summary=f"{before.display_name} changed their profile: {summary}",
        details={k: {"before": old, "after": new} for k, (old, new) in changes.items()},
    )
    return read(conn, user_id)


_WHAT = {"notify": "job completion email", "email": "email address"}


def _shown(key: str, value: str | None) -> str:
    if key == "notify":
        return NOTIFY_CHOICES.get(value or "", str(value))
    return value or "(none)"
