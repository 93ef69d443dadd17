"""Open the built site from its folder in Chromium and report what it loaded (run as a program).

``python -m tests.site.browser_check SITE_DIR`` prints one JSON object: requests that left the
folder, page errors, what the checked pages contain, and search results. It runs in its own process
because the browser tests keep a Playwright session open for the whole test run, and Playwright's
synchronous API allows one per process. Screenshots go where ``tests.browser.helpers.shot`` puts
them (``WORKBENCH_DOCS_SCREENSHOTS=1``: also ``docs/screenshots/``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.browser.helpers import CHROMIUM, CHROMIUM_FLAGS, shot

LOCAL = ("file://", "data:", "blob:", "about:")
PAGES = [
    ("index.html", "docs-home"),
    ("reference/api/session.html", "docs-session"),
    ("howto/text-backend.html", "docs-howto"),
]


def check(root: Path) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    report: dict[str, Any] = {"outside": [], "errors": [], "code_blocks": {}, "search_results": 0}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            page.on("request", lambda r: None if r.url.startswith(LOCAL) else report["outside"].append(r.url))
            page.on("pageerror", lambda e: report["errors"].append(str(e)))
            for rel, name in PAGES:
                page.goto((root / rel).as_uri())
                page.wait_for_selector("article h1")
                report["code_blocks"][rel] = page.locator("article pre code").count()
                shot(page, name, docs=name)
            page.goto((root / "reference" / "api" / "session.html").as_uri())
            report["write_scene_anchor"] = page.locator(
                '[id="workbench.session.Session.write_scene"]'
            ).count()
            # search from the folder: the local Web Worker shim, no server
            page.goto((root / "index.html").as_uri())
            page.locator("label.md-search__icon, .md-search__input").first.click()
            page.keyboard.type("prefix cache")
            page.wait_for_selector(".md-search-result__item", timeout=30_000)
            report["search_results"] = page.locator(".md-search-result__item").count()
        finally:
            browser.close()
    return report


if __name__ == "__main__":
    print(json.dumps(check(Path(sys.argv[1]))))
