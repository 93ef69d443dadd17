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


def test_the_selected_scene_is_outlined_by_its_class(sample):
    """One box carries ``wb-selected``, and the map's own style outlines it (the served map moves
    the class on a click instead of asking for a new map)."""
    ledger = sample.scene("The Sister's Ledger")
    root = ET.fromstring(branch_map_svg(sample, "main", selected=ledger.id))
    marked = root.findall(f".//{SVG}g[@class='wb-scene wb-selected']")
    assert [g.get("data-scene-id") for g in marked] == [ledger.id]
    assert ".wb-selected > rect" in "".join(t.text or "" for t in root.iter(f"{SVG}style"))
    assert not ET.fromstring(branch_map_svg(sample, "main")).findall(
        f".//{SVG}g[@class='wb-scene wb-selected']"
    )


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


def city(project):
    """53 scenes: a square with eight districts of six rooms, each leading back to the square,
    open choices, three orphans and an ending."""
    start = project.add_scene("Arrival at the city gates", "x")
    square = project.add_scene(
        "The Great Square", "x", after=start, choice="Walk through the gate into the square"
    )
    for d in range(8):
        prev = project.add_scene(
            f"District {d} entrance",
            "x",
            after=square,
            choice=f"Head down to district number {d} by the long road",
        )
        for r in range(5):
            prev = project.add_scene(
                f"District {d} room {r}", "x" if r % 2 else "", after=prev, choice=f"Go deeper ({r})"
            )
        project.connect(prev, square, "Back to the square, where every road in this city ends up")
        if d % 3 == 0:
            project.add_choice(prev, "Ask the stranger about the tower", wanted=f"Tower {d}")
    for k in range(3):
        orphan = project.add_scene(f"Orphan draft {k}", "x")
        for c, _ in orphan.parents:
            project.disconnect(c)
    project.scene("District 1 room 4").is_ending = True
    project.add_scene("Well", "x", after=square, choice="Look down the well")
    return project


def overlap(a, b, gap=0.0):
    return (
        a[0] < b[0] + b[2] + gap
        and b[0] < a[0] + a[2] + gap
        and a[1] < b[1] + b[3] + gap
        and b[1] < a[1] + a[3] + gap
    )


def test_a_map_of_fifty_scenes_with_loops_keeps_every_label_whole_and_apart(project):
    from workbench.render.svg import BOX_H, BOX_W, CHAR_W, map_layout

    city(project)
    assert len(project.scenes) >= 50
    lay = map_layout(project)
    boxes = {k: (x, y, BOX_W, BOX_H) for k, (x, y) in lay.pos.items()}
    labels = {cid: (lb.x, lb.y, lb.w, lb.h) for cid, lb in lay.labels.items()}
    assert set(labels) == {c.id for c in project.choices}
    for cid, lb in lay.labels.items():  # the whole label, wrapped, in a box wide enough for it
        assert " ".join(lb.lines) == project.choice(cid).label
        assert max(len(line) for line in lb.lines) * CHAR_W <= lb.w
    items = list(boxes.values()) + list(labels.values())
    for i, a in enumerate(items):
        for b in items[i + 1 :]:
            assert not overlap(a, b), (a, b)
    # scenes no path from the start reaches sit apart, below a divider
    orphans = [s.id for s in project.scenes if s.title.startswith("Orphan")]
    assert sorted(lay.unreachable) == sorted(orphans)
    assert lay.divider is not None
    assert all(lay.pos[o][1] > lay.divider for o in orphans)
    assert all(lay.pos[s.id][1] < lay.divider for s in project.scenes if s.id not in orphans)
    # each scene stands right of the scene it follows, loops aside
    for c, t in project.scene("District 3 room 2").children:
        assert lay.pos[t.id][0] > lay.pos[c.source_id][0]


def test_a_scene_dragged_on_the_map_keeps_the_row_it_was_dropped_on(project):
    """A drop keeps the scene in its column (the story's order) and puts it on the row it was
    dropped on, whatever the neighbours' order says; the rest close up around it."""
    from workbench.render import drop_position
    from workbench.render.svg import BOX_H, map_layout

    city(project)
    lay = map_layout(project)
    column = lambda lay, sid: sorted(  # noqa: E731 - the ids of a column, top to bottom
        (k for k, (x, _) in lay.pos.items() if x == lay.pos[sid][0] and not k.startswith("open:")),
        key=lambda k: lay.pos[k][1],
    )
    mover = project.scene("District 5 entrance")
    before = column(lay, mover.id)
    assert len(before) >= 8 and before.index(mover.id) > 2
    x, y = lay.pos[mover.id]
    # dropped far to the right, just above the top box: first in its own column
    pos = drop_position(project, mover.id, x + 900, lay.pos[before[0]][1] - BOX_H / 2)
    mover.position = pos
    after = map_layout(project)
    assert after.pos[mover.id][0] == x  # the column is the story's
    col = column(after, mover.id)
    assert col[0] == mover.id and [k for k in col if k != mover.id] == [k for k in before if k != mover.id]
    # dropped between the 4th and 5th boxes
    fourth = after.pos[col[3]][1]
    mover.position = drop_position(project, mover.id, x, fourth + BOX_H * 0.8)
    col = column(map_layout(project), mover.id)
    assert col.index(mover.id) == 3
    project.undo()
    assert column(map_layout(project), mover.id)[0] == mover.id


def test_loops_open_choices_and_stuck_scenes_are_drawn_as_such(project):
    city(project)
    svg = branch_map_svg(project, "main")
    root = ET.fromstring(svg)
    edges = {e.get("data-choice-id"): e for e in root.findall(f".//{SVG}path[@class='wb-edge']")}
    st = project.structure()
    assert {cid for cid, e in edges.items() if e.get("data-kind") == "back"} == set(st.back_edges)
    opened = {cid for cid, e in edges.items() if e.get("data-kind") == "open"}
    assert opened == {c.id for c in project.open_choices} and len(opened) == 3
    assert all(edges[cid].get("stroke-dasharray") for cid in opened)  # dashed
    ghosts = root.findall(f".//{SVG}g[@class='wb-open']")
    assert {g.get("data-choice-id") for g in ghosts} == opened
    assert "not written yet" in ET.tostring(ghosts[0], encoding="unicode")
    stuck = {
        g.get("data-scene-id")
        for g in root.findall(f".//{SVG}g[@class='wb-scene']")
        if g.find(f".//{SVG}text[@class='wb-stuck']") is not None
    }
    assert stuck == {project.scene("Well").id}  # a dead end; the ending is not stuck
    faded = ET.fromstring(branch_map_svg(project, "main", view="stuck"))
    shown = [g for g in faded.findall(f".//{SVG}g[@class='wb-scene']") if g.get("opacity") is None]
    assert [g.get("data-scene-id") for g in shown] == [project.scene("Well").id]


def test_stuck_view_lists_dead_ends_traps_open_choices_and_unreachable_scenes(project):
    from workbench.render import stuck_html

    city(project)
    loop = project.add_scene("Maze", "x", after="The Great Square", choice="Enter the maze")
    project.connect(loop, loop, "Turn left")
    html = stuck_html(project)
    assert "No way out" in html and "Well" in html
    assert "Loops with no way out" in html and "Maze" in html
    assert html.count("not written yet") == 3 and "Tower 3" in html
    assert "Not reachable from the start" in html and "Orphan draft 2" in html
    project.scene("Well").is_ending = True
    project.connect(loop, "The Great Square", "Find the exit")
    assert "Nowhere: every scene a reader can reach leads on or is an ending." in stuck_html(project)
