"""Play code paths on a tiny random-weight model: moves, branches, background pre-writing, bad input, failures."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from workbench.errors import GenerationStopped, InvalidInput, ServerError, StoryError
from workbench.play import Play, PlayBusy
from workbench.session import Session


@pytest.fixture(autouse=True)
def _short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "8")


def _snapshot(project) -> tuple:
    return (len(project.scenes), {n: project.branches[n].scene_ids for n in project.branches})


def test_following_existing_choices_makes_a_play_branch(tiny_session) -> None:
    project = tiny_session.project
    main_before = project.branches["main"].scene_ids
    play = tiny_session.play(pregenerate=False)
    assert isinstance(play, Play)
    assert play.scene == project.start and play.branch == "play 1"
    assert "play 1" not in project.branches  # made at the first move, not before
    assert play.choices == ["Go down to the harbour"]
    got: list[str] = []
    scene = play.move(0, on_token=lambda _i, t: got.append(t))
    assert scene.title == "A Stranger on the Quay" and got == [scene.text]
    assert play.last_move["source"] == "followed"
    play.move("ask ines about the stranger")  # an offered label, typed in any case
    assert play.scene.title == "The Sister's Ledger"
    assert play.choices == ["Take Tomas up the tower", "Side with Ines and leave the light dark"]
    play.move(1)
    assert [s.title for s in project.branches["play 1"].scenes] == [
        "The Lamp Goes Dark",
        "A Stranger on the Quay",
        "The Sister's Ledger",
        "Leaving It Dark",
    ]
    assert project.branches["main"].scene_ids == main_before
    assert len(project.scenes) == 7  # nothing new was written
    project.undo()
    assert project.branches["play 1"].tip.title == "The Sister's Ledger"


def test_typed_actions_and_new_choices_are_written_and_saved_with_their_labels(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(start="The Light Returns", pregenerate=False, seed=5)
    streamed: list[str] = []
    heard: list[str] = []
    scene = play.move(
        "Mara throws the brass key into the sea",
        on_token=lambda _i, t: (streamed.append(t), heard.append("text")),
        on_plan=lambda _i, p: heard.append("plan"),
    )
    assert play.scene == scene and play.last_move["source"] == "generated"
    assert streamed and scene.text and scene.takes[0].source == "model"
    assert heard[0] == "plan" and "plan" not in heard[heard.index("text") :]  # the plan, then the scene
    prov = scene.takes[0].provenance
    assert prov["play"] is True and prov["branch"] == play.branch == "play 1"
    assert prov["path"][-1] == scene.id
    assert play.last_context.part("continuity") is not None
    assert "Spell names exactly" in play.last_context.suffix
    offered = play.choices  # suggestions (junk from a random model is dropped; plain moves fill in)
    assert 1 <= len(offered) <= 3 and all(isinstance(c, str) and c for c in offered)
    second = play.move(len(offered) - 1)
    labels = [
        c.label
        for s in project.branches["play 1"].scenes[:-1]
        for c, t in s.children
        if t.id in project.branches["play 1"].scene_ids
    ]
    assert labels[-2:] == ["Mara throws the brass key into the sea", offered[-1]]
    assert project.branches["play 1"].tip == second
    assert project.branches["main"].tip.title == "The Light Returns"


def test_a_play_on_a_named_branch(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(branch="ines", pregenerate=False)
    assert play.scene.title == "The Boat in the Dark"
    play.move(0)  # the merge back into the main story
    assert project.branches["ines"].tip.title == "The Light Returns"
    with pytest.raises(StoryError, match="starts at its last scene"):
        tiny_session.play(start="The Lamp Goes Dark", branch="main", pregenerate=False)
    fresh = tiny_session.play(start="A Stranger on the Quay", branch="my reading", pregenerate=False)
    fresh.move(0)
    assert [s.title for s in project.branches["my reading"].scenes][-1] == "The Sister's Ledger"


def test_bad_input_leaves_play_and_project_intact(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(pregenerate=False)
    before = _snapshot(project)
    for bad, message in [
        ("", "empty"),
        ("   \n ", "empty"),
        ("x" * 5000, "under 500"),
        (7, "pick a choice"),
        (-1, "pick a choice"),
        (True, "a move is"),
        (None, "a move is"),
        (1.5, "a move is"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            play.move(bad)  # type: ignore[arg-type]
    assert _snapshot(project) == before and play.scene == project.start
    play.move(0)
    assert play.scene.title == "A Stranger on the Quay"


def test_a_move_while_one_is_being_written_is_refused(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(start="The Light Returns", pregenerate=False)
    started, release = threading.Event(), threading.Event()

    def slow_reader(_i: int, _t: str) -> None:
        started.set()
        release.wait(30)

    outcome: list = []
    worker = threading.Thread(
        target=lambda: outcome.append(play.move("Ines runs down the stairs", on_token=slow_reader))
    )
    worker.start()
    assert started.wait(120)
    assert play.busy
    with pytest.raises(PlayBusy, match="still being written"):
        play.move("Mara follows her")
    release.set()
    worker.join(120)
    assert outcome and outcome[0].title == "Ines runs down the stairs"
    assert play.scene == outcome[0] and not play.busy
    assert len(project.scenes) == 8


def test_a_stopped_move_saves_nothing(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(start="The Light Returns", pregenerate=False)
    before = _snapshot(project)
    stop = threading.Event()
    with pytest.raises(GenerationStopped, match="nothing was saved"):
        play.move("Mara waits", on_token=lambda _i, _t: stop.set(), stop=stop)
    assert _snapshot(project) == before and play.scene.title == "The Light Returns" and not play.busy


def test_offered_scenes_are_written_in_the_background_and_shown_at_once(tiny_session) -> None:
    project = tiny_session.project
    play = tiny_session.play(start="The Light Returns", seed=11)
    assert play.wait_prefetch(300)
    offered = play.choices
    assert set(play.pending().values()) == {"done"}
    assert set(play.pending()) == set(offered)
    assert len(project.scenes) == 7  # kept in memory, not saved
    got: list[str] = []
    scene = play.move(len(offered) - 1, on_token=lambda _i, t: got.append(t))
    assert play.last_move["source"] == "pregenerated"
    assert play.last_move["first_token_s"] < 0.1
    assert got and scene.text and len(project.scenes) == 8
    assert [c.label for c, _ in project.scene("The Light Returns").children] == [offered[-1]]
    # another reader at that scene is now offered the written choice, and follows it
    other = tiny_session.play(start="The Light Returns", pregenerate=False, branch="another reading")
    assert other.choices == [offered[-1]]
    assert other.move(0) == scene and other.last_move["source"] == "followed"


def test_moving_elsewhere_cancels_background_work(tiny_session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "400")
    project = tiny_session.project
    play = tiny_session.play(start="The Light Returns", max_new_tokens=400)
    deadline = time.monotonic() + 300
    while "running" not in play.pending().values() and time.monotonic() < deadline:
        time.sleep(0.05)
    jobs = dict(play._pending)
    assert "running" in play.pending().values()
    play.max_new_tokens = 8
    play.pregenerate = False
    play.move("Mara climbs down to the sea")
    for job in jobs.values():
        assert job.done.wait(60)
        assert job.state == "stopped" and job.stop.is_set()
    assert len(project.scenes) == 8
    assert [c.label for c, _ in project.scene("The Light Returns").children] == [
        "Mara climbs down to the sea"
    ]
    assert play.pending() == {}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_failure_mid_play_is_a_clear_error(sample) -> None:
    session = Session(sample, text=f"openai:tiny@http://127.0.0.1:{_closed_port()}/v1")
    play = session.play(start="Trusting Tomas")
    play.move(0)  # following the graph needs no server
    assert play.wait_prefetch(30)
    assert play.choices == [] and "no suggestions" in play.notice and "could not connect" in play.notice
    before = _snapshot(sample)
    with pytest.raises(ServerError, match="could not connect"):
        play.move("Tomas opens the clockwork case")
    assert _snapshot(sample) == before and play.scene.title == "The Light Returns" and not play.busy
    assert sample.branches["play 1"].tip.title == "The Light Returns"
    play.close()
    with pytest.raises(StoryError, match="closed"):
        play.move(0)


def test_the_player_view_plays_and_shows_errors(tiny_session) -> None:
    from workbench.widgets.player import PlayerView, player_view

    view = player_view(tiny_session)
    assert isinstance(view, PlayerView)
    deadline = time.monotonic() + 60
    while not any(getattr(b, "label", None) == "Go down to the harbour" for b in view.choices_box.objects):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    view.choose(0)
    view.wait(120)
    assert view.error == "" and view.play.scene.title == "A Stranger on the Quay"
    assert "A Stranger on the Quay" in view.scene_pane.object and "wb-heading" in view.scene_pane.object
    view.type_action("   ")
    view.wait(30)
    assert "empty" in view.error and view.play.scene.title == "A Stranger on the Quay"
    view.action_input.value_input = "Mara lights a flare"
    view.type_action()
    view.wait(300)
    assert view.error == "" and view.play.scene.title == "Mara lights a flare"
    cast = {c.name.split()[0] for c in tiny_session.project.cast}
    assert any(name in view.planned for name in cast), view.planned  # the plan showed while planned
    assert "The Lamp Goes Dark" in view.history_pane.object
    assert "play 1" in view.title_pane.object and "wb-continuity" in view.continuity_pane.object
    view.close()


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("1. Mara runs to the quay.", "Mara runs to the quay"),
        ('"go upstairs"', "Go upstairs"),
        ("{{#1", None),
        ("}}", None),
        ("} }}List: 1. A gift. 2. A gift. 3. A gift. 4. A gift. 5. A gift. 6. A", None),
        ("A ship", None),
        ("x" * 200, None),
        ("BEGINS-INES-STARTED-LIGHTHOUSE-LIGHTHOUSE-LIGHTHOUSE", None),
        ("Night,Lightshielding,Mara,Ines,Night", None),
    ],
)
def test_suggested_choices_are_cleaned_or_dropped(raw: str, clean: str | None) -> None:
    from workbench.generate.writer import clean_choice

    assert clean_choice(raw) == clean


def test_a_suggestion_in_letters_the_story_does_not_use_is_dropped() -> None:
    """What the default model offered once on the sample: a choice in another language."""
    from workbench.generate.writer import clean_choice

    english = "Mara keeps the lighthouse on Skerry Point. Ines Quell keeps the ledger."
    assert clean_choice("Mara Light og halweilningen þat talet fer leke efterst eller klä", english) is None
    assert clean_choice("Ines zips the ledger into her coat", english) == "Ines zips the ledger into her coat"
    french = "Mara garde le phare. Élise répond à la lettre."
    assert clean_choice("Élise répond à Mara", french) == "Élise répond à Mara"
    assert clean_choice("Élise répond à Mara", english) is None


def test_unusable_suggestions_fall_back_to_plain_moves(tiny_session) -> None:
    play = tiny_session.play(start="The Light Returns", pregenerate=False)
    assert play._fallback_choices(play.scene) == [
        "Follow Tomas",
        "Leave the lighthouse lamp room",
        "Wait and watch what happens",
    ]


def test_the_writer_corrects_continuity_in_the_player(tiny_session) -> None:
    from workbench.widgets.player import PlayerView

    view = PlayerView(tiny_session, play=tiny_session.play(start="Trusting Tomas", pregenerate=False))
    view.who.value = "Tomas Reyes"
    assert view.alive_box.value is True and view.location_input.value == "Lighthouse Lamp Room"
    view.alive_box.value = False
    view.items_input.value = "Cut mainspring, pliers"
    view.fix_button.clicks += 1
    assert view.error == ""
    state = view.play.state()
    assert state.dead == ["Tomas Reyes"] and state.characters["Tomas Reyes"].items == [
        "cut mainspring",
        "pliers",
    ]
    assert "Dead (they must not appear" in state.note()
    assert "<b>dead</b>" in view.continuity_pane.object
    view.close()


def test_fallback_moves_name_who_is_missing(tiny_session) -> None:
    play = tiny_session.play(start="The Lamp Goes Dark", pregenerate=False)
    assert play._fallback_choices(play.scene) == [
        "Leave the lighthouse lamp room",
        "Go and find Tomas",
        "Wait and watch what happens",
    ]


def test_a_scripted_play_loops_through_a_hub_three_times(tiny_session) -> None:
    """Following existing choices back to a hub: the branch revisits it, the story so far repeats
    it in reading order, and nothing new is written."""
    project = tiny_session.project
    quay = project.scene("A Stranger on the Quay")
    market = project.add_scene(
        "The Fish Market", "Gulls scream over the stalls.", after=quay, choice="Walk to the market"
    )
    project.connect(market, quay, "Back to the quay")
    scenes_before = len(project.scenes)
    play = tiny_session.play(pregenerate=False)
    play.move("Go down to the harbour")
    for _ in range(3):
        assert "Walk to the market" in play.choices
        assert play.move("Walk to the market").title == "The Fish Market"
        assert play.last_move["source"] == "followed"
        assert play.move("Back to the quay") == quay
    titles = [s.title for s in project.branches[play.branch].scenes]
    assert titles == ["The Lamp Goes Dark"] + ["A Stranger on the Quay", "The Fish Market"] * 3 + [
        "A Stranger on the Quay"
    ]
    assert [s.title for s in play.path()] == titles  # the story so far, revisits in reading order
    ctx = tiny_session.writer.context_for(play.path(), "Next", "Ask Ines", [], None, 40)
    assert ctx.part("story").note.startswith(f"{len(titles)} scene(s)")
    assert len(project.scenes) == scenes_before


def test_picking_an_open_choice_writes_the_scene_it_wanted(tiny_session) -> None:
    project = tiny_session.project
    quay = project.scene("A Stranger on the Quay")
    wanted = project.add_choice(quay, "Climb onto the breakwater", wanted="The Breakwater")
    play = tiny_session.play(pregenerate=False)
    play.move(0)
    assert "Climb onto the breakwater" in play.choices
    new = play.move("Climb onto the breakwater")
    assert new.title == "The Breakwater" and new.text
    assert project.choice(wanted.id).target == new
    assert [c.label for c in quay.choices].count("Climb onto the breakwater") == 1


def test_a_play_with_a_seed_writes_the_same_scenes_in_a_fresh_copy_of_the_story(tmp_path, tiny_dir) -> None:
    """Move seeds come from the story's content, not from a project's random row ids."""
    from workbench.story.sample import build_sample

    texts, ids = [], []
    for i in range(2):
        project = build_sample(tmp_path / f"copy{i}.story")
        play = Session(project, text=str(tiny_dir)).play(
            start="The Light Returns", pregenerate=False, seed=1000
        )
        first = play.move("Mara throws the brass key into the sea")
        second = play.move("Tomas rows out to find it")
        texts.append([first.text, second.text])
        ids.append(first.id)
        play.close()
        project.close()
    assert ids[0] != ids[1]  # two projects, two sets of row ids
    assert texts[0] == texts[1] and all(texts[0])
