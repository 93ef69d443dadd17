"""The trl-sft, trl-dpo and ratings exports: TRL columns, loadable with datasets, split folders, CLI."""

from __future__ import annotations

import json
import os
import random
import stat

import pytest

from workbench.cli import main
from workbench.interop.registry import export_project, get_format
from workbench.training import ab_pair, add_reference, references, references_for
from workbench.training.dataset import NoFeedback
from workbench.training.references import remove_reference

from .conftest import model_take


def _feedback(project):
    """Three scenes with choices, an edit, an A/B pick and ratings."""
    scenes = [project.add_scene(f"Scene {i}") for i in range(3)]
    for i, scene in enumerate(scenes):
        a, b = model_take(scene, f"Scene {i}, take A."), model_take(scene, f"Scene {i}, take B.")
        a.choose()
        a.rate(5)
        b.rate(2)
        if i == 0:
            edited = b.edit("Scene 0, take B, mended.")
            project.record_ab(edited, a)
    return scenes


@pytest.mark.parametrize(
    ("fmt", "columns"),
    [
        ("trl-sft", {"prompt", "completion"}),
        ("trl-dpo", {"prompt", "chosen", "rejected"}),
        ("ratings", {"prompt", "completion", "label", "rating"}),
    ],
)
def test_exports_load_with_datasets(project, tmp_path, fmt, columns):
    datasets = pytest.importorskip("datasets")
    _feedback(project)
    out = tmp_path / f"data.{fmt}.jsonl"
    assert export_project(project, fmt, out) == [out]
    ds = datasets.load_dataset("json", data_files=str(out), split="train", cache_dir=str(tmp_path / "hf"))
    assert columns <= set(ds.column_names) and set(ds.column_names) - columns == {"metadata"}
    assert ds.num_rows >= 3
    assert all(m["rater"] == "writer" for m in ds["metadata"])
    folder = tmp_path / f"{fmt}-split"
    written = export_project(project, fmt, folder, split="0.34", seed="1", metadata="false")
    assert {p.name for p in written} == {"train.jsonl", "test.jsonl", "README.md"}
    both = datasets.load_dataset(
        "json",
        data_files={"train": str(folder / "train.jsonl"), "test": str(folder / "test.jsonl")},
        cache_dir=str(tmp_path / "hf2"),
    )
    assert set(both["train"].column_names) == columns
    assert both["train"].num_rows + both["test"].num_rows == ds.num_rows and both["test"].num_rows > 0
    card = (folder / "README.md").read_text()
    assert "license: other" in card and "load_dataset" in card and "| test |" in card and "tiny" in card


def test_split_export_keeps_scenes_apart_and_repeats(project, tmp_path):
    _feedback(project)
    export_project(project, "trl-dpo", tmp_path / "a", split=0.34, seed=5)
    export_project(project, "trl-dpo", tmp_path / "b", split=0.34, seed=5)
    for name in ("train.jsonl", "test.jsonl"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    scenes = {}
    for part in ("train", "test"):
        lines = (tmp_path / "a" / f"{part}.jsonl").read_text().splitlines()
        scenes[part] = {json.loads(line)["metadata"]["scene_id"] for line in lines}
    assert scenes["test"] and not scenes["train"] & scenes["test"]


def test_no_feedback_is_a_clear_error_and_writes_nothing(project, tmp_path):
    scene = project.add_scene("Quiet")
    model_take(scene, "Unjudged.").choose(rater="auto")
    for fmt in ("trl-sft", "trl-dpo", "ratings"):
        with pytest.raises(NoFeedback, match="no human feedback yet"):
            export_project(project, fmt, tmp_path / "out.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    assert list(tmp_path.iterdir()) == [
        tmp_path / "story.story",
        *[p for p in tmp_path.iterdir() if p.name != "story.story"],
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_registered_formats():
    for name in ("trl-sft", "trl-dpo", "ratings"):
        assert get_format(name).export is not None


def test_cli_export_with_filters(project, tmp_path, capsys):
    _feedback(project)
    path = project.file
    project.close()
    out = tmp_path / "dpo"
    assert (
        main(
            [
                "export",
                str(path),
                "--format",
                "trl-dpo",
                "-o",
                str(out),
                "--split",
                "0.34",
                "--rater",
                "writer",
                "--since",
                "2000-01-01",
                "--min-rating",
                "3",
            ]
        )
        == 0
    )
    assert (out / "README.md").is_file() and "wrote" in capsys.readouterr().out
    assert (
        main(
            ["export", str(path), "--format", "trl-sft", "-o", str(tmp_path / "x.jsonl"), "--rater", "nobody"]
        )
        == 1
    )
    assert "no human feedback yet matching rater" in capsys.readouterr().err
    assert (
        main(["export", str(path), "-f", "trl-sft", "-o", str(tmp_path / "m.jsonl"), "-O", "messages=true"])
        == 0
    )
    first = json.loads((tmp_path / "m.jsonl").read_text().splitlines()[0])
    assert first["messages"][-1]["role"] == "assistant"


def test_blind_ab_pair(project):
    scene = project.add_scene("Pier")
    a, b = model_take(scene, "A."), model_take(scene, "B.")
    orders = {
        tuple(t.id for t in (p.a, p.b))
        for p in (ab_pair(project, scene, random.Random(i)) for i in range(12))
    }
    assert orders == {(a.id, b.id), (b.id, a.id)}
    pair = ab_pair(project, scene, 3)
    assert ab_pair(project, scene, 3) == pair  # the same seed, the same order
    winner = pair.record("b", rater="ann")
    last = project.feedback()[-1]
    assert (last.kind, last.rater, last.take_id, last.others) == ("ab", "ann", winner.id, (pair.a.id,))
    with pytest.raises(Exception, match="pick"):
        pair.record("c")
    lonely = project.add_scene("Lonely")
    model_take(lonely, "Only one.")
    with pytest.raises(Exception, match="two different takes"):
        ab_pair(project, lonely)


def test_character_references(project):
    mara = project.cast.add("Mara", extensions={"other_tool": {"x": 1}})
    pose = add_reference(project, mara, "pose_ref", b"\x89PNG fake pose", "image/png", note="arms crossed")
    voice = add_reference(project, "Mara", "voice_ref", b"RIFF fake wav", "audio/wav")
    assert [a.sha256 for a in references(project, mara)] == [pose.sha256, voice.sha256]
    assert references(project, mara, "voice_ref")[0].data == b"RIFF fake wav"
    ext = project.cast["Mara"].extensions
    assert (
        ext["other_tool"] == {"x": 1} and ext["story_workbench_refs"]["pose_ref"][0]["note"] == "arms crossed"
    )
    assert references_for(project, "pose_ref") == {"Mara": b"\x89PNG fake pose"}
    with pytest.raises(Exception, match="image/"):
        add_reference(project, mara, "expression_ref", b"x", "audio/wav")
    with pytest.raises(Exception, match="reference kind"):
        add_reference(project, mara, "smell_ref", b"x", "image/png")
    project.undo()  # the voice reference, one step
    assert [a.sha256 for a in references(project, mara)] == [pose.sha256]
    remove_reference(project, mara, pose.sha256)
    assert references(project, mara) == []


def test_exports_are_atomic_with_the_users_mode_and_replace_links(project, tmp_path):
    _feedback(project)
    victim = tmp_path / "victim.jsonl"
    victim.write_text("not yours")
    out = tmp_path / "data" / "sft.jsonl"
    out.parent.mkdir()
    out.symlink_to(victim)
    old = os.umask(0o022)
    try:
        export_project(project, "trl-sft", out)
        export_project(project, "trl-dpo", tmp_path / "data" / "dpo", split=0.5)
    finally:
        os.umask(old)
    assert not out.is_symlink() and victim.read_text() == "not yours"
    assert stat.S_IMODE(out.stat().st_mode) == 0o644 and out.read_text().startswith("{")
    folder = tmp_path / "data" / "dpo"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o644}
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["dpo", "sft.jsonl"]
