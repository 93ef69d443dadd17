"""``workbench play`` in the terminal, scripted through a pipe (stdin is not a tty)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workbench import open_project
from workbench.story.sample import build_sample


def _play(project: Path, model: str, moves: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WORKBENCH_MAX_NEW_TOKENS="8")
    return subprocess.run(
        [sys.executable, "-m", "workbench.cli", "play", str(project), "--model", model, *args],
        input=moves,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_scripted_play_follows_writes_and_quits(tmp_path: Path, tiny_dir: Path) -> None:
    path = tmp_path / "sample.story"
    build_sample(path).close()
    out = _play(path, str(tiny_dir), "1\n\n9\nMara lights a flare\n1\nq\n", "--seed", "3")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "== The Lamp Goes Dark ==" in text and "1. Go down to the harbour" in text
    assert "== Go down to the harbour ==" in text and "The whole sea, from about ten miles out." in text
    assert "! there is no choice 9; pick 1 to 1 or type what happens" in text
    assert "== Mara lights a flare ==" in text
    assert "3 moves on branch 'play 1'; the project is saved" in text
    with open_project(path, create=False) as project:
        scenes = project.branches["play 1"].scenes
        assert [s.title for s in scenes[:3]] == [
            "The Lamp Goes Dark",
            "A Stranger on the Quay",
            "Mara lights a flare",
        ]
        assert len(scenes) == 4 and all(s.text for s in scenes)
        labels = [next(c.label for c, t in a.children if t.id == b.id) for a, b in zip(scenes, scenes[1:])]
        assert labels[:2] == ["Go down to the harbour", "Mara lights a flare"]


def test_end_of_input_quits_and_errors_are_clear(tmp_path: Path, tiny_dir: Path) -> None:
    path = tmp_path / "sample.story"
    build_sample(path).close()
    out = _play(path, str(tiny_dir), "x" * 600 + "\n", "--no-prefetch")
    assert out.returncode == 0, out.stderr
    assert "! keep the action under 500 characters" in out.stdout
    assert "0 moves (nothing changed)" in out.stdout
    missing = _play(tmp_path / "nope.story", str(tiny_dir), "")
    assert missing.returncode == 1 and "nope.story" in missing.stderr
    wrong = _play(path, str(tiny_dir), "", "--branch", "main", "--start", "The Lamp Goes Dark")
    assert wrong.returncode == 1 and "starts at its last scene" in wrong.stderr
