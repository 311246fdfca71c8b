"""The notebooks in a real JupyterLab, in Chromium, on a machine without internet.

The test starts ``jupyter lab`` from this venv (loopback, a free port, no token) over copies
of the notebooks, with the "Bulkdesk" kernel of this interpreter and a copy of the seeded test
database; the browser reaches loopback only (every other request is aborted and recorded).
It does what an analyst does: open the notebook, *Run → Run All Cells*, look at the widgets,
use the Launch form, and Run All again in the same kernel. Set ``BULKDESK_SCREENSHOTS=<dir>``
to keep the screenshots.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from lab_tooling import Lab, Offline, serve_lab, shut_down_kernels
from playwright.sync_api import Page, expect

#: Generous: JupyterLab, a kernel and Panel start slowly on a loaded 2-core machine.
WAIT = 120_000
#: How long Run All of a notebook may take (its demo job included).
RUN_ALL = 300_000
SHOTS = Path(os.environ["BULKDESK_SCREENSHOTS"]) if os.environ.get("BULKDESK_SCREENSHOTS") else None

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def lab(sqlite_template: Path, browser: object, tmp_path_factory) -> Iterator[Lab]:  # type: ignore[no-untyped-def]
    """JupyterLab over launch_and_monitor and explore_accounts, on a copy of the seeded database.

    Chunks of 40 accounts with a 0.2 s pause keep a job from the form running for a few
    seconds, so the Monitor shows it move to its final status.
    """
    work = tmp_path_factory.mktemp("lab-db")
    db = work / "bulkdesk.db"
    shutil.copy(sqlite_template, db)
    env = {
        "BULKDESK_DATABASE_URL": f"sqlite:///{db}",
        "BULKDESK_VAR_DIR": str(work / "var"),
        "BULKDESK_BROKER_URL": "",
        "BULKDESK_CHUNK_SIZE": "40",
        "BULKDESK_CHUNK_PAUSE": "0.2",
    }
    with serve_lab(["launch_and_monitor", "explore_accounts"], env) as served:
        yield served


@pytest.fixture
def offline_page(browser, lab: Lab) -> Iterator[tuple[Page, Offline]]:  # type: ignore[no-untyped-def]
    """A page without internet; afterwards its notebook's kernel is shut down (its workers and
    the Monitor's refresh would otherwise go on working beside the next test)."""
    context, record = Offline.context(browser, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    record.watch(page)
    yield page, record
    context.close()
    shut_down_kernels(lab)


def shot(page: Page, name: str, target=None) -> None:  # type: ignore[no-untyped-def]
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        (target or page).screenshot(path=str(SHOTS / name))


def open_notebook(page: Page, lab: Lab, name: str) -> None:
    """Open ``name`` in JupyterLab and wait until its "Bulkdesk" kernel is idle."""
    page.goto(f"{lab.url}/lab/tree/{name}.ipynb?reset")  # only this notebook, no other tab
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=WAIT)
    # JupyterLab may ask which kernel to start, offering the notebook's own ("Bulkdesk").
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select")
    idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first
    expect(select.or_(idle).first).to_be_visible(timeout=WAIT)
    if select.is_visible():
        expect(page.locator(".jp-Dialog select")).to_have_value("bulkdesk")
        select.click()
    expect(page.locator(".jp-KernelStatus, .jp-Toolbar-kernelName").first).to_contain_text(
        "Bulkdesk", timeout=WAIT
    )
    expect(idle).to_be_visible(timeout=WAIT)


PROMPTS = """() => Array.from(document.querySelectorAll(
  '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputArea-prompt'),
  (p) => { const m = p.textContent.match(/\\[(\\d+)\\]/); return m ? Number(m[1]) : null; })"""


def run_all(page: Page) -> None:
    """*Run → Run All Cells*, then wait until every code cell has run (again)."""
    before = max((n or 0 for n in page.evaluate(PROMPTS)), default=0)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    item = page.locator(".lm-Menu-item", has_text="Run All Cells").first
    expect(item).to_be_visible()
    item.click()
    try:
        page.wait_for_function(
            f"""() => {{
              const numbers = ({PROMPTS})();
              return numbers.length > 0 && numbers.every((n) => n !== null && n > {before});
            }}""",
            timeout=RUN_ALL,
        )
    except Exception:
        page.screenshot(path=str(Path(tempfile.gettempdir()) / "bulkdesk-lab-run-all.png"))
        raise AssertionError(
            f"Run All did not finish; prompts {page.evaluate(PROMPTS)}, errors {cell_errors(page)}"
        ) from None
    expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first).to_be_visible(
        timeout=WAIT
    )


def cell_errors(page: Page) -> list[str]:
    """What the cells wrote to stderr, and any traceback shown in place of an output."""
    stderr = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
    ).all_inner_texts()
    tracebacks = page.locator(".jp-OutputArea-output", has_text="Traceback").all_inner_texts()
    return stderr + tracebacks


def cell(page: Page, source: str):  # type: ignore[no-untyped-def]
    """The code cell whose source has ``source``, scrolled into view."""
    found = page.locator(".jp-CodeCell", has=page.locator(".jp-InputArea", has_text=source))
    expect(found).to_have_count(1)
    found.scroll_into_view_if_needed()
    return found


#: What the browser holds, printed when a wait below fails: for each jobs table, the job numbers
#: of its data and of the rows it shows; for each output's comm manager (Panel's link to the
#: kernel), whether it waits for the kernel's acknowledgement and how many changes it holds.
BROWSER_STATE = """() => {
  const tables = [], comms = [];
  for (const doc of Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model._event_buffer !== undefined) {
        comms.push({plot: model.plot_id, held: model._event_buffer.length,
          blocked: model._blocked, timeout_ms: model._timeout - Date.now(),
          reconnect: model._reconnect, active: model._client_comm && model._client_comm.active,
          connected: model._client_comm && model._client_comm.connected});
      }
      if (!model.source || !(model.css_classes || []).includes("bd-jobs")) { continue; }
      for (const view of Bokeh.index.find_all(model)) {
        const data = view.model.source.data;
        tables.push({data: Array.from((data.get ? data.get("Job") : data.Job) || []),
          shown: view.tabulator ? view.tabulator.getData().map((row) => row.Job) : null,
          visible: view.model.visible});
      }
    }
  }
  return {tables, comms, held_changes_sent: window.bdHeldChangesSent || 0};
}"""


def show_rows(page: Page, monitor) -> None:  # type: ignore[no-untyped-def]
    """Wait for the inline Monitor's rows (no second try: a Monitor left without them is the
    defect this test guards; what the browser held is printed)."""
    rows = monitor.locator(".bd-jobs .tabulator-row")
    try:
        expect(rows.first).to_be_visible(timeout=WAIT)
    except AssertionError:
        print("the Monitor showed no rows; browser state:", page.evaluate(BROWSER_STATE))
        raise


def choose_group(form, label: str) -> None:  # type: ignore[no-untyped-def]
    """Pick the Launch form's group and wait for its live count (no second try: a pick that
    never reaches the kernel is the defect this test guards; what the browser held is printed).
    """
    select, count = form.locator(".bd-group select"), form.locator(".bd-count")
    select.select_option(label=label)
    try:
        expect(count).to_contain_text("This will touch", timeout=WAIT)
    except AssertionError:
        print("the group pick was lost; browser state:", form.page.evaluate(BROWSER_STATE))
        raise


def assert_offline(record: Offline) -> None:
    assert record.blocked == [], f"asked outside loopback: {record.blocked}"
    assert record.resource_errors() == [], record.console


def test_launch_and_monitor_shows_its_widgets_offline_and_runs_a_job_from_the_form(
    lab: Lab, offline_page: tuple[Page, Offline]
) -> None:
    page, record = offline_page
    # Given the notebook opened in JupyterLab with its own kernel,
    open_notebook(page, lab, "launch_and_monitor")
    # when the analyst runs all cells,
    run_all(page)

    # then the line under the first code cell says Bokeh and Panel came from this installation,
    check = cell(page, "pn.extension(").locator(".bd-resources-check")
    expect(check).to_contain_text("from this installation", timeout=WAIT)
    shot(page, "lab-resources-line.png", cell(page, "pn.extension("))
    # and the Launch form, the Monitor (with the notebook's own job, Completed) and the
    # Timeline show as widgets in their cells.
    form = cell(page, "launch = LaunchForm(")
    expect(form.locator(".bd-review")).to_be_visible(timeout=WAIT)
    expect(form.locator(".bd-group select")).to_be_visible()
    shot(page, "lab-launch-form.png", form)
    monitor = cell(page, "monitor = Monitor(")
    show_rows(page, monitor)
    expect(monitor.locator(".bd-jobs")).to_contain_text("Notebook: callback reminders")
    expect(monitor.locator(".bd-jobs")).to_contain_text("Completed")
    shot(page, "lab-monitor.png", monitor)
    timeline = cell(page, "timeline = Timeline(")
    expect(timeline.locator(".bd-timeline canvas").first).to_be_visible(timeout=WAIT)
    waited = cell(page, "notebooks.wait_until_final(")
    expect(waited.locator(".jp-OutputArea-output")).to_contain_text("Job 1 Completed")
    assert cell_errors(page) == []
    shot(page, "lab-timeline.png", timeline)

    # When, after the last cell, the analyst launches a job from the inline Launch form,
    description = f"From the inline form {uuid.uuid4().hex[:6]}"
    form = cell(page, "launch = LaunchForm(")
    choose_group(form, "Dispute review")
    form.get_by_placeholder("Shown in the job list").fill(description)
    form.get_by_placeholder("Shown in the job list").press("Enter")
    form.get_by_role("button", name="Review (dry run)").click()
    expect(form.locator(".bd-preview")).to_contain_text("Would change", timeout=WAIT)
    shot(page, "lab-launch-form-dry-run.png", form)
    form.get_by_role("button", name="Queue the bulk update").click()

    # then the kernel's worker threads run it and the inline Monitor shows it end.
    monitor = cell(page, "monitor = Monitor(")
    row = monitor.locator(".bd-jobs .tabulator-row", has_text=description)
    expect(row).to_be_visible(timeout=WAIT)
    expect(row).to_contain_text("Completed", timeout=WAIT)
    shot(page, "lab-monitor-after-the-form.png", monitor)
    # Its description is readable in the cell's width (it was squeezed to a letter a line),
    # and its action link, past the cell's right edge, is reached by scrolling sideways.
    text = row.locator(".tabulator-cell[tabulator-field='Description']")
    width = text.evaluate("cell => cell.getBoundingClientRect().width")
    assert width >= 150, f"the description is {width} px wide"
    link = row.locator(".bd-action")
    link.scroll_into_view_if_needed()
    expect(link).to_be_in_viewport()

    # And Run All again in the same kernel works, without a warning in any cell.
    run_all(page)
    waited = cell(page, "notebooks.wait_until_final(")
    expect(waited.locator(".jp-OutputArea-output")).to_contain_text("Job 3 Completed", timeout=WAIT)
    assert cell_errors(page) == []
    expect(cell(page, "pn.extension(").locator(".bd-resources-check")).to_contain_text(
        "from this installation", timeout=WAIT
    )
    monitor = cell(page, "monitor = Monitor(")
    expect(monitor.locator(".bd-jobs .tabulator-row", has_text=description)).to_be_visible(
        timeout=WAIT
    )
    assert_offline(record)


def test_explore_accounts_draws_its_plots_offline(
    lab: Lab, offline_page: tuple[Page, Offline]
) -> None:
    page, record = offline_page
    open_notebook(page, lab, "explore_accounts")

    run_all(page)

    expect(cell(page, "pn.extension(").locator(".bd-resources-check")).to_contain_text(
        "from this installation", timeout=WAIT
    )
    for n, source in enumerate(["hv.Bars(groups", "hv.Bars(statuses"]):
        plot = cell(page, source)
        canvas = plot.locator(".jp-OutputArea-output canvas").first
        expect(canvas).to_be_visible(timeout=WAIT)
        box = canvas.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, box
        shot(page, f"lab-explore-plot-{n + 1}.png", plot)
    assert cell_errors(page) == []
    assert_offline(record)
