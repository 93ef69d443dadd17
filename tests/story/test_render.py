"""render/: HTML and the branch map SVG parse and show what they should."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from workbench.render import branch_map_svg, character_html, project_html, scene_html, screenplay_html

SVG = "{http://www.w3.org/2000/svg}"


def test_branch_map_has_every_scene_and_choice(sample):
    svg = branch_map_svg(sample, "main", compare="ines")
    root = ET.fromstring(svg)
    groups = root.findall(f".//{SVG}g[@class='wb-scene']")
    assert {g.get("data-scene-id") for g in groups} == {s.id for s in sample.scenes}
    edges = root.findall(f".//{SVG}path[@class='wb-edge']")
    assert len(edges) == len(sample.choices)
    hot = [e for e in edges if e.get("stroke") == "#c2410c"]
    assert len(hot) == len(sample.branches["main"]) - 1  # the main branch highlighted
    labels = {t.find(f"{SVG}title").text for t in root.findall(f".//{SVG}text[@class='wb-choice']")}
    assert "Side with Ines and leave the light dark" in labels
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_layout_puts_merges_after_both_parents(sample):
    from workbench.render import layout

    pos = layout(sample)
    merge = sample.scene("The Light Returns")
    for _, parent in merge.parents:
        assert pos[parent.id][0] < pos[merge.id][0]


def test_empty_project_map(project):
    assert "No scenes yet" in branch_map_svg(project)


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.classes = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k == "class":
                self.classes.append(v)


def classes(html):
    c = _Collect()
    c.feed(html)
    return c.classes


def test_screenplay_html_marks_each_element():
    html = screenplay_html("INT. A - DAY\n\nAction.\n\nMARA\n(soft)\nHello.\n\nCUT TO:\n", ["Mara"])
    assert classes(html) == [
        "wb-screenplay",
        "wb-heading",
        "wb-action",
        "wb-cue",
        "wb-paren",
        "wb-dialogue",
        "wb-transition",
    ]


def test_objects_display_themselves(sample):
    scene = sample.scene("The Sister's Ledger")
    assert scene._repr_html_() == scene_html(scene)
    assert "Leaving It Dark" in scene_html(scene)  # its choices are listed
    c = sample.cast["Mara Quell"]
    assert "Mara Quell" in character_html(c) and c._repr_html_() == character_html(c)
    html = project_html(sample)
    assert sample.title in html and "<svg" in html
    assert scene.chosen._repr_html_().startswith('<div class="wb-take"')
