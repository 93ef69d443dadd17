"""Regenerate one take in place, on a tiny random-weight model: a new take with a new seed, from the
same plan, shown where the old one was; the old one kept, folded away, and back on Undo."""

from __future__ import annotations

import threading

import pytest

from workbench import Session
from workbench.errors import GenerationStopped


@pytest.fixture
def session(sample, tiny):
    s = Session(sample, text="tiny")
    s.text_generator = tiny
    return s


def test_a_structured_take_is_written_again_from_its_plan_in_its_place(session, sample):
    scene = sample.scene("Trusting Tomas")
    written = session.write_scene(scene, n=2, seed=7, max_new_tokens=24, structure="screenplay", choose=False)
    old = written[0]
    before = [t.id for t in scene.takes]
    shown_before = [t.id for t in session.shown_takes(scene)]
    streamed = []
    new = session.regenerate_take(old, seed=9, on_token=lambda i, t: streamed.append((i, t)))
    # a new take, saved; the old one kept in the data
    assert [t.id for t in scene.takes] == [*before, new.id]
    assert new.source == "model" and new.parent == old
    prov = new.provenance
    assert prov["regenerated_from"] == old.id
    assert prov["seed"] == 9 and prov["seed"] != old.provenance["seed"]
    assert prov["plan"] == old.provenance["plan"]  # the same plan: only the wording changes
    assert prov["structure"] == "screenplay"
    assert streamed and {i for i, _ in streamed} == {0}
    # shown in the old take's place; the old one folded away
    shown = [t.id for t in session.shown_takes(scene)]
    assert shown == [new.id if t == old.id else t for t in shown_before]
    assert old.id not in shown
    # a second regeneration replaces the first in the same place
    newer = session.regenerate_take(new, seed=10)
    assert newer.provenance["regenerated_from"] == new.id and newer.provenance["plan"] == prov["plan"]
    assert [t.id for t in session.shown_takes(scene)] == [
        newer.id if t == old.id else t for t in shown_before
    ]
    # Undo takes each regeneration back, and the old take shows again where it was
    assert session.undo().startswith("regenerate a take")
    assert [t.id for t in session.shown_takes(scene)] == shown
    session.undo()
    assert [t.id for t in scene.takes] == before
    assert [t.id for t in session.shown_takes(scene)] == shown_before


def test_the_chosen_take_hands_its_choice_to_the_new_one(session, sample):
    scene = sample.scene("The Lamp Goes Dark")
    old = scene.chosen
    assert old.source == "writer" and "plan" not in old.provenance  # the writer's own: no settings
    new = session.regenerate_take(old, seed=3, max_new_tokens=16)
    assert new.is_chosen and not old.is_chosen
    assert new.provenance["regenerated_from"] == old.id and new.provenance["seed"] == 3
    assert [t.id for t in session.shown_takes(scene)] == [new.id]
    pick = sample.feedback()[-1]
    assert pick.kind == "choose" and pick.rater == "auto"  # a program's pick, not a preference
    session.undo()
    assert scene.chosen == old and [t.id for t in session.shown_takes(scene)] == [old.id]


def test_a_free_take_is_written_again_with_its_settings(session, sample):
    scene = sample.scene("Trusting Tomas")
    free = session.write_scene(scene, n=1, seed=4, max_new_tokens=12, structure="free", choose=False)[0]
    new = session.regenerate_take(free, seed=5)
    prov = new.provenance
    assert prov["structure"] == "free" and "plan" not in prov
    assert prov["params"]["max_new_tokens"] == free.provenance["params"]["max_new_tokens"]
    assert prov["branch"] == free.provenance["branch"] and prov["regenerated_from"] == free.id
    assert not new.is_chosen  # the old one was not chosen
    # a take of the take grid keeps its temperature
    hot = session.take_grid(scene, temperatures=(1.3,), takes=1, seed=4, structure="free", max_new_tokens=12)
    again = session.regenerate_take(hot.cells[0].take, seed=6)
    assert again.provenance["params"]["temperature"] == 1.3


def test_a_stop_before_any_text_saves_nothing(session, sample):
    scene = sample.scene("Trusting Tomas")
    before = len(scene.takes)
    stop = threading.Event()
    stop.set()
    with pytest.raises(GenerationStopped):
        session.regenerate_take(scene.chosen, seed=1, stop=stop, max_new_tokens=12)
    assert len(scene.takes) == before
