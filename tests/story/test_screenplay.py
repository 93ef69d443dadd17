"""The scene-text parser: Fountain subset and the prose fallback."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from workbench.story.screenplay import match_cast_name, normalise_cue, parse_scene

CAST = ["Mara Quell", "Tomas Reyes", "Ines Quell"]

SCENE = """INT. LIGHTHOUSE LAMP ROOM - NIGHT

Wind screams. MARA winds the clockwork.

MARA
(to herself)
Not tonight.

TOMAS (O.S.)
Up here, friend.

INES ^
Don't answer him.

CUT TO:

.FLASHBACK

>THE END<

> FADE OUT.
"""


def kinds(parsed):
    return [e.kind for e in parsed.elements]


def test_fountain_elements_in_order():
    p = parse_scene(SCENE, CAST)
    assert p.screenplay
    assert kinds(p) == [
        "heading",
        "action",
        "character",
        "parenthetical",
        "dialogue",
        "character",
        "dialogue",
        "character",
        "dialogue",
        "transition",
        "heading",
        "action",
        "transition",
    ]
    assert p.heading == "INT. LIGHTHOUSE LAMP ROOM - NIGHT"
    assert p.location == "LIGHTHOUSE LAMP ROOM" and p.time_of_day == "NIGHT"
    lines = p.lines
    assert [(line.character, line.text) for line in lines] == [
        ("Mara Quell", "Not tonight."),
        ("Tomas Reyes", "Up here, friend."),
        ("Ines Quell", "Don't answer him."),
    ]
    assert lines[0].parenthetical == "(to herself)"
    assert lines[1].dual and lines[2].dual and not lines[0].dual  # ^ makes the pair dual dialogue
    assert p.speakers == ["Mara Quell", "Tomas Reyes", "Ines Quell"]


def test_unknown_cue_is_kept_title_cased():
    p = parse_scene("EXT. QUAY - DAY\n\nFERRYMAN\nLast boat.\n", CAST)
    assert p.lines[0].character == "Ferryman"


def test_prose_fallback_attributes_quotes_to_nearest_name():
    text = (
        'Mara looked up from the lamp. "Who is there?" she asked.\n\n'
        'A laugh from below. "Only me," said Tomas, climbing.\n\n"Then come up."'
    )
    p = parse_scene(text, CAST)
    assert not p.screenplay
    assert [(line.character, line.text) for line in p.lines] == [
        ("Mara Quell", "Who is there?"),
        ("Tomas Reyes", "Only me,"),
        ("Tomas Reyes", "Then come up."),
    ]


def test_boneyard_and_notes_are_ignored():
    p = parse_scene("INT. A - DAY\n\n/* cut this */Action here. [[note to self]]\n", [])
    assert p.action == ["Action here."]


def test_cue_helpers():
    assert normalise_cue("@McCLANE (V.O.) (CONT'D)^") == "McCLANE"
    assert match_cast_name("mara", CAST) == "Mara Quell"
    assert match_cast_name("QUELL", CAST) == "Mara Quell"  # first match by surname
    assert match_cast_name("Nobody", CAST) is None


NAMES = st.sampled_from(["MARA", "TOMAS", "INES"])
WORDS = st.text(alphabet=st.characters(whitelist_categories=("Ll",)), min_size=1, max_size=8)
SENTENCE = st.lists(WORDS, min_size=1, max_size=8).map(lambda ws: " ".join(ws).capitalize() + ".")


@st.composite
def screenplays(draw):
    blocks, expected = [], []
    blocks.append("INT. " + draw(st.sampled_from(["HALL", "QUAY", "TOWER"])) + " - NIGHT")
    for _ in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            blocks.append(draw(SENTENCE))
        else:
            who, said = draw(NAMES), draw(SENTENCE)
            paren = draw(st.one_of(st.none(), WORDS.map(lambda w: f"({w})")))
            blocks.append("\n".join([who] + ([paren] if paren else []) + [said]))
            expected.append((who, said, paren))
    return "\n\n".join(blocks) + "\n", expected


@settings(max_examples=150, deadline=None)
@given(screenplays())
def test_generated_screenplays_parse_back(case):
    text, expected = case
    p = parse_scene(text, CAST)
    got = [(line.character, line.text, line.parenthetical) for line in p.lines]
    want = [(match_cast_name(w, CAST), s, par) for w, s, par in expected]
    assert got == want
    assert p.heading is not None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_parser_never_raises(text):
    p = parse_scene(text, CAST)
    for el in p.elements:
        assert el.kind in {"heading", "action", "character", "parenthetical", "dialogue", "transition"}
