"""The browser's back and forward buttons for the dashboard.

The shell keeps where the person is in the address bar (``?page=…&job=…``, pushed as they
move); going back or forward to such an address opens it again, as a reload would.
"""

from __future__ import annotations

from panel.reactive import ReactiveHTML


class HistoryFollower(ReactiveHTML):
    """An invisible element whose script reloads the page at the address the browser went
    back (or forward) to."""

    _template = '<div id="history" style="display:none"></div>'

    _scripts = {
        "render": """
        if (!window.bdHistoryFollowed) {
          window.bdHistoryFollowed = true;
          window.addEventListener("popstate", () => window.location.reload());
        }
        """
    }
