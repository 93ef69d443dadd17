"""A corpus of story files as Twine, Ink and Yarn writers have them (hubs, loops, orphans,
broken links, special passages, the macros of each story format), each imported, checked,
exported and read back by the outside parsers (extwee, inkjs, bondage, fountain-js)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.interop.registry import export_project, import_file
from workbench.story import open_project

from .conftest import run_js

CORPUS = Path(__file__).resolve().parent / "corpus"

FILES = {
    "sugarcube_market.twee": "twee",
    "harlowe_tower.twee": "twee",
    "chapbook_garden.twee": "twee",
    "snowman_lab.twee": "twee",
    "twine_archive.html": "twine-html",
    "twine_published.html": "twine-html",
    "hub_harbour.ink": "ink",
    "hub_garden.yarn": "yarn",
}


def imported(tmp_path: Path, name: str):
    project = open_project(tmp_path / (name + ".wbproj"))
    result = import_file(CORPUS / name, project, FILES[name])
    return project, result


def choices_of(project, title):
    return [
        (c.label, c.target.title if c.target else None, c.wanted, c.kind)
        for c in project.scene(title).choices
    ]


def titles(scenes):
    return [s.title for s in scenes]


def names(specials):
    return [x.name for x in specials]


def shape(c):
    """A choice as every Twine format carries it: label for a reader's choice, target for the rest."""
    target = c.target.title if c.target else c.wanted
    return (c.kind, c.label if c.kind == "choice" else None, target)


def extwee(path: Path, fmt: str) -> dict:
    flag = {"twee": [], "twine-html": ["--published" if "published" in path.name else "--html"]}[fmt]
    out = run_js("twine_parse.mjs", str(path), *flag)
    return out if isinstance(out, dict) else out[0]


@pytest.mark.parametrize("name", list(FILES))
def test_every_corpus_file_comes_back_byte_for_byte(tmp_path, name):
    project, _ = imported(tmp_path, name)
    out = tmp_path / ("again_" + name)
    export_project(project, FILES[name], out)
    assert out.read_bytes() == (CORPUS / name).read_bytes()
    # and again from a copy reopened from disk: nothing lives only in memory
    project.close()
    with open_project(tmp_path / (name + ".wbproj")) as reopened:
        export_project(reopened, FILES[name], out)
    assert out.read_bytes() == (CORPUS / name).read_bytes()


def test_sugarcube_hub_macros_orphans_broken_links_and_special_passages(tmp_path):
    project, result = imported(tmp_path, "sugarcube_market.twee")
    assert names(project.specials) == [
        "StoryInit",
        "StoryMenu",
        "Story JavaScript",
        "Story Stylesheet",
        "Widgets",
    ]
    assert project.specials.of("twine")[0].text == "<<set $coins to 3>>\n<<set $bread to false>>"
    assert choices_of(project, "Square") == [
        ("Buy bread", "Bakery", None, "choice"),  # <<link "label" "Target">>
        ("Ask the fortune teller", "Fortune", None, "choice"),  # <<button>>
        ("Weather", "Weather", None, "include"),  # <<include>>: a reference
        ("Market stalls", "Stalls", None, "choice"),
        ("Down to the harbour", "Harbour", None, "choice"),
        ("Leave town", "Road", None, "choice"),
    ]
    assert choices_of(project, "Bakery") == [("Square", "Square", None, "goto")]  # <<goto>> leads back
    assert ("Cross her palm again", "Fortune", None, "choice") in choices_of(
        project, "Fortune"
    )  # [[...]] in a macro
    assert ("Haggle", "Haggling", None, "choice") in choices_of(project, "Stalls")  # [[Target<-label]]
    assert choices_of(project, "Road") == [
        ("Walk on", None, "The next town", "choice")
    ]  # a broken link, kept
    # the macro text is the scene text, as written
    assert '<<link "Buy bread" "Bakery">><<set $coins -= 1>><</link>>' in project.scene("Square").text
    st = project.structure()
    name = {s.id: s.title for s in project.scenes}
    assert [name[i] for i in st.unreachable] == ["Notes for myself"]
    assert "Inventory" not in [name[i] for i in st.unreachable]  # the StoryMenu links to it
    assert "Cellar" not in [name[i] for i in st.unreachable]  # <<actions [[...|Cellar]]>> reaches it
    assert {project.choice(i).label for i in st.back_edges} >= {"Back to the square", "Try again", "Square"}
    assert [name[i] for i in st.stuck] == ["Road", "Cellar"]  # Harbour is tagged ending
    assert any("line 98: 'Road' links to 'The next town'" in w for w in result.warnings)
    assert any("'Fortune' links to itself" in w for w in result.warnings)


def test_harlowe_macros_hooks_and_tagged_special_passages(tmp_path):
    project, _ = imported(tmp_path, "harlowe_tower.twee")
    assert names(project.specials) == ["Header", "Footer", "Startup"]
    assert choices_of(project, "Foot of the Tower") == [
        ("Read the runes", "Runes", None, "choice"),
        ("Puzzle", "Puzzle", None, "choice"),
        ("Secret Stair", "Secret Stair", None, "choice"),
    ]
    assert choices_of(project, "Runes") == [
        ("Answer the riddle", "Top", None, "choice"),  # [[[...]]]: a link inside a hook
        ("Guess", "Wrong", None, "choice"),
        ("Hint", "Hint", None, "include"),
    ]
    assert choices_of(project, "Wrong") == [
        ("Try again", "Runes", None, "choice"),
        ("Give up", "Foot of the Tower", None, "choice"),  # macro names in any case
    ]
    assert choices_of(project, "Puzzle") == [("Foot of the Tower", "Foot of the Tower", None, "goto")]
    assert titles(project.unreachable) == ["Epilogue"]
    assert project.stuck() == []


def test_chapbook_and_snowman_links(tmp_path):
    garden, _ = imported(tmp_path, "chapbook_garden.twee")
    assert choices_of(garden, "Gate") == [
        ("Enter the maze", "Maze", None, "choice"),
        ("Birdsong", "Birdsong", None, "include"),
        ("Walk around the wall", "Wall", None, "choice"),
    ]
    assert garden.scene("Gate").text.startswith("steps: 0\n--\n")  # the vars section stays in the text
    lab, _ = imported(tmp_path, "snowman_lab.twee")
    assert choices_of(lab, "Lobby") == [
        ("Take the elevator", "Elevator", None, "choice"),
        ("use the stairs", "Stairs", None, "choice"),
    ]
    assert ("Sound the alarm", None, "Alarm", "choice") in choices_of(lab, "Readings")


@pytest.mark.parametrize("name", ["twine_archive.html", "twine_published.html"])
def test_twine_html_is_read_by_extwee_identically_after_a_round_trip(tmp_path, name):
    project, _ = imported(tmp_path, name)
    assert names(project.specials) == ["StoryStylesheet", "StoryScript", "StoryInit"]
    assert choices_of(project, "Wick") == [("Lamp Room", "Lamp Room", None, "goto")]
    assert project.start.title == "Lamp Room"
    out = tmp_path / name
    export_project(project, "twine-html", out)
    assert extwee(out, "twine-html") == extwee(CORPUS / name, "twine-html")
    # an edit changes that passage only; extwee reads the rest exactly as before
    project.scene("Stairs").add_take("A hundred steps now.", choose=True)
    project.scene("Sea").position = (640, 320)
    export_project(project, "twine-html", out)
    before, after = extwee(CORPUS / name, "twine-html"), extwee(out, "twine-html")
    changed = {p["name"] for p in after["passages"]} and {
        a["name"] for a, b in zip(after["passages"], before["passages"]) if a != b
    }
    assert changed == {"Stairs", "Sea"}
    stairs = next(p for p in after["passages"] if p["name"] == "Stairs")
    assert (
        stairs["text"] == "A hundred steps now.\n[[Back up->Lamp Room]]\n[[Out the door->Shore]]"
    )  # its links as written
    assert next(p for p in after["passages"] if p["name"] == "Sea")["metadata"]["position"] == "640,320"
    assert {k: v for k, v in after.items() if k != "passages"} == {
        k: v for k, v in before.items() if k != "passages"
    }
    if "published" in name:  # the story format's page around the story stays as it was
        text = out.read_text()
        assert text.startswith("<!DOCTYPE html>\n<html>\n<head>") and text.endswith("</body>\n</html>\n")


def test_twee_edits_change_only_what_was_edited(tmp_path):
    project, _ = imported(tmp_path, "sugarcube_market.twee")
    project.connect("Harbour", "Gate", "Sail home and start again")  # a loop back to the start
    project.rename("Notes for myself", "Writer's notes")
    project.scene("Bakery").add_take('Warm loaves.\n<<goto "Square">>', choose=True)
    out = tmp_path / "edited.twee"
    export_project(project, "twee", out)
    before = {p["name"]: p for p in extwee(CORPUS / "sugarcube_market.twee", "twee")["passages"]}
    after = {p["name"]: p for p in extwee(out, "twee")["passages"]}
    assert set(after) - set(before) == {"Writer's notes"} and set(before) - set(after) == {"Notes for myself"}
    assert (
        after["Harbour"]["text"]
        == "Ships wait for the tide. You sail away.\n\n[[Sail home and start again->Gate]]"
    )
    assert after["Bakery"]["text"] == 'Warm loaves.\n<<goto "Square">>'
    same = [n for n in before if n in after and before[n] == after[n]]
    assert len(same) == len(before) - 3  # Harbour, Bakery, and the renamed notes
    with open_project(tmp_path / "again.wbproj") as again:
        import_file(out, again)
        assert ("Sail home and start again", "Gate", None, "choice") in choices_of(again, "Harbour")


def test_ink_imports_knots_stitches_weaves_and_loops_and_plays_through_a_hub(tmp_path):
    project, _ = imported(tmp_path, "hub_harbour.ink")
    assert titles(project.scenes) == [
        "dock", "market", "market.stalls", "market.cooper", "sailor", "tide_table", "ship", "lighthouse",
    ]  # fmt: skip
    assert names(project.specials) == ["double"]  # a function: kept, not a scene
    assert choices_of(project, "dock") == [
        ("Walk to the market", "market", None, "choice"),
        ("Talk to the sailor", "sailor", None, "choice"),
        ("Board a ship", "ship", None, "choice"),
        ("Wait for the tide", "dock", None, "choice"),
    ]
    assert choices_of(project, "market") == [
        ("market.stalls", "market.stalls", None, "goto")
    ]  # flows into its first stitch
    assert ("Buy a fish", "market.stalls", None, "choice") in choices_of(project, "market.stalls")
    assert ("tide_table", "tide_table", None, "include") in choices_of(project, "sailor")  # a tunnel
    assert project.scene("ship").is_ending and "{coins >= 2:" in project.scene("ship").text
    assert titles(project.unreachable) == ["lighthouse"]
    out = tmp_path / "again.ink"
    export_project(project, "ink", out)
    hub_three_times = ["Walk to the market", "Back to the dock"] * 3 + ["Board a ship"]
    for path in (CORPUS / "hub_harbour.ink", out):
        played = run_js("ink_play.js", str(path), stdin=json.dumps(hub_three_times))
        assert played["errors"] == [] and played["warnings"] == []
        assert played["ended"] is True
        assert played["text"].count("The dock creaks") == 4
        assert played["choices_seen"][-1][0] == "Walk to the market"


def test_ink_export_of_an_edited_import_still_compiles(tmp_path):
    project, _ = imported(tmp_path, "hub_harbour.ink")
    project.add_scene("Tavern", "Smoke and songs.", after="dock", choice="Go to the tavern")
    project.connect("Tavern", "dock", "Stumble back out")
    project.add_choice("Tavern", "Play dice", wanted="Dice game")
    project.scene("lighthouse").add_take("The lamp is lit.", choose=True)
    out = tmp_path / "edited.ink"
    export_project(project, "ink", out)
    src = out.read_text()
    assert "+ [Go to the tavern] -> Tavern" in src
    assert '+ [Play dice] -> END // open choice: "Dice game" is not written yet' in src
    played = run_js(
        "ink_play.js",
        str(out),
        stdin=json.dumps(["Go to the tavern", "Stumble back out", "Go to the tavern", "Play dice"]),
    )
    assert played["errors"] == [] and played["ended"] is True
    assert "Smoke and songs." in played["text"]
    with open_project(tmp_path / "back.wbproj") as back:
        import_file(out, back)
        assert ("Play dice", None, "Dice game", "choice") in choices_of(back, "Tavern")


def test_yarn_imports_nodes_options_and_jumps_and_plays_through_a_hub(tmp_path):
    project, _ = imported(tmp_path, "hub_garden.yarn")
    assert titles(project.scenes) == ["Start", "Fountain", "Bench", "Maze", "Exit", "Compost_Heap"]
    assert choices_of(project, "Fountain") == [
        ("Pick a rose", "Fountain", None, "choice"),
        ("Back to the gate", "Start", None, "choice"),
        ("Into the hedge maze", "Maze", None, "choice"),
        ("Leave the garden", "Exit", None, "choice"),
    ]
    assert choices_of(project, "Bench") == [("Start", "Start", None, "goto")]
    assert ("Give up", None, "Gardener_Hut", "choice") in choices_of(project, "Maze")
    assert project.scene("Maze").tags == ["maze", "puzzle"] and project.scene("Fountain").position == (300, 0)
    assert project.scene("Exit").is_ending and titles(project.unreachable) == ["Compost_Heap"]
    out = tmp_path / "again.yarn"
    project.scene("Compost_Heap").tags = ["draft"]
    export_project(project, "yarn", out)
    assert "title: Compost_Heap\ntags: draft\n---" in out.read_text()
    assert (
        "title: Start\ntags: intro\nposition: 0,0\ncolorID: 2\n---" in out.read_text()
    )  # unknown headers kept
    hub = ["Walk to the fountain", "Back to the gate"] * 3 + ["Walk to the fountain", "Leave the garden"]
    for path in (CORPUS / "hub_garden.yarn", out):
        played = run_js("yarn_play.js", str(path), "Start", stdin=json.dumps(hub))
        assert played["errors"] == []
        assert played["nodes"] == ["Start", "Fountain"] * 4 + ["Exit"]
        assert played["ended"] is True


@pytest.mark.parametrize("name", list(FILES))
def test_every_story_exports_to_every_format_and_outside_parsers_read_it(tmp_path, name):
    project, _ = imported(tmp_path, name)
    ink = tmp_path / "x.ink"
    export_project(project, "ink", ink)
    played = run_js("ink_play.js", str(ink), stdin="[]")
    assert played["errors"] == [], played["errors"]
    yarn = tmp_path / "x.yarn"
    export_project(project, "yarn", yarn)
    first = next(ln[len("title: ") :] for ln in yarn.read_text().split("\n") if ln.startswith("title: "))
    loaded = run_js("yarn_play.js", str(yarn), first, stdin="[]")
    assert loaded["errors"] == [], loaded["errors"]
    for fmt, suffix in (("twee", "twee"), ("twine-html", "html")):
        out = tmp_path / f"x.{suffix}"
        export_project(project, fmt, out)
        parsed = extwee(out, fmt)
        names = {p["name"] for p in parsed["passages"]}
        assert {s.title for s in project.scenes} <= names
        # and back: the same scenes and choices
        with open_project(tmp_path / f"back_{suffix}.wbproj") as back:
            import_file(out, back)
            assert titles(back.scenes) == titles(project.scenes)
            for s in project.scenes:  # a goto or a reference is written as the format's macro: no label
                assert [shape(c) for c in back.scene(s.title).choices] == [shape(c) for c in s.choices]
    fountain = tmp_path / "x.fountain"
    export_project(project, "fountain", fountain)
    tokens = run_js("fountain_parse.js", str(fountain))["tokens"]
    assert sum(t["type"] == "scene_heading" for t in tokens) >= len(project.branches["main"])


def test_fountain_corpus_screenplay_imports_and_exports(tmp_path):
    with open_project(tmp_path / "f.wbproj") as project:
        import_file(CORPUS / "screenplay.fountain", project)
        assert len(project.scenes) == 3
        out = tmp_path / "out.fountain"
        export_project(project, "fountain", out)
    tokens = run_js("fountain_parse.js", str(out))["tokens"]
    assert [t["text"] for t in tokens if t["type"] == "scene_heading"] == [
        "INT. LIGHTHOUSE - NIGHT",
        "EXT. CLIFF PATH - NIGHT",
        "EXT. HARBOUR - DAWN",
    ]
