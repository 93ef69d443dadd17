"""The take grid view, driven as a writer would: type models and temperatures, make the grid,
pick and rate from it; the project file holds the takes and the feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.widgets import GridView

from .conftest import reopen

pytest.importorskip("torch")

SCENE = "A Stranger on the Quay"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.tiny_models import build_tiny_llama

    return str(build_tiny_llama(tmp_path_factory.mktemp("grid-view-llama"), seed=5))


@pytest.fixture
def grid_session(sample: Any, tiny: str) -> Any:
    from workbench.session import Session

    return Session(sample, text=tiny)


def press(button: Any) -> None:
    button.clicks += 1


def test_make_a_grid_then_pick_and_rate_from_it(
    grid_session: Any, tiny: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    view = GridView(grid_session)
    view.open(SCENE)
    assert "No grid for this scene yet" in view.body.objects[0].object
    assert view.models_input.value == tiny  # the session's own model to start with
    view.temps_input.value = "0.5, 1.1"
    view.takes_input.value = 2
    view.seed_input.value = "8"
    view.frames_input.value = 1
    press(view.run_button)
    view.wait(300)
    view.wait(5)
    assert view.error == ""
    grid = view.grid
    assert grid is not None and grid.seed == 8 and len(grid.cells) == 4
    assert view.done_cells == 4 and view.status.startswith("grid of 4 takes, seed 8")
    assert not view.run_button.disabled and view.stop_button.disabled and not view.progress.visible
    heads = [o.object for o in view.body.objects[::2]]
    assert "temperature 0.5" in heads[0] and "temperature 1.1" in heads[1]
    cards = [item for row in view.body.objects[1::2] for item in row.objects]
    assert len(cards) == 4
    html = cards[0].objects[0].object
    assert "seed" in html and "wb-grid-frame" in html  # its own seed and a storyboard frame
    # pick the second row's first take, rate it 4
    target = grid.cell(tiny, 1.1, 0).take
    pick = next(c for c in cards if target.id in c.objects[0].object).objects[1].objects[0]
    press(pick)
    assert view.error == ""
    with reopen(grid_session.project) as saved:
        assert saved.scene(SCENE).chosen.id == target.id
    # the view redrew: that card is the chosen one; rate it from its stars
    cards = [item for row in view.body.objects[1::2] for item in row.objects]
    card = next(c for c in cards if target.id in c.objects[0].object)
    assert "✓ chosen" in card.objects[0].object and card.objects[1].objects[0].disabled
    card.objects[1].objects[1].value = 4
    with reopen(grid_session.project) as saved:
        assert saved.feedback()[-1].kind == "rate" and saved.feedback()[-1].value == 4
        assert saved.feedback()[-1].take_id == target.id


def test_a_grid_shows_again_in_a_new_view_and_bad_numbers_are_clear(
    grid_session: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "12")
    first = GridView(grid_session)
    first.open(SCENE)
    first.run(temperatures=[0.7], takes=2, seed=3, frames=0, wait=True)
    assert first.error == "" and first.grid is not None
    again = GridView(grid_session)
    again.open(SCENE)
    assert again.grid is not None and [c.take.id for c in again.grid.cells] == [
        c.take.id for c in first.grid.cells
    ]
    again.temps_input.value = "warm, cold"
    press(again.run_button)
    assert "is not a number" in again.error and not again.busy
    again.temps_input.value = "5"
    press(again.run_button)
    again.wait(30)
    assert "between 0 and 2" in again.error
