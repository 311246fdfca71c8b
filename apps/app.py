"""The ``panel serve`` entry: ``panel serve apps/app.py --basic-auth … --setup apps/serve.py``.

Each browser session gets its own shell for the logged-in user (``pn.state.user``). Without a
login (``panel serve`` with no auth) ``BULKDESK_USER`` names the user, for local use only.
"""

from __future__ import annotations

import os

import panel as pn

from apps.shell import app

pn.extension("tabulator", "modal", sizing_mode="stretch_width")

app(pn.state.user or os.environ.get("BULKDESK_USER")).servable(title="Bulkdesk")
