"""Who a served session acts as: the login's user, or, on a server started without a login on
purpose (``BULKDESK_NO_LOGIN_USER=alice``, e.g. Binder), that one user, said on every page.

With the login (``--auth-module apps/auth.py``) the user comes only from the session cookie,
checked against ``login_sessions``; never from an environment variable or a parameter. With
neither, nobody acts, and the page says the server needs a login.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import panel as pn

from apps.display import esc
from apps.styles import FONT, OfflineFast
from jobs import runtime
from jobs.people import logins

#: The session cookie set by ``/login``.
COOKIE = "bulkdesk_session"
#: Serve without a login, everyone acting as this user: an explicit choice, shown on every page.
NO_LOGIN_ENV = "BULKDESK_NO_LOGIN_USER"

_login_configured = False

NEEDS_LOGIN = (
    "This Bulkdesk server has no login, so nobody may act on it. Serve it with "
    "<code>--auth-module apps/auth.py</code> (see the README, <i>Logins</i>), or, for a "
    f"single-user demo without a login, start it with <code>{NO_LOGIN_ENV}=&lt;user&gt;</code>."
)
LOGIN_ENDED = 'Your login has ended. <a href="/login">Log in again</a>.'


class LoginRequired(RuntimeError):
    """Nobody may act in this session; the message says why."""


def use_login() -> None:
    """Called by ``apps/auth.py`` when the server has the login."""
    global _login_configured
    _login_configured = True


def login_configured() -> bool:
    return _login_configured


@dataclass(frozen=True)
class Acting:
    """Who a session acts as.

    Attributes:
      username: the acting user; ``None``: nobody.
      note: on a server without a login, the line every page shows ("No login: …").
      problem: why nobody acts (HTML), when ``username`` is ``None``.
    """

    username: str | None
    note: str = ""
    problem: str = ""

    def required(self) -> str:
        """The username, or :class:`LoginRequired`."""
        if self.username is None:
            raise LoginRequired(self.problem)
        return self.username


def acting_user(cookies: Mapping[str, str] | None = None) -> Acting:
    """Who the current served session acts as (``cookies``: the session's, by default)."""
    if _login_configured:
        token = (pn.state.cookies if cookies is None else cookies).get(COOKIE)
        username = logins.session_user(runtime.database(), token)
        return Acting(username) if username else Acting(None, problem=LOGIN_ENDED)
    fixed = os.environ.get(NO_LOGIN_ENV, "").strip()
    if fixed:
        return Acting(fixed, note=f"No login: everyone acts as {fixed}")
    return Acting(None, problem=NEEDS_LOGIN)


def no_login_note() -> pn.pane.HTML:
    """The "No login: everyone acts as …" line for a served page (empty with a login)."""
    note = acting_user().note if pn.state.served else ""
    return pn.pane.HTML(
        f'<div class="bd-no-login">{esc(note)}</div>' if note else "", sizing_mode="stretch_width"
    )


def nobody_page(problem: str) -> pn.template.BaseTemplate:
    """The page of a session that may not act: why, and nothing else."""
    return pn.template.FastListTemplate(
        title="Bulkdesk",
        accent="#1d4ed8",
        design=OfflineFast,
        font=FONT,
        theme_toggle=False,
        main=[pn.pane.HTML(f'<div class="bd-needs-login" style="font-size:16px">{problem}</div>')],
    )
