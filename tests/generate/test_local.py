"""The local transformers backend, on a tiny random-weight Llama and (slow) on the real default model."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from workbench.errors import GenerationStopped, ModelUnavailable
from workbench.generate.base import TextGenerator, TextRequest
from workbench.generate.local import LocalTextGenerator, get_local_generator
from workbench.generate.structured import min_tokens, token_floor, validate
from workbench.seeding import local_take_seed as take_seed

pytest.importorskip("transformers")

STORY = "Mara keeps the lighthouse on Gull Rock. Every night she writes the ships she sees in a log. " * 8

OUTLINE = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 40},
        "characters": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 20},
                    "description": {"type": "string", "maxLength": 60},
                    "age": {"type": "integer", "minimum": 10, "maximum": 90},
                },
                "required": ["name", "description", "age"],
            },
        },
        "scenes": {
            "type": "array",
            "minItems": 2,
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "title": {"type": "string", "maxLength": 30},
                    "summary": {"type": "string", "maxLength": 80},
                },
                "required": ["title", "summary"],
            },
        },
    },
    "required": ["title", "characters", "scenes"],
}
CHOICES = {
    "type": "array",
    "minItems": 2,
    "maxItems": 3,
    "items": {"type": "string", "minLength": 1, "maxLength": 40},
}


def req(**kw) -> TextRequest:
    base = {
        "prefix": "You write screenplays.\n" + STORY,
        "suffix": "Write the next scene.",
        "max_new_tokens": 12,
    }
    return TextRequest(**(base | kw))


def texts(results) -> list[str]:
    return [r.text for r in results]


def test_protocol_and_process_wide_cache(tiny: LocalTextGenerator, tiny_model_dir: Path) -> None:
    assert isinstance(tiny, TextGenerator)
    assert get_local_generator(str(tiny_model_dir)) is tiny
    assert tiny.context_window == 8192
    assert tiny.count_tokens("Hello world") == 2
    fp = tiny.fingerprint
    assert fp["backend"] == "local" and fp["model"] == str(tiny_model_dir) and len(fp["files_sha256"]) == 64


def test_one_take_or_three_give_the_same_first_take(tiny: LocalTextGenerator) -> None:
    one = tiny.generate(req(n=1, seed=7))
    three = tiny.generate(req(n=3, seed=7))
    assert one[0].text == three[0].text and one[0].seed == three[0].seed == take_seed(7, 0)
    assert len(set(texts(three))) == 3
    # take_offset picks up where an earlier request left off
    second = tiny.generate(req(n=1, seed=7, take_offset=1))
    assert second[0].text == three[1].text and second[0].take_index == 1


def test_seeds_share_no_take_and_repeat_exactly(tiny: LocalTextGenerator) -> None:
    a = texts(tiny.generate(req(n=3, seed=7)))
    b = texts(tiny.generate(req(n=3, seed=8)))
    assert not set(a) & set(b)
    assert texts(tiny.generate(req(n=3, seed=7))) == a
    resampled = texts(tiny.generate(req(n=3, seed=7, attempt=1)))
    assert not set(resampled) & set(a)


def test_prefix_is_prefilled_once(tiny: LocalTextGenerator) -> None:
    tiny.clear_prefix_cache()
    seen: list[int] = []
    hook = tiny.model.register_forward_pre_hook(
        lambda m, a, kw: seen.append(kw["input_ids"].shape[1]), with_kwargs=True
    )
    try:
        request = req(prefix="You write plays.\n" + STORY, n=2, seed=1)
        prefix, rest = tiny.render(request.prefix, request.suffix)
        n_prefix, n_rest = tiny.count_tokens(prefix), tiny.count_tokens(rest)
        tiny.generate(request)
        assert seen[0] == n_prefix and seen[1] == n_rest  # prefill of the prefix, then only the new tokens
        seen.clear()
        hits = tiny.stats["prefix_hits"]
        tiny.generate(req(prefix=request.prefix, suffix="Another instruction.", n=3, seed=2))
        assert tiny.stats["prefix_hits"] == hits + 1
        assert seen[0] == tiny.count_tokens(tiny.render(request.prefix, "Another instruction.")[1])
        assert max(seen[1:]) == 1
    finally:
        hook.remove()


def test_a_story_that_grew_prefills_only_what_is_new(tiny: LocalTextGenerator) -> None:
    """Longest-prefix reuse: the cached story is cut back to what the new prefix shares with it and
    only the rest is prefilled; the takes are the same as without any cache."""
    tiny.clear_prefix_cache()
    seen: list[int] = []
    hook = tiny.model.register_forward_pre_hook(
        lambda m, a, kw: seen.append(kw["input_ids"].shape[1]), with_kwargs=True
    )
    story = "You write plays.\n" + STORY
    grown = story + "\nThe lamp goes out, and nobody on the island says a word about it."
    try:
        tiny.generate(req(prefix=story, n=1, seed=1))
        seen.clear()
        grown_req = req(prefix=grown, n=2, seed=4, temperature=0.0, max_new_tokens=8)
        warm = texts(tiny.generate(grown_req))
        full = tiny.count_tokens(tiny.render(grown, "x")[0])
        assert 0 < seen[0] < full // 2  # only the new part of the story (and what its first token changed)
        assert tiny.stats["prefix_reused_tokens"] > 0
    finally:
        hook.remove()
    assert warm == texts(tiny.generate(grown_req, use_prefix_cache=False))
    shorter = req(prefix=story[: len(story) // 2], n=1, seed=2, temperature=0.0, max_new_tokens=8)
    assert texts(tiny.generate(shorter)) == texts(tiny.generate(shorter, use_prefix_cache=False))


def test_cached_prefix_gives_the_same_text_as_no_cache(tiny: LocalTextGenerator) -> None:
    greedy = req(n=2, seed=3, temperature=0.0, max_new_tokens=10)
    cold = texts(tiny.generate(greedy, use_prefix_cache=False))
    warm = texts(tiny.generate(greedy))
    warm_again = texts(tiny.generate(greedy))
    assert cold == warm == warm_again
    sampled = req(n=3, seed=5)
    assert texts(tiny.generate(sampled, use_prefix_cache=False)) == texts(tiny.generate(sampled))


def test_forced_text_goes_into_one_pass(tiny: LocalTextGenerator, monkeypatch) -> None:
    """JSON keys (forced text) are fast-forwarded: fewer forward passes than tokens, the same
    valid output shape; take 0 of three (padded in a shared pass) is the one-take take."""
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "60")
    passes: list[int] = []
    hook = tiny.model.register_forward_pre_hook(
        lambda m, a, kw: passes.append(kw["input_ids"].shape[1]), with_kwargs=True
    )
    request = req(n=1, seed=4, max_new_tokens=60, json_schema=OUTLINE)
    try:
        forced = tiny.stats["forced_tokens"]
        one = tiny.generate(request)
        ff_passes = len(passes) - 1  # the first pass is the prompt's
        assert tiny.stats["forced_tokens"] > forced
        assert ff_passes < one[0].completion_tokens
        assert max(passes[1:]) > 1  # a pass carried several forced tokens
        three = tiny.generate(req(n=3, seed=4, max_new_tokens=60, json_schema=OUTLINE))
        passes.clear()
        tiny.fast_forward = False
        slow = tiny.generate(request)
        assert len(passes) - 1 == slow[0].completion_tokens - (slow[0].finish_reason != "stop")
    finally:
        tiny.fast_forward = True
        hook.remove()
    assert three[0].text == one[0].text
    for r in [*one, *three, *slow]:
        validate(json.loads(r.text), OUTLINE)


def test_a_generation_leaves_the_cached_prefix_as_it_was(tiny: LocalTextGenerator) -> None:
    """Takes grow a copy of the cached story in place; the cached story itself is never written."""
    tiny.clear_prefix_cache()
    request = req(n=2, seed=6)
    tiny.generate(request)
    ((key, entry),) = tiny._prefixes.items()  # noqa: SLF001 - the backend's own cache, inspected
    before = [layer.keys.clone() for layer in entry.layers]
    tiny.generate(req(n=3, seed=7))
    one = texts(tiny.generate(req(n=1, seed=8)))  # one take writes past the prefix in its buffer
    assert texts(tiny.generate(req(n=1, seed=8))) == one == texts(tiny.generate(req(n=3, seed=8)))[:1]
    assert entry.get_seq_length() == len(key)
    assert all(bool((layer.keys == b).all()) for layer, b in zip(entry.layers, before, strict=True))


def test_growing_cache_layer_reads_like_a_dynamic_one() -> None:
    import torch
    from transformers.cache_utils import DynamicLayer

    from workbench.generate.decode import growing_layer

    grow, plain = growing_layer(room=3), DynamicLayer()
    torch.manual_seed(0)
    for width in (5, 1, 4, 2, 1):  # past the reserved room more than once
        k, v = torch.randn(2, 1, width, 4), torch.randn(2, 1, width, 4)
        got, want = grow.update(k, v), plain.update(k, v)
        assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    grow.crop(-3)
    plain.crop(-3)
    assert grow.get_seq_length() == plain.get_seq_length() == 10
    index = torch.tensor([1])
    grow.batch_select_indices(index)
    plain.batch_select_indices(index)
    k, v = torch.randn(1, 1, 2, 4), torch.randn(1, 1, 2, 4)
    got, want = grow.update(k, v), plain.update(k, v)
    assert all(torch.equal(a, b) for a, b in zip(got, want, strict=True))
    # a layer sharing grow's buffer writes past it, and copies before writing below it
    kept = grow.keys.clone()
    reader = growing_layer(room=3)
    reader.share(grow)
    reader.update(torch.randn(1, 1, 2, 4), torch.randn(1, 1, 2, 4))
    assert (
        reader.get_seq_length() == 14
        and torch.equal(grow.keys, kept)
        and torch.equal(reader.keys[:, :, :12], kept)
    )
    reader.crop(-5)
    reader.update(torch.ones(1, 1, 4, 4), torch.ones(1, 1, 4, 4))
    assert torch.equal(grow.keys, kept) and grow.get_seq_length() == 12
    assert torch.equal(reader.keys[:, :, :9], kept[:, :, :9]) and bool((reader.keys[:, :, 9:] == 1).all())


def test_streamed_deltas_add_up_to_each_take(tiny: LocalTextGenerator) -> None:
    got: dict[int, list[str]] = {}
    results = tiny.generate(req(n=3, seed=11, on_token=lambda i, s: got.setdefault(i, []).append(s)))
    for r in results:
        assert "".join(got.get(r.take_index, [])) == r.text
        assert r.completion_tokens > 0 and r.prompt_tokens > 0 and r.seconds > 0
        assert r.first_token_seconds is not None and r.first_token_seconds <= r.seconds
        assert r.rendered_prompt.startswith("<|im_start|>system\nYou write screenplays.")


def test_stop_event_ends_generation_promptly(tiny: LocalTextGenerator) -> None:
    stop = threading.Event()
    calls: list[int] = []

    def on_token(i: int, s: str) -> None:
        calls.append(i)
        if len(calls) >= 2:
            stop.set()

    results = tiny.generate(
        req(n=1, seed=2, max_new_tokens=30, repetition_penalty=1.0, on_token=on_token, stop=stop)
    )
    assert results[0].finish_reason == "stopped"
    assert 1 <= results[0].completion_tokens <= 4
    stop2 = threading.Event()
    stop2.set()
    with pytest.raises(GenerationStopped):
        tiny.generate(req(n=2, seed=2, stop=stop2))


def test_max_new_tokens_is_capped_by_the_environment(tiny: LocalTextGenerator, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "5")
    results = tiny.generate(req(n=2, seed=4, max_new_tokens=100))
    assert all(r.completion_tokens <= 5 for r in results)
    assert any(r.finish_reason == "length" for r in results)


@pytest.mark.parametrize("schema", [OUTLINE, CHOICES], ids=["outline", "choices"])
def test_json_schema_output_is_valid_for_every_seed(tiny: LocalTextGenerator, schema, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "60")
    budget = max(
        60, token_floor(min_tokens(schema)) + 1
    )  # raised to what the schema needs, and its end token
    for seed in range(3):
        for r in tiny.generate(req(n=2, seed=seed, max_new_tokens=60, json_schema=schema)):
            validate(json.loads(r.text), schema)
            assert r.completion_tokens <= budget


def test_json_fits_a_tight_token_budget(tiny: LocalTextGenerator, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "1")  # below the minimum: raised to what the schema needs
    for r in tiny.generate(req(n=2, seed=9, json_schema=OUTLINE)):
        validate(json.loads(r.text), OUTLINE)


def test_missing_model_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="does not exist"):
        get_local_generator(str(tmp_path / "no-such-model"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelUnavailable, match="offline"):
        get_local_generator(str(empty))


def test_adapter_needs_peft_or_an_existing_path(tiny_model_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="peft|does not exist"):
        get_local_generator(f"{tiny_model_dir}+{tmp_path / 'no-adapter'}")


# --- the real default model -------------------------------------------------------------


@pytest.mark.slow
def test_default_model_converts_once_and_loads_fast() -> None:
    from workbench.generate.local import ensure_default_model_dir

    first = ensure_default_model_dir()
    started = time.perf_counter()
    assert ensure_default_model_dir() == first
    assert time.perf_counter() - started < 0.5
    assert (first / "model.safetensors").is_file() and (first / "chat_template.jinja").is_file()
    gen = get_local_generator("default")
    assert gen is get_local_generator("default")
    fp = gen.fingerprint
    assert fp["model"] == "HuggingFaceTB/SmolLM2-135M-Instruct" and len(fp["sha256"]) == 64


@pytest.mark.slow
def test_default_model_writes_three_takes() -> None:
    gen = get_local_generator("default")
    results = gen.generate(req(n=3, seed=1, max_new_tokens=16))
    assert len(results) == 3 and len(set(texts(results))) == 3
    assert all(len(r.text.split()) >= 3 for r in results)
    again = gen.generate(req(n=1, seed=1, max_new_tokens=16))
    assert again[0].text == results[0].text


@pytest.mark.slow
def test_default_model_streams_stops_and_fast_forwards_a_constrained_take(monkeypatch) -> None:
    """The decode loop on the real default model: streamed pieces add up to each take, a stop
    ends a take early, and a constrained answer's forced text goes into shared passes."""
    gen = get_local_generator("default")
    got: dict[int, str] = {}
    results = gen.generate(
        req(n=2, seed=5, max_new_tokens=12, on_token=lambda i, s: got.__setitem__(i, got.get(i, "") + s))
    )
    assert [got[r.take_index] for r in results] == texts(results)
    stop = threading.Event()
    pieces: list[str] = []

    def on_token(_i: int, s: str) -> None:
        pieces.append(s)
        if len(pieces) >= 2:
            stop.set()

    stopped = gen.generate(req(n=1, seed=5, max_new_tokens=40, on_token=on_token, stop=stop))[0]
    assert stopped.finish_reason == "stopped" and 2 <= stopped.completion_tokens < 40
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "60")
    forced = gen.stats["forced_tokens"]
    for r in gen.generate(req(n=2, seed=5, max_new_tokens=60, json_schema=SMALL_OUTLINE)):
        validate(json.loads(r.text), SMALL_OUTLINE)
    assert gen.stats["forced_tokens"] > forced  # the keys ("title", "characters", ...) were fed, not drawn


SMALL_OUTLINE = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 30},
        "characters": {
            "type": "array",
            "minItems": 1,
            "maxItems": 2,
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 16}},
            },
        },
        "scenes": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "items": {"type": "object", "properties": {"title": {"type": "string", "maxLength": 24}}},
        },
    },
    "required": ["title", "characters", "scenes"],
}


@pytest.mark.slow
def test_default_model_outline_is_valid_json(monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_MAX_NEW_TOKENS", "40")
    gen = get_local_generator("default")
    request = TextRequest(
        prefix="You outline stories. Answer with JSON only.",
        suffix="Logline: a lighthouse keeper finds a message in a bottle. Give a title, characters and scenes.",
        n=2,
        seed=3,
        max_new_tokens=40,
        json_schema=SMALL_OUTLINE,
    )
    for r in gen.generate(request):
        outline = validate(json.loads(r.text), SMALL_OUTLINE)
        assert outline["title"].strip() and len(outline["scenes"]) == 2


def test_blocked_words_are_never_written_unless_the_prompt_uses_them(tiny_model_dir: Path) -> None:
    """A model pushed hard towards a blocked word never writes it; a story that uses the word keeps it."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from workbench.generate.base import TextRequest
    from workbench.generate.wordfilter import blocked_in

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir))
    [word_id] = tokenizer(" rape", add_special_tokens=False)["input_ids"]
    head = torch.nn.Linear(model.lm_head.in_features, model.lm_head.out_features, bias=True)
    with torch.no_grad():
        head.weight.copy_(model.lm_head.weight)
        head.bias.zero_()
        head.bias[word_id] = 30.0  # the word is the likeliest token at every step
    model.lm_head = head
    gen = LocalTextGenerator(model, tokenizer, spec="pushed")

    def write(suffix: str) -> str:
        req = TextRequest(prefix="You write stories.", suffix=suffix, n=2, seed=5, max_new_tokens=24)
        return " ".join(r.text for r in gen.generate(req))

    assert not blocked_in(write("Write the next scene of the ferry story."))
    assert "rape" in blocked_in(write("Write the next scene of the rape trial."))


def test_nucleus_keeps_what_transformers_top_p_keeps() -> None:
    """Top-p without a full sort: the kept set matches transformers' TopPLogitsWarper, on peaked
    rows (the nucleus within the top 256), flatter ones (within the top 4,096) and flat ones (the
    full sort)."""
    import torch
    from transformers import TopPLogitsWarper

    from workbench.generate.decode import nucleus

    torch.manual_seed(0)
    for spread in (8.0, 3.0, 1.0, 0.01):
        scores = torch.randn(4, 5000) * spread
        scores[1, :7] = float("-inf")  # blocked tokens stay blocked
        want = TopPLogitsWarper(0.9)(None, scores.clone()) == float("-inf")
        got = nucleus(scores.clone(), 0.9) == float("-inf")
        assert int((want != got).sum()) <= 1  # a float tie at the boundary at most
        assert bool((~got).any(dim=-1).all())
