"""The project file: graph, branches, takes, feedback, undo, cast snapshot, persistence."""

from __future__ import annotations

import sqlite3
import uuid

import pytest

from workbench import open_project
from workbench.errors import (
    AmbiguousPathError,
    BranchNotFound,
    CharacterNotFound,
    CycleError,
    DuplicateName,
    InvalidInput,
    NothingToUndo,
    ProjectNotFound,
    SceneNotFound,
    StoryError,
    WorkbenchError,
)


def titles(scenes):
    return [s.title for s in scenes]


def test_new_project_has_stable_ifid_and_settable_meta(tmp_path):
    path = tmp_path / "a.story"
    p = open_project(path)
    ifid = p.ifid
    assert uuid.UUID(ifid)
    p.title, p.logline, p.genre, p.style = "T", "L", "G", "S"
    p.close()
    q = open_project(path)
    assert (q.title, q.logline, q.genre, q.style, q.ifid) == ("T", "L", "G", "S", ifid)
    with pytest.raises(InvalidInput):
        q.ifid = "not a uuid"
    q.close()


def test_open_missing_without_create(tmp_path):
    with pytest.raises(ProjectNotFound):
        open_project(tmp_path / "nope.story", create=False)
    assert not (tmp_path / "nope.story").exists()


def test_linear_scenes_grow_main(project):
    a = project.add_scene("A", "text a")
    b = project.add_scene("B", "text b")
    c = project.add_scene("C")
    assert project.start == a
    assert titles(project.branches["main"].scenes) == ["A", "B", "C"]
    assert project.branches["main"].tip == c
    assert titles(project.path(c)) == ["A", "B", "C"]
    assert b.text == "text b" and c.text == "" and c.chosen is None
    assert [t.title for _, t in a.children] == ["B"]


def test_fork_merge_and_ambiguous_path(project):
    a = project.add_scene("A", "a")
    b = project.add_scene("B", "b")
    alt = project.add_scene("Alt", "alt", after=a, choice="refuse")
    assert titles(project.branches["main"].scenes) == ["A", "B"]  # main's tip was B, not A
    project.branches["refusal"] = alt
    end = project.add_scene("End", "end", after=b, choice="go on")
    project.connect(alt, end, "rejoin")
    with pytest.raises(AmbiguousPathError):
        project.path(end)
    assert titles(project.path(end, "main")) == ["A", "B", "End"]
    assert titles(project.path(end, "refusal")) == ["A", "Alt", "End"]


def test_loops_are_stories_too(project):
    a = project.add_scene("A", "a")
    b = project.add_scene("B", "b")
    c = project.add_scene("C", "c")
    back = project.connect(c, b, "back")
    project.connect(c, a, "to start")
    project.connect(b, b, "wait")
    assert [(ch.label, t.title) for ch, t in c.children] == [("back", "B"), ("to start", "A")]
    assert back.target == b and not back.is_open
    # a path from the start never passes through the scene it ends at: loops add no ambiguity
    assert titles(project.path(c)) == ["A", "B", "C"]
    assert titles(project.path(b)) == ["A", "B"]
    with pytest.raises(DuplicateName):
        project.connect(c, b, "Back")  # the very same choice twice
    project.connect(c, b, "return")  # another choice to the same scene is another choice
    assert [ch.label for ch, t in c.children if t == b] == ["back", "return"]
    assert issubclass(CycleError, WorkbenchError)  # still importable, raised for nothing here


def test_clear_errors_for_bad_edits(project):
    project.add_scene("A", "a")
    with pytest.raises(DuplicateName):
        project.add_scene("a", "again")  # titles are case-insensitively unique
    with pytest.raises(SceneNotFound):
        project.scene("missing")
    with pytest.raises(BranchNotFound):
        project.branches["nope"]
    with pytest.raises(DuplicateName):
        project.branches.create("main", project.start)
    with pytest.raises(InvalidInput):
        project.add_scene("   ")
    with pytest.raises(CharacterNotFound):
        project.cast["Nobody"]
    with pytest.raises(InvalidInput):
        project.cast.add("X", unknown_field=1)
    for err in (DuplicateName, SceneNotFound, CycleError, InvalidInput):
        assert issubclass(err, WorkbenchError)


def test_takes_choose_rate_edit_and_feedback_log(project):
    s = project.add_scene("A", "first")
    first = s.chosen
    assert first.source == "writer"
    t2 = s.add_take("second", source="model", provenance={"model": "m", "seed": 7})
    assert s.text == "first"  # a later take is not chosen automatically
    t2.choose()
    assert s.text == "second" and t2.is_chosen
    t2.rate(4)
    t2.rate(5)
    assert t2.rating == 5
    edited = t2.edit("second, better")
    assert edited.source == "edit" and edited.parent == t2 and s.text == "second, better"
    assert edited.provenance["edited_from"] == t2.id and edited.provenance["seed"] == 7
    kinds = [(e.kind, e.rater) for e in project.feedback()]
    assert kinds == [
        ("choose", "auto"),
        ("choose", "writer"),
        ("rate", "writer"),
        ("rate", "writer"),
        ("edit", "writer"),
    ]
    choose = [e for e in project.feedback() if e.kind == "choose" and e.rater == "writer"][0]
    assert choose.take_id == t2.id and choose.others == (first.id,)
    assert all(e.rater != "auto" for e in project.feedback(include_auto=False))
    with pytest.raises(InvalidInput):
        t2.rate(6)
    with pytest.raises(InvalidInput):
        t2.rate(True)


def test_undo_every_kind_of_change(project):
    a = project.add_scene("A", "a")
    project.title = "Before"
    h0 = project.content_hash()
    steps = [
        lambda: project.add_scene("B", "b"),
        lambda: project.rename(a, "A2"),
        lambda: a.add_take("x", source="model", choose=True),
        lambda: project.cast.add("Mara", description="keeper"),
        lambda: project.lore.add(["lamp"], "The lamp is old."),
        lambda: setattr(project, "title", "After"),
    ]
    hashes = []
    for step in steps:
        hashes.append(project.content_hash())
        step()
    for h in reversed(hashes):
        project.undo()
        assert project.content_hash() == h
    assert project.content_hash() == h0
    project.undo()  # the add of A
    project.undo()  # the title
    with pytest.raises(NothingToUndo):
        project.undo()


def test_undo_keeps_the_feedback_log_append_only(project):
    s = project.add_scene("A", "a")
    t = s.add_take("b", source="model")
    t.rate(3)
    n_rows = project.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    project.undo()
    assert t.rating is None
    rows = project.conn.execute("SELECT kind FROM events ORDER BY seq").fetchall()
    assert len(rows) == n_rows + 1 and rows[-1][0] == "void"


def test_delete_scene_cuts_branches_and_undo_restores(project):
    a = project.add_scene("A", "a")
    b = project.add_scene("B", "b")
    c = project.add_scene("C", "c")
    alt = project.add_scene("Alt", "alt", after=a, choice="other")
    project.connect(alt, c, "merge")
    b.add_take("b2", source="model").choose()
    before = project.content_hash()
    project.delete(b)
    assert titles(project.scenes) == ["A", "C", "Alt"]  # C survives: Alt still leads to it
    assert titles(project.branches["main"].scenes) == ["A"]
    project.undo()
    assert project.content_hash() == before
    assert b.text == "b2"


def test_prune_branch_removes_its_own_scenes(project):
    a = project.add_scene("A", "a")
    project.add_scene("B", "b")
    alt = project.add_scene("Alt", "alt", after=a, choice="other")
    project.branches["other"] = alt
    alt2 = project.add_scene("Alt2", "alt2", after=alt, choice="more", branch="other")
    assert titles(project.branches["other"].scenes) == ["A", "Alt", "Alt2"]
    removed = project.prune("other")
    assert set(removed) >= {"Alt"}
    assert titles(project.scenes) == ["A", "B"] and "other" not in project.branches
    assert not alt2.exists
    with pytest.raises(StoryError):
        project.prune("main")


def test_rename_branch_and_scene(project):
    project.add_scene("A", "a")
    project.branches["draft"] = project.start
    project.rename("draft", "second draft")
    assert "second draft" in project.branches and "draft" not in project.branches
    project.rename(project.start, "Opening")
    assert project.scene("opening").title == "Opening"
    with pytest.raises(DuplicateName):
        project.rename("second draft", "main")


def test_failed_transaction_writes_nothing(project):
    project.add_scene("A", "a")
    before = project.content_hash()
    with pytest.raises(RuntimeError):
        with project.transaction("half"):
            project.add_scene("B", "b")
            project.cast.add("Mara")
            raise RuntimeError("crash mid-way")
    assert project.content_hash() == before
    assert project.undo_label == "add scene A"


def test_assets_are_content_addressed(project):
    a = project.assets.put(b"\x89PNG fake", "image/png", {"seed": 1}, kind="portrait")
    b = project.assets.put(b"\x89PNG fake", "image/png", {"seed": 2}, kind="portrait")
    assert a.sha256 == b.sha256 and len(project.assets) == 1
    assert project.assets.get(a.sha256).data == b"\x89PNG fake"


def test_cast_fields_versions_and_extensions(project):
    c = project.cast.add(
        "Mara Quell", description="keeper", extensions={"other_tool": {"k": [1, 2]}}, voice={"pitch": -2}
    )
    assert c.version == 1 and c.description == "keeper"
    c.personality = "stern"
    assert c.version == 2 and project.cast["mara quell"].personality == "stern"
    assert c.extensions == {"other_tool": {"k": [1, 2]}}
    assert c.palette.startswith("#") and isinstance(c.image_seed, int)
    with pytest.raises(DuplicateName):
        project.cast.add("MARA QUELL")


def test_lore_triggers_by_keyword(project):
    project.lore.add(["lamp", "Fresnel lens"], "An 1889 lens.", priority=2)
    project.lore.add([], "An island.", always=True)
    project.lore.add("salvage, Halvard", "Scrap buyers.")
    fired = [e.content for e in project.lore.triggered("She checks the fresnel lens at night.")]
    assert fired == ["An 1889 lens.", "An island."]
    assert [e.content for e in project.lore.triggered("lamplight")] == ["An island."]  # whole words only


def test_file_is_complete_after_close(tmp_path, sample):
    path = sample.file
    sample.add_scene("Extra", "more text", after=sample.scene("The Light Returns"))
    h = sample.content_hash()
    sample.close()
    assert (
        not path.with_name(path.name + "-wal").exists()
        or path.with_name(path.name + "-wal").stat().st_size == 0
    )
    copy = tmp_path / "copy.story"
    copy.write_bytes(path.read_bytes())  # only the main file
    q = open_project(copy)
    assert q.content_hash() == h
    assert q.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    q.close()


def test_backup_uses_sqlite_backup(tmp_path, sample):
    h = sample.content_hash()
    out = sample.backup(tmp_path / "backup" / "b.story")
    q = open_project(out, create=False)
    assert q.content_hash() == h
    q.close()
    with pytest.raises(InvalidInput):
        sample.backup(sample.file)


def test_sample_project_shape(sample):
    s = sample.summary()
    assert s["scenes"] >= 6 and len(s["cast"]) >= 3 and s["lore"] >= 2
    assert set(sample.branches) >= {"main", "ines"}
    for scene in sample.scenes:
        parsed = scene.parsed()
        assert parsed.screenplay and parsed.heading, scene.title
    assert all(c.appearance and c.voice for c in sample.cast)


def test_foreign_keys_and_wal_are_on(project):
    assert project.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert project.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.IntegrityError):
        with project.transaction("bad"):
            project.db.execute(
                "INSERT INTO takes(id, scene_id, text, source, created, seq) VALUES('t','nope','x','writer','', 1)"
            )


def test_content_hash_is_about_the_story_not_the_file(tmp_path):
    from workbench.story.sample import build_sample

    a = build_sample(tmp_path / "a.story")
    b = build_sample(tmp_path / "b.story")
    assert a.content_hash() == b.content_hash()  # rows get random ids; the story is the same
    for p in (a, b):
        p.scene("Trusting Tomas").add_take("INT. X - DAY\n\nSame new take.", source="model", choose=True)
    assert a.content_hash() == b.content_hash()
    a.scene("Trusting Tomas").takes[0].choose()
    assert a.content_hash() != b.content_hash()
    a.close()
    b.close()
