"""The branch map as Chromium draws it, with real fonts: at 50+ scenes with loops and open
choices, no label is cut (its text fits its box) and no two labels or boxes overlap; no arrow
runs through a scene it does not come from or go to."""

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


THROUGH = """() => {
  const boxes = Array.from(document.querySelectorAll('g.wb-scene, g.wb-open')).map((g) => {
    const b = g.querySelector('rect').getBBox();
    return { id: g.dataset.sceneId || 'open:' + g.dataset.choiceId, x: b.x, y: b.y, w: b.width, h: b.height };
  });
  const crossed = [];
  document.querySelectorAll('path.wb-edge').forEach((p) => {
    const n = p.getTotalLength();
    for (let s = 0; s <= n; s += 2) {
      const pt = p.getPointAtLength(s);
      const hit = boxes.find((b) => pt.x > b.x + 2 && pt.x < b.x + b.w - 2 && pt.y > b.y + 2 && pt.y < b.y + b.h - 2);
      if (hit) { crossed.push([p.dataset.choiceId, hit.id]); return; }
    }
  });
  return crossed;
}"""


def jumps(project):
    """A spine of four scenes, side roads filling the columns between, and choices that jump
    from the start and from the second scene straight to the last."""
    a = project.add_scene("Alpha", "x")
    b = project.add_scene("Bravo", "x", after=a, choice="Go on to bravo")
    c = project.add_scene("Charlie", "x", after=b, choice="Go on to charlie")
    d = project.add_scene("Delta", "x", after=c, choice="Go on to delta")
    for i in range(3):
        side = project.add_scene(f"Side {i}", "x", after=a, choice=f"Side road {i}")
        project.add_scene(f"Side {i} more", "x", after=side, choice=f"More of side {i}")
    project.connect(a, d, "Skip straight to the end")
    project.connect(b, d, "Skip from bravo")
    return project


@pytest.mark.parametrize("build", [city, jumps], ids=["city", "jumps"])
def test_no_arrow_runs_through_a_scene_it_does_not_touch(project, page, build):
    build(project)
    page.set_content(f"<html><body style='margin:0'>{branch_map_svg(project, 'main')}</body></html>")
    crossed = page.evaluate(THROUGH)
    assert page.locator("path.wb-edge").count() == len(project.choices)
    named = [(project.choice(c).label, b) for c, b in crossed]
    # an arrow may start inside its own scene's box or end in its target's, never cross another
    assert all(b in (project.choice(c).source_id, project.choice(c).target_id) for c, b in crossed), named
