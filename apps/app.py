"""The ``panel serve`` entry (``make demo``)::

    BOKEH_SIGN_SESSIONS=yes BOKEH_SECRET_KEY=… panel serve apps/app.py \
        --auth-module apps/auth.py --setup apps/serve.py

Each browser session gets its own shell for the user of its login session
(``apps.login.acting_user``). A server without the login acts only when started with
``BULKDESK_NO_LOGIN_USER=<user>``, and every page then says that everyone acts as that user.
"""

from __future__ import annotations

import panel as pn

from apps.login import acting_user, nobody_page
from apps.shell import app

pn.extension("tabulator", "modal", sizing_mode="stretch_width")

acting = acting_user()
if acting.username is None:
    nobody_page(acting.problem).servable(title="Bulkdesk")
else:
    app(acting.username, note=acting.note).servable(title="Bulkdesk")
