"""The course in a real browser: JupyterLab on a free local port, Chromium driven by Playwright.

1. Opens a copy of one lecture (so autosave cannot touch the repository), runs
   all cells, waits for the first widget's figure, moves its first slider and
   checks that the figure was redrawn, and that its text alternative (the
   image's title, the accessible name a screen reader reads, and the live
   caption under it) is in the page and changed with it.
2. Builds every registered widget in one notebook and checks, in the page,
   that each figure has its text alternative and that no control's label is
   cut off (the label's text fits the label's box).
3. Opens an exercise-style notebook with one right and one wrong answer, runs
   all cells and checks that the failing test cell shows the feedback itself
   (the likely cause, no traceback through dlcourse's files) followed by the
   check's figure (an image in the same cell's output area), and the passing
   one a single OK line.

Screenshots are kept under pytest's temporary directory (printed on failure).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from local_servers import free_port, wait_until_answering

ROOT = Path(__file__).resolve().parents[1]
LECTURE = "02_activations.ipynb"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install -y chromium)"),
]


@contextlib.contextmanager
def chromium_page(shots: Path, width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A page of Debian's Chromium driven by Playwright; on an error, a full-page screenshot in ``shots``
    (``failure.png``) before the error goes on; the browser is closed in every case."""
    from playwright.sync_api import sync_playwright

    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        try:
            yield page
        except Exception:
            page.screenshot(path=str(shots / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()


@pytest.fixture
def jupyterlab(tmp_path):
    workdir = tmp_path / "lab"
    (workdir / "lectures").mkdir(parents=True)
    shutil.copy(ROOT / "lectures" / LECTURE, workdir / "lectures" / LECTURE)
    nbformat.write(exercise_notebook(), workdir / EXERCISE)
    port, token = free_port(), "dlcourse-browser-test"
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workdir}",
        "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # a fresh workspace: JupyterLab would otherwise reopen the tabs an earlier test left
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 -- the server writes to it until the finally below
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_answering(f"{base}/api/status?token={token}", server, timeout_s=60):
            pytest.fail(f"JupyterLab did not start; see {tmp_path / 'jupyterlab.log'}")
        yield lambda path: f"{base}/lab/tree/{path}?token={token}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


EXERCISE = "exercise_relu.ipynb"


def exercise_notebook() -> nbformat.NotebookNode:
    """Two parts as an exercise has them: an answer cell, then its test cell; the second answer is wrong."""
    cells = [
        "import numpy as np\nfrom dlcourse.grading import check",
        "def sigmoid(x):\n    return 1.0 / (1.0 + np.exp(-x))",
        'check(sigmoid, against="activations.sigmoid")',
        "def relu(x):\n    return np.abs(x)  # wrong: the kink",
        'check(relu, against="activations.relu")',
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    # without a kernelspec JupyterLab opens a "Select Kernel" dialog that blocks the menus
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def open_and_run_all(page, url: str) -> None:
    page.goto(url, timeout=60_000)
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=60_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
    run_all_cells(page)


def run_all_cells(page) -> None:
    """Run > Run All Cells, retried until a cell shows it ran: a click that lands while the
    kernel is still connecting (on a loaded machine) can be lost."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    started = ("() => [...document.querySelectorAll('.jp-InputPrompt')]"
               ".some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))")
    for _ in range(4):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:
            page.wait_for_function(started, timeout=45_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    pytest.fail("Run All Cells never started the notebook")


# The figure's accessible name as Chromium computes it (title, for an <img> without alt), its caption,
# and the caption's live-region attributes.
READ_FIGURE = """widget => {
    const image = widget.querySelector('.widget-image');
    const caption = widget.querySelector('.dlcourse-figure-text');
    return {title: image.getAttribute('title') || '', caption: caption ? caption.textContent : null,
            live: caption ? caption.getAttribute('aria-live') : null,
            role: caption ? caption.getAttribute('role') : null};
}"""
# Every description label whose text does not fit its box (ipywidgets cuts it with an ellipsis).
CUT_LABELS = """root => [...root.querySelectorAll('.widget-label, .widget-label-basic')]
    .filter(label => label.offsetParent !== null && label.scrollWidth > label.clientWidth + 1)
    .map(label => label.textContent)"""


def test_lecture_runs_and_its_widget_reacts_in_chromium(jupyterlab, tmp_path):
    shots = tmp_path / "screenshots"
    with chromium_page(shots) as page:
        open_and_run_all(page, jupyterlab(f"lectures/{LECTURE}"))

        widget = page.locator(".jp-OutputArea-output .widget-vbox").filter(has=page.locator(".widget-image")).first
        image = widget.locator(".widget-image").first
        image.wait_for(state="visible", timeout=240_000)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "el => el.complete && el.naturalWidth > 0", arg=image.element_handle(), timeout=30_000
        )
        before_src = image.get_attribute("src")
        widget.screenshot(path=str(shots / "before.png"))
        before = widget.evaluate(READ_FIGURE)
        cut = widget.evaluate(CUT_LABELS)

        readout = widget.locator(".widget-readout").first
        readout.click()
        page.keyboard.press("Control+A")
        old_value = readout.inner_text()
        page.keyboard.type(str(float(old_value) * 0.5 + 0.25) if old_value else "1")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "([el, src]) => el.getAttribute('src') !== src",
            arg=[image.element_handle(), before_src],
            timeout=30_000,
        )
        page.wait_for_function(
            "([el, text]) => el.querySelector('.dlcourse-figure-text').textContent !== text",
            arg=[widget.element_handle(), before["caption"]], timeout=30_000,
        )
        after = widget.evaluate(READ_FIGURE)
        name = page.get_by_role("img", name=after["title"]).count()
        widget.screenshot(path=str(shots / "after.png"))
    assert (shots / "before.png").read_bytes() != (shots / "after.png").read_bytes(), \
        f"the widget's figure did not change; screenshots in {shots}"
    assert before["title"].startswith("Figure: sigmoid") and "Settings: activation = sigmoid" in before["title"]
    assert before["caption"] and before["caption"] in before["title"], before
    assert (before["live"], before["role"]) == ("polite", "status")
    assert after["title"] != before["title"] and after["caption"] != before["caption"], (before, after)
    assert name == 1, "the figure's title is not its accessible name"
    assert not cut, f"labels cut off: {cut}"
    print(f"screenshots: {shots}")


WIDGETS_NOTEBOOK = "every_widget.ipynb"


def widgets_notebook() -> nbformat.NotebookNode:
    """One cell per registered widget, in the order of the lectures."""
    from dlcourse.widgets import widget_builders

    cells = ["from dlcourse.widgets import widget_builders\nbuilders = widget_builders()"]
    cells += [f"builders[{name!r}]()" for name in sorted(widget_builders())]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def test_every_widget_reads_in_chromium(jupyterlab, tmp_path):
    from dlcourse.widgets import widget_builders

    count = len(widget_builders())
    nbformat.write(widgets_notebook(), tmp_path / "lab" / WIDGETS_NOTEBOOK)
    shots = tmp_path / "screenshots"
    with chromium_page(shots) as page:
        open_and_run_all(page, jupyterlab(WIDGETS_NOTEBOOK))
        figures = ".jp-OutputArea-output .widget-vbox:has(> .widget-image)"
        page.wait_for_function(
            f"n => [...document.querySelectorAll('{figures} .widget-image')]"
            ".filter(img => img.getAttribute('title')).length >= n", arg=count, timeout=300_000)
        widgets = page.locator(figures)
        read, cut = [], {}
        for i in range(widgets.count()):
            widget = widgets.nth(i)
            widget.scroll_into_view_if_needed()
            read.append(widget.evaluate(READ_FIGURE))
            widget.screenshot(path=str(shots / f"widget_{i:02d}.png"))
            if labels := widget.evaluate(CUT_LABELS):
                cut[i] = labels
    assert len(read) == count, (len(read), count)
    for figure in read:
        assert figure["title"].startswith("Figure: ") and "Settings: " in figure["title"], figure
        assert figure["caption"] and figure["caption"] in figure["title"], figure
        assert (figure["live"], figure["role"]) == ("polite", "status"), figure
    assert not cut, f"labels cut off (screenshots in {shots}): {cut}"
    print(f"screenshots: {shots}")


def test_a_failed_check_shows_its_feedback_in_chromium(jupyterlab, tmp_path):
    shots = tmp_path / "screenshots"
    with chromium_page(shots) as page:
        open_and_run_all(page, jupyterlab(EXERCISE))
        feedback = page.locator(".jp-OutputArea-output", has_text="Likely cause").first
        feedback.wait_for(state="visible", timeout=120_000)
        feedback.scroll_into_view_if_needed()
        feedback.screenshot(path=str(shots / "feedback.png"))
        shown = feedback.inner_text()
        cell = page.locator(".jp-Cell", has=page.locator(".jp-OutputArea-output", has_text="Likely cause")).first
        figure = cell.locator(".jp-OutputArea-output img").first
        figure.wait_for(state="visible", timeout=60_000)
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=figure.element_handle(),
                               timeout=30_000)
        size = figure.evaluate("el => [el.naturalWidth, el.naturalHeight]")
        # the feedback comes first, the figure under it
        order = cell.locator(".jp-OutputArea-output").evaluate_all(
            "outs => outs.map(out => out.querySelector('img') ? 'figure' : 'text')")
        cell.locator(".jp-OutputArea").first.screenshot(path=str(shots / "feedback_and_figure.png"))
        passed = page.locator(".jp-OutputArea-output", has_text="OK sigmoid").first.inner_text()
    assert "GradingError" in shown and "you returned |x|" in shown
    assert "dlcourse/" not in shown and "File " not in shown and "Traceback" not in shown, shown
    assert passed.strip().startswith("OK sigmoid") and "\n" not in passed.strip()
    assert size == [425, 221] and order == ["text", "figure"], (size, order)
    print(f"screenshots: {shots}")
