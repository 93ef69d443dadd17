"""Session generation on a tiny random-weight model: takes, seeds, cache, context, structure, transactions."""

from __future__ import annotations

import json
import threading

import pytest

from workbench import Session
from workbench.errors import ContextOverflow, GenerationStopped, InvalidInput, StoryError


class Counting:
    """The real generator, counting the requests that reach it."""

    def __init__(self, inner):
        self.inner = inner
        self.calls = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    @property
    def fingerprint(self):
        return self.inner.fingerprint

    def generate(self, request):
        self.last = request
        self.calls.append((request.n, request.take_offset, request.attempt, request.json_schema is not None))
        return self.inner.generate(request)


@pytest.fixture
def session(sample, tiny):
    s = Session(sample, text="tiny")
    s.text_generator = Counting(tiny)
    return s


def test_write_scene_saves_takes_with_provenance(session, sample):
    scene = sample.scene("Trusting Tomas")
    before = len(scene.takes)
    tokens = []
    takes = session.write_scene(scene, n=3, seed=7, max_new_tokens=12, on_token=lambda i, t: tokens.append(i))
    assert len(takes) == 3 and len(scene.takes) == before + 3
    assert set(tokens) == {0, 1, 2}  # all three streamed
    p = takes[0].provenance
    for key in (
        "backend",
        "model",
        "fingerprint",
        "params",
        "seed",
        "take_seed",
        "prompt",
        "prompt_tokens",
        "completion_tokens",
        "seconds",
        "path",
        "branch",
        "take_index",
        "attempt",
    ):
        assert key in p, key
    assert p["seed"] == 7 and p["branch"] == "main"
    assert p["path"] == [s.id for s in sample.path(scene, "main")]
    assert "MARA QUELL" in p["prompt"] and "Story so far" in p["prompt"]
    assert [t.provenance["take_index"] for t in takes] == [0, 1, 2]
    assert len({t.provenance["take_seed"] for t in takes}) == 3
    assert all(t.source == "model" for t in takes)


def test_repeated_request_is_served_from_the_cache(session, sample):
    scene = sample.scene("Trusting Tomas")
    first = session.write_scene(scene, n=2, seed=11, max_new_tokens=10)
    calls = len(session.text_generator.calls)
    again = session.write_scene(scene, n=2, seed=11, max_new_tokens=10)
    assert len(session.text_generator.calls) == calls  # the model was not called
    assert [t.text for t in again] == [t.text for t in first]
    # asking for one more take only generates the new one
    more = session.write_scene(scene, n=3, seed=11, max_new_tokens=10)
    assert session.text_generator.calls[-1][:2] == (1, 2)
    assert [t.text for t in more[:2]] == [t.text for t in first]


def test_take_i_is_the_same_whatever_n(tmp_path, tiny):
    from workbench.story.sample import build_sample

    texts = []
    for n in (1, 3):
        p = build_sample(tmp_path / f"s{n}.story")
        s = Session(p)
        s.text_generator = tiny
        texts.append([t.text for t in s.write_scene("Trusting Tomas", n=n, seed=5, max_new_tokens=10)])
        p.close()
    assert texts[0][0] == texts[1][0]


def test_seeds_7_and_8_share_no_take(session):
    a = {t.text for t in session.write_scene("Trusting Tomas", n=3, seed=7, max_new_tokens=10)}
    b = {t.text for t in session.write_scene("Trusting Tomas", n=3, seed=8, max_new_tokens=10)}
    assert not a & b


def test_continue_story_extends_the_branch_in_one_transaction(session, sample):
    tip = sample.branches["main"].tip
    new = session.continue_story(tip, "Halvard's launch arrives", n=2, seed=3, max_new_tokens=10)
    assert sample.branches["main"].tip == new
    assert [c.label for c, t in tip.children if t == new] == ["Halvard's launch arrives"]
    assert len(new.takes) == 2 and new.chosen is not None
    assert new.takes[0].provenance["path"][-1] == new.id
    # a what-if from a scene that ends no branch makes a new branch
    mid = sample.scene("A Stranger on the Quay")
    alt = session.continue_story(mid, "Mara refuses to let him in", seed=1, max_new_tokens=8)
    branch = sample.branches.of(alt)
    assert branch and branch[0] == "Mara refuses to let him in"


def test_stop_before_any_text_saves_nothing(session, sample):
    stop = threading.Event()
    stop.set()
    before = sample.content_hash()
    with pytest.raises(GenerationStopped):
        session.continue_story(sample.branches["main"].tip, "Anything", seed=1, stop=stop)
    assert sample.content_hash() == before


def test_bad_requests(session, sample):
    with pytest.raises(InvalidInput):
        session.write_scene("Trusting Tomas", n=0)
    with pytest.raises(InvalidInput):
        session.continue_story(sample.branches["main"].tip, "")
    with pytest.raises(InvalidInput):
        session.write_scene("Trusting Tomas", seed="seven")


def test_context_lists_parts_costs_and_lore(session, sample):
    ctx = session.context("Trusting Tomas")
    names = [p.name for p in ctx.parts]
    assert names == ["system", "cast", "lore", "story", "author_note", "instruction"]
    assert all(p.tokens > 0 for p in ctx.parts)
    assert ctx.total == sum(p.tokens for p in ctx.parts) <= ctx.budget
    # entries fire on their keywords in the recent story (lamp, ferry, Halvard) plus the always-on one
    assert set(ctx.lore_fired) == {"lighthouse", "always", "salvage", "ferry"}
    assert "Fresnel lens" in ctx.part("lore").text
    first = session.context("The Lamp Goes Dark")  # no story yet: only the title's "lamp" and always-on
    assert set(first.lore_fired) == {"lighthouse", "always"} and "Halvard" not in first.part("lore").text
    assert ctx.prefix.index("Cast sheet") < ctx.prefix.index("Story so far")  # stable parts first
    assert "Author's note" in ctx.suffix and "Write the next scene" in ctx.suffix
    assert "<table" in ctx._repr_html_() and "wb-context" in ctx._repr_html_()


def test_long_story_is_summarised_or_cut_with_a_visible_note(session, sample):
    from workbench.generate.context import assemble

    history = sample.path(sample.scene("The Light Returns"), "main")[:-1]
    gen = session.text_generator
    fixed = assemble(sample, history, title="x", choice=None, count_tokens=gen.count_tokens, budget=10_000)
    small_budget = fixed.total - fixed.part("story").tokens + 150
    ctx = assemble(
        sample,
        history,
        title="x",
        choice=None,
        count_tokens=gen.count_tokens,
        budget=small_budget,
        summarise=lambda s: "summary of " + s.title,
    )
    assert ctx.total <= small_budget and ctx.notes
    with pytest.raises(ContextOverflow):
        assemble(sample, history, title="x", choice=None, count_tokens=gen.count_tokens, budget=50)


def test_suggest_choices_are_valid_structured_output(session, sample):
    out = session.suggest_choices("The Light Returns", k=2, seed=4)
    assert 1 <= len(out) <= 2 and all(isinstance(c, str) and c for c in out)
    assert session.text_generator.calls[-1][3]  # constrained by a JSON schema
    # whatever the weights: each is something a living character of the story does
    first_names = {c.name.split()[0] for c in sample.cast}
    for c in out:
        who, _, does = c.partition(" ")
        assert who in first_names and does and does[0].islower() and not does.isupper(), out


def test_outline_writes_title_characters_and_scenes(tiny, project):
    from workbench.generate.names import name_pool
    from workbench.generate.outline import premise_predicates

    s = Session(project)
    s.text_generator = tiny
    o = s.outline("A lighthouse keeper and a stranger try to save a dying island.", seed=2)
    assert project.title == o.title and o.title
    assert 2 <= len(o.characters) <= 4 and len(project.cast) == len(o.characters)
    assert 3 <= len(o.scenes) <= 6 and len(project.branches["main"]) == len(o.scenes)
    assert all(sc.summary for sc in project.scenes)
    # whatever the weights: real first and family names, and an opening that carries out the premise
    first, family = name_pool([project.logline, o.title], int(project.get_meta("outline_seed") or 0), k=10**4)
    assert all(c.name.split()[0] in first and c.name.split()[-1] in family for c in project.cast)
    opening = project.branches["main"].scenes[0].summary
    assert any(opening.endswith(p) for p in premise_predicates(project.logline)), opening
    # edit an upper level, regenerate the one below from it
    project.title = "The Last Light"
    o2 = s.regenerate("scenes", seed=3)
    assert o2.title == "The Last Light" and 3 <= len(o2.scenes) <= 6
    with pytest.raises(InvalidInput):
        s.regenerate("acts")


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_outline_on_the_default_model_is_complete_and_valid(tmp_path, seed):
    """The real 135M model yields a complete, valid outline every time (constrained decoding)."""
    from workbench import open_project
    from workbench.session import OUTLINE_SCHEMAS

    project = open_project(tmp_path / f"outline{seed}.story")
    s = Session(project)
    o = s.outline("A lighthouse keeper and a stranger try to save a dying island.", seed=seed)
    assert o.title.strip()
    chars = OUTLINE_SCHEMAS["characters"]["properties"]["characters"]
    scenes = OUTLINE_SCHEMAS["scenes"]["properties"]["scenes"]
    assert chars["minItems"] - 1 <= len(project.cast) <= chars["maxItems"]  # a repeated name is merged
    assert scenes["minItems"] <= len(project.scenes) <= scenes["maxItems"]
    assert [sc.title for sc in project.branches["main"].scenes] == [sc.title for sc in project.scenes]
    assert all(sc.summary for sc in project.scenes)
    assert all(c.description and c.appearance for c in project.cast)
    project.close()


def test_write_choice_writes_the_scene_behind_an_open_choice(session, sample):
    quay = sample.scene("A Stranger on the Quay")
    wanted = sample.add_choice(quay, "Row out to the wreck", wanted="The Wreck")
    new = session.write_choice(wanted, seed=3)
    assert new.title == "The Wreck" and new.text and new.chosen.source == "model"
    assert sample.choice(wanted.id).target == new
    with pytest.raises(StoryError, match="already leads to a scene"):
        session.write_choice(wanted)


def test_a_writer_edits_a_plan_and_writes_the_scene_again_from_the_cli(tiny_model_dir, tmp_path, capsys):
    """`workbench plan` prints a take's plan; `workbench write --plan FILE` writes from the edited plan."""
    from workbench.cli import main
    from workbench.story.project import open_project

    path = tmp_path / "s.story"
    assert main(["new", str(path), "--sample"]) == 0
    scene = "Trusting Tomas"
    common = ["--model", str(tiny_model_dir), "--takes", "1", "--max-new-tokens", "80", "--quiet"]
    assert main(["write", str(path), scene, "--seed", "3", "--structure", "screenplay", *common]) == 0
    capsys.readouterr()
    assert main(["plan", str(path), scene]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["characters"] and plan["beats"]
    plan["beats"] = [plan["beats"][0], "Tomas hands Mara the lamp and says nothing."]
    edited = tmp_path / "plan.json"
    edited.write_text(json.dumps(plan), encoding="utf-8")
    assert main(["write", str(path), scene, "--seed", "4", "--plan", str(edited), *common]) == 0
    p = open_project(path, create=False)
    take = p.scene(scene).takes[-1]
    assert take.provenance["plan"]["beats"] == plan["beats"]
    assert "Tomas hands Mara the lamp and says nothing." in take.text
    p.close()
    capsys.readouterr()
    assert main(["write", str(path), scene, "--plan", str(tmp_path / "missing.json"), *common]) == 1
    assert "cannot read the plan" in capsys.readouterr().err
    assert main(["plan", str(path), "A Stranger on the Quay", "--take", "9"]) == 1


def test_continue_take_goes_on_from_where_the_take_stops(session, sample):
    """Continue: the model answers with the take's text already written and goes on from its last
    character; the new take is that text and what came next, linked to it, its prompt the scene's."""
    scene = sample.scene("Trusting Tomas")
    take = scene.chosen
    streamed = []
    more = session.continue_take(take, seed=3, max_new_tokens=10, on_token=lambda i, t: streamed.append(t))
    assert len(more) == 1
    new = more[0]
    assert new.text.startswith(take.text) and len(new.text) > len(take.text)
    assert new.parent == take and new.provenance["continued_from"] == take.id
    assert "".join(streamed).strip() and take.text not in "".join(streamed)  # only what came next streams
    prov = new.provenance
    assert prov["params"]["continue_from"] == take.text
    assert session.text_generator.last.continue_from == take.text  # the start of the model's answer
    # its prompt is the scene's, as for any free take of it: the whole take answers it
    plain = session.write_scene(scene, n=1, seed=3, max_new_tokens=4, structure="free")[0]
    assert prov["prompt"] == plain.provenance["prompt"] and not prov["prompt"].endswith(take.text)
    calls = len(session.text_generator.calls)
    again = session.continue_take(take, seed=3, max_new_tokens=10)
    assert again[0].text == new.text and len(session.text_generator.calls) == calls  # from the cache
    with pytest.raises(InvalidInput, match="no text to continue"):
        session.writer.extend([], "  ", None, None, [], None, 1, 1, 5)
