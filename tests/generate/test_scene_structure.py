"""Structured scenes on tiny random-weight models: every take is a screenplay of the cast.

A random model writes nonsense words, so these tests check what the grammar and the plan
guarantee whatever the words: the heading and the opening beat, cues only of the characters
present and alive, turn-taking, no line said twice, the end within the token budget, names
written exactly (also with a SentencePiece byte-fallback tokenizer and names outside ASCII),
and clear errors for what cannot be written.
"""

from __future__ import annotations

import pytest

from workbench import Session
from workbench.errors import InvalidInput
from workbench.generate import prose
from workbench.generate.plan import ScenePlan, beat_from_instruction, plan_schema
from workbench.generate.scene_grammar import (
    ScreenplayMachine,
    ScreenplaySpec,
    check_scene,
    cue_of,
    describe_plan,
    to_gbnf,
)
from workbench.generate.tokens import TokenVocab, token_bytes
from workbench.story.screenplay import parse_scene

CAST = ("Mara Quell", "Tomas Reyes", "Ines Vale")


def _story(project, cast=CAST, text: str | None = None):
    for name in cast:
        project.cast.add(name, description=f"{name.split()[0]} keeps the harbour light.")
    return project.add_scene("The Harbour", text=text or "", characters=list(cast))


def _session(project, generator) -> Session:
    s = Session(project, text="tiny")
    s.text_generator = generator
    return s


def _assert_screenplay(take, present: set[str], budget: int) -> ScenePlan:
    prov = take.provenance
    assert prov["structure"] == "screenplay"
    plan = ScenePlan.from_dict(prov["plan"])
    assert set(plan.characters) <= present
    spec = plan.grammar(10)
    assert check_scene(take.text, spec) == [], take.text
    parsed = parse_scene(take.text, sorted(present))
    cues = [el.text for el in parsed.elements if el.kind == "character"]
    assert cues and set(cues) <= {cue_of(n) for n in plan.characters}
    assert prov["completion_tokens"] <= budget
    return plan


@pytest.mark.parametrize("seed", [1, 2])
def test_every_structured_take_is_a_screenplay_of_the_characters_present(tiny, project, seed) -> None:
    scene = _story(project)
    session = _session(project, tiny)
    budget = 200
    takes = session.write_scene(scene, n=3, seed=seed, max_new_tokens=budget, structure="screenplay")
    assert len(takes) == 3
    for take in takes:
        _assert_screenplay(take, set(CAST), budget)


def test_plans_stream_before_the_scenes(tiny, project) -> None:
    """``on_plan`` hears each take's plan JSON as it is written, before any scene text; joined,
    each is the JSON the take's plan was read from, and its preview is a line a writer reads."""
    import json

    from workbench.generate.plan import plan_preview

    scene = _story(project)
    session = _session(project, tiny)
    order: list[str] = []
    plans: dict[int, str] = {}

    def on_plan(i: int, piece: str) -> None:
        order.append("plan")
        plans[i] = plans.get(i, "") + piece

    takes = session.write_scene(
        scene,
        n=2,
        seed=3,
        structure="screenplay",
        on_plan=on_plan,
        on_token=lambda i, t: order.append("text"),
    )
    assert set(plans) == {0, 1} and order.index("text") > order.index("plan")
    assert "plan" not in order[order.index("text") :]
    for i, take in enumerate(takes):
        raw = json.loads(plans[i])
        stored = take.provenance["plan"]
        assert set(raw["characters"]) <= set(stored["characters"]) <= set(CAST)
        line = plan_preview(plans[i])
        assert all(name in line for name in raw["characters"]) and stored["time"] in line


def test_the_dead_are_never_cued_and_a_move_of_the_dead_is_refused(tiny, project) -> None:
    first = _story(project, text="EXT. QUAY - NIGHT\n\nInes Vale drowns in the harbour.\n")
    session = _session(project, tiny)
    scene = session.continue_story(first, "Mara looks for help", n=1, seed=3, structure="screenplay")
    more = session.write_scene(scene, n=2, seed=4, structure="screenplay")
    for take in [scene.takes[0], *more]:
        plan = _assert_screenplay(take, {"Mara Quell", "Tomas Reyes"}, 10_000)
        assert "Ines Vale" not in plan.characters
        assert "INES VALE" not in take.text
    before = len(project.scenes)
    with pytest.raises(InvalidInput, match="Ines Vale is dead"):
        session.continue_story(first, "Ines Vale sings a song", n=1, seed=5, structure="screenplay")
    assert len(project.scenes) == before  # nothing written


def test_a_plan_naming_someone_outside_the_cast_is_refused(tiny, project) -> None:
    scene = _story(project)
    session = _session(project, tiny)
    plan = {
        "setting": "INT.",
        "location": "LIGHTHOUSE",
        "time": "NIGHT",
        "characters": ["Mara Quell", "Halvor Brand"],
        "beats": ["Mara climbs the stairs."],
    }
    with pytest.raises(InvalidInput, match="Halvor Brand"):
        session.write_scene(scene, n=1, seed=1, structure="screenplay", plan=plan)
    assert scene.takes == []


def test_an_empty_cast_gets_a_clear_error(tiny, project) -> None:
    scene = project.add_scene("Alone")
    session = _session(project, tiny)
    with pytest.raises(InvalidInput, match="no characters yet"):
        session.write_scene(scene, n=1, seed=1, structure="screenplay")
    assert scene.takes == []


class AsciiOnly:
    """The tiny model, as a tokenizer without byte fallback would see it: tokens of ASCII only."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def vocab(self) -> TokenVocab:
        tokens = self.inner.vocab().bytes
        return TokenVocab([t if t is not None and t.isascii() else None for t in tokens])


def test_a_name_the_tokenizer_cannot_spell_is_refused_up_front(tiny, project) -> None:
    scene = _story(project, cast=("Zoë Hart", "Tomas Reyes"))
    assert tiny.vocab().can_spell("ZOË HART")  # byte-level BPE spells every byte
    session = _session(project, AsciiOnly(tiny))
    with pytest.raises(InvalidInput, match="cannot write the cue 'ZOË HART'"):
        session.write_scene(scene, n=1, seed=1, structure="screenplay")
    assert scene.takes == []


# ---------------------------------------------------------------- the grammar on its own


def test_check_scene_names_what_is_wrong() -> None:
    spec = ScreenplaySpec(
        "INT. LIGHTHOUSE - NIGHT", ("Mara climbs the stairs.",), ("Mara Quell", "Tomas Reyes")
    )
    good = "INT. LIGHTHOUSE - NIGHT\n\nMara climbs the stairs.\n\nMARA QUELL\nThe lamp is out.\n\nTOMAS REYES\nThen we light it.\n"
    assert check_scene(good, spec) == []
    stranger = good.replace("TOMAS REYES", "HALVOR BRAND")
    assert any("HALVOR BRAND" in p for p in check_scene(stranger, spec))
    twice = good.replace("Then we light it.", "The lamp is out.")
    assert any("said twice" in p for p in check_scene(twice, spec))
    monologue = good.replace("TOMAS REYES", "MARA QUELL")
    assert check_scene(monologue, spec)
    assert any(
        "heading" in p for p in check_scene(good.replace("INT. LIGHTHOUSE", "Lighthouse"), spec, exact=False)
    )


def test_the_machine_accepts_a_valid_scene_and_rejects_a_stranger_character_by_character() -> None:
    spec = ScreenplaySpec(
        "INT. LIGHTHOUSE - NIGHT", ("Mara climbs the stairs.",), ("Mara Quell", "Tomas Reyes")
    )
    machine = ScreenplayMachine(spec)

    def run(text: str):
        state = machine.start()
        for ch in text:
            state = machine.step(state, ch)
            if state is None:
                return None
        return state

    good = "INT. LIGHTHOUSE - NIGHT\n\nMara climbs the stairs.\n\nMARA QUELL\nThe lamp is out.\n\nTOMAS REYES\nThen we light it.\n\n"
    end = run(good)
    assert end is not None and machine.accepts(end)
    assert run(good.replace("TOMAS REYES", "HALVOR BRAND")) is None
    assert run(good.replace("Then we light it.", "The lamp is out.")) is None  # said twice
    assert run(good.replace("TOMAS REYES", "MARA QUELL")) is None  # a monologue
    assert not machine.accepts(run(good.split("TOMAS")[0]))  # one speaker is not a conversation


def test_gbnf_and_the_plan_in_words_carry_the_cues_and_the_beats() -> None:
    spec = ScreenplaySpec("EXT. QUAY - DAWN", ("Tomas waits.", "A bell rings."), ("Tomas Reyes", "Zoë Hart"))
    grammar = to_gbnf(spec)
    assert grammar.startswith("root ::=") and '"ZOË HART"' in grammar and '"A bell rings.\\n\\n"' in grammar
    words = describe_plan(spec)
    assert "EXT. QUAY - DAWN" in words and "Tomas Reyes, Zoë Hart" in words


def test_an_instruction_becomes_a_third_person_beat() -> None:
    cast = ["Mara Quell", "Tomas Reyes"]
    assert (
        beat_from_instruction("Go down to the harbour", "Mara Quell", cast)
        == "Mara goes down to the harbour."
    )
    beat = beat_from_instruction("Tomas opens the door", "Mara Quell", cast)
    assert beat.startswith("Tomas opens the door")
    schema = plan_schema(cast, "Mara goes down to the harbour.", cast)
    assert schema["properties"]["characters"]["items"]["enum"] == cast


# ---------------------------------------------------------------- a SentencePiece tokenizer


@pytest.fixture(scope="module")
def sp_generator(tmp_path_factory):
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_sentencepiece_llama
    from workbench.generate.local import get_local_generator

    return get_local_generator(str(build_tiny_sentencepiece_llama(tmp_path_factory.mktemp("sp-llama"))))


def test_sentencepiece_bytes_are_read_exactly(sp_generator) -> None:
    tokenizer = sp_generator.tokenizer
    table = token_bytes(tokenizer)
    assert table[tokenizer.convert_tokens_to_ids("<0xC3>")] == b"\xc3"
    assert table[tokenizer.convert_tokens_to_ids("\u2581the")] == b" the"
    vocab = TokenVocab.from_tokenizer(tokenizer)
    assert vocab.can_spell("Zoë Hart") and vocab.can_spell("Ngozi Ọkafor")


def test_names_outside_ascii_are_written_exactly_through_byte_fallback(sp_generator, project) -> None:
    cast = ("Zoë Hart", "Ngozi Ọkafor")
    scene = _story(project, cast=cast)
    session = _session(project, sp_generator)
    takes = session.write_scene(scene, n=2, seed=11, max_new_tokens=220, structure="screenplay")
    for take in takes:
        _assert_screenplay(take, set(cast), 220)
        assert "ZOË HART" in take.text or "NGOZI ỌKAFOR" in take.text
        assert "\ufffd" not in take.text


def test_every_prose_state_can_still_end_on_a_sentence_as_fast_as_promised() -> None:
    """No dead ends in the prose automaton: from every reachable state some character brings the
    end one step nearer (what the token budget relies on), e.g. never a hyphen with no room after it."""
    names = frozenset({"Mara", "Tomas"})
    alphabet = "abcdefghijklmnopqrstuvwxyzMTZI .,'-\u2014!"
    seen = {prose.START, prose.PREDICATE}
    todo = list(seen)
    while todo:
        st = todo.pop()
        need = prose.to_close(st, names)
        if need == 0:
            assert prose.closable(st)
        nxt = [n for ch in alphabet if (n := prose.step(st, ch, names)) is not None]
        assert need == 0 or any(prose.to_close(n, names) <= need - 1 for n in nxt), st
        for n in nxt:
            if n not in seen and n[1] <= prose.MAX_WORD + 1:
                seen.add(n)
                todo.append(n)
    assert len(seen) > 40


def _random_walk(c, pieces, eos: int, budget: int, rnd) -> tuple[object, str]:
    """Tokens drawn at random among those the constraint allows, until end of text or the budget;
    every step must leave a way on. Returns the last state and the text."""
    state, out = c.start(), []
    for step in range(budget + 1):
        allowed = c.allowed(state, budget - step)
        assert allowed, f"dead end after {''.join(out)!r}"
        tok = rnd.choice(allowed)
        if tok == eos:
            break
        state = c.token_ok(state, tok, budget - step)
        assert state is not None
        out.append(pieces[tok])
    return state, "".join(out)


@pytest.mark.parametrize("seed", range(12))
def test_random_walks_through_the_usability_schemas_never_reach_a_dead_end(seed: int) -> None:
    """Whatever a model picks among the allowed tokens, an outline level or a plan finishes within
    the budget a request is given (token_floor of the estimate): no format walks into a corner
    (a name that is one long word where two are needed, a hyphen with no room after it)."""
    import random

    from workbench.generate.constraint import ByteConstraint
    from workbench.generate.outline import outline_schema
    from workbench.generate.structured import JsonMachine, parse_and_validate, token_floor

    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pieces = [*letters, *" .,;:!?'\"-{}[]0123456789", "the ", " and", "Mara", "er", "ing", "\u2014", "é", "ж"]
    vocab = TokenVocab([p.encode("utf-8") for p in pieces] + [None])
    eos = len(pieces)
    names = ["Mara Quell", "Tomas Reyes"]
    schemas = [
        outline_schema("characters", title="The Vault", logline="A safecracker opens one last vault."),
        outline_schema(
            "scenes", title="The Vault", names=names, logline="A safecracker opens one last vault."
        ),
        plan_schema(names, "Mara opens the vault.", names),
        plan_schema(names, None, names),
    ]
    rnd = random.Random(seed)
    for schema in schemas:
        c = ByteConstraint(JsonMachine(schema), vocab, [eos])
        budget = token_floor(c.min_remaining(c.start()))
        state, text = _random_walk(c, pieces, eos, budget, rnd)
        assert c.accepts(state), f"unfinished within {budget} tokens: {text!r}"
        parse_and_validate(text, schema)


def test_outline_problems_name_what_a_writer_could_not_use(project) -> None:
    from workbench.generate.outline import outline_problems

    project.title = "The Vault Job"
    project.logline = "A retired safecracker opens one last vault."
    project.cast.add("Mara Quell", description="A retired safecracker.")
    project.cast.add("Marra Quell", description="Her sister, who stops mid")
    rows = [
        ("The Vault Jobs", "Mara Quell opens the vault door at night."),
        ("Mara Quell", "Someone walks somewhere and nothing happens."),
        ("The Bank", "Mara waits."),
        ("Marra Quel", "Mara Quell waits at the bank for the guard."),
        ("The Beach", "Mara Quell corre hasta la playa y se queda con su hermana."),
    ]
    prev = None
    for title, summary in rows:
        prev = project.add_scene(title, after=prev, choice="next" if prev else None, tags=["outline"])
        project.update_scene(prev, summary=summary)
    found = outline_problems(project, "scenes")
    text = "\n".join(found)
    assert "too alike" in text  # Mara / Marra
    assert "stops mid-sentence" in text
    assert "'The Vault Jobs' is the story's title with a letter changed" in text
    assert "'Mara Quell' is the story's title or a character's name" in text
    assert "the summary of 'Mara Quell' names no character" in text
    assert "the summary of 'The Bank' does not say what happens" in text
    assert "'Marra Quel' is a character's name with letters changed" in text
    assert "the summary of 'The Beach' is not in the logline's language" in text


@pytest.mark.parametrize(
    ("logline", "wanted"),
    [
        ("A retired safecracker is blackmailed into one last job.", "is blackmailed into one last job."),
        (
            "A lighthouse keeper on a northern island finds a drowned sailor who wakes up.",
            "finds a drowned sailor who wakes up.",
        ),
        ("Two sisters inherit a haunted vineyard.", "inherits a haunted vineyard."),
        (
            "When her brother vanishes, a shy teenager must cross the border alone.",
            "must cross the border alone.",
        ),
        (
            "Two rival chess prodigies are snowed in at a hotel, and one goes missing.",
            "is snowed in at a hotel, and one goes missing.",
        ),
        (
            "A nurse who hates blood discovers that her patient is awake.",
            "discovers that her patient is awake.",
        ),
    ],
)
def test_the_premise_becomes_what_a_character_does(logline: str, wanted: str) -> None:
    """The logline's predicate is among the opening scene's choices, in the singular, and no
    candidate starts inside the subject's noun phrase or in a relative clause."""
    from workbench.generate.outline import premise_predicates

    found = premise_predicates(logline)
    assert wanted in found, found
    assert not any(p.startswith(("hates", "wakes")) for p in found)


def test_outline_characters_choose_from_real_names() -> None:
    """The characters level offers first and family names from the name lists, by seed."""
    from workbench.generate.names import name_pool
    from workbench.generate.outline import outline_schema

    logline = "A safecracker opens one last vault."
    props = outline_schema("characters", logline=logline, seed=4)["properties"]["characters"]["items"][
        "properties"
    ]
    first, family = name_pool([logline, ""], 4)
    assert props["first"]["enum"] == first and props["last"]["enum"] == family
    assert len(first) >= 100 and all(n.isascii() and n.isalpha() and n[0].isupper() for n in first + family)
    assert name_pool([logline], 4) == name_pool([logline], 4) != name_pool([logline], 5)
    cyr = name_pool(["Старый смотритель маяка находит моряка."], 1)[0]
    assert cyr and any(prose.script(n[0]) == "CYRILLIC" for n in cyr)


def test_a_plan_drops_beats_in_another_language_and_keeps_the_fixed_first_beat() -> None:
    """The first beat the instruction fixed leads the plan (the model does not copy it); a later
    beat in another language than the story's is dropped with a note the writer sees."""
    cast = ["Mara Quell", "Tomas Reyes"]
    value = {
        "characters": cast,
        "setting": "INT.",
        "location": "Harbour",
        "time": "DAY",
        "then": ["La familia de la chica es una regla en los detalles.", "Tomas hides the key in his coat."],
    }
    plan = ScenePlan.from_model(value, cast, first="Mara goes down to the harbour.", language="en")
    assert plan.beats == ["Mara goes down to the harbour.", "Tomas hides the key in his coat."]
    assert any("another language" in n for n in plan.notes)
    assert "first" not in plan_schema(cast, "Mara goes down to the harbour.", cast)["properties"]
    assert "first" in plan_schema(cast, None, cast)["properties"]


def test_whom_the_scene_is_about_speaks_whatever_the_weights() -> None:
    """``must_speak``: the character the instruction is about gets a cue in every walk, even with
    three present and only two blocks (the grammar keeps the last block for them)."""
    import random

    from workbench.generate.constraint import ByteConstraint

    cast = ("Mara Quell", "Tomas Reyes", "Ines Quell")
    pieces = [
        *"abcdefghijklmnopqrstuvwxyz",
        *"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        *" .,-\n'",
        "the ",
        "MARA",
        "TOMAS",
        "INES",
    ]
    vocab = TokenVocab([p.encode("utf-8") for p in pieces] + [None])
    eos = len(pieces)
    for max_blocks, beats in (
        (2, ("Ines opens the door.",)),
        (4, ("Ines opens the door.", "Tomas sits down.")),
    ):
        spec = ScreenplaySpec(
            "INT. ROOM - DAY",
            beats,
            cast,
            max_blocks=max_blocks,
            must_speak=("Ines Quell",),
            all_beats=len(beats) > 1,
            between_beats=1,
        )
        assert ScreenplaySpec.from_dict(spec.to_dict()) == spec
        for seed in range(6):
            rnd = random.Random(seed)
            c = ByteConstraint(ScreenplayMachine(spec), vocab, [eos])
            _, text = _random_walk(c, pieces, eos, c.min_remaining(c.start()) * 2 + 40, rnd)
            assert check_scene(text, spec) == [], text
            assert "\nINES QUELL\n" in text
            assert all(b in text for b in beats)
    bad = "INT. ROOM - DAY\n\nInes opens the door.\n\nMARA QUELL\nWe wait here.\n\nTOMAS REYES\nWe do.\n\n"
    assert "INES QUELL does not speak, and the scene is about them" in check_scene(bad, spec)


def test_whom_the_first_beat_kills_is_present_but_never_speaks() -> None:
    """A move that kills a character ("Edith falls from the wall and dies"): continuity reads the
    death, the character is on the page but gets no cue, and two others speak."""
    from workbench.story.continuity import who_dies

    cast = ["Edith Wynne", "Clara Wynne", "Tobias Marsh"]
    first = "Edith falls from the garden wall and dies."
    assert who_dies(first, cast) == ["Edith Wynne"]
    assert who_dies("Clara reads the letter that says the dog died.", cast) == []
    value = {
        "characters": ["Edith Wynne", "Clara Wynne"],
        "setting": "EXT.",
        "location": "Garden",
        "time": "DAY",
        "then": [],
    }
    plan = ScenePlan.from_model(value, cast, ["Edith Wynne"], first=first, dying=who_dies(first, cast))
    assert "Edith Wynne" in plan.characters and plan.silent == ["Edith Wynne"] and plan.speaks == []
    spec = plan.grammar()
    assert "Edith Wynne" not in spec.speakers and len(spec.speakers) == 2
    assert ScenePlan.from_dict(plan.to_dict()).silent == ["Edith Wynne"]


def test_a_place_that_misspells_a_character_is_not_kept() -> None:
    cast = ["Clara Wynne", "Tobias Marsh"]
    value = {"characters": cast, "setting": "EXT.", "location": "Wyne House", "time": "DAY", "then": []}
    plan = ScenePlan.from_model(value, cast, first="Clara opens the gate.", fallback_location="GARDEN")
    assert plan.location == "GARDEN" and any("misspells" in n for n in plan.notes)
    value["location"] = "Wynne House"
    assert ScenePlan.from_model(value, cast, first="Clara opens the gate.").location == "WYNNE HOUSE"


@pytest.mark.parametrize("speakers", [1, 2, 3])
def test_screenplay_grammars_of_every_shape_never_reach_a_dead_end(speakers: int) -> None:
    """One, two or three present; two or five blocks at most; one or three beats, required or not;
    nobody, the first or the last present owed a line: random walks on a tight budget always finish
    a scene that passes its own check (a short name such as "I" may end a line)."""
    import itertools
    import random

    from workbench.generate.constraint import ByteConstraint

    cast = ("Mara Quell", "Tomas Reyes", "Ines Quell")[:speakers]
    pieces = [
        *"abcdefghijklmnopqrstuvwxyz",
        *"ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        *" .,-\n'",
        "the ",
        "a.",
        " I",
        "MARA",
    ]
    vocab = TokenVocab([p.encode("utf-8") for p in pieces] + [None])
    eos = len(pieces)
    shapes = itertools.product((2, 5), (1, 3), ((), cast[:1], cast[-1:]), (False, True))
    for max_blocks, n_beats, must, all_beats in shapes:
        beats = tuple(f"Beat {chr(97 + i)} is here." for i in range(n_beats))
        spec = ScreenplaySpec(
            "INT. ROOM - DAY", beats, cast, max_blocks=max_blocks, must_speak=must, all_beats=all_beats
        )
        for seed in range(2):
            c = ByteConstraint(ScreenplayMachine(spec), vocab, [eos])
            state, text = _random_walk(c, pieces, eos, c.min_remaining(c.start()) + 30, random.Random(seed))
            assert c.accepts(state), text
            assert check_scene(text, spec) == [], text
