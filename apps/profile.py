"""The Profile page: your email address and when you get a job completion email.

In a notebook::

    from apps.profile import ProfilePage
    ProfilePage(service=JobService(), user="alice")
"""

from __future__ import annotations

from typing import Any

import panel as pn

from apps.display import esc
from apps.profile_state import ProfileState
from apps.styles import RADIO_CSS
from jobs.people.profile import Profile
from jobs.service import JobService

_ERROR = '<div class="bd-field-error" style="color:#b91c1c;font-size:13px">{}</div>'


def _error_html(text: str) -> str:
    return _ERROR.format(esc(text)) if text else ""


class ProfilePage(pn.viewable.Viewer):
    """The acting user's own profile.

    Parameters:
      service: the service API.
      user: the acting username.
    """

    def __init__(self, service: JobService, user: str, **params: Any) -> None:
        super().__init__(**params)
        self.state = ProfileState(service, user)
        s = self.state
        p = s.param
        self.email = pn.widgets.TextInput.from_param(
            p.email,
            placeholder="name@example.com",
            width=360,
            css_classes=["bd-profile-email"],
        )
        self.notify = pn.widgets.RadioBoxGroup.from_param(
            p.notify, inline=False, css_classes=["bd-profile-notify"], stylesheets=[RADIO_CSS]
        )
        self.save_button = pn.widgets.Button(
            label="Save",
            color="primary",
            width=120,
            disabled=s.nothing_to_save,
            css_classes=["bd-profile-save"],
        )
        self.save_button.on_click(lambda _: self.save())
        self.done = pn.pane.Alert(
            p.message,
            alert_type="success",
            visible=p.message.rx.bool(),
            css_classes=["bd-profile-saved"],
            sizing_mode="stretch_width",
        )
        self.error = pn.pane.Alert(
            p.error,
            alert_type="danger",
            visible=p.error.rx.bool(),
            sizing_mode="stretch_width",
        )
        self._layout = pn.Column(
            pn.pane.HTML(
                pn.bind(
                    lambda name, username: (
                        f'<h2 style="margin:0">{esc(name)}</h2>'
                        f'<div style="color:#6b7280">Signed in as {esc(username)}</div>'
                    ),
                    p.display_name,
                    p.username,
                )
            ),
            self.email,
            pn.pane.HTML(pn.bind(_error_html, p.email_error), css_classes=["bd-email-error"]),
            pn.pane.HTML("<b>Job completion email</b>", margin=(10, 10, 0, 10)),
            self.notify,
            pn.pane.HTML(pn.bind(_error_html, p.notify_error), css_classes=["bd-notify-error"]),
            pn.pane.HTML(
                pn.bind(lambda *_: f'<div class="bd-hint">{esc(s.hint())}</div>', p.email, p.notify)
            ),
            self.save_button,
            self.done,
            self.error,
            max_width=560,
            sizing_mode="stretch_width",
        )

    def __panel__(self) -> pn.viewable.Viewable:
        return self._layout

    def save(self) -> Profile | None:
        """Save what the form holds; refusals show under their field."""
        return self.state.save()
