"""The llama.cpp engine on the real default model's GGUF file (short outputs): the local backend's
promises (seeds, take i the same whatever n, streaming, stop, JSON and the screenplay grammar)
kept at engine speed, and the story's cells reused as it grows."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from tests.conftest import skip_or_fail
from workbench.errors import GenerationStopped, ModelUnavailable
from workbench.generate.base import TextRequest
from workbench.generate.structured import validate

pytest.importorskip("transformers")

STORY = "Mara keeps the lighthouse on Gull Rock. Every night she writes the ships she sees in a log. " * 10
SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 30},
        "scenes": {
            "type": "array",
            "minItems": 2,
            "maxItems": 3,
            "items": {"type": "string", "minLength": 1, "maxLength": 40},
        },
    },
    "required": ["title", "scenes"],
}


@pytest.fixture(scope="module")
def engine() -> Any:
    from workbench.generate import llamacpp

    if not llamacpp.available():
        skip_or_fail(f"the llama.cpp engine is not installed: {llamacpp.how_to_install()}")
    from workbench.generate.loading import load_text_generator

    return load_text_generator("llamacpp:default")


def ask(**kw: Any) -> TextRequest:
    base: dict[str, Any] = {"prefix": STORY, "suffix": "Write what Mara sees tonight.", "max_new_tokens": 16}
    return TextRequest(**(base | kw))


@pytest.mark.slow
def test_same_seed_same_takes_and_take_i_whatever_n(engine: Any) -> None:
    assert engine.fingerprint["backend"] == "llamacpp" and engine.fingerprint["sha256"]
    one = engine.generate(ask(n=1, seed=11))
    three = engine.generate(ask(n=3, seed=11))
    again = engine.generate(ask(n=3, seed=11))
    assert [r.text for r in three] == [r.text for r in again]
    assert three[0].text == one[0].text  # take 0 of three is the one-take take
    assert len({r.text for r in three}) == 3 and all(r.text.strip() for r in three)
    assert [r.seed for r in three] == [r.seed for r in again]


@pytest.mark.slow
def test_the_story_is_evaluated_once_and_a_longer_one_only_for_what_is_new(engine: Any) -> None:
    engine.clear_prefix_cache()
    engine.generate(ask(n=2, seed=1))
    before = dict(engine.stats)
    engine.generate(ask(n=2, seed=2))  # the same story: nothing evaluated again
    assert engine.stats["prefill_tokens"] == before["prefill_tokens"]
    grown = STORY + "A ship with no lights passes the rock."
    engine.generate(ask(n=2, seed=3, prefix=grown))
    new = engine.stats["prefill_tokens"] - before["prefill_tokens"]
    assert 0 < new < 40, new  # the added sentence and the prompt's tail, not the whole story
    assert engine.stats["prefix_reused_tokens"] > before["prefix_reused_tokens"]
    # the grown story, reused and extended, writes what a cold engine writes from scratch
    from workbench.generate.llamacpp import load
    from workbench.generate.spec import parse_spec

    warm = engine.generate(ask(n=2, seed=3, prefix=grown))
    cold = load(parse_spec("llamacpp:default"))  # a second engine, nothing cached
    try:
        assert [r.text for r in cold.generate(ask(n=2, seed=3, prefix=grown))] == [r.text for r in warm]
    finally:
        cold.engine.close()


@pytest.mark.slow
def test_json_under_a_schema_streams_and_stops(engine: Any) -> None:
    pieces: dict[int, str] = {}
    out = engine.generate(
        ask(
            n=2,
            seed=5,
            json_schema=SCHEMA,
            max_new_tokens=120,
            on_token=lambda i, t: pieces.__setitem__(i, pieces.get(i, "") + t),
        )
    )
    for i, r in enumerate(out):
        validate(json.loads(r.text), SCHEMA)
        assert pieces[i] == r.text  # streamed, piece by piece, to the same text
    stop = threading.Event()
    heard: list[str] = []

    def hear(_i: int, piece: str) -> None:
        heard.append(piece)
        if len(heard) == 3:
            stop.set()

    cut = engine.generate(ask(n=1, seed=6, max_new_tokens=60, on_token=hear, stop=stop))
    assert cut[0].finish_reason == "stopped" and cut[0].completion_tokens <= 6
    stop.set()
    with pytest.raises(GenerationStopped):
        engine.generate(ask(n=1, seed=7, stop=stop))


@pytest.mark.slow
def test_a_structured_scene_on_the_engine(sample: Any, engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The screenplay grammar holds: heading, cues from the cast, through Session as a writer uses it."""
    from workbench.session import Session
    from workbench.story.screenplay import parse_scene

    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "60")
    session = Session(sample, text="llamacpp:default")
    takes = session.write_scene("A Stranger on the Quay", n=2, seed=4)
    cast = [c.name for c in sample.cast]
    for take in takes:
        assert take.provenance["structure"] == "screenplay" and take.provenance["backend"] == "llamacpp"
        parsed = parse_scene(take.text, cast)
        assert parsed.screenplay and parsed.elements[0].kind == "heading"


def test_an_adapter_is_refused_with_the_way_to_use_it() -> None:
    from workbench.generate.llamacpp import factory
    from workbench.generate.spec import parse_spec

    with pytest.raises(ModelUnavailable, match=r"default\+/tmp/adapter"):
        factory(parse_spec("llamacpp:default+/tmp/adapter"))
    with pytest.raises(ModelUnavailable, match="gguf"):
        factory(parse_spec("llamacpp:/no/such/model.bin"))


@pytest.mark.slow
def test_a_typed_move_in_play_evaluates_only_what_follows_the_story(
    sample: Any, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the reader reads, the player leaves the story so far in the engine's cells (here by a
    one-token warm-up: every choice of the scene leads to a scene already written), so the typed
    move evaluates only its request."""
    from workbench.session import Session

    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "16")
    session = Session(sample, text="llamacpp:default")
    gen = session.text_generator
    assert gen.keeps_prefix_cache
    start = sample.scene("A Stranger on the Quay")
    assert start.choices and not any(c.is_open for c in start.choices)
    play = session.play(start=start, seed=11, k=1, max_new_tokens=16)
    try:
        assert play.wait_prefetch(timeout=600)
        story = len(gen.engine.story)
        before = gen.stats["prefill_tokens"]
        play.move("Mara lights the lamp by hand")
        assert story > 300  # the story so far was in the cells when the reader moved
        assert gen.stats["prefill_tokens"] - before == 0, "the story was evaluated again"
    finally:
        play.close()
