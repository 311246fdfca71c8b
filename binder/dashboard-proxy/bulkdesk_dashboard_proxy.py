"""The Bulkdesk dashboard behind Jupyter's own server, for Binder: ``<Jupyter URL>/bulkdesk/``.

jupyter-server-proxy starts ``panel serve`` on first visit and forwards the page and its
websocket. The served process runs the schema upgrade and the in-process workers
(``--setup apps/serve.py``), like ``make demo``'s dashboard. Binder has no login, so the
dashboard is started without one on purpose: ``BULKDESK_NO_LOGIN_USER`` (default ``alice``)
names the user everyone acts as, and every page says so.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: The repository: this module is installed in editable mode from binder/dashboard-proxy/.
ROOT = Path(__file__).resolve().parents[2]


def setup_bulkdesk() -> dict[str, Any]:
    """The jupyter-server-proxy server process for the dashboard.

    Returns:
      Its command (``{port}`` and ``{base_url}`` are filled in by the proxy) and options.
    """
    return {
        "command": [
            "panel",
            "serve",
            "apps/app.py",
            "notebooks/launch_and_monitor.ipynb",
            "--setup",
            "apps/serve.py",
            "--port",
            "{port}",
            "--prefix",
            "{base_url}bulkdesk",
            "--allow-websocket-origin",
            "*",
        ],
        "cwd": str(ROOT),
        "absolute_url": True,
        "timeout": 120,
        "environment": {
            "BULKDESK_NO_LOGIN_USER": os.environ.get("BULKDESK_NO_LOGIN_USER", "alice")
        },
        "launcher_entry": {"enabled": True, "title": "Bulkdesk dashboard"},
    }
