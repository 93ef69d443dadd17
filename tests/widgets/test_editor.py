"""The scene editor, driven as a writer would: set values, press buttons, check the project file."""

from __future__ import annotations

from typing import Any

import pytest

from workbench.widgets import SceneEditor

from .conftest import reopen


def press(button: Any) -> None:
    button.clicks += 1


def test_opens_the_start_scene_and_shows_its_takes(session: Any) -> None:
    ed = SceneEditor(session)
    start = session.project.start
    assert ed.scene == start
    assert ed.scene_select.value == start.id
    assert [t["id"] for t in ed.carousel.takes] == [t.id for t in start.takes]
    # the chosen take is the card on screen: its text shows once, on the card
    assert "LIGHTHOUSE" in ed.carousel.takes[0]["html"] and ed.carousel.takes[0]["text"] == start.text
    assert ed.text_pane.object == ""
    ed.scene_select.value = session.project.scene("A Stranger on the Quay").id
    assert ed.scene.title == "A Stranger on the Quay"
    assert "wb-screenplay" in ed.carousel.takes[0]["html"] and ed.text_pane.object == ""


def test_the_chosen_text_shows_only_while_another_take_is_on_screen(session: Any) -> None:
    start = session.project.start
    start.add_take("INT. LIGHTHOUSE - NIGHT\n\nAnother way up the stairs.", source="writer")
    ed = SceneEditor(session)
    assert ed.current_take == start.chosen and ed.text_pane.object == ""
    ed.swipe(1)
    assert ed.current_take != start.chosen
    assert "Chosen text" in ed.text_pane.object
    assert "LIGHTHOUSE" in ed.text_pane.object and "Another way" not in ed.text_pane.object
    press(ed.choose_button)  # the take on screen is the chosen one now
    assert ed.text_pane.object == ""


def test_choose_rate_edit_undo_are_saved(session: Any) -> None:
    project = session.project
    scene = project.start
    scene.add_take("INT. QUAY - NIGHT\n\nA second version.", source="writer")
    ed = SceneEditor(session)
    assert len(ed.carousel.takes) == 2
    ed.carousel.index = 1
    assert ed.current_take.text.endswith("A second version.")
    press(ed.choose_button)
    ed.rating.value = 4
    with reopen(project) as saved:
        takes = saved.start.takes
        assert takes[1].is_chosen and takes[1].rating == 4
    ed.keys.press("e")  # the card becomes an editor; the page sends the text on Save
    assert ed.carousel.editing
    ed.carousel.act(
        "save", id=ed.current_take.id, text="INT. QUAY - NIGHT\n\nA second version, edited by hand."
    )
    assert ed.error == "" and not ed.carousel.editing
    with reopen(project) as saved:
        takes = saved.start.takes
        assert len(takes) == 3
        assert takes[2].is_chosen and takes[2].text.endswith("edited by hand.")
        assert takes[2].parent is not None and takes[2].parent.id == takes[1].id
    assert ed.current_take.id == takes[2].id
    assert ed.undo_button.label.startswith("Undo") and not ed.undo_button.disabled
    press(ed.undo_button)
    with reopen(project) as saved:
        assert len(saved.start.takes) == 2
    assert len(ed.carousel.takes) == 2


def test_errors_show_in_the_view(session: Any) -> None:
    ed = SceneEditor(session)
    ed.start_editing()
    ed.carousel.act("save", id=ed.current_take.id, text="   ")
    assert "empty" in ed.error and "role='alert'" in ed._alert.object
    assert ed.carousel.editing  # the editor stays open: the writer's words are not lost
    ed.cancel_editing()
    ed.seed_input.value = "not a number"
    press(ed.generate_button)
    assert "whole number" in ed.error
    ed.seed_input.value = ""
    press(ed.choose_button)  # the only take is already chosen: nothing breaks
    assert ed.error == ""


def test_a_missing_model_is_an_alert_not_a_crash(sample: Any) -> None:
    from workbench.session import Session

    ed = SceneEditor(Session(sample, text="/no/such/model/dir"))
    press(ed.generate_button)
    ed.wait(60)
    assert ed.error and "role='alert'" in ed._alert.object
    assert not ed.busy and not ed.generate_button.disabled
    assert len(sample.start.takes) == 1


def test_views_follow_changes_made_elsewhere(session: Any) -> None:
    ed = SceneEditor(session)
    session.project.start.add_take("Written in another view.", source="writer")
    assert len(ed.carousel.takes) == 2
    ed.close()
    session.project.start.add_take("After closing.", source="writer")
    assert len(ed.carousel.takes) == 2


@pytest.mark.slow
def test_generate_streams_tokens_and_saves_takes(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "12")
    ed = SceneEditor(session)
    ed.open("A Stranger on the Quay")
    ed.n_input.value = 2
    assert ed.generate_button.label == "Generate 2 takes"
    ed.seed_input.value = "5"
    seen_busy = []
    ed.param.watch(lambda e: seen_busy.append(e.new), "busy")
    press(ed.generate_button)
    ed.wait(300)
    assert ed.error == ""
    assert seen_busy[:1] == [True] and not ed.busy
    assert set(ed.streamed) == {0, 1} and all(t.strip() for t in ed.streamed.values())
    # the plans showed while they were written, a line each naming who is in the scene
    cast = [c.name for c in session.project.cast]
    assert set(ed.planned) == {0, 1}
    assert all(any(name in line for name in cast) for line in ed.planned.values()), ed.planned
    with reopen(session.project) as saved:
        takes = saved.scene("A Stranger on the Quay").takes
        model = [t for t in takes if t.source == "model"]
        assert len(model) == 2 and all(t.provenance["seed"] == 5 for t in model)
    assert ed.current_take.source == "model"
    assert ed.status.startswith("2 takes written")
    assert ed.stream_pane.object == ""


@pytest.mark.slow
def test_stop_keeps_what_was_written(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "200")
    ed = SceneEditor(session)
    ed.open("The Light Returns")
    ed.n_input.value = 1
    ed.seed_input.value = "11"
    before = len(ed.takes)
    press(ed.generate_button)
    deadline = time.monotonic() + 240
    while not ed._buffer and time.monotonic() < deadline:
        time.sleep(0.05)
    press(ed.stop_button)
    ed.wait(240)
    assert not ed.busy
    takes = ed.takes
    assert len(takes) == before + 1 and takes[-1].provenance.get("finish_reason") == "stopped"
    assert "stopped early" in ed.status


def test_undo_redo_history_keys_and_scenes(session: Any) -> None:
    """Undo and Redo are the writer's own (a reader's play move in between is left alone), the
    history lists both, keys do what the buttons do, scenes are added, renamed and deleted here."""
    project = session.project
    ed = SceneEditor(session)
    assert ed.undo_button.disabled and ed.redo_button.disabled
    ed.scene_title.value = "The Lantern Room"
    press(ed.add_scene_button)
    assert ed.error == "" and ed.scene.title == "The Lantern Room"
    assert ed.scene_title.value == "" and ed.scene_title.value_input == ""
    press(ed.add_scene_button)  # the box is empty now: nothing old is sent again
    assert "give the new scene a title" in ed.error
    with project.transaction("play: Mara swims", surface="play"):
        project.add_scene("Mara swims", "Mara swims.", after=project.start, choice="swim")
    assert ed.undo_button.label.startswith("Undo add scene The Lantern")
    ed.keys.press("ctrl+z")
    titles = [s.title for s in project.scenes]
    assert "The Lantern Room" not in titles and "Mara swims" in titles
    assert ed.redo_button.label.startswith("Redo add scene") and not ed.redo_button.disabled
    assert "undone" in ed.history_pane.object
    ed.keys.press("ctrl+shift+z")
    assert "The Lantern Room" in [s.title for s in project.scenes] and ed.redo_button.disabled
    ed.open("The Lantern Room")
    ed.scene_title.value_input = "The Lantern Gallery"  # typed, not yet sent with Enter
    press(ed.rename_scene_button)
    assert ed.scene.title == "The Lantern Gallery"
    press(ed.delete_scene_button)
    assert "The Lantern Gallery" not in [s.title for s in project.scenes]
    assert ed.scene == project.start
    ed.keys.press("ctrl+z")
    assert "The Lantern Gallery" in [s.title for s in project.scenes]
    assert {k["combo"] for k in ed.keys.keys} >= {"ctrl+enter", "alt+arrowleft", "alt+arrowright", "ctrl+z"}


def test_swipe_keys_and_the_labels_of_edits_and_seeds(session: Any) -> None:
    project = session.project
    start = project.start
    start.add_take("INT. QUAY - NIGHT\n\nTake two.", source="model", provenance={"seed": 9, "take_seed": 11})
    ed = SceneEditor(session)
    assert ed.carousel.index == 0
    ed.keys.press("alt+arrowright")
    assert ed.carousel.index == 1 and "seed 11" in ed.carousel.takes[1]["html"]  # its own, not the batch's
    assert "seed 9" not in ed.carousel.takes[1]["html"]
    ed.keys.press("alt+arrowright")
    assert ed.carousel.index == 0  # wraps around
    ed.keys.press("alt+arrowleft")
    ed.edit("INT. QUAY - NIGHT\n\nTake two, by hand.")
    html = ed.carousel.takes[ed.carousel.index]["html"]
    assert "edited by" in html and "from take 2" in html and "seed" not in html.split("wb-take-meta")[1][:200]


def test_a_take_is_edited_in_place_on_its_card(session: Any) -> None:
    """E (or Edit on the card) opens the take shown as a screenplay editor; Cancel leaves it as it
    was, an unchanged Save keeps it, a changed Save is a hand edit: a new take, chosen, the writer's."""
    project = session.project
    start = project.start
    start.add_take("INT. QUAY - NIGHT\n\nTake two.", source="model", provenance={"seed": 9, "take_seed": 11})
    ed = SceneEditor(session)
    ed.swipe(1)
    take = ed.current_take
    before = [t.id for t in start.takes]
    ed.keys.press("e")
    assert ed.carousel.editing and ed.carousel.takes[1]["text"] == take.text  # what the editor starts from
    ed.keys.press("alt+arrowleft")  # no swiping away from words being typed
    assert ed.current_take == take
    ed.cancel_editing()  # Cancel or Esc on the page
    assert not ed.carousel.editing and [t.id for t in start.takes] == before
    ed.start_editing()
    ed.carousel.act("save", id=take.id, text=take.text + "\n")  # nothing changed
    assert not ed.carousel.editing and ed.error == "" and "nothing changed" in ed.status
    assert [t.id for t in start.takes] == before
    text = "INT. QUAY - NIGHT\n\nTake two.\n\nMARA\n(low)\nNot tonight."
    ed.start_editing()
    ed.carousel.act("save", id=take.id, text=text)
    assert ed.error == "" and not ed.carousel.editing and ed.status == "edit saved as a new take"
    with reopen(project) as saved:
        new = saved.start.takes[-1]
        assert new.text == text and new.source == "edit" and new.is_chosen
        assert new.provenance["edited_from"] == take.id and new.parent.id == take.id
    assert ed.current_take.id == new.id and ed.text_pane.object == ""
    meta = ed.carousel.takes[ed.carousel.index]["html"].split("wb-take-meta")[1][:300]
    assert "edited by" in meta and "seed" not in meta  # the writer's words, not the model's take
    # a Save for a take that is no longer shown here is refused, not saved onto another take
    ed.open("A Stranger on the Quay")
    ed.carousel.act("save", id=take.id, text="INT. QUAY - NIGHT\n\nStale.")
    assert "not shown here" in ed.error
    helps = {k["combo"]: k for k in ed.keys.keys}
    assert helps["e"]["text"] is False  # E in a text box types an E
    assert helps["ctrl+s"].get("help_only") and helps["escape"].get("help_only")
    assert ed.keys.press("ctrl+s") is None  # listed, left to the editor on the page


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_llama

    return str(build_tiny_llama(tmp_path_factory.mktemp("editor-llama")))


def test_regenerate_this_take_writes_it_again_in_its_place(sample: Any, tiny_model: str) -> None:
    from workbench.session import Session

    session = Session(sample, text=tiny_model)
    scene = sample.scene("Trusting Tomas")
    written = session.write_scene(scene, n=2, seed=7, max_new_tokens=20, structure="screenplay", choose=False)
    ed = SceneEditor(session)
    ed.open(scene)
    ids = [t["id"] for t in ed.carousel.takes]
    position = ids.index(written[0].id)
    ed.carousel.index = position
    ed.seed_input.value = "7"  # the seed box is for Generate: a regenerated take has a new seed
    ed.carousel.act("regenerate", id=written[0].id)  # the card's "Regenerate this take"
    assert ed.busy and ed.carousel.busy
    ed.wait(240)
    assert ed.error == "" and not ed.busy and not ed.carousel.busy
    new = ed.current_take
    assert ed.carousel.index == position and new.id != written[0].id
    assert [t["id"] for t in ed.carousel.takes] == [new.id if i == written[0].id else i for i in ids]
    prov = new.provenance
    assert prov["regenerated_from"] == written[0].id and prov["plan"] == written[0].provenance["plan"]
    assert prov["seed"] != 7
    assert "regenerated" in ed.carousel.takes[position]["label"]
    assert ed.streamed.get(position, "").strip()  # streamed under the number of the take it replaces
    assert f"take {position + 1} regenerated" in ed.status and "Undo" in ed.status
    assert written[0] in scene.takes  # kept in the data, folded out of the carousel
    press(ed.undo_button)
    assert [t["id"] for t in ed.carousel.takes] == ids
