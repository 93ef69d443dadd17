"""The take grid: one scene, takes across models × seeds × temperatures, each a saved take."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from workbench.errors import InvalidInput

pytest.importorskip("torch")

SCENE = "A Stranger on the Quay"


@pytest.fixture(scope="module")
def two_models(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two tiny random-weight Llamas (different weights): two models a writer compares."""
    from tests.tiny_models import build_tiny_llama

    return [str(build_tiny_llama(tmp_path_factory.mktemp(f"grid-llama-{s}"), seed=s)) for s in (11, 12)]


@pytest.fixture
def session(sample: Any, two_models: list[str]) -> Any:
    from workbench.session import Session

    return Session(sample, text=two_models[0])


def test_a_grid_is_takes_of_one_seed_across_models_and_temperatures(
    session: Any, two_models: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "24")
    scene = session.project.scene(SCENE)
    chosen_before = scene.chosen.id
    takes_before = len(scene.takes)
    heard: list[Any] = []
    grid = session.take_grid(
        SCENE, models=two_models, temperatures=(0.5, 1.2), takes=2, seed=9, frames=1, on_cell=heard.append
    )
    assert grid.rows == [(m, t) for m in two_models for t in (0.5, 1.2)]
    assert len(grid.cells) == 8 and heard == grid.cells
    assert len(scene.takes) == takes_before + 8
    assert scene.chosen.id == chosen_before  # a grid offers takes; it picks none
    for model, temp in grid.rows:
        row = grid.row(model, temp)
        assert [c.column for c in row] == [0, 1]
        for cell in row:
            prov = cell.take.provenance
            assert cell.take.scene.id == scene.id and cell.take.source == "model"
            assert prov["params"]["temperature"] == temp and prov["seed"] == 9
            assert prov["take_index"] == cell.column
            assert len(cell.frames) == 1 and cell.frames[0].mime.startswith("image/")
    # a column is the same take of the same seed in every row: its own seed and, per model, its plan
    for column in (0, 1):
        cells = [grid.cell(m, t, column) for m, t in grid.rows]
        assert len({c.seed for c in cells}) == 1
        for model in two_models:
            plans = [grid.cell(model, t, column).take.provenance.get("plan") for t in (0.5, 1.2)]
            assert plans[0] == plans[1]
    # the two models wrote different takes of the same seed
    texts = {m: [c.take.text for c in grid.row(m, 0.5)] for m in two_models}
    assert texts[two_models[0]] != texts[two_models[1]]


def test_the_same_grid_again_is_the_same_takes_not_new_ones(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    first = session.take_grid(SCENE, temperatures=(0.7,), takes=2, seed=4)
    count = len(session.project.scene(SCENE).takes)
    again = session.take_grid(SCENE, temperatures=(0.7,), takes=2, seed=4)
    assert [c.take.id for c in again.cells] == [c.take.id for c in first.cells]
    assert len(session.project.scene(SCENE).takes) == count


def test_pick_and_rate_from_a_grid_are_feedback_as_usual(
    session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    grid = session.take_grid(SCENE, temperatures=(0.7, 1.0), takes=1, seed=3)
    cell = grid.cell(session.text_spec, 1.0, 0)
    session.choose(cell.take)
    session.rate(cell.take, 4)
    scene = session.project.scene(SCENE)
    assert scene.chosen.id == cell.take.id and cell.take.rating == 4
    kinds = [e.kind for e in session.project.feedback() if e.take_id == cell.take.id]
    assert "choose" in kinds and "rate" in kinds


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"temperatures": (3.0,)}, "between 0 and 2"),
        ({"temperatures": (0.5, 0.5)}, "each temperature once"),
        ({"takes": 0}, "between 1 and 8"),
        ({"frames": 9}, "between 0 and 6"),
        ({"temperatures": ()}, "at least one"),
    ],
)
def test_a_grid_asked_wrongly_is_a_clear_error_and_changes_nothing(
    session: Any, options: dict[str, Any], words: str
) -> None:
    before = len(session.project.scene(SCENE).takes)
    with pytest.raises(InvalidInput, match=words):
        session.take_grid(SCENE, **options)
    assert len(session.project.scene(SCENE).takes) == before


def test_a_stopped_grid_keeps_the_rows_written(session: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    stop = threading.Event()
    grid = session.take_grid(
        SCENE, temperatures=(0.6, 0.9), takes=1, seed=2, stop=stop, on_cell=lambda _c: stop.set()
    )
    assert [(c.temperature, c.column) for c in grid.cells] == [(0.6, 0)]


def test_frames_of_one_take_are_drawn_from_its_text(session: Any) -> None:
    scene = session.project.scene(SCENE)
    other = scene.add_take("EXT. QUAY - NIGHT\n\nMara Quell waits by the rope.", "writer")
    frames = session.take_frames(other, frames=2, seed=1)  # at most 2: one per shot the text has
    assert 1 <= len(frames) <= 2 and all(f.provenance.get("scene") == scene.id for f in frames)
    assert all("Mara" in f.provenance.get("prompt", "") for f in frames)
    chosen = {a.sha256 for a in session.storyboard(scene, frames=2, seed=1)}
    assert not chosen & {f.sha256 for f in frames}  # not the chosen take's storyboard
    assert session.take_frames(other, frames=2, seed=1)[0].sha256 == frames[0].sha256  # cached


def test_a_grid_is_rebuilt_from_the_project(
    session: Any, two_models: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reopened notebook or page shows the last grid again: it is the scene's saved takes."""
    from workbench import open_project
    from workbench.session import Session

    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    assert session.grid_of(SCENE) is None
    grid = session.take_grid(SCENE, models=two_models, temperatures=(0.4,), takes=2, seed=21)
    with open_project(session.project.file, create=False) as again:
        rebuilt = Session(again, text=two_models[0]).grid_of(SCENE)
        assert rebuilt is not None and rebuilt.seed == 21
        assert rebuilt.rows == grid.rows
        assert [(c.model, c.temperature, c.column, c.take.id) for c in rebuilt.cells] == [
            (c.model, c.temperature, c.column, c.take.id) for c in grid.cells
        ]
