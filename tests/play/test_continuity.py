"""Continuity rules on hand-written scenes: deaths, hand-overs, near-names, locations, lore, overrides."""

from __future__ import annotations

import pytest

from workbench.errors import InvalidInput
from workbench.story.continuity import Continuity, NameResolver, derive

CAST = ["Mara Quell", "Tomas Reyes", "Ines Quell"]


def _scenes(*texts: str) -> list[tuple[str, str, str]]:
    return [(f"s{i}", f"Scene {i}", t) for i, t in enumerate(texts, 1)]


def test_a_death_is_kept_and_a_dead_speaker_is_flagged() -> None:
    states = derive(
        _scenes(
            "EXT. HARBOUR QUAY - NIGHT\n\nTomas and Mara argue in the rain.",
            "INT. LIGHTHOUSE STAIRS - NIGHT\n\nA shot. Tomas Reyes falls dead on the stairs.",
            "EXT. CLIFF PATH - DAY\n\nMara walks alone.\n\nTOMAS\nYou can't leave me here.",
        ),
        CAST,
    )
    assert [s.characters["Tomas Reyes"].alive for s in states] == [True, False, False]
    assert states[1].events == ["Tomas Reyes dies"]
    assert states[1].characters["Tomas Reyes"].location == "LIGHTHOUSE STAIRS"  # where he died
    assert states[2].characters["Tomas Reyes"].location == "LIGHTHOUSE STAIRS"  # the dead do not move
    assert states[2].warnings == ["Tomas Reyes speaks in 'Scene 3' but is dead"]
    assert "Tomas Reyes" not in states[2].present
    note = states[2].note()
    assert "Dead (they must not appear, act or speak): Tomas Reyes" in note
    assert "Spell names exactly: Mara Quell, Ines Quell" in note


@pytest.mark.parametrize(
    "sentence",
    [
        "Ines dies in Mara's arms.",
        "Ines is killed by the falling lens.",
        "Ines lies dead on the rocks.",
        "Ines, soaked and shaking, collapses dead.",
        "Tomas kills Ines.",
        "Ines drowns.",
    ],
)
def test_death_phrasings(sentence: str) -> None:
    (state,) = derive(_scenes(f"EXT. SHORE - NIGHT\n\n{sentence}"), CAST)
    assert state.dead == ["Ines Quell"]


@pytest.mark.parametrize(
    "sentence", ["Ines is dead tired.", "Tomas stands dead still.", "Mara is dead set on it."]
)
def test_idioms_are_not_deaths(sentence: str) -> None:
    (state,) = derive(_scenes(sentence), CAST)
    assert state.dead == [] and state.events == []


def test_no_death_from_dialogue_or_other_names() -> None:
    (state,) = derive(
        _scenes(
            "INT. HARBOUR OFFICE - NIGHT\n\nA fisherman dies at sea. Halvard is killed in the papers.\n\n"
            "INES\nTomas dies if he goes up there."
        ),
        CAST,
    )
    assert state.dead == []


def test_hand_overs_pick_ups_and_drops_move_items() -> None:
    states = derive(
        _scenes(
            "EXT. HARBOUR QUAY - NIGHT\n\nTomas hands Mara the brass key. She pockets it.",
            "INT. LIGHTHOUSE LAMP ROOM - NIGHT\n\nMara gives the brass key to Ines. Ines picks up the storm lantern.",
            "EXT. CLIFF PATH - DAY\n\nInes drops the storm lantern and runs. Tomas takes a deep breath.",
        ),
        CAST,
    )
    assert states[0].characters["Mara Quell"].items == ["brass key"]
    assert states[0].events == ["Tomas Reyes gives Mara Quell the brass key"]
    assert states[1].characters["Mara Quell"].items == []
    assert states[1].characters["Ines Quell"].items == ["brass key", "storm lantern"]
    assert states[2].characters["Ines Quell"].items == ["brass key"]
    assert states[2].characters["Tomas Reyes"].items == []  # "a deep breath" is not an item
    assert "Ines Quell has: brass key." in states[2].note()


def test_near_names_resolve_to_the_cast() -> None:
    resolver = NameResolver(CAST)
    assert resolver.resolve("Marra") == "Mara Quell"
    assert resolver.resolve("TOMAS") == "Tomas Reyes"
    assert resolver.resolve("Reyes") == "Tomas Reyes"
    assert resolver.resolve("Quell") is None  # two Quells: a surname alone decides nothing
    assert resolver.resolve("Maps") is None
    states = derive(
        _scenes(
            "INT. HARBOUR OFFICE - NIGHT\n\nMarra hands Tomass the ledger.\n\nMARRA\nRead it.",
        ),
        CAST,
    )
    assert states[0].characters["Tomas Reyes"].items == ["ledger"]
    assert set(states[0].present) == {"Mara Quell", "Tomas Reyes"}


def test_locations_come_from_scene_headings() -> None:
    states = derive(
        _scenes(
            "INT. LIGHTHOUSE STAIRS - NIGHT\n\nMara climbs.\n\nINT. LIGHTHOUSE LAMP ROOM - CONTINUOUS\n\nMara stops.",
            "EXT. HARBOUR QUAY - DAY\n\nInes waits.",
        ),
        CAST,
    )
    assert states[0].location == "LIGHTHOUSE LAMP ROOM"
    assert states[0].characters["Mara Quell"].location == "LIGHTHOUSE LAMP ROOM"
    assert states[1].characters["Mara Quell"].location == "LIGHTHOUSE LAMP ROOM"  # not in scene 2: stays
    assert states[1].characters["Ines Quell"].location == "HARBOUR QUAY"
    assert states[1].present == ["Ines Quell"]


def test_lore_sets_the_state_before_the_story() -> None:
    (state,) = derive(
        _scenes("EXT. QUAY - DAY\n\nMara waits."),
        CAST,
        lore=["Tomas Reyes carries the only spare mainspring.", "Ines died years ago, some say."],
    )
    assert state.characters["Tomas Reyes"].items == ["only spare mainspring"]
    assert state.dead == ["Ines Quell"]


def test_the_sample_story_has_no_false_events(sample) -> None:
    cont = Continuity(sample)
    for name in sample.branches:
        for st in cont.along(sample.branches[name].tip, name):
            assert st.dead == [] and st.warnings == []
    ines = cont.at("The Boat in the Dark", "ines")
    assert ines.location == "OPEN SEA"
    assert ines.characters["Ines Quell"].items == ["lantern"]


def test_writer_overrides_win_carry_forward_and_undo(sample) -> None:
    cont = Continuity(sample)
    state = cont.set("The Sister's Ledger", "Ines", items=["Ledger"], location="harbour office")
    assert state.characters["Ines Quell"].items == ["ledger"]
    assert state.overridden == ["Ines Quell"]
    later = cont.at("The Light Returns", "main")
    assert later.characters["Ines Quell"].items == ["ledger"]  # carried forward
    cont.set("Trusting Tomas", "Tomas Reyes", alive=False)
    assert cont.at("The Light Returns", "main").dead == ["Tomas Reyes"]
    assert cont.at("The Sister's Ledger", "main").dead == []  # only from that scene on
    sample.undo()
    assert cont.at("The Light Returns", "main").dead == []
    cont.clear("The Sister's Ledger")
    assert cont.overrides == {}
    with pytest.raises(InvalidInput, match="not in the cast"):
        cont.set("Trusting Tomas", "Halvard", alive=False)
    with pytest.raises(InvalidInput, match="continuity fields"):
        cont.set("Trusting Tomas", "Mara", mood="grim")
    with pytest.raises(InvalidInput, match="True or False"):
        cont.set("Trusting Tomas", "Mara", alive="no")


def test_continuity_shows_itself_in_notebooks(sample) -> None:
    html = Continuity(sample).at("A Stranger on the Quay")._repr_html_()
    assert "Tomas Reyes" in html and "Harbour Quay" in html
