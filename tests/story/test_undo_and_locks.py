"""Undo under concurrency and per writer, migrations that keep undo working, and lock waits that
end in an error naming who holds the project."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from workbench import open_project
from workbench.errors import NothingToRedo, NothingToUndo, ProjectBusy, UndoConflict, WorkbenchError
from workbench.story import schema
from workbench.story.storage import acting_as, writer_note


def _story(path: Path) -> Any:
    p = open_project(path)
    start = p.add_scene("Start", "INT. HARBOUR - NIGHT\n\nMara waits.")
    p.add_scene("Dock", "Mara walks to the dock.", after=start, choice="walk")
    p.cast.add("Mara", description="a harbour pilot")
    p.forget_undo()
    return p


# --------------------------------------------------------------------------- undo and the write lock
def test_undo_reads_its_step_inside_the_write_lock(tmp_path: Path) -> None:
    """A step another connection commits while undo waits for the lock is the one undone; the
    earlier step keeps its undo log (before: the earlier step was undone and the new one's log lost)."""
    path = tmp_path / "u.story"
    a = _story(path)
    a.rename(a.scene("Dock"), "Quay")  # step 1
    b = open_project(path)
    result: dict[str, Any] = {}
    with b.transaction("rename by b"):
        undoer = threading.Thread(target=lambda: result.setdefault("label", a.undo()))
        undoer.start()
        time.sleep(0.6)  # the undo is waiting for b's write lock now
        b.rename(b.scene("Start"), "Harbour")  # step 2, committed while the undo waits
    undoer.join(30)
    assert result["label"] == "rename by b"
    assert {s.title for s in a.scenes} == {"Start", "Quay"}
    assert a.undo() == "rename scene Dock"  # step 1 still has its undo log
    assert {s.title for s in a.scenes} == {"Start", "Dock"}
    with pytest.raises(NothingToUndo):
        a.undo()
    b.close()
    a.close()


# --------------------------------------------------------------------------- per-writer undo
def test_each_writer_undoes_their_own_last_step(tmp_path: Path) -> None:
    p = _story(tmp_path / "w.story")
    take_a = p.scene("Start").takes[0]
    take_b = p.scene("Dock").takes[0]
    with acting_as("alice"):
        take_a.rate(5, rater="alice")
    with acting_as("bob"):
        take_b.rate(2, rater="bob")
        p.rename(p.scene("Dock"), "Quay")
    with acting_as("alice"):
        assert p.undo_label == "rate take"
        assert p.undo() == "rate take"  # alice's rating, not bob's later rename
    assert take_a.rating is None and take_b.rating == 2
    assert p.scene("Quay").title == "Quay"
    assert p.undo_label_for("bob") == "rename scene Dock"
    with acting_as("alice"), pytest.raises(NothingToUndo, match="alice has nothing to undo"):
        p.undo()
    assert p.undo(by="bob") == "rename scene Dock"
    assert p.scene("Dock").title == "Dock"
    assert p.undo(by="bob") == "rate take"
    assert take_b.rating is None
    assert [e for e in p.feedback() if e.kind == "rate"] == []
    p.close()


def test_a_writers_undo_refuses_rows_someone_changed_since(tmp_path: Path) -> None:
    p = _story(tmp_path / "c.story")
    with acting_as("alice"):
        p.rename(p.scene("Dock"), "Quay")
    with acting_as("bob"):
        p.rename(p.scene("Quay"), "Pier")
    before = p.content_hash()
    with acting_as("alice"), pytest.raises(UndoConflict, match="bob changed a scene"):
        p.undo()
    assert p.content_hash() == before  # nothing changed
    assert p.undo_label_for("alice") == "rename scene Dock"
    p.close()


def test_a_writers_undo_never_takes_someone_elses_rows_with_it(tmp_path: Path) -> None:
    """Alice added a scene, Bob wrote a take of it: undoing Alice's scene would delete Bob's take."""
    p = _story(tmp_path / "k.story")
    with acting_as("alice"):
        cove = p.add_scene("Cove", "", after=p.scene("Dock"), choice="swim")
    with acting_as("bob"):
        cove.add_take("Mara swims into the cove.", source="writer")
    with acting_as("alice"), pytest.raises(UndoConflict, match="bob"):
        p.undo()
    assert [t.text for t in p.scene("Cove").takes] == ["Mara swims into the cove."]
    with acting_as("bob"):
        p.undo()
    with acting_as("alice"):
        p.undo()
    assert "Cove" not in {s.title for s in p.scenes}
    p.close()


def test_undo_by_anyone_still_undoes_the_last_step(tmp_path: Path) -> None:
    p = _story(tmp_path / "g.story")
    with acting_as("alice"):
        p.rename(p.scene("Dock"), "Quay")
    with acting_as("bob"):
        p.rename(p.scene("Start"), "Harbour")
    assert p.undo() == "rename scene Start"
    assert {s.title for s in p.scenes} == {"Start", "Quay"}
    p.close()


# --------------------------------------------------------------------------- migrations keep undo working
def _test_migration(conn: sqlite3.Connection) -> None:
    """A column added to characters, and the scenes table rebuilt (the 12-step way SQLite documents)."""
    conn.execute("ALTER TABLE characters ADD COLUMN mood TEXT")
    conn.execute(
        """CREATE TABLE scenes_new (
            id TEXT PRIMARY KEY, title TEXT NOT NULL UNIQUE CHECK (length(title) > 0),
            tags TEXT NOT NULL DEFAULT '[]', characters TEXT NOT NULL DEFAULT '[]',
            x REAL, y REAL, summary TEXT, seq INTEGER NOT NULL, extra TEXT NOT NULL DEFAULT '{}')"""
    )
    conn.execute(
        "INSERT INTO scenes_new(rowid, id, title, tags, characters, x, y, summary, seq, extra) "
        "SELECT rowid, id, title, tags, characters, x, y, summary, seq, extra FROM scenes"
    )
    conn.execute("DROP TABLE scenes")
    conn.execute("ALTER TABLE scenes_new RENAME TO scenes")


def test_a_migration_that_adds_a_column_and_rebuilds_a_table_keeps_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.story"
    p = _story(path)
    p.rename(p.scene("Dock"), "Quay")  # a step from before the upgrade
    takes_before = sum(len(s.takes) for s in p.scenes)
    p.close()
    version = schema.SCHEMA_VERSION
    monkeypatch.setattr(schema, "SCHEMA_VERSION", version + 1)
    monkeypatch.setitem(schema.MIGRATIONS, version, _test_migration)
    p = open_project(path)
    assert p.conn.execute("PRAGMA user_version").fetchone()[0] == version + 1
    # the rebuilt table lost no rows that refer to it (foreign keys were off while it was rebuilt)
    assert sum(len(s.takes) for s in p.scenes) == takes_before
    assert len(p.choices) == 1
    # the new column is covered: undoing a delete brings the row back with it
    with p.transaction("mood"):
        p.db.execute("UPDATE characters SET mood='grim' WHERE name='Mara'")
    p.cast.remove("Mara")
    p.undo()
    assert p.conn.execute("SELECT mood FROM characters WHERE name='Mara'").fetchone()[0] == "grim"
    assert p.undo() == "mood"
    assert p.conn.execute("SELECT mood FROM characters WHERE name='Mara'").fetchone()[0] is None
    # the rebuilt table is covered: a rename is an undo step again
    p.rename(p.scene("Start"), "Harbour")
    assert p.undo() == "rename scene Start"
    assert {s.title for s in p.scenes} == {"Start", "Quay"}
    # and the step made before the upgrade still undoes
    assert p.undo() == "rename scene Dock"
    assert {s.title for s in p.scenes} == {"Start", "Dock"}
    assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    p.close()


def test_an_old_file_upgrades_with_its_undo_steps(tmp_path: Path) -> None:
    """A version 1 file (undo log rows without table and row) upgrades, and its steps still undo."""
    path = tmp_path / "v1.story"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for stmt in schema._statements(schema.SCHEMA_V1):
        conn.execute(stmt)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO meta(key, value) VALUES('title', 'Old')")
    conn.execute("INSERT INTO scenes(id, title, seq) VALUES('s_1', 'Start', 1)")
    conn.execute("INSERT INTO undolog(sql) VALUES('UPDATE scenes SET title=''Begin'' WHERE rowid=1')")
    conn.execute("INSERT INTO undo_steps(label, first_seq, last_seq, ts) VALUES('rename', 1, 1, 'x')")
    conn.execute("COMMIT")
    conn.close()
    p = open_project(path)
    assert tuple(p.conn.execute("SELECT tbl, row FROM undolog").fetchone()) == ("scenes", 1)
    assert p.undo() == "rename"
    assert p.scenes[0].title == "Begin"
    p.close()


# --------------------------------------------------------------------------- lock waits
HOLDER = textwrap.dedent("""
    import sys, time
    from workbench import open_project
    p = open_project(sys.argv[1])
    with p.transaction("importing a long story"):
        p.set_meta("genre", "noir")
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    p.close()
""")


def test_a_lock_wait_past_the_timeout_names_who_holds_the_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "l.story"
    _story(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), "20"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        note = writer_note(path)
        assert note is not None and note["pid"] == holder.pid and note["what"] == "importing a long story"
        monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "0.5")
        p = open_project(path)
        started = time.monotonic()
        with pytest.raises(ProjectBusy) as err:
            p.rename(p.scene("Dock"), "Quay")
        assert time.monotonic() - started < 10
        message = str(err.value)
        assert f"process {holder.pid}" in message and "importing a long story" in message
        assert "WORKBENCH_LOCK_TIMEOUT" in message
        assert isinstance(err.value, WorkbenchError)
        assert p.scene("Dock").title == "Dock"  # reads go on while another program writes
        p.close()
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_held_by_another_tool_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.story"
    _story(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        monkeypatch.setenv("WORKBENCH_LOCK_TIMEOUT", "0.3")
        p = open_project(path)
        with pytest.raises(ProjectBusy, match="left no note"):
            p.set_meta("genre", "noir")
        p.close()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert writer_note(path) is None  # the note goes when the writer's transaction ends


def test_the_note_is_gone_after_each_transaction(tmp_path: Path) -> None:
    p = _story(tmp_path / "n.story")
    p.rename(p.scene("Dock"), "Quay")
    assert writer_note(p.file) is None
    with pytest.raises(RuntimeError), p.transaction("fails"):
        assert writer_note(p.file) is not None
        raise RuntimeError("boom")
    assert writer_note(p.file) is None
    p.close()


# --------------------------------------------------------------------------- one consistent read
def test_a_snapshot_sees_one_state_while_another_program_commits(tmp_path: Path) -> None:
    path = tmp_path / "s.story"
    a = _story(path)
    b = open_project(path)
    with a.reading():
        scenes = {s.id for s in a.scenes}
        b.delete(b.scene("Dock"))  # committed by another connection in the middle of the read
        targets = {c.target_id for c in a.choices}
        assert targets <= scenes
    assert "Dock" not in {s.title for s in a.scenes}  # after the snapshot, the change is seen
    b.close()
    a.close()


def test_the_branch_map_reads_scenes_and_choices_in_one_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer deleting a scene between the map's reads made the served map show KeyError."""
    from workbench.render import branch_map_svg

    path = tmp_path / "b.story"
    a = _story(path)
    b = open_project(path)
    read = a.db.all
    fired = []

    def racing(*args: Any, **kwargs: Any) -> Any:  # another program's delete lands between two reads
        rows = read(*args, **kwargs)
        if not fired:
            fired.append(True)
            b.delete(b.scene("Dock"))
        return rows

    monkeypatch.setattr(a.db, "all", racing)
    svg = branch_map_svg(a)
    assert fired and "Dock" in svg  # drawn from the state before the delete, whole
    monkeypatch.undo()
    assert "Dock" not in branch_map_svg(a)
    b.close()
    a.close()


# --------------------------------------------------------------------------- redo, surfaces, history
def test_redo_takes_back_an_undo_until_the_writer_changes_something_else(tmp_path: Path) -> None:
    p = _story(tmp_path / "r.story")
    take = p.scene("Start").takes[0]
    p.rename(p.scene("Dock"), "Quay")
    take.rate(4, "me")
    assert p.undo() == "rate take" and take.rating is None
    assert p.undo() == "rename scene Dock"
    assert {s.title for s in p.scenes} == {"Start", "Dock"}
    assert [h["label"] for h in p.history()] == ["rename scene Dock", "rate take"]
    assert all(h["redo"] for h in p.history())
    assert p.redo() == "rename scene Dock"
    assert {s.title for s in p.scenes} == {"Start", "Quay"}
    assert p.redo() == "rate take" and take.rating == 4  # the rating comes back in the feedback log
    assert p.undo() == "rate take" and take.rating is None  # and goes again: redo made it a step
    p.rename(p.scene("Quay"), "Pier")  # a new change: the undone rating is no longer offered
    with pytest.raises(NothingToRedo, match="nothing to redo"):
        p.redo()
    assert [h["label"] for h in p.history()] == ["rename scene Quay", "rename scene Dock"]
    assert p.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    p.close()


def test_redo_is_refused_when_someone_changed_the_same_rows_since(tmp_path: Path) -> None:
    p = _story(tmp_path / "c.story")
    with p.acting_as("ana"):
        p.rename(p.scene("Dock"), "Quay")
        p.undo()
    with p.acting_as("ben"):
        p.rename(p.scene("Dock"), "Jetty")
    with p.acting_as("ana"), pytest.raises(UndoConflict, match="cannot redo 'rename scene Dock': ben"):
        p.redo()
    assert {s.title for s in p.scenes} == {"Start", "Jetty"}
    p.close()


def test_the_writers_undo_passes_over_a_readers_play(tmp_path: Path) -> None:
    p = _story(tmp_path / "s.story")
    p.rename(p.scene("Dock"), "Quay")
    with p.transaction("play: Mara swims", surface="play"):
        p.add_scene("Swim", "Mara swims.", after=p.scene("Quay"), choice="swim")
    assert p.undo_label_for(None, "write") == "rename scene Dock"
    assert p.undo_label_for(None, "play") == "play: Mara swims"
    assert p.undo(surface="write") == "rename scene Dock"
    assert {s.title for s in p.scenes} == {"Start", "Dock", "Swim"}  # the reader's scene stays
    assert p.redo_label_for(None, "play") is None and p.redo_label_for(None, "write") == "rename scene Dock"
    assert p.undo(surface="play") == "play: Mara swims"
    assert [h["surface"] for h in p.history()] == ["play", "write"]  # the next to redo first
    p.close()


def test_a_version_3_file_upgrades_to_redo(tmp_path: Path) -> None:
    """A file made before redo (version 3: steps without surface or redo) opens, its steps undo and redo."""
    path = tmp_path / "v3.story"
    p = _story(path)
    p.rename(p.scene("Dock"), "Quay")
    p.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("ALTER TABLE undo_steps DROP COLUMN surface")
    conn.execute("ALTER TABLE undo_steps DROP COLUMN redo")
    conn.execute("PRAGMA user_version = 3")
    conn.close()
    p = open_project(path)
    assert p.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert p.undo() == "rename scene Dock"
    assert p.redo() == "rename scene Dock"
    assert {s.title for s in p.scenes} == {"Start", "Quay"}
    p.close()
