"""Ink, Yarn and Fountain exports checked by outside parsers; Fountain import."""

from __future__ import annotations

import json

import pytest

from workbench.errors import FormatError, InvalidInput
from workbench.interop.ink import knot_name
from workbench.interop.registry import export_project, import_file
from workbench.story import open_project

from .conftest import content_digest, run_js


def branch_choices(project, name="main"):
    scenes = project.branches[name].scenes
    return [next(c.label for c, t in a.children if t.id == b.id) for a, b in zip(scenes, scenes[1:])]


def spoken(project, name="main"):
    return [ln.strip() for s in project.branches[name].scenes for ln in s.text.split("\n") if ln.strip()]


@pytest.mark.parametrize("branch", ["main", "cellar"])
def test_ink_compiles_and_plays_the_branch_to_its_end(story, tmp_path, branch):
    out = tmp_path / "story.ink"
    export_project(story, "ink", out)
    source = out.read_text()
    assert source.index("-> Opening") < source.index("=== Opening ===")
    assert "* [Follow the footprints] -> The_Cliff_path" in source
    follow = branch_choices(story, branch)
    if branch == "cellar":
        follow.append("Write it down")
    played = run_js("ink_play.js", str(out), stdin=json.dumps(follow))
    assert played["errors"] == [] and played["warnings"] == []
    assert played["ended"] is True
    assert played["choices_seen"][0] == ["Follow the footprints", "Search the cellar"]
    lines = played["text"].splitlines()
    expected = [ln for s in story.branches[branch].scenes for ln in s.text.split("\n") if ln.strip()]
    if branch == "cellar":
        expected += [ln for ln in story.scene("Epilogue").text.split("\n") if ln.strip()]
    assert lines == [ln.strip() for ln in expected]  # every metacharacter printed as written
    assert "title: The Keeper's Light" in played["tags"]


def test_ink_knot_names_are_safe_and_unique(tmp_path):
    assert knot_name("The Cliff [path]") == "The_Cliff_path"
    assert knot_name("END") == "scene_END"
    assert knot_name("1st night") == "scene_1st_night"
    with open_project(tmp_path / "p.wbproj") as project:
        a = project.add_scene("Done!", "A.")
        project.add_scene("Done?", "B.", after=a, choice="on")
        out = tmp_path / "x.ink"
        export_project(project, "ink", out, sticky=True)
        src = out.read_text()
        assert "=== scene_Done ===" in src and "=== scene_Done_2 ===" in src
        assert "+ [on] -> scene_Done_2" in src
        played = run_js("ink_play.js", str(out), stdin='["on"]')
    assert played["errors"] == [] and played["ended"]


def test_yarn_nodes_play_through_with_a_yarn_runner(story, tmp_path):
    out = tmp_path / "story.yarn"
    export_project(story, "yarn", out)
    src = out.read_text()
    assert src.startswith("title: Opening\ntags: act1 storm\nposition: 100,100\n---\n")
    assert src.count("\n===\n") == 5 and src.count("---\n") == 5
    assert "-> Follow the footprints\n    <<jump The_Cliff_path>>" in src
    played = run_js("yarn_play.js", str(out), "Opening", stdin=json.dumps(branch_choices(story)))
    assert played["errors"] == []
    assert played["nodes"] == ["Opening", "The_Cliff_path", "Harbour", "Epilogue"]
    assert played["ended"] is True
    assert played["lines"] == spoken(story)


def test_fountain_export_parses_into_the_expected_elements(story, tmp_path):
    out = tmp_path / "story.fountain"
    export_project(story, "fountain", out, author="A. Writer", draft_date="1 May 2026")
    text = out.read_text()
    assert text.startswith(
        "Title: The Keeper's Light\nCredit: Written by\nAuthor: A. Writer\nDraft date: 1 May 2026\n"
    )
    parsed = run_js("fountain_parse.js", str(out))
    kinds = [t["type"] for t in parsed["tokens"] if not t["type"].endswith(("_begin", "_end"))]
    assert kinds[:4] == ["title", "credit", "author", "draft_date"]
    body = [
        (t["type"], t["text"])
        for t in parsed["tokens"]
        if t["type"] not in ("title", "credit", "author", "draft_date")
    ]
    body = [b for b in body if not b[0].endswith(("_begin", "_end"))]
    assert body[:11] == [
        ("scene_heading", "INT. LIGHTHOUSE - NIGHT"),
        ("synopsis", "Opening"),
        ("action", "Rain hammers the glass. MARA climbs the last steps, lamp in hand."),
        ("character", "MARA"),
        ("parenthetical", "(breathless)"),
        ("dialogue", "Someone lit the beacon."),
        ("character", "JONAH"),
        ("dialogue", "Not me. I swear it."),
        ("transition", "CUT TO:"),
        ("scene_heading", "EXT. CLIFF PATH - NIGHT"),
        ("synopsis", "The Cliff [path]"),
    ]
    assert [t["type"] for t in parsed["tokens"]].count("dual_dialogue_begin") == 1
    assert ("action", "FADE OUT.") in body  # forced: not mistaken for a cue
    assert ("scene_heading", "EPILOGUE") in body  # a scene without a heading gets one from its title
    assert sum(1 for k, _ in body if k == "scene_heading") == len(story.branches["main"].scenes)
    # deterministic: the same export twice gives the same bytes
    again = tmp_path / "again.fountain"
    export_project(story, "fountain", again, author="A. Writer", draft_date="1 May 2026")
    assert again.read_bytes() == out.read_bytes()


def test_fountain_exports_another_branch(story, tmp_path):
    out = tmp_path / "cellar.fountain"
    export_project(story, "fountain", out, branch="cellar")
    parsed = run_js("fountain_parse.js", str(out))
    headings = [t["text"] for t in parsed["tokens"] if t["type"] == "scene_heading"]
    assert headings == ["INT. LIGHTHOUSE - NIGHT", "INT. CELLAR - NIGHT", "EXT. HARBOUR - DAWN"]


def test_fountain_import_makes_a_linear_branch(story, tmp_path):
    out = tmp_path / "story.fountain"
    export_project(story, "fountain", out)
    with open_project(tmp_path / "copy.wbproj") as copy:
        copy.cast.add(name="Mara")
        result = import_file(out, copy)
        titles = [s.title for s in copy.branches["main"].scenes]
        assert titles == ["Opening", "The Cliff [path]", "Harbour", "Epilogue"]
        assert [s.title for s in result.scenes] == titles
        assert copy.title == "The Keeper's Light"
        opening = copy.scene("Opening")
        assert opening.text.startswith("INT. LIGHTHOUSE - NIGHT\n\nRain hammers")
        assert "Mara" in opening.characters
        assert [c.label for c, _ in opening.children] == ["The Cliff [path]"]


def test_fountain_import_of_a_plain_screenplay(tmp_path):
    src = tmp_path / "short.fountain"
    src.write_text(
        "Title: Short\n\nFADE IN:\n\nINT. ROOM - DAY\n\nA room.\n\nBOB\nHi.\n\nEXT. STREET - NIGHT\n\nRain.\n"
    )
    with open_project(tmp_path / "p.wbproj") as project:
        import_file(src, project)
        assert [s.title for s in project.scenes] == ["Opening", "INT. ROOM - DAY", "EXT. STREET - NIGHT"]
        assert project.scene("INT. ROOM - DAY").characters == ["Bob"]


def test_fountain_import_errors_write_nothing(story, tmp_path):
    before = content_digest(story)
    src = tmp_path / "bad.fountain"
    src.write_bytes(b"Title: X\n\nINT. ROOM - DAY\n\ncaf\xe9\n")
    with pytest.raises(FormatError, match="line 5: the screenplay is not UTF-8"):
        import_file(src, story, after="Epilogue")
    src.write_text("INT. ROOM - DAY\n\nHi.\n")
    with pytest.raises(InvalidInput, match="after=SCENE"):
        import_file(src, story)
    empty = tmp_path / "empty.fountain"
    empty.write_text("Title: Nothing\n\n")
    with pytest.raises(FormatError, match="no scenes found"):
        import_file(empty, story, after="Epilogue")
    assert content_digest(story) == before
    import_file(src, story, after="Epilogue")
    assert story.scene("INT. ROOM - DAY").parents[0][1].title == "Epilogue"
