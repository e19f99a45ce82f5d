"""The class report in Chromium: opened from disk, both figures load, the toggle hides the names; a screenshot
of the page is kept under pytest's temporary directory (printed)."""

import pytest
from test_browser import CHROMIUM, chromium_page

from class_grading.test_report import CLASS
from dlcourse.class_grading.report import render, summarize

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


def test_the_report_opens_from_disk_in_chromium(tmp_path):
    path = tmp_path / "report.html"
    path.write_text(render(summarize(CLASS)))
    with chromium_page(tmp_path, width=1000, height=900) as page:
        page.goto(path.as_uri())
        widths = page.eval_on_selector_all("img", "images => images.map(image => image.naturalWidth)")
        assert len(widths) == 2 and min(widths) > 100
        who = page.locator("td.who").first
        assert who.is_visible() and who.inner_text() == "s1, s2"
        page.get_by_label("hide student names (for projecting)").check()
        assert page.eval_on_selector("td.who", "cell => getComputedStyle(cell).visibility") == "hidden"
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    print(f"screenshot: {tmp_path / 'report.png'}")
