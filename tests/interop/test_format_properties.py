"""Property tests: random story graphs with loops, self-loops, open choices, unreachable scenes and
metacharacters in the text go through every exporter; Twee, Twine HTML, Ink and Yarn come back
as the same graph, and export the same bytes again; the outside parsers read each of them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.interop.registry import export_project, import_file
from workbench.story import open_project

from .conftest import node_available, run_js

WORDS = ["lamp", "sea", "Mara", "door", "café", "☕", "night", "rope", "42"]
# metacharacters of every format; link and macro syntax is left out on purpose (in Twine text it IS a link)
META = [
    "{x}",
    "#",
    "//",
    "/*",
    "*/",
    "*",
    "-",
    "+",
    "=",
    "~",
    "|",
    "\\",
    "<>",
    "->",
    "<-",
    "^",
    "%",
    "$coins",
    "'",
    '"',
]
LINE_START = ["::", "===", "= x", "* ", "- ", "+ ", "~ ", "# ", "---", "title: x", "-> x"]

token = st.sampled_from(WORDS + META)
line = st.builds(
    lambda start, words: (start + " ".join(words)).strip(),
    st.sampled_from(["", "", ""] + LINE_START),
    st.lists(token, min_size=1, max_size=6),
).filter(lambda s: s and not s.startswith("::") or s.startswith(":: "))
text = st.lists(st.one_of(line, st.just("")), min_size=0, max_size=5).map(
    lambda ls: "\n".join(ls).strip("\n")
)
label = st.lists(
    st.sampled_from(WORDS + ["go", "back", "try again", "a|b", "x->y", "<- up", "{y}", "#z"]),
    min_size=1,
    max_size=4,
).map(" ".join)

GRAPH = st.fixed_dictionaries(
    {
        "texts": st.lists(text, min_size=1, max_size=7),
        "edges": st.lists(st.tuples(st.integers(0, 6), st.integers(0, 7), label), max_size=12),
        "tags": st.lists(
            st.tuples(st.integers(0, 6), st.sampled_from(["act1", "ending", "hub", "draft"])), max_size=4
        ),
    }
)


def build(path: Path, g: dict):
    """A project from a random graph: scene i gets text i; edge (a, b) is a choice, an open one when
    ``b`` is past the last scene; edges may lead back, to the start, or to their own scene."""
    project = open_project(path)
    n = len(g["texts"])
    scenes = [project.add_scene("Start", g["texts"][0])]
    for i in range(1, n):
        scenes.append(project.add_scene(f"Scene {i}", g["texts"][i]))
        for c, _ in scenes[-1].parents:
            project.disconnect(c)  # no edge but the generated ones: unreachable scenes happen
    seen = set()
    for a, b, lab in g["edges"]:
        a %= n
        key = (a, b if b < n else None, lab.casefold())
        if key in seen:
            continue
        seen.add(key)
        if b < n:
            project.connect(scenes[a], scenes[b], lab)
        elif not any(c.is_open and c.label.casefold() == lab.casefold() for c in scenes[a].choices):
            project.add_choice(scenes[a], lab, wanted=f"Wanted {b}")
    for i, tag in g["tags"]:
        scene = scenes[i % n]
        scene.tags = sorted(set(scene.tags) | {tag})
    return project


def shape(project) -> dict:
    return {
        "start": project.start.title,
        "scenes": [
            (
                s.title,
                s.text,
                [(c.label, c.target.title if c.target else None, c.wanted, c.kind) for c in s.choices],
            )
            for s in project.scenes
        ],
        "tags": {s.title: sorted(t for t in s.tags if t != "ending") for s in project.scenes},
    }


FORMATS = {"twee": "twee", "twine-html": "html", "ink": "ink", "yarn": "yarn"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GRAPH)
def test_random_graphs_with_loops_round_trip_through_every_format(g):
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        project = build(root / "p.story", g)
        want = shape(project)
        export_project(project, "fountain", root / "main.fountain")  # a branch as a screenplay
        for fmt, suffix in FORMATS.items():
            first = root / f"first.{suffix}"
            export_project(project, fmt, first)
            with open_project(root / f"copy-{fmt}.story") as copy:
                import_file(first, copy, fmt)
                assert shape(copy) == want, fmt
                second = root / f"second.{suffix}"
                export_project(copy, fmt, second)
            assert second.read_bytes() == first.read_bytes(), fmt
        project.close()


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(GRAPH)
def test_outside_parsers_read_every_export_of_a_random_graph(g):
    if not node_available():
        run_js("ink_play.js", "-")  # skips (or fails under CI) with the message about npm ci
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        project = build(root / "p.story", g)
        export_project(project, "ink", root / "s.ink")
        played = run_js("ink_play.js", str(root / "s.ink"), stdin="[]")
        assert played["errors"] == [], played["errors"]
        export_project(project, "yarn", root / "s.yarn")
        loaded = run_js("yarn_play.js", str(root / "s.yarn"), "Start", stdin="[]")
        assert loaded["errors"] == [], loaded["errors"]
        export_project(project, "twee", root / "s.twee")
        parsed = run_js("twine_parse.mjs", str(root / "s.twee"))
        assert [p["name"] for p in parsed["passages"]] == [s.title for s in project.scenes]
        for p, s in zip(parsed["passages"], project.scenes):
            assert p["text"].startswith(s.text.strip()[:20])
        export_project(project, "twine-html", root / "s.html")
        [archive] = run_js("twine_parse.mjs", str(root / "s.html"), "--html")
        assert [p["text"] for p in archive["passages"]] == [p["text"] for p in parsed["passages"]]
        assert json.dumps(archive["start"]) == json.dumps(parsed["start"])
        project.close()
