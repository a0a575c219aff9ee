"""Screenshot of a map page, taken offline with headless Chromium (for docs/img/demo_map.png).

Usage (after ``make demo``)::

    .venv/bin/python docs/img/screenshot.py out/demo/map.html docs/img/demo_map.png

Needs Debian's ``chromium`` (``apt-get install -y chromium fonts-noto-cjk``) and Playwright (the
``[test]`` extra). Every network request is blocked, as in tests/test_browser.py. The popup of a new
school is opened to show what a click gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _local_only(route: Route) -> None:
    if route.request.url.startswith(("file:", "data:")):
        route.continue_()
    else:
        route.abort()


def screenshot(page_path: Path, png: Path, *, popup: str = ".school-new") -> None:
    """Open `page_path` offline at 1400 x 900, click a `popup` symbol not covered by another
    one (if any), and save a PNG."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(offline=True, viewport={"width": 1400, "height": 900})
        context.route("**/*", _local_only)
        page = context.new_page()
        page.goto(page_path.resolve().as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
        for symbol in page.locator(popup).all() if popup else []:
            try:
                symbol.click(timeout=1000, trial=True)  # not covered by another symbol?
            except PlaywrightTimeout:
                continue
            symbol.click()
            page.wait_for_timeout(400)  # the popup's fade-in and the map's pan
            break
        page.screenshot(path=str(png))
        browser.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))
