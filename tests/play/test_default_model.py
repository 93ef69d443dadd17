"""A scripted play on the real default model (short scenes): moves become branches with their labels."""

from __future__ import annotations

import pytest

from workbench.session import Session

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")


def test_a_scripted_play_on_the_default_model(sample) -> None:
    session = Session(sample)  # the default model: SmolLM2-135M-Instruct
    play = session.play(start="Trusting Tomas", k=2, seed=7, pregenerate=False)
    assert play.move(0).title == "The Light Returns"  # an existing choice is followed
    streamed: list[str] = []
    typed = play.move("Ines climbs the tower with the brass key", on_token=lambda _i, t: streamed.append(t))
    assert streamed and typed.text.strip()
    assert play.last_move["source"] == "generated" and play.last_move["first_token_s"] is not None
    assert typed.takes[0].provenance["model"] and typed.takes[0].provenance["play"] is True
    offered = play.choices  # suggested by the model, constrained to JSON
    assert 1 <= len(offered) <= 2 and all(3 <= len(c) <= 120 for c in offered)
    third = play.move(0)
    assert third.text.strip()
    branch = sample.branches["play 1"]
    assert [s.title for s in branch.scenes][-4:-1] == ["Trusting Tomas", "The Light Returns", typed.title]
    pairs = list(zip(branch.scenes, branch.scenes[1:]))
    labels = [next(c.label for c, t in a.children if t.id == b.id) for a, b in pairs][-3:]
    assert labels == ["Relight the lamp before dawn", "Ines climbs the tower with the brass key", offered[0]]
    assert sample.branches["main"].tip.title == "The Light Returns"
    cont = play.state()
    assert "Continuity" in play.last_context.part("continuity").text
    assert cont.title == third.title
