"""The dashboard's login: ``panel serve apps/app.py --auth-module apps/auth.py`` (a Bokeh auth
module), with signed Bokeh sessions (``BOKEH_SIGN_SESSIONS=yes``, ``BOKEH_SECRET_KEY``).

``/login`` checks the ``users`` table (``jobs.people.logins``: argon2 hashes, slow-down and lockout)
and sets the ``bulkdesk_session`` cookie: a random token whose hash is a row of
``login_sessions``; the cookie is ``HttpOnly``, ``SameSite=Lax``, and ``Secure`` when the
request came over HTTPS (behind a proxy: ``--use-xheaders`` and ``X-Forwarded-Proto``).
``get_user`` accepts a request only with a live session; ``/logout`` revokes it. Signed
sessions make Bokeh refuse a session token built by hand, so the cookies a session acts on
(``apps.login.acting_user``) are the ones this server saw.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import jinja2
import tornado.web
from bokeh.settings import settings as bokeh_settings

from apps import login
from jobs import runtime
from jobs.people import logins

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)

login_url = "/login"
logout_url = "/logout"


def _sessions_are_signed() -> bool:
    argv = sys.argv
    for i, arg in enumerate(argv):
        value = (
            arg.split("=", 1)[1]
            if arg.startswith("--session-ids=")
            else (argv[i + 1] if arg == "--session-ids" and i + 1 < len(argv) else None)
        )
        if value is not None:
            return value in ("signed", "external-signed")
    return bool(bokeh_settings.sign_sessions())


def _check_server_settings() -> None:
    if os.environ.get(login.NO_LOGIN_ENV, "").strip():
        raise RuntimeError(
            f"{login.NO_LOGIN_ENV} is set, but this server has a login: unset it "
            "(the acting user comes from the login), or serve without "
            "--auth-module apps/auth.py"
        )
    if not _sessions_are_signed() or not bokeh_settings.secret_key():
        raise RuntimeError(
            "Bulkdesk's login needs signed Bokeh sessions, or a hand-made session "
            "token could act without the login: set BOKEH_SIGN_SESSIONS=yes and "
            "BOKEH_SECRET_KEY (`bokeh secret` makes one; see README, Logins)"
        )


def get_user(request_handler: tornado.web.RequestHandler) -> str | None:
    """The username of the request's live login session, else ``None`` (→ the login page)."""
    token = request_handler.get_cookie(login.COOKIE)
    return logins.session_user(runtime.database(), token) if token else None


def _next_url(value: str | None) -> str:
    """Only a path on this server (never ``//host`` or a full URL) to go to after logging in."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


class LoginHandler(tornado.web.RequestHandler):
    """``GET /login``: the form; ``POST /login``: check the password, open a session."""

    def get(self) -> None:
        self._page(next_url=_next_url(self.get_argument("next", None)))

    async def post(self) -> None:
        username = self.get_body_argument("username", "")
        password = self.get_body_argument("password", "")
        next_url = _next_url(self.get_body_argument("next", None))
        loop = asyncio.get_running_loop()
        # argon2 takes tens of milliseconds: off the event loop that serves every session.
        result = await loop.run_in_executor(
            None, lambda: logins.attempt(runtime.database(), username, password)
        )
        if not result.ok:
            if result.wait_seconds and result.locked_until is None:
                await asyncio.sleep(min(result.wait_seconds, 30))  # the slow-down
            self.set_status(401)
            self._page(next_url=next_url, username=username, error=result.message)
            return
        self.set_cookie(
            login.COOKIE,
            result.token or "",
            path="/",
            httponly=True,
            samesite="Lax",
            secure=self.request.protocol == "https",
            expires_days=logins.DEFAULT_POLICY.session_hours / 24,
        )
        self.redirect(next_url)

    def _page(self, **values: Any) -> None:
        self.set_header("Cache-Control", "no-store")
        self.write(TEMPLATES.get_template("login.html").render(**values))


class LogoutHandler(tornado.web.RequestHandler):
    """``GET /logout``: revoke this browser's session; a saved copy of the cookie is refused."""

    def get(self) -> None:
        logins.log_out(runtime.database(), self.get_cookie(login.COOKIE))
        self.clear_cookie(login.COOKIE, path="/")
        self.set_header("Cache-Control", "no-store")
        self.write(TEMPLATES.get_template("logout.html").render())


_check_server_settings()
login.use_login()
