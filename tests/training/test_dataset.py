"""Dataset rows from the feedback log: exact rows for random feedback sequences, filters, split."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workbench import open_project
from workbench.errors import InvalidInput
from workbench.training.dataset import (
    chatml,
    preference_rows,
    prompt_messages,
    rating_rows,
    sft_rows,
    split_by_scene,
)

from .conftest import model_take

RATERS = ("writer", "ann", "auto")
op = st.one_of(
    st.tuples(st.just("rate"), st.integers(0, 3), st.integers(1, 5), st.sampled_from(RATERS)),
    st.tuples(st.just("choose"), st.integers(0, 3), st.just(0), st.sampled_from(RATERS)),
    st.tuples(st.just("edit"), st.integers(0, 3), st.just(0), st.just("writer")),
    st.tuples(st.just("ab"), st.integers(0, 3), st.integers(0, 3), st.sampled_from(RATERS)),
    st.tuples(st.just("undo"), st.just(0), st.just(0), st.just("writer")),
)


def _build(root: Path):
    project = open_project(root / "p.story")
    takes = []
    for s in range(2):
        scene = project.add_scene(f"Scene {s}")
        prompt = chatml("You write scenes.", f"Write scene {s}.")
        takes += [model_take(scene, f"Scene {s} take {i}.", prompt) for i in range(2)]
    return project, takes


def _expected(project, steps, min_rating=4):
    """An independent reading of the recorded steps: what each format must contain."""
    events = [e for step in steps for e in step if e["rater"] != "auto"]
    text = {}

    def t(take_id):
        if take_id not in text:
            text[take_id] = project.take(take_id).text
        return text[take_id]

    prompt = {
        tid: project.take(tid).provenance["prompt"] for e in events for tid in [e["take"], *e["others"]]
    }
    # preferences: latest judgement per unordered pair of texts
    pairs = {}
    for e in events:
        losers = (
            e["others"] if e["kind"] == "choose" else e["others"][:1] if e["kind"] in ("edit", "ab") else []
        )
        for lose in losers:
            if t(e["take"]) != t(lose):
                key = (prompt[e["take"]], frozenset((t(e["take"]), t(lose))))
                pairs[key] = (prompt[e["take"]], t(e["take"]), t(lose))
    # ratings: latest per take overall (filters) and per (take, rater)
    rating, per_rater = {}, {}
    for e in events:
        if e["kind"] == "rate":
            rating[e["take"]] = e["value"]
            per_rater[(e["take"], e["rater"])] = e["value"]
    accepted = {e["take"] for e in events if e["kind"] == "edit"}
    accepted |= {tid for tid, v in rating.items() if v >= min_rating}
    last_choice = {}
    for e in events:
        if e["kind"] in ("choose", "edit"):
            last_choice[project.take(e["take"]).scene.id] = e["take"]
    accepted |= set(last_choice.values())
    accepted = {tid for tid in accepted if rating.get(tid, 5) >= min_rating}
    sft = {(prompt.get(tid) or project.take(tid).provenance["prompt"], t(tid)) for tid in accepted}
    ratings = {(tid, r, v, v >= min_rating) for (tid, r), v in per_rater.items()}
    return set(pairs.values()), sft, ratings


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=12))
@example(ops=[("choose", 0, 0, "writer"), ("rate", 0, 1, "writer")])
@example(ops=[("edit", 1, 0, "writer"), ("choose", 1, 0, "writer"), ("undo", 0, 0, "writer")])
@example(
    ops=[("choose", 0, 0, "auto"), ("ab", 1, 0, "ann"), ("choose", 0, 0, "writer"), ("rate", 2, 4, "ann")]
)
def test_random_feedback_gives_exactly_the_expected_rows(ops):
    with tempfile.TemporaryDirectory() as tmp:
        project, takes = _build(Path(tmp))
        try:
            steps: list[list[dict]] = []
            for n, (kind, a, b, rater) in enumerate(ops):
                pool = [project.take(t.id) for t in takes]
                if kind == "undo":
                    if steps:
                        project.undo()
                        gone = steps.pop()
                        for e in gone:
                            if e["kind"] == "edit":
                                takes.remove(next(t for t in takes if t.id == e["take"]))
                    continue
                take = pool[a % len(pool)]
                if kind == "rate":
                    take.rate(b, rater=rater)
                    steps.append(
                        [{"kind": "rate", "rater": rater, "take": take.id, "others": [], "value": b}]
                    )
                elif kind == "choose":
                    others = [x.id for x in take.scene.takes if x.id != take.id]
                    take.choose(rater=rater)
                    steps.append([{"kind": "choose", "rater": rater, "take": take.id, "others": others}])
                elif kind == "edit":
                    new = take.edit(f"{take.text} Edited {n}.")
                    takes.append(new)
                    steps.append([{"kind": "edit", "rater": rater, "take": new.id, "others": [take.id]}])
                elif kind == "ab":
                    siblings = [x for x in take.scene.takes if x.id != take.id]
                    loser = siblings[b % len(siblings)]
                    project.record_ab(take, loser, rater=rater)
                    steps.append([{"kind": "ab", "rater": rater, "take": take.id, "others": [loser.id]}])
            pairs, sft, ratings = _expected(project, steps)
            got_pairs = [(r["prompt"], r["chosen"], r["rejected"]) for r in preference_rows(project)]
            assert len(got_pairs) == len(set(got_pairs))
            assert set(got_pairs) == pairs
            got_sft = [(r["prompt"], r["completion"]) for r in sft_rows(project)]
            assert len(got_sft) == len(set(got_sft)) and set(got_sft) == sft
            got_ratings = {
                (r["metadata"]["take_id"], r["metadata"]["rater"], r["rating"], r["label"])
                for r in rating_rows(project)
            }
            assert got_ratings == ratings
            for row in preference_rows(project) + sft_rows(project) + rating_rows(project):
                assert row["metadata"]["rater"] != "auto"
        finally:
            project.close()


def test_auto_choices_are_never_preferences(project):
    scene = project.add_scene("Dock")
    a, b = model_take(scene, "A take."), model_take(scene, "B take.")
    b.choose(rater="auto")
    b.rate(5, rater="auto")
    assert preference_rows(project) == [] and sft_rows(project) == [] and rating_rows(project) == []
    with pytest.raises(InvalidInput, match="auto"):
        preference_rows(project, rater="auto")
    a.choose()
    rows = preference_rows(project)
    assert [(r["chosen"], r["rejected"]) for r in rows] == [("A take.", "B take.")]
    meta = rows[0]["metadata"]
    assert (
        meta["scene_id"] == scene.id and meta["chosen_take_id"] == a.id and meta["rejected_take_id"] == b.id
    )
    assert meta["chosen_model"] == "tiny" and meta["chosen_seed"] == 7 and meta["kind"] == "choose"


def test_filters_rater_since_branch_and_min_rating(project):
    s1 = project.add_scene("One")
    s2 = project.add_scene("Two", after=s1, choice="go")
    project.branches["side"] = s1
    s3 = project.add_scene("Three", after=s1, choice="stay", branch="side")
    t1, t1b = model_take(s1, "One a."), model_take(s1, "One b.")
    t2 = model_take(s2, "Two a.")
    t3 = model_take(s3, "Three a.")
    t1.choose(rater="ann")
    t2.rate(5)
    t3.rate(4)
    t1b.rate(2)
    assert {r["completion"] for r in sft_rows(project)} == {"One a.", "Two a.", "Three a."}
    assert {r["completion"] for r in sft_rows(project, rater="ann")} == {"One a."}
    assert {r["completion"] for r in sft_rows(project, branch="side")} == {"One a.", "Three a."}
    assert {r["completion"] for r in sft_rows(project, min_rating=5)} == {"One a.", "Two a."}
    assert sft_rows(project, since="2999-01-01") == []
    assert len(sft_rows(project, since="2000-01-01")) == 3
    # an explicit low rating wins over a choice
    t1.rate(1)
    assert "One a." not in {r["completion"] for r in sft_rows(project)}
    assert [r["chosen"] for r in preference_rows(project)] == ["One a."]
    assert preference_rows(project, min_rating=3) == []
    with pytest.raises(InvalidInput):
        sft_rows(project, since="last tuesday")
    with pytest.raises(InvalidInput):
        sft_rows(project, min_rating=9)


def test_writer_takes_get_a_rebuilt_prompt_or_are_skipped(sample):
    scene = sample.scenes[1]
    writer = scene.takes[0]
    assert writer.provenance.get("prompt") is None
    writer.rate(5)
    rows = sft_rows(sample)
    assert len(rows) == 1
    prompt = rows[0]["prompt"]
    assert prompt.startswith("<|im_start|>system\n") and prompt.endswith("<|im_start|>assistant\n")
    assert scene.title in prompt
    assert sft_rows(sample, rebuild_prompts=False) == []
    messages = sft_rows(sample, messages=True)[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[-1]["content"] == writer.text
    # a model take in a pair lends its prompt to a writer's take
    other = model_take(scene, "A generated take.")
    writer.choose()
    assert preference_rows(sample)[0]["prompt"] == other.provenance["prompt"]


def test_deleted_takes_and_changed_minds(project):
    s = project.add_scene("Harbour")
    a, b = model_take(s, "A."), model_take(s, "B.")
    a.choose()
    b.choose()
    rows = preference_rows(project)
    assert [(r["chosen"], r["rejected"]) for r in rows] == [("B.", "A.")]  # latest judgement only
    gone = project.add_scene("Gone")
    c = model_take(gone, "C.")
    model_take(gone, "D.")
    c.choose()
    project.delete(gone)
    assert [(r["chosen"], r["rejected"]) for r in preference_rows(project)] == [("B.", "A.")]


def test_split_is_by_scene_and_deterministic():
    rows = [{"x": i, "metadata": {"scene_id": f"s{i % 7}"}} for i in range(40)]
    train, test = split_by_scene(rows, 0.3, seed=3)
    assert (train, test) == split_by_scene(rows, 0.3, seed=3)
    held = {r["metadata"]["scene_id"] for r in test}
    assert held and not held & {r["metadata"]["scene_id"] for r in train}
    assert len(held) == 2 and len(train) + len(test) == 40
    assert split_by_scene(rows, 0.3, seed=4) != (train, test)
    assert split_by_scene(rows, 0)[1] == []
    one_scene = [{"metadata": {"scene_id": "s"}}] * 3
    assert split_by_scene(one_scene, 0.5) == (one_scene, [])
    with pytest.raises(InvalidInput):
        split_by_scene(rows, 1.5)


def test_prompt_messages_round_trip():
    assert prompt_messages(chatml("sys", "usr")) == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "usr"},
    ]
    assert prompt_messages("plain prompt") == [{"role": "user", "content": "plain prompt"}]
