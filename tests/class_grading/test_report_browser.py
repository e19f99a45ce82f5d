"""The class report in Chromium: opened from disk, both figures load, the toggle hides the names; a screenshot
of the page is kept under pytest's temporary directory (printed)."""

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS

from class_grading.test_report import CLASS
from dlcourse.class_grading.report import render, summarize

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def test_the_report_opens_from_disk_in_chromium(tmp_path):
    from playwright.sync_api import sync_playwright

    path = tmp_path / "report.html"
    path.write_text(render(summarize(CLASS)))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 900})
        page.goto(path.as_uri())
        widths = page.eval_on_selector_all("img", "images => images.map(image => image.naturalWidth)")
        assert len(widths) == 2 and min(widths) > 100
        who = page.locator("td.who").first
        assert who.is_visible() and who.inner_text() == "s1, s2"
        page.get_by_label("hide student names (for projecting)").check()
        assert page.eval_on_selector("td.who", "cell => getComputedStyle(cell).visibility") == "hidden"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        browser.close()
    print(f"screenshot: {tmp_path / 'report.png'}")
