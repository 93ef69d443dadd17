"""The cast library: V3 card files, atomic writes, pinned snapshots, pulling newer versions."""

from __future__ import annotations

import json
import os
import stat

import pytest

from workbench import open_cast
from workbench.errors import CardError, DuplicateName
from workbench.story.cards import card_v3_to_character, character_to_card_v3


def test_library_lives_under_workbench_home(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path / "home"))
    lib = open_cast()
    lib.add("Mara Quell", description="keeper")
    assert (tmp_path / "home" / "cast" / "mara-quell.json").exists()


def test_cards_are_v3_json_with_our_fields_under_extensions(tmp_path):
    lib = open_cast(tmp_path / "cast")
    ch = lib.add(
        "Mara Quell",
        description="keeper",
        appearance="grey coat",
        voice={"pitch": -1.5},
        extensions={"sillytavern": {"talkativeness": "0.5"}},
        alternate_greetings=["Evening."],
    )
    card = json.loads(ch.file.read_text())
    assert card["spec"] == "chara_card_v3" and card["spec_version"] == "3.0"
    data = card["data"]
    assert data["name"] == "Mara Quell" and data["description"] == "keeper"
    assert data["alternate_greetings"] == ["Evening."]
    assert data["extensions"]["sillytavern"] == {"talkativeness": "0.5"}
    ours = data["extensions"]["story_workbench"]
    assert ours["version"] == 1 and ours["appearance"] == "grey coat" and ours["voice"] == {"pitch": -1.5}
    assert not list(tmp_path.joinpath("cast").glob("*.tmp"))  # atomic: no temp files left


def test_cards_get_the_users_file_mode_and_saves_are_fsynced(tmp_path, monkeypatch):
    """A shared library is read by teammates and tools: cards are 0o666 less the umask, not 0o600."""
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd))[1])
    old = os.umask(0o022)
    try:
        lib = open_cast(tmp_path / "cast")
        ch = lib.add("Mara Quell", description="keeper")
        assert stat.S_IMODE(ch.file.stat().st_mode) == 0o644
        ch.file.chmod(0o664)  # a team's group-writable library stays so after an update
        lib.update("Mara Quell", description="lighthouse keeper")
        assert stat.S_IMODE(ch.file.stat().st_mode) == 0o664
    finally:
        os.umask(old)
    assert len(synced) >= 4  # each save: the card and the folder
    # the card and the library's lock file, nothing temporary
    assert sorted(p.name for p in tmp_path.joinpath("cast").iterdir()) == [".cast.lock", "mara-quell.json"]


def test_card_round_trip_keeps_unknown_fields():
    card = {
        "spec": "chara_card_v3",
        "spec_version": "3.0",
        "data": {
            "name": "X",
            "description": "d",
            "personality": "p",
            "scenario": "s",
            "first_mes": "hi",
            "mes_example": "<START>",
            "creator_notes": "",
            "system_prompt": "sys",
            "post_history_instructions": "",
            "alternate_greetings": [],
            "tags": ["t"],
            "creator": "someone",
            "character_version": "3",
            "nickname": "Xy",
            "source": ["here"],
            "extensions": {"depth_prompt": {"depth": 4}},
        },
    }
    fields = card_v3_to_character(card)
    assert fields["card_extra"]["nickname"] == "Xy" and fields["card_extra"]["creator"] == "someone"
    back = character_to_card_v3(fields)
    for key in ("nickname", "source", "system_prompt", "creator", "scenario", "first_mes"):
        assert back["data"][key] == card["data"][key]
    assert back["data"]["extensions"]["depth_prompt"] == {"depth": 4}


def test_bad_cards_raise_card_error(tmp_path):
    with pytest.raises(CardError):
        card_v3_to_character({"spec": "chara_card_v3", "data": {"name": ""}})
    with pytest.raises(CardError):
        card_v3_to_character({"data": {"name": "x", "tags": "not a list"}})
    lib = open_cast(tmp_path / "cast")
    (tmp_path / "cast" / "broken.json").write_text("{not json")
    assert len(lib) == 0 and lib.check()[0][0].name == "broken.json"


def test_project_pins_a_snapshot_and_pulls_newer(tmp_path, project):
    lib = open_cast(tmp_path / "cast")
    lib.add("Mara Quell", description="keeper")
    pinned = project.cast.use(lib["Mara Quell"])
    assert pinned.library_version == 1
    lib.update("Mara Quell", description="older keeper")
    assert project.cast["Mara Quell"].description == "keeper"  # the pin does not move by itself
    assert [(c.name, v) for c, v in project.cast.outdated(lib)] == [("Mara Quell", 2)]
    project.cast.pull("Mara Quell", lib)
    assert project.cast["Mara Quell"].description == "older keeper"
    assert project.cast["Mara Quell"].library_version == 2 and project.cast.outdated(lib) == []
    with pytest.raises(DuplicateName):
        lib.add("mara quell")


def test_one_character_many_projects(tmp_path):
    from workbench import open_project

    lib = open_cast(tmp_path / "cast")
    star = lib.add("Mara Quell", description="keeper", appearance="grey coat", image_seed=42)
    projects = [open_project(tmp_path / f"p{i}.story") for i in range(2)]
    pins = [p.cast.use(star) for p in projects]
    assert pins[0].library_id == pins[1].library_id == star.id
    assert pins[0].palette == pins[1].palette and pins[0].image_seed == pins[1].image_seed == 42
    for p in projects:
        p.close()


def test_save_project_character_to_library(tmp_path, project):
    lib = open_cast(tmp_path / "cast")
    c = project.cast.add("Ines Quell", description="harbour master")
    saved = lib.save(c)
    assert lib["Ines Quell"].description == "harbour master" and saved.version == 1
