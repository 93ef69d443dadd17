"""Bad story files: each is refused with a message that names the line, and the project is left
exactly as it was. Limits on passages, links and text. A link to itself is a loop, kept."""

from __future__ import annotations

import pytest

from workbench.errors import FormatError, TooLarge
from workbench.interop.registry import import_file
from workbench.story import open_project
from workbench.story.project import MAX_CHOICES_PER_SCENE, MAX_STORY_SCENES, MAX_TEXT

from .conftest import content_digest


def refused(tmp_path, name: str, text: str, error=FormatError, **options) -> str:
    """Import ``text`` into an empty project and into a full one; both refuse and stay as they were."""
    src = tmp_path / name
    src.write_text(text)
    messages = []
    with open_project(tmp_path / f"empty-{name}.wbproj") as empty:
        before = (content_digest(empty), empty.content_hash(), empty.undo_label)
        with pytest.raises(error) as err:
            import_file(src, empty, **options)
        messages.append(str(err.value))
        assert (content_digest(empty), empty.content_hash(), empty.undo_label) == before
        assert empty.scenes == [] and len(empty.specials) == 0
    return messages[0]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "dup.twee",
            ":: A\n[[B]]\n\n:: B\nx\n\n:: B\ny\n",
            "line 7: a passage named 'B' already exists (line 4)",
        ),
        (
            "data.twee",
            ':: StoryData\n{\n  "ifid": "3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E",\n  "start": "A"\n  "zoom": 1\n}\n\n:: A\nx\n',
            "line 5: StoryData is not valid JSON",
        ),
        (
            "dup.html",
            '<tw-storydata name="S" startnode="1" ifid="3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E">\n'
            '<tw-passagedata pid="1" name="A">x</tw-passagedata>\n<tw-passagedata pid="2" name="A">y</tw-passagedata>\n'
            "</tw-storydata>\n",
            "line 3: a passage named 'A' already exists (line 2)",
        ),
        (
            "two.html",
            '<tw-storydata name="One"></tw-storydata>\n<tw-storydata name="Two"></tw-storydata>\n',
            "this archive holds 2 stories ('One', 'Two'); import one of them with the option story=NAME",
        ),
        ("nothing.html", "<html><body>No story here.</body></html>\n", "no <tw-storydata> element"),
        (
            "untitled.yarn",
            "title: Start\n---\nHello.\n===\ntags: lost\n---\nWho am I?\n===\n",
            "line 5: a node has no title",
        ),
        ("open.yarn", "title: Start\n---\nHello.\n", "line 1: this node is not closed with '==='"),
        (
            "dashes.yarn",
            "title: Start\nHello there\n---\nx\n===\n",
            "line 2: expected a header 'key: value' or '---'",
        ),
        (
            "dup.yarn",
            "title: Start\n---\nx\n===\ntitle: Start\n---\ny\n===\n",
            "line 5: a node titled 'Start' already exists (line 1)",
        ),
        (
            "include.ink",
            "-> a\n=== a ===\nHi.\nINCLUDE other.ink\n-> END\n",
            "line 4: INCLUDE other.ink: this importer reads one ink file",
        ),
        (
            "header.ink",
            "-> a\n=== a ===\nHi.\n-> END\n=== 3rd ===\nx\n",
            "line 5: '=== 3rd ===' is not a knot header ink accepts",
        ),
        (
            "brace.ink",
            "-> a\n=== a ===\n{x:\n  Hi.\n-> END\n=== b ===\nx\n",
            "line 3: this '{' in 'a' is never closed with '}'",
        ),
        (
            "comment.ink",
            "-> a\n=== a ===\n/* a note\nthat never ends\n",
            "line 3: this /* comment is never closed with */",
        ),
        ("stitch.ink", "Hello.\n= lost\nx\n", "line 2: the stitch 'lost' is not inside a knot"),
        ("twice.ink", "-> a\n=== a ===\nx\n=== a ===\ny\n", "line 4: 'a' is defined twice (first at line 2)"),
    ],
)
def test_bad_files_name_the_line_and_change_nothing(tmp_path, name, text, message):
    assert message in refused(tmp_path, name, text)


def test_a_full_project_is_refused_before_anything_is_parsed_or_written(story, tmp_path):
    src = tmp_path / "fine.twee"
    src.write_text(":: A\nfine\n")
    before = content_digest(story)
    with pytest.raises(Exception, match="already has scenes"):
        import_file(src, story)
    assert content_digest(story) == before


def test_a_link_to_itself_is_a_loop_kept_with_a_note_naming_the_line(tmp_path):
    src = tmp_path / "wait.twee"
    src.write_text(":: Start\nYou wait.\n\n[[Keep waiting->Start]]\n[[Leave->Out]]\n\n:: Out\nGone.\n")
    with open_project(tmp_path / "p.wbproj") as project:
        result = import_file(src, project)
        assert [(c.label, t.title) for c, t in project.scene("Start").children] == [
            ("Keep waiting", "Start"),
            ("Leave", "Out"),
        ]
    assert any("line 4: 'Start' links to itself ('Keep waiting')" in w for w in result.warnings)


def test_too_many_passages_is_refused_at_the_line_where_the_limit_is_crossed(tmp_path):
    n = MAX_STORY_SCENES + 1
    text = "".join(f":: P{i}\nx\n" for i in range(n + 5))
    message = refused(tmp_path, "huge.twee", text, TooLarge)
    assert f"line {2 * MAX_STORY_SCENES + 1}: more than {MAX_STORY_SCENES:,} passages" in message


def test_too_many_links_in_one_passage_is_refused(tmp_path):
    links = "\n".join(f"[[Go {i}->P{i}]]" for i in range(MAX_CHOICES_PER_SCENE + 1))
    message = refused(tmp_path, "links.twee", f":: Start\nMany roads.\n{links}\n", FormatError)
    assert f"has more than {MAX_CHOICES_PER_SCENE:,} choices" in message
    assert f"line {MAX_CHOICES_PER_SCENE + 3}:" in message  # the line of the first link over the limit


def test_a_passage_too_long_for_a_take_is_refused(tmp_path):
    text = ":: Start\nshort\n\n:: Long\n" + "w" * (MAX_TEXT + 1) + "\n"
    message = refused(tmp_path, "long.twee", text, FormatError)
    assert f"line 4: a take can hold at most {MAX_TEXT:,} characters" in message
