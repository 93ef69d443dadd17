"""A pitch report of a story whose every field holds a script payload, opened in Chromium: nothing runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hostile import build_hostile, short_payload
from workbench.report import run_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_no_story_text_runs_in_the_report(browser: Any, tmp_path: Path) -> None:
    story = tmp_path / "hostile.story"
    build_hostile(story).close()
    out = run_report(story, tmp_path / "pitch.html", media=False, progress=False)
    page = browser.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(out.as_uri())
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        fired = page.evaluate("window.__xss || null")
        title = page.title()
        scripts = page.evaluate("document.querySelectorAll('script').length")
        body = page.evaluate("document.body.textContent")
    finally:
        page.close()
    assert dialogs == [] and fired is None and scripts == 0
    assert title == short_payload("title")  # the title is there, as text
    assert "xss-logline" in body and "xss-character-name" in body
