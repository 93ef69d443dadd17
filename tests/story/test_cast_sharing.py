"""The cast library shared by several writers at once: no lost updates, one name per character
whatever its case, damaged cards listed with their reason, never breaking the rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench import open_project
from workbench.errors import CardError, DuplicateName, StaleCharacter, UnsafeName
from workbench.story.cast import LibraryCharacter, open_cast

UPDATER = textwrap.dedent("""
    import sys
    from workbench.story.cast import open_cast
    folder, field, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lib = open_cast(folder)
    for i in range(count):
        lib.update("Mara Quell", **{field: f"{field} {i}"})
""")

ADDER = textwrap.dedent("""
    import os, sys, time
    from workbench.errors import DuplicateName
    from workbench.story.cast import open_cast
    folder, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
    lib = open_cast(folder)
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        lib.add(name, description=name)
        print("added")
    except DuplicateName as exc:
        print("refused:", exc)
""")


def test_two_processes_updating_one_character_lose_no_update(tmp_path: Path) -> None:
    """Before: 200 updates from two processes left revision 101 (half the changes lost)."""
    folder = tmp_path / "cast"
    open_cast(folder).add("Mara Quell", description="keeper", personality="dry")
    procs = [
        subprocess.Popen([sys.executable, "-c", UPDATER, str(folder), field, "100"], stderr=subprocess.PIPE)
        for field in ("description", "personality")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err.decode()
    mara = open_cast(folder)["Mara Quell"]
    assert mara.version == 201
    assert mara.description == "description 99" and mara.personality == "personality 99"
    assert [f.name for f in folder.glob("*.json")] == ["mara-quell.json"]


def test_two_characters_added_at_once_whose_names_differ_in_case(tmp_path: Path) -> None:
    """Before: both reported success and one file survived (9 of 10 trials)."""
    for trial in range(4):
        folder = tmp_path / f"cast{trial}"
        open_cast(folder)
        go = tmp_path / f"go{trial}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", ADDER, str(folder), name, str(go)], stdout=subprocess.PIPE, text=True
            )
            for name in ("Mara Quell", "mara quell")
        ]
        time.sleep(1.5)  # both processes are waiting at the start line
        go.touch()
        outs = [proc.communicate(timeout=60)[0].strip() for proc in procs]
        assert sorted(o.split(":")[0] for o in outs) == ["added", "refused"], outs
        refused = next(o for o in outs if o.startswith("refused"))
        assert "already has a character called" in refused and "differ only in case" in refused
        lib = open_cast(folder)
        assert len(lib) == 1 and len(list(folder.glob("*.json"))) == 1


def test_a_stale_save_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    lib = open_cast(tmp_path / "cast")
    lib.add("Mara Quell", description="keeper")
    mine = lib["Mara Quell"]  # read at revision 1
    lib.update("Mara Quell", description="lighthouse keeper")  # someone else: revision 2
    before = mine.file.read_bytes() if mine.file else b""
    mine.fields["description"] = "my keeper"
    with pytest.raises(StaleCharacter, match="revision 2, not the revision 1"):
        lib.save(mine)
    assert mine.file is not None and mine.file.read_bytes() == before
    fresh = lib["Mara Quell"]
    fresh.fields["description"] = "my keeper"
    assert lib.save(fresh).version == 3
    assert lib.save(fresh).version == 4  # the saved object moves to its new revision


def test_a_project_character_saves_again_and_again_but_not_over_a_newer_one(tmp_path: Path) -> None:
    lib = open_cast(tmp_path / "cast")
    p = open_project(tmp_path / "p.story")
    ines = p.cast.add("Ines Quell", description="harbour master")
    assert lib.save(ines).version == 1
    assert p.cast["Ines Quell"].library_version == 1
    p.cast["Ines Quell"].update(description="retired harbour master")
    assert lib.save(p.cast["Ines Quell"]).version == 2
    lib.update("Ines Quell", description="changed by a teammate")  # revision 3
    with pytest.raises(StaleCharacter):
        lib.save(p.cast["Ines Quell"])
    assert lib["Ines Quell"].description == "changed by a teammate"
    p.close()


def test_names_are_unique_whatever_their_case(tmp_path: Path) -> None:
    lib = open_cast(tmp_path / "cast")
    lib.add("Mara Quell")
    lib.add("Ines")
    with pytest.raises(DuplicateName):
        lib.add("MARA QUELL")
    with pytest.raises(DuplicateName):
        lib.update("Ines", name="mara quell")
    lib.update("Ines", name="INES")  # its own name in another case is fine
    assert sorted(c.name for c in lib) == ["INES", "Mara Quell"]


def _card(name: str, **ext: object) -> str:
    return json.dumps(
        {
            "spec": "chara_card_v3",
            "data": {
                "name": name,
                "description": "d",
                "extensions": {"story_workbench": {"version": 1, **ext}},
            },
        }
    )


def test_damaged_cards_are_listed_with_their_reason_and_never_hide_the_rest(tmp_path: Path) -> None:
    """Before: one card with a bad revision, or a 100k-deep JSON, broke listing the whole library."""
    folder = tmp_path / "cast"
    lib = open_cast(folder)
    lib.add("Mara Quell", description="keeper")
    (folder / "bad-revision.json").write_text(_card("Bad Rev", revision="abc"))
    (folder / "zero-revision.json").write_text(_card("Zero", revision=0))
    (folder / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "not-json.json").write_text("{not json")
    (folder / "latin1.json").write_bytes(b'{"data": {"name": "\xe9"}}')
    (folder / "markup.json").write_text(_card("<img src=x onerror=alert(1)>"))
    (folder / "no-data.json").write_text('{"spec": "chara_card_v3"}')
    (folder / "tags.json").write_text(json.dumps({"data": {"name": "T", "tags": "x"}}))
    os.symlink("/dev/zero", folder / "endless.json")
    assert [c.name for c in lib] == ["Mara Quell"]
    assert lib["mara quell"].description == "keeper"
    damaged = {d.file.name: d.reason for d in lib.damaged()}
    assert set(damaged) == {
        "bad-revision.json",
        "zero-revision.json",
        "deep.json",
        "not-json.json",
        "latin1.json",
        "markup.json",
        "no-data.json",
        "tags.json",
        "endless.json",
    }
    assert "revision" in damaged["bad-revision.json"] and "nested too deeply" in damaged["deep.json"]
    assert "markup" in damaged["markup.json"] and "link" in damaged["endless.json"]
    assert lib.add("Ines").version == 1  # the library still takes new characters


def test_markup_in_a_library_name_is_refused(tmp_path: Path) -> None:
    lib = open_cast(tmp_path / "cast")
    with pytest.raises(UnsafeName, match="markup"):
        lib.add("<img src=x onerror=alert(1)>")
    with pytest.raises(UnsafeName):
        lib.save(LibraryCharacter("c_x", "</title><script>alert(1)</script>", 0, {}))
    assert list((tmp_path / "cast").glob("*.json")) == []


def test_a_card_named_with_markup_is_refused_on_import(tmp_path: Path) -> None:
    from workbench.interop.cards import import_card

    card = tmp_path / "evil.json"
    card.write_text(_card("<img src=x onerror=alert(1)>"))
    p = open_project(tmp_path / "p.story")
    before = p.content_hash()
    with pytest.raises(CardError, match="HTML markup"):
        import_card(card, p)
    assert p.content_hash() == before and len(p.cast) == 0
    p.close()


def test_listing_reads_only_the_cards_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every open page lists the library after each change to the story: unchanged cards are not reread."""
    from workbench.story.cast import CastLibrary

    folder = tmp_path / "cast"
    lib = open_cast(folder)
    for name in ("Mara", "Ines", "Tomas"):
        lib.add(name, description=name)
    reads: list[str] = []
    real = CastLibrary._read
    monkeypatch.setattr(CastLibrary, "_read", lambda self, f: (reads.append(f.name), real(self, f))[1])
    assert [c.name for c in open_cast(folder)] == ["Ines", "Mara", "Tomas"]
    first = len(reads)
    assert [c.name for c in open_cast(folder)] == ["Ines", "Mara", "Tomas"]
    assert len(reads) == first  # nothing changed: nothing reread
    open_cast(folder).update("Ines", description="harbour master")
    reads.clear()
    assert open_cast(folder)["Ines"].description == "harbour master"
    assert reads == ["ines.json"]
    got = open_cast(folder)["Mara"]
    got.fields["description"] = "changed in memory only"
    assert open_cast(folder)["Mara"].description == "Mara"  # callers get their own copies
