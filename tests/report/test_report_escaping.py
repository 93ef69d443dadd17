"""The pitch report is the file meant for producers: no story text may run in it as script."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.hostile import MARK, build_hostile, short_payload
from workbench.report import run_report
from workbench.report.run import _render


def _live_markup(html: str) -> list[str]:
    """Script elements, event-handler attributes and javascript: URLs in the document."""
    soup = BeautifulSoup(html, "html.parser")
    found = [f"<script> {s.get_text()[:60]!r}" for s in soup.find_all("script")]
    for el in soup.find_all(True):
        for name, value in el.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if name.lower().startswith("on") or "javascript:" in text.lower():
                found.append(f"<{el.name} {name}={text[:60]!r}>")
    return found


def test_the_template_escapes_the_title_and_the_record() -> None:
    """Before: autoescape was off for report.html.j2, so a Twee StoryTitle of </title><script> ran."""
    title = short_payload("title")
    record = {"project": {"content_hash": '"><script>alert(1)</script>'}}
    html = _render({"title": '<section id="title">ours</section>'}, record, title)
    assert _live_markup(html) == []
    soup = BeautifulSoup(html, "html.parser")
    assert soup.title is not None and soup.title.get_text() == title  # shown as text, whole
    assert soup.find("section", id="title") is not None  # our own fragments stay markup


@pytest.mark.slow
def test_a_report_of_a_story_full_of_script_runs_none_of_it(tmp_path: Path) -> None:
    story = tmp_path / "hostile.story"
    build_hostile(story).close()
    out = run_report(story, tmp_path / "pitch.html", media=False, progress=False)
    html = out.read_text(encoding="utf-8")
    assert _live_markup(html) == []
    text = BeautifulSoup(html, "html.parser").get_text()
    for field in ("title", "logline", "character-name", "character-description", "scene-1", "take-action",
                  "choice-1", "branch", "character-tag"):  # fmt: skip
        assert f"alert('{MARK}{field}')" in text, field  # each payload is in the report, as text
    # tests/browser/test_report_in_chromium.py opens such a report in Chromium
