"""Session editing operations (no model needed)."""

from __future__ import annotations

import pytest

from workbench import Session
from workbench.errors import InvalidInput, StoryError


def test_fork_makes_a_new_branch_from_any_scene(sample):
    s = Session(sample)
    ledger = sample.scene("A Stranger on the Quay")
    new = s.fork(ledger, "Mara sends Tomas away")
    name = sample.branches.of(new)[0]
    assert name == "Mara sends Tomas away"
    assert [x.title for x in sample.branches[name].scenes] == [
        "The Lamp Goes Dark",
        "A Stranger on the Quay",
        new.title,
    ]
    assert ("Mara sends Tomas away", new.id) in [(c.label, t.id) for c, t in ledger.children]
    again = s.fork(ledger, "Mara sends Tomas away")
    assert again.title != new.title and len(sample.branches.of(again)) == 1
    s.undo()
    assert not again.exists


def test_fork_rejects_empty_or_huge_actions(sample):
    s = Session(sample)
    with pytest.raises(InvalidInput):
        s.fork(sample.start, "   ")
    with pytest.raises(InvalidInput):
        s.fork(sample.start, "x" * 10_000)


def test_session_feedback_goes_to_the_log_with_its_rater(sample):
    s = Session(sample, rater="alex")
    scene = sample.start
    t = scene.add_take("INT. X - DAY\n\nAnother take.", source="model")
    s.choose(t)
    s.rate(t, 5)
    e = s.edit(t, "INT. X - DAY\n\nAnother take, tightened.")
    assert scene.text.endswith("tightened.")
    assert [(ev.kind, ev.rater) for ev in sample.feedback(include_auto=False)][-3:] == [
        ("choose", "alex"),
        ("rate", "alex"),
        ("edit", "alex"),
    ]
    assert e.parent == t


def test_continue_from_a_non_tip_of_a_named_branch_is_refused(sample):
    s = Session(sample)
    with pytest.raises(StoryError):
        s.continue_story(sample.start, "Something", branch="main")
