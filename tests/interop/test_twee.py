"""Twee 3 and Twine 2 archive HTML: round trips, outside parsers, hostile input."""

from __future__ import annotations

import pytest

from workbench.errors import FormatError, TooLarge
from workbench.interop import twee
from workbench.interop.registry import export_project, import_file
from workbench.story import open_project

from .conftest import content_digest, graph, run_js


def test_round_trip_is_byte_identical_and_keeps_the_graph(story, tmp_path):
    first = tmp_path / "first.twee"
    export_project(story, "twee", first)
    with open_project(tmp_path / "copy.wbproj") as copy:
        result = import_file(first, copy)
        assert result.warnings == []
        assert len(result.scenes) == 5
        assert graph(copy) == graph(story)
        assert copy.logline == story.logline and copy.genre == story.genre
        second = tmp_path / "second.twee"
        export_project(copy, "twee", second)
    assert second.read_bytes() == first.read_bytes()


def test_header_tags_position_and_story_data(story, tmp_path):
    out = tmp_path / "s.tw"
    export_project(story, "twee", out)
    text = out.read_text()
    assert text.startswith(":: StoryTitle\nThe Keeper's Light\n\n:: StoryData\n")
    assert ':: Opening [act1 storm] {"position":"100,100"}\n' in text
    assert ":: The Cliff \\[path\\] [act2]" in text  # metacharacters escaped in names
    assert ':: Cellar [act2] {"position":"250,250.5"}' in text
    assert "[[Follow the footprints->The Cliff [path]]]\n[[Search the cellar->Cellar]]" in text
    assert "\n\\:: like a passage header." in text  # a content line cannot open a passage


def test_extwee_reads_the_same_passages_tags_and_ifid(story, tmp_path):
    out = tmp_path / "s.twee"
    export_project(story, "twee", out)
    parsed = run_js("twine_parse.mjs", str(out))
    assert parsed["ifid"] == story.ifid
    assert parsed["start"] == "Opening"
    assert parsed["name"] == story.title
    assert parsed["format"] == "Harlowe"
    by_name = {p["name"]: p for p in parsed["passages"]}
    assert list(by_name) == [s.title for s in story.scenes]
    for scene in story.scenes:
        p = by_name[scene.title]
        assert p["tags"] == scene.tags
        x, y = scene.position or (0, 0)
        if scene.position:
            assert [float(v) for v in p["metadata"]["position"].split(",")] == [x, y]
        assert p["text"].startswith(scene.text.strip()[:40])
        for choice, target in scene.children:
            assert f"[[{choice.label}->{target.title}]]" in p["text"]


def test_twine_archive_html_is_read_by_extwee(story, tmp_path):
    out = tmp_path / "story.html"
    export_project(story, "twine-html", out)
    html = out.read_text()
    assert "<tw-storydata " in html and html.count("<tw-passagedata ") == 5
    assert "&lt;&gt; glue" in html  # text is escaped
    [parsed] = run_js("twine_parse.mjs", str(out), "--html")
    assert parsed["ifid"] == story.ifid
    assert parsed["start"] == "Opening"
    assert [p["name"] for p in parsed["passages"]] == [s.title for s in story.scenes]
    harbour = next(p for p in parsed["passages"] if p["name"] == "Harbour")
    assert "<> glue <- thread -> divert" in harbour["text"]
    assert "[[Write it down->Epilogue]]" in harbour["text"]
    assert next(p for p in parsed["passages"] if p["name"] == "Opening")["tags"] == ["act1", "storm"]


FOREIGN = """Some notes before the first passage are ignored.
:: StoryTitle
Cave

:: StoryData
{"ifid": "3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E", "format": "SugarCube", "format-version": "2.36.1",
 "start": "Mouth"}

:: Mouth [dark]
You stand at the cave mouth. You could [[go in|Tunnel]] or [[Ledge<-climb up]].
[[Lake]]

:: Tunnel
Drip, drip.
[[Onwards->Lake]]

:: Ledge {"position":"10.5,20"}
Wind.
[[Lake]]
[[Nowhere]]

:: Lake
The end.

:: Style [stylesheet]
body { color: red; }
"""


def test_import_reads_every_link_form(tmp_path):
    src = tmp_path / "cave.tw"
    src.write_text(FOREIGN)
    with open_project(tmp_path / "cave.wbproj") as project:
        result = import_file(src, project)
        g = graph(project)
    assert g["title"] == "Cave" and g["ifid"] == "3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E"
    assert g["start"] == "Mouth"
    scenes = {s["title"]: s for s in g["scenes"]}
    assert scenes["Mouth"]["choices"] == [("go in", "Tunnel"), ("climb up", "Ledge"), ("Lake", "Lake")]
    # the passage text as written, inline links included; the trailing link line is the choice list
    assert (
        scenes["Mouth"]["text"]
        == "You stand at the cave mouth. You could [[go in|Tunnel]] or [[Ledge<-climb up]]."
    )
    assert scenes["Mouth"]["tags"] == ["dark"]
    assert scenes["Ledge"]["position"] == [10.5, 20.0]
    assert scenes["Tunnel"]["choices"] == [("Onwards", "Lake")]
    assert scenes["Ledge"]["choices"] == [("Lake", "Lake")]  # the link to a passage not written yet...
    with open_project(tmp_path / "cave.wbproj") as project:
        [nowhere] = project.open_choices  # ...is an open choice
        assert (nowhere.label, nowhere.wanted, nowhere.source.title) == ("Nowhere", "Nowhere", "Ledge")
        assert [(x.name, x.tags, x.text) for x in project.specials] == [
            ("Style", ["stylesheet"], "body { color: red; }")
        ]
    assert "Style" not in scenes
    assert any("line 20: 'Ledge' links to 'Nowhere', which is not written yet" in w for w in result.warnings)
    out = tmp_path / "cave_again.tw"
    with open_project(tmp_path / "cave.wbproj") as project:
        export_project(project, "twee", out)
    assert out.read_text() == FOREIGN  # the notes before the first passage too


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (":: A [x\nbody\n", "line 1: the tag list is not closed"),
        (":: StoryData\n{not json\n\n:: A\nx\n", "line 2: StoryData is not valid JSON"),
        (':: A\nx\n\n:: B {"position": 3}\ny\n', 'line 4: position must be "x,y"'),
        (":: A\nx\n\n:: B {nope}\ny\n", "line 4: passage metadata is not valid JSON"),
        (":: A\nx\n\n::  [tag]\ny\n", "line 4: the passage header has no name"),
        (":: A\n[[B]]\n\n:: B\ny\n\n:: A\nagain\n", "line 7: a passage named 'A' already exists (line 1)"),
        (':: StoryData\n{"ifid": "nope"}\n\n:: A\nx\n', "StoryData ifid 'nope' is not a UUID"),
        (':: StoryData\n{"start": "Z"}\n\n:: A\nx\n', "the start passage 'Z' does not exist"),
        (
            ":: A\n[[B]]\n\n:: B\nx\n\n:: StoryInit\ny\n\n:: B\nz\n",
            "line 10: a passage named 'B' already exists (line 4)",
        ),
        (
            ':: StoryData\n{"ifid": "3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E",\n "zoom": 1,,}\n\n:: A\nx\n',
            "line 3: StoryData is not valid JSON",
        ),
        ("no passages at all\n", "no passages found"),
        (":: A\nbad \x00 byte\n", "line 2: NUL character"),
    ],
)
def test_malformed_twee_names_the_line_and_writes_nothing(story, tmp_path, text, message):
    src = tmp_path / "bad.twee"
    src.write_text(text)
    before = content_digest(story)
    with pytest.raises(FormatError) as err:
        import_file(src, story)
    assert message in str(err.value)
    assert content_digest(story) == before


def test_import_into_a_new_project_fails_cleanly_and_rolls_back(tmp_path):
    src = tmp_path / "bad.twee"
    long = "T" * 300
    src.write_text(f":: A\n[[B]]\n\n:: B\n[[{long}]]\n\n:: {long}\nend\n")
    with open_project(tmp_path / "p.wbproj") as project:
        before = content_digest(project)
        with pytest.raises(FormatError, match="line 7: passage 'TTT.*at most 200 characters"):
            import_file(src, project)
        assert content_digest(project) == before and project.scenes == []


def test_loops_can_be_dropped_with_a_warning(tmp_path):
    src = tmp_path / "loop.twee"
    src.write_text(":: A\n[[B]]\n\n:: B\n[[back->A]]\n[[C]]\n\n:: C\nend\n")
    with open_project(tmp_path / "p.wbproj") as project:
        result = import_file(src, project, loops="drop")
        assert [s.title for s in project.scenes] == ["A", "B", "C"]
        assert [c.label for c, _ in project.scene("B").children] == ["C"]
    assert any("back" in w for w in result.warnings)


def test_non_utf8_and_oversized_files(story, tmp_path):
    before = content_digest(story)
    bad = tmp_path / "latin.twee"
    bad.write_bytes(b":: A\nok\n\n:: B\ncaf\xe9\n")
    with pytest.raises(FormatError, match="line 5: the Twee file is not UTF-8"):
        import_file(bad, story)
    big = tmp_path / "big.twee"
    big.write_bytes(b":: A\n" + b"x" * 1000)
    with pytest.raises(TooLarge, match="limit"):
        import_file(big, story, max_bytes=500)
    assert content_digest(story) == before


def test_names_escape_and_unescape():
    assert twee.escape_name("a[b]{c}\\d") == "a\\[b\\]\\{c\\}\\\\d"
    assert twee.unescape(twee.escape_name("a[b]{c}\\d")) == "a[b]{c}\\d"
    assert twee.parse_link("x->y->Z").target == "Z"
    assert twee.parse_link("Z<-a<-b").label == "a<-b"
    assert (twee.parse_link("say|T").label, twee.parse_link("say|T").target) == ("say", "T")


def test_crlf_a_bom_and_case_twins_come_back_as_they_were(tmp_path):
    src = tmp_path / "win.twee"
    text = (
        "\ufeff:: StoryTitle\r\nTwins\r\n\r\n:: StoryData\r\n"
        '{"ifid": "3b0a5b4c-2d52-4e6b-9f0c-7d1a2b3c4d5e", "format": "SugarCube", "start": "Hub"}\r\n\r\n'
        ":: Hub\r\nUpper.\r\n[[hub]]\r\n\r\n:: hub\r\nLower.\r\n[[Hub]]\r\n"
    )
    src.write_bytes(text.encode("utf-8"))
    with open_project(tmp_path / "p.wbproj") as project:
        import_file(src, project)
        assert [s.title for s in project.scenes] == ["Hub", "hub (2)"]  # titles are unique case-insensitively
        assert [(c.label, t.title) for c, t in project.scene("Hub").children] == [("hub", "hub (2)")]
        out = tmp_path / "out.twee"
        export_project(project, "twee", out)
        assert out.read_bytes() == src.read_bytes()  # the file's own names, line ends and BOM


def test_renaming_a_scene_rewrites_the_link_lines_the_workbench_reads_as_choices(tmp_path):
    src = tmp_path / "r.twee"
    src.write_text(":: Start\nGo on.\n[[Onwards->Hall]]\n\n:: Hall\nA hall.\n")
    with open_project(tmp_path / "p.wbproj") as project:
        import_file(src, project)
        project.rename("Hall", "Great Hall")
        out = tmp_path / "out.twee"
        export_project(project, "twee", out)
    text = out.read_text()
    assert ":: Start\nGo on.\n\n[[Onwards->Great Hall]]\n" in text and ":: Great Hall\nA hall.\n" in text


def test_a_library_archive_imports_the_story_named(tmp_path):
    src = tmp_path / "library.html"
    src.write_text(
        '<tw-storydata name="One" startnode="1" ifid="3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E">'
        '<tw-passagedata pid="1" name="A">first</tw-passagedata></tw-storydata>\n'
        '<tw-storydata name="Two" startnode="1" ifid="4B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E">'
        '<tw-passagedata pid="1" name="B">second &amp; last</tw-passagedata></tw-storydata>\n'
    )
    with open_project(tmp_path / "p.wbproj") as project:
        import_file(src, project, story="Two")
        assert project.title == "Two" and project.scene("B").text == "second & last"
