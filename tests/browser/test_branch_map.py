"""The branch map as Chromium draws it, with real fonts: at 50+ scenes with loops and open
choices, no label is cut (its text fits its box) and no two labels or boxes overlap."""

from __future__ import annotations

import pytest

from tests.story.test_render import city, overlap
from workbench.render import branch_map_svg

pytestmark = [pytest.mark.browser]

MEASURE = """() => {
  const box = (el) => { const b = el.getBBox(); return [b.x, b.y, b.width, b.height]; };
  return {
    labels: Array.from(document.querySelectorAll('g.wb-choice-label')).map((g) => ({
      rect: box(g.querySelector('rect')), text: box(g.querySelector('text')),
      words: g.querySelector('text').textContent })),
    scenes: Array.from(document.querySelectorAll('g.wb-scene rect, g.wb-open rect')).map(box),
    titles: Array.from(document.querySelectorAll('g.wb-scene')).map((g) => {
      const r = box(g.querySelector('rect')); const t = box(g.querySelector('text')); return [r, t]; }),
  };
}"""


def test_labels_fit_and_nothing_overlaps_in_a_real_browser(project, page):
    city(project)
    page.set_content(f"<html><body style='margin:0'>{branch_map_svg(project, 'main')}</body></html>")
    got = page.evaluate(MEASURE)
    assert len(got["labels"]) == len(project.choices)
    for lab in got["labels"]:
        rx, ry, rw, rh = lab["rect"]
        tx, ty, tw, th = lab["text"]
        assert tx >= rx - 0.5 and tx + tw <= rx + rw + 0.5, lab["words"]  # not cut: the text is inside
        assert ty >= ry - 0.5 and ty + th <= ry + rh + 0.5, lab["words"]
    rects = [lab["rect"] for lab in got["labels"]] + got["scenes"]
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not overlap(a, b), (a, b)
    for rect, text in got["titles"]:  # titles stay inside their scene box
        assert text[0] + text[2] <= rect[0] + rect[2] + 0.5
