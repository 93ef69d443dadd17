"""The story graph as a directed graph that may loop: hubs, revisits, open choices, unreachable
scenes, endings and stuck places, bulk story writes and their undo, and files of the earlier schema."""

from __future__ import annotations

import sqlite3

import pytest

from workbench import open_project
from workbench.errors import AmbiguousPathError, DuplicateName, InvalidInput, StoryError, TooLarge
from workbench.story import graph as g
from workbench.story.project import MAX_STORY_SCENES, NewChoice, NewScene, NewSpecial


def titles(scenes):
    return [s.title for s in scenes]


@pytest.fixture
def hub(project):
    """Start -> Square (hub) <-> Market, Bakery; Square -> Harbour (an ending)."""
    start = project.add_scene("Start", "You arrive.")
    square = project.add_scene("Square", "The square.", after=start, choice="Walk to the square")
    market = project.add_scene("Market", "Stalls.", after=square, choice="Go to the market")
    project.connect(market, square, "Back to the square")
    bakery = project.add_scene("Bakery", "Bread.", after=square, choice="Buy bread")
    project.connect(bakery, square, "Back to the square")
    harbour = project.add_scene("Harbour", "Ships.", after=square, choice="Down to the harbour")
    harbour.is_ending = True
    return project


def test_a_branch_may_revisit_a_scene_and_is_read_up_to_its_latest_visit(hub):
    p = hub
    square, market, bakery = p.scene("Square"), p.scene("Market"), p.scene("Bakery")
    assert titles(p.branches["main"].scenes) == ["Start", "Square", "Market"]
    p.extend_branch("main", square)
    p.extend_branch("main", bakery)
    p.extend_branch("main", square)
    assert titles(p.branches["main"].scenes) == ["Start", "Square", "Market", "Square", "Bakery", "Square"]
    assert titles(p.path(square, "main")) == ["Start", "Square", "Market", "Square", "Bakery", "Square"]
    assert titles(p.path(bakery, "main")) == ["Start", "Square", "Market", "Square", "Bakery"]
    # off the branch: the branch's latest visit to a scene leading here decides
    assert titles(p.path("Harbour", "main")) == [*titles(p.branches["main"].scenes), "Harbour"]
    # without a branch, loops make nothing ambiguous: the one way from the start
    assert titles(p.path(market)) == ["Start", "Square", "Market"]
    assert titles(p.path(square)) == ["Start", "Square"]
    p.branches["again"] = square  # path(square) from the start
    assert titles(p.branches["again"].scenes) == ["Start", "Square"]


def test_a_real_merge_is_still_ambiguous_without_a_branch(hub):
    p = hub
    side = p.add_scene("Alley", "Dark.", after="Start", choice="Take the alley")
    p.connect(side, "Market", "Into the market")
    with pytest.raises(AmbiguousPathError, match="several paths lead to 'Market'"):
        p.path("Market")
    assert titles(p.path("Market", "main")) == ["Start", "Square", "Market"]


def test_open_choices_are_kept_and_written_later(hub):
    p = hub
    market = p.scene("Market")
    open_choice = p.add_choice(market, "Ask about the fish", wanted="Fishmonger")
    assert open_choice.is_open and open_choice.target is None and open_choice.wanted == "Fishmonger"
    assert [c.label for c in market.open_choices] == ["Ask about the fish"]
    assert "Ask about the fish" not in [c.label for c, _ in market.children]
    assert [c.id for c in p.open_choices] == [open_choice.id]
    with pytest.raises(DuplicateName):
        p.add_choice(market, "ask about the FISH")
    before = p.content_hash()
    fish = p.fill_choice(open_choice, text="Cod, mostly.")
    assert fish.title == "Fishmonger" and fish.text == "Cod, mostly."
    assert p.choice(open_choice.id).target == fish and p.open_choices == []
    assert titles(p.branches["main"].scenes) == [
        "Start",
        "Square",
        "Market",
        "Fishmonger",
    ]  # main ended at Market
    p.undo()
    assert p.content_hash() == before and p.choice(open_choice.id).is_open
    # writing a scene after the market with that choice's label is writing the scene behind it
    again = p.add_scene("Fish stall", "Herring.", after=market, choice="Ask about the fish")
    assert p.choice(open_choice.id).target == again
    assert [c.label for c in market.choices].count("Ask about the fish") == 1
    with pytest.raises(StoryError, match="already leads to"):
        p.fill_choice(open_choice)


def test_unreachable_scenes_open_choices_endings_and_where_a_reader_gets_stuck(hub):
    p = hub
    draft = p.add_scene("Draft", "A note to self.")  # follows main's tip
    p.disconnect(next(c for c, t in p.scene("Market").children if t == draft))
    p.add_choice("Bakery", "Ask for cake", wanted="Cake")
    loop_a = p.add_scene("Cellar", "Dark.", after="Bakery", choice="Go down")
    loop_b = p.add_scene("Tunnel", "Darker.", after=loop_a, choice="Crawl on")
    p.connect(loop_b, loop_a, "Back up")
    dead = p.add_scene("Well", "Water.", after="Square", choice="Look into the well")
    st = p.structure()
    name = {s.id: s.title for s in p.scenes}
    assert [name[i] for i in st.unreachable] == ["Draft"]
    assert [p.choice(i).label for i in st.open_choices] == ["Ask for cake"]
    assert [name[i] for i in st.endings] == ["Harbour"]
    assert [name[i] for i in st.dead_ends] == ["Well"]
    assert [name[i] for i in st.traps] == ["Cellar", "Tunnel"]  # a loop with no way out
    assert titles(p.stuck()) == ["Well", "Cellar", "Tunnel"]
    assert {p.choice(i).label for i in st.back_edges} == {"Back to the square", "Back up"}
    assert titles(p.unreachable) == ["Draft"]
    dead.is_ending = True
    assert "Well" not in titles(p.stuck()) and p.scene("Well").is_ending
    summary = p.summary()
    assert summary["unreachable"] == ["Draft"] and summary["loops"] == 3
    assert summary["open_choices"] == [{"scene": "Bakery", "choice": "Ask for cake", "wants": "Cake"}]
    with pytest.raises(StoryError, match="cannot be reached from the start"):
        p.branches["draft"] = draft
    assert titles(p.path(draft)) == ["Draft"]  # as far back as it goes


def test_delete_takes_what_only_it_reaches_even_around_loops(hub):
    p = hub
    cellar = p.add_scene("Cellar", "Dark.", after="Bakery", choice="Go down")
    tunnel = p.add_scene("Tunnel", "Darker.", after=cellar, choice="Crawl on")
    p.connect(tunnel, cellar, "Back up")
    p.connect(tunnel, "Square", "Climb out")
    before = p.content_hash()
    p.delete("Bakery")  # Cellar and Tunnel are reached only through the bakery
    assert titles(p.scenes) == ["Start", "Square", "Market", "Harbour"]
    p.undo()
    assert p.content_hash() == before
    p.delete("Market")  # nothing else goes: the square is reached from the start
    assert "Square" in titles(p.scenes) and "Market" not in titles(p.scenes)
    draft = p.add_scene("Draft", "Note.", after="Harbour", choice="x")
    p.disconnect(next(c for c, t in p.scene("Harbour").children if t == draft))
    p.connect(draft, "Square", "Into the story")
    p.delete("Square")  # the draft keeps nothing it does not own; the square's own scenes go
    assert titles(p.scenes) == ["Start", "Draft"]


def test_add_story_writes_a_graph_at_once_as_one_undo_step(tmp_path):
    with open_project(tmp_path / "bulk.story") as p:
        before = p.content_hash()
        log_before = p.conn.execute("SELECT count(*) FROM undolog").fetchone()[0]
        scenes = [
            NewScene("Start", "Hi."),
            NewScene("Hub", "Square."),
            NewScene("Stall", ""),
            NewScene("Note", "n"),
        ]
        choices = [
            NewChoice(0, "Go", 1),
            NewChoice(1, "Shop", 2),
            NewChoice(2, "Back", 1),
            NewChoice(2, "Haggle", wanted="Haggling"),
            NewChoice(1, "Jump", 3, kind="goto"),
        ]
        made = p.add_story(
            scenes,
            choices,
            [NewSpecial("StoryInit", "<<set $x to 1>>", ("init",), "twine")],
            branches={"shopping": [0, 1, 2, 1]},
            meta={"title": "Bulk"},
            label="import bulk",
        )
        assert titles(made) == ["Start", "Hub", "Stall", "Note"] and p.start == made[0]
        assert p.title == "Bulk" and made[0].text == "Hi." and made[2].text == "" and made[2].takes == []
        assert made[0].chosen.source == "import"
        assert titles(p.branches["shopping"].scenes) == ["Start", "Hub", "Stall", "Hub"]
        assert [(c.label, c.kind) for c in made[1].choices] == [("Shop", "choice"), ("Jump", "goto")]
        assert [x.name for x in p.specials] == ["StoryInit"]
        # the undo log holds a handful of statements, not a copy of every row
        rows = p.conn.execute("SELECT count(*) FROM undolog").fetchone()[0] - log_before
        assert rows < 20
        assert p.undo_label == "import bulk"
        p.undo()
        assert p.content_hash() == before and p.scenes == [] and len(p.specials) == 0
        assert p.conn.execute("SELECT count(*) FROM undolog").fetchone()[0] == log_before
        # every undo trigger came back: later edits are undoable as before
        p.add_scene("After", "x")
        p.undo()
        assert p.scenes == []


def test_add_story_checks_everything_first(tmp_path):
    with open_project(tmp_path / "bad.story") as p:
        p.add_scene("Existing", "x")
        before = p.content_hash()
        with pytest.raises(DuplicateName, match="line 7: there is already a scene called 'existing'"):
            p.add_story([NewScene("existing", line=7)])
        with pytest.raises(
            DuplicateName, match="line 9: two scenes are called 'A' \\(the other at line 3\\)"
        ):
            p.add_story([NewScene("A", line=3), NewScene("A", line=9)])
        with pytest.raises(InvalidInput, match="line 4: a choice needs a label"):
            p.add_story([NewScene("B")], [NewChoice(0, "  ", 0, line=4)])
        with pytest.raises(TooLarge, match=f"line 12: more than {MAX_STORY_SCENES:,} scenes"):
            p.add_story(
                [
                    NewScene(f"S{i}", line=12 if i == MAX_STORY_SCENES else 0)
                    for i in range(MAX_STORY_SCENES + 1)
                ]
            )
        assert p.content_hash() == before


def test_graph_helpers_on_plain_data():
    snap = g.GraphSnapshot(
        [g.SceneInfo("a", "A"), g.SceneInfo("b", "B"), g.SceneInfo("c", "C"), g.SceneInfo("d", "D")],
        [
            g.ChoiceInfo("1", "a", "b", "x"),
            g.ChoiceInfo("2", "b", "c", "y"),
            g.ChoiceInfo("3", "c", "b", "z"),
            g.ChoiceInfo("4", "d", "d", "w"),
        ],
        "a",
    )
    assert g.on_loops(snap) == {"b", "c", "d"}
    assert g.back_edges(snap) == {"3", "4"}
    assert g.reachable(snap, ["a"]) == {"a", "b", "c"}


def test_a_file_of_the_first_schema_is_upgraded_in_place(tmp_path):
    """Build a version-1 file by hand (the schema as it was), open it, and find everything there."""
    from workbench.story import schema

    path = tmp_path / "old.story"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for stmt in schema._statements(schema.SCHEMA_V1):  # noqa: SLF001 - the old schema, on purpose
        conn.execute(stmt)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.executemany(
        "INSERT INTO meta(key, value) VALUES(?, ?)",
        [("title", "Old"), ("ifid", "3B0A5B4C-2D52-4E6B-9F0C-7D1A2B3C4D5E"), ("start", "s_a")],
    )
    conn.execute("INSERT INTO scenes(id, title, seq) VALUES('s_a', 'A', 1), ('s_b', 'B', 2)")
    conn.execute("INSERT INTO choices(id, source, target, label, seq) VALUES('x_1', 's_a', 's_b', 'on', 1)")
    conn.execute("INSERT INTO branches(name, scenes, seq) VALUES('main', '[\"s_a\", \"s_b\"]', 1)")
    conn.execute("COMMIT")
    conn.close()
    with open_project(path) as p:
        assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert [(c.label, t.title) for c, t in p.scene("A").children] == [("on", "B")]
        p.connect("B", "A", "again")  # a loop, in an upgraded file
        p.add_choice("B", "later")
        p.undo()
        p.undo()
        assert [c.label for c in p.scene("B").choices] == []
        assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
