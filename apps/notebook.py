"""Panel in a notebook as an analyst needs it: nothing from Panel's CDN (so it works without
internet), words instead of a blank widget when the browser lacks Bokeh or Panel, and live
tables that survive a stale echo from the browser.

``pn.extension(..., inline=True)`` puts Bokeh's and Panel's JavaScript into the notebook and
inlines the stylesheets of what a cell shows first. A component that changes afterwards is sent
again with Panel's cached stylesheet *links* (Panel 1.9: an HTML pane's text update re-sends
``css/loading.css`` and the design's ``bundled/theme/default.css`` and ``native.css`` as
``cdn.holoviz.org`` URLs, e.g. the Monitor's pager on every refresh), which an offline browser
cannot fetch. :func:`prepare_notebook` makes each such link a ``data:`` URL of the file Panel
ships, so the stylesheet travels with the model, and returns a line that says, in the
browser, whether Bokeh and Panel loaded and from where::

    pn.extension("tabulator", "modal", inline=True)
    prepare_notebook()   # the cell's last expression: the line under the cell

Over a notebook's comm, a table refreshed from the server (the Monitor, every second) can
receive the browser's echo of its previous rows just after its rows changed; Panel then fails
to write the old column into the new frame (pandas: "Must have equal len keys and value") and
replaces the whole widget with the traceback. :func:`tolerate_stale_table_echo` lets that one
error go to the log instead and sends the table's current rows to the browser again (the
server's rows are the truth); every other error in a callback is raised as before.
"""

from __future__ import annotations

import base64
import logging
import sys
import time
from functools import cache, partial, wraps
from pathlib import Path
from typing import Any

import panel as pn
import panel.io.notebook as panel_notebook
import panel.io.resources as panel_resources
import panel.reactive as panel_reactive
from IPython.display import HTML

_PATCHED = "_bulkdesk_offline"

log = logging.getLogger("bulkdesk.notebook")


@cache
def _data_url(path: Path) -> str:
    return "data:text/css;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def local_stylesheet_url(url: str) -> str:
    """``url`` itself, or, for a file of Panel's CDN that this Panel ships, a ``data:`` URL of it.

    Parameters:
      url: a stylesheet's URL.
    """
    cdn = panel_resources.CDN_DIST
    if not url.startswith(cdn):
        return url
    path = panel_resources.DIST_DIR / url[len(cdn) :].split("?")[0]
    return _data_url(path) if path.is_file() else url


def _keeping_inline(patch_stylesheet: Any) -> Any:
    """Panel's ``patch_stylesheet``, then, in inline mode, no link to Panel's CDN left."""
    if getattr(patch_stylesheet, _PATCHED, False):
        return patch_stylesheet

    @wraps(patch_stylesheet)
    def patched(stylesheet: Any, dist_url: str) -> None:
        patch_stylesheet(stylesheet, dist_url)
        if not pn.config.inline:
            return
        try:
            url = stylesheet.url
        except Exception:  # an unset URL, as Panel's own function allows for
            return
        local = local_stylesheet_url(url)
        if local != url:
            stylesheet.url = local

    setattr(patched, _PATCHED, True)
    return patched


def keep_stylesheets_inline() -> None:
    """From now on, in inline mode, every Panel stylesheet a component is sent with is local.

    Idempotent: *Run All* again wraps nothing twice.
    """
    for module in (panel_resources, panel_reactive):
        module.patch_stylesheet = _keeping_inline(module.patch_stylesheet)


#: The line under ``prepare_notebook()``. It starts as a warning that appears after a few
#: seconds; the script, when the browser runs it, replaces it with what it found. So a browser
#: where Bokeh and Panel never loaded (no internet and a CDN, outputs not trusted) shows the
#: warning in words instead of leaving the widgets blank without a reason.
_CHECK_HTML = """
<style>
@keyframes bd-appear {{ to {{ opacity: 1; }} }}
.bd-resources-check {{ font-size: 13px; padding: 6px 10px; border-radius: 4px; }}
.bd-resources-check.bd-missing {{ opacity: 0; animation: bd-appear 0s 4s forwards;
  background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; }}
.bd-resources-check.bd-outside {{ background: #fef2f2; border: 1px solid #fecaca;
  color: #991b1b; }}
.bd-resources-check.bd-loaded {{ color: #4b5563; padding-left: 0; }}
</style>
<div class="bd-resources-check bd-missing" id="{id}" role="status">{missing}</div>
<script>
(function () {{
  const box = document.getElementById("{id}");
  const started = Date.now();
  function report() {{  // again later too: widgets fetch their stylesheets when they show
    const elsewhere = (url) => /^https?:/.test(url) && new URL(url).host !== location.host;
    const fetched = performance.getEntriesByType("resource").map((entry) => entry.name)
      .concat(Array.from(document.querySelectorAll("script[src]"), (el) => el.src));
    const hosts = Array.from(new Set(fetched.filter(elsewhere).map((u) => new URL(u).host)));
    box.className = "bd-resources-check " + (hosts.length ? "bd-outside" : "bd-loaded");
    box.textContent = "Bokeh " + window.Bokeh.version + " and Panel loaded " + (hosts.length
      ? "but this page also asked " + hosts.join(", ") + " for resources: without internet "
        + "some widgets may look wrong or stay blank."
      : "from this installation: the widgets need no internet.");
  }}
  function check() {{
    if (!box) return;
    const bokeh = window.Bokeh;
    if (bokeh && bokeh.Panel) {{
      report();
      [3000, 10000, 30000].forEach((ms) => setTimeout(report, ms));
    }} else if (Date.now() - started < 60000) {{
      setTimeout(check, 250);
    }} else {{
      box.textContent += " (" + (bokeh ? "Panel" : "Bokeh") + " is missing.)";
    }}
  }}
  check();
}})();
</script>
"""

#: Runs once per browser page, beside the line above. Panel's link from a widget's output to the
#: kernel (its ``CommManager``) sends the browser's changes (a pick in the Launch form) and then
#: holds later ones until the kernel acknowledges, or until 5 s have passed *and* another change
#: comes. When an acknowledgement never came, a change held meanwhile waited for the person's
#: next change: in the JupyterLab test one first group pick in about three was never sent
#: (15-24 changes held, 30 s after their 5 s had passed). Every second this sends what an
#: output has held past its 5 s, as Panel's own timeout means to.
_SEND_HELD_CHANGES = """
<script>
(function () {
  if (window.bdSendHeldChanges) return;
  window.bdSendHeldChanges = setInterval(() => {
    const bokeh = window.Bokeh;
    if (!bokeh || !bokeh.documents) return;
    for (const doc of bokeh.documents) {
      for (const model of doc.all_models) {
        const held = model._event_buffer;
        if (held === undefined || !held.length || !model._blocked) continue;
        if (Date.now() <= model._timeout) continue;
        model._timeout = Date.now() + model.timeout;
        window.bdHeldChangesSent = (window.bdHeldChangesSent || 0) + held.length;
        model.process_events();
      }
    }
  }, 1000);
})();
</script>
"""

_MISSING = (
    "The widgets of this notebook cannot show: Bokeh's and Panel's JavaScript has not loaded in "
    "this browser. Run this cell again (widgets show only for cells run since the notebook was "
    "opened). If this stays, run <code>pn.extension(..., inline=True)</code> in this cell "
    "(see the README, <i>Analysts in JupyterLab</i>)."
)


def resources_check() -> HTML:
    """A line that says, in the browser, whether Bokeh and Panel loaded and from where."""
    element_id = f"bd-check-{time.monotonic_ns()}"
    return HTML(_CHECK_HTML.format(id=element_id, missing=_MISSING) + _SEND_HELD_CHANGES)


def _stale_echo_table(error: BaseException) -> Any:
    """The table whose stale echo raised ``error``, or None for any other error."""
    if not isinstance(error, ValueError) or "equal len keys and value" not in str(error):
        return None
    frame = error.__traceback__
    while frame is not None:
        code = frame.tb_frame.f_code
        if code.co_name == "_update_column" and code.co_filename.endswith("tables.py"):
            return frame.tb_frame.f_locals.get("self")
        frame = frame.tb_next
    return None


def _stale_echo_tolerant(handler: Any) -> Any:
    def handle(error: BaseException) -> None:
        table = _stale_echo_table(error)
        if table is not None:
            log.info("ignored the browser's echo of a table's previous rows: %s", error)
            # The browser may hold the old rows now; later refreshes send only changed cells,
            # so send it all the current rows once.
            table.param.trigger("value")
            return
        if handler is not None:
            handler(error)
            return
        raise error

    setattr(handle, _PATCHED, True)
    return handle


def tolerate_stale_table_echo() -> None:
    """Send only a live table's stale-echo error to the log (see the module's text)."""
    current = pn.config.exception_handler
    if not getattr(current, _PATCHED, False):
        pn.config.exception_handler = _stale_echo_tolerant(current)


#: Messages for an output whose comm is not open yet, by comm id, oldest first.
_WAITING: dict[str, list[Any]] = {}


def _send_waiting(comm: Any) -> None:
    """Send ``comm``'s waiting messages in their order once it is open; until then, look
    again every 0.1 s (as Panel does)."""
    waiting = _WAITING.get(comm.id)
    if not waiting:
        _WAITING.pop(comm.id, None)
        return
    if not comm._comm:
        from tornado.ioloop import IOLoop

        IOLoop.current().call_later(0.1, partial(_send_waiting, comm))
        return
    try:
        while waiting:
            panel_notebook.send(comm, waiting.pop(0))
    finally:
        if not waiting:
            _WAITING.pop(comm.id, None)


def push_in_order(doc: Any, comm: Any, binary: bool = True, msg: Any = None) -> None:
    """Panel's notebook ``push``, keeping the order of an output's messages.

    Panel (1.9) computes a change's message at once and, while the output's comm is not open
    yet (the browser has not drawn the cell), sends it again 0.1 s later; a later change made
    once the comm is open went out at once, before it. So an old message could arrive last
    and win: the inline Monitor's "no rows" of a refresh before the notebook's job existed came
    after the rows with the job, and the table stayed empty (its pager said "1 job"; later
    refreshes send only changed cells). Here each output's messages wait in one queue.
    """
    if msg is None:
        msg = panel_notebook.diff(doc, binary=binary)
    if msg is None:
        return
    waiting = _WAITING.setdefault(comm.id, [])
    waiting.append(msg)
    if comm._comm or len(waiting) == 1:
        _send_waiting(comm)


def keep_messages_in_order() -> None:
    """From now on every Panel module pushes an output's messages in order (idempotent)."""
    original = panel_notebook.push
    if original is push_in_order:
        return
    for module in list(sys.modules.values()):
        if module is not None and module.__name__.startswith("panel"):
            if getattr(module, "push", None) is original:
                module.push = push_in_order


#: ipykernel's stdout and stderr, as they were when the notebook was prepared.
_KERNEL_STREAMS: dict[str, Any] = {}


def _outputs_to_this_cell(_info: object = None) -> None:
    """Before each cell: its prints and ``display()`` calls go to this cell.

    With ipykernel 7, a message from the browser's widgets that arrives while a cell runs
    is handled at once, with its own parent header (ipykernel issue #1564), and pyviz_comms
    swaps ``sys.stdout`` for a ``StringIO`` while it handles one. Seen in JupyterLab after a
    second Run All with the Monitor refreshing: the prints and ``display()`` of the later
    cells never showed, while their last expressions (the display hook) did. So: the
    kernel's own streams are put back, and they and the display publisher take the display
    hook's parent, the cell's request."""
    from IPython import get_ipython

    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None:  # not under ipykernel (a plain IPython, a test): nothing to mend
        return
    for name, stream in _KERNEL_STREAMS.items():
        if getattr(sys, name) is not stream:
            setattr(sys, name, stream)
    parent = shell.displayhook.parent_header
    if parent:
        shell.set_thread_parent(parent)


def keep_outputs_in_their_cell() -> None:
    """From now on every cell's output goes to that cell (idempotent)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell, "set_thread_parent"):
        return
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if hasattr(stream, "set_parent"):  # ipykernel's stream to the notebook
            _KERNEL_STREAMS.setdefault(name, stream)
    if _outputs_to_this_cell not in shell.events.callbacks["pre_run_cell"]:
        shell.events.register("pre_run_cell", _outputs_to_this_cell)


def prepare_notebook() -> HTML:
    """For the cell that runs ``pn.extension(..., inline=True)``: keep Panel's stylesheets
    inline (:func:`keep_stylesheets_inline`), keep each output's messages in order
    (:func:`keep_messages_in_order`), keep each cell's prints in that cell
    (:func:`keep_outputs_in_their_cell`), let live tables survive a stale echo
    (:func:`tolerate_stale_table_echo`), and return the line of :func:`resources_check`."""
    keep_stylesheets_inline()
    keep_messages_in_order()
    keep_outputs_in_their_cell()
    tolerate_stale_table_echo()
    return resources_check()
