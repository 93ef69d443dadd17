"""The OpenAI-compatible backend, against a real ``transformers serve`` on 127.0.0.1."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.servers import (
    ServedModel,
    ServerStartError,
    default_model_dir,
    free_port,
    start_transformers_serve,
)
from workbench.errors import ContextOverflow, InvalidOutput, ModelUnavailable, ServerError
from workbench.generate.base import TextGenerator, TextRequest
from workbench.generate.openai_backend import (
    DEFAULT_CONTEXT_WINDOW,
    PRESETS,
    OpenAITextGenerator,
    detect_server_kind,
    factory,
)
from workbench.generate.spec import backend_factory, parse_spec
from workbench.seeding import server_take_seed as take_seed

UNSUPPORTED_BY_TRANSFORMERS_SERVE = {"n", "logprobs", "top_logprobs", "response_format", "stream_options"}


# --- without a server ------------------------------------------------------------------
def test_spec_options_pick_preset_and_context_and_are_not_sent() -> None:
    gen = factory("openai:my-model@http://127.0.0.1:9/v1/?server=vllm&context=8192")
    assert isinstance(gen, TextGenerator)
    assert gen.base_url == "http://127.0.0.1:9/v1"
    assert gen.capabilities is PRESETS["vllm"]
    assert gen.context_window == 8192
    assert gen.spec.startswith("openai:my-model@")


def test_entry_point_builds_the_backend() -> None:
    spec = parse_spec("openai:m@http://127.0.0.1:9/v1?server=generic")
    gen = backend_factory(spec)(spec)
    assert isinstance(gen, OpenAITextGenerator)
    assert gen.model == "m"


def test_adapter_suffix_is_refused_with_advice() -> None:
    with pytest.raises(ModelUnavailable, match="lora-modules"):
        factory("openai:m@http://127.0.0.1:9/v1+/adapters/noir")


def test_server_kind_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORKBENCH_SERVER_KIND", "llama.cpp")
    assert OpenAITextGenerator("m", "http://127.0.0.1:9/v1").capabilities is PRESETS["llamacpp"]
    monkeypatch.setenv("WORKBENCH_SERVER_KIND", "nonsense")
    with pytest.raises(ValueError, match="unknown server kind"):
        OpenAITextGenerator("m", "http://127.0.0.1:9/v1")


def test_detect_server_kind_from_owned_by() -> None:
    assert detect_server_kind({"data": [{"id": "m", "owned_by": "vllm"}]}) == "vllm"
    assert detect_server_kind({"data": [{"id": "m", "owned_by": "llamacpp"}]}) == "llamacpp"
    assert detect_server_kind({"data": [{"id": "m", "owned_by": "someone"}]}) == "generic"
    assert detect_server_kind(None) == "generic"


def test_take_seed_is_stable_31_bit_and_distinct() -> None:
    assert take_seed(7, 0) == take_seed(7, 0, 0) == 1919956695  # fixed forever: cached takes depend on it
    seeds = {take_seed(s, i, a) for s in (7, 8) for i in range(3) for a in range(2)}
    assert len(seeds) == 12 and all(0 <= x < 2**31 for x in seeds)


def _request(**kw: Any) -> TextRequest:
    base: dict[str, Any] = {"prefix": "You write scenes.", "suffix": "Write the next scene.", "seed": 5}
    base.update(kw)
    return TextRequest(**base)


def test_generic_preset_sends_only_universal_fields() -> None:
    gen = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="generic")
    body = gen.payload(_request(n=3, json_schema={"type": "object"}, repetition_penalty=1.3), 2, 1)
    assert set(body) == {"model", "messages", "max_tokens", "temperature", "top_p", "stream", "seed"}
    assert body["seed"] == take_seed(5, 2, 1)
    assert body["messages"] == [
        {"role": "system", "content": "You write scenes."},
        {"role": "user", "content": "Write the next scene."},
    ]


def test_presets_send_what_their_server_supports() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    req = _request(json_schema=schema, repetition_penalty=1.2)
    ts = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="transformers-serve").payload(req, 0, 0)
    assert not set(ts) & UNSUPPORTED_BY_TRANSFORMERS_SERVE
    sampling = json.loads(ts["generation_config"])  # without do_sample, transformers serve decodes greedily
    assert sampling["do_sample"] is True and sampling["repetition_penalty"] == 1.2
    vllm = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="vllm").payload(req, 0, 0)
    assert vllm["response_format"]["json_schema"]["schema"] == schema
    assert vllm["repetition_penalty"] == 1.2 and vllm["stream_options"] == {"include_usage": True}
    assert "n" not in vllm  # every take is its own request with its own seed
    tgi = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="tgi").payload(req, 0, 0)
    assert tgi["response_format"] == {"type": "json_object", "value": schema}
    llama = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="llamacpp").payload(req, 0, 0)
    assert llama["repeat_penalty"] == 1.2


def test_token_estimate_and_default_context_without_a_local_model() -> None:
    gen = OpenAITextGenerator("remote/model", "http://127.0.0.1:9/v1", server="generic")
    assert gen.count_tokens("") == 0
    assert gen.count_tokens("a" * 30) == 10
    assert gen.context_window == DEFAULT_CONTEXT_WINDOW


def test_unreachable_server_names_the_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    gen = OpenAITextGenerator("m", url, server="generic")
    with pytest.raises(ServerError) as info:
        gen.generate(_request(max_new_tokens=4))
    assert url in str(info.value) and "running" in str(info.value)


def test_context_overflow_messages_are_recognised() -> None:
    err = OpenAITextGenerator._classify(
        "x", "This model's maximum context length is 2048 tokens. However, you requested 5000 tokens"
    )
    assert isinstance(err, ContextOverflow)
    assert not isinstance(OpenAITextGenerator._classify("x", "Server is pinned to 'a'"), ContextOverflow)


# --- against a real server -------------------------------------------------------------
@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedModel]:
    """``transformers serve`` with the default model (or a tiny random one until it is available)."""
    try:
        model_dir = default_model_dir()
        if model_dir is None:
            from tests.servers import tiny_model_dir

            model_dir = tiny_model_dir(tmp_path_factory.mktemp("models"))
        server = start_transformers_serve(model_dir)
    except (ServerStartError, ModelUnavailable, OSError, ImportError) as exc:
        message = f"!!! OPENAI SERVER TESTS SKIPPED: transformers serve could not start here: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        print(message, file=sys.stderr)
        pytest.skip(message)
    yield server
    server.stop()


class Recorder:
    """Keeps the JSON body of every request the client sends (an httpx event hook)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> None:
        if request.method == "POST":
            self.bodies.append(json.loads(request.content))


@pytest.fixture
def recorded(served: ServedModel) -> Iterator[tuple[OpenAITextGenerator, Recorder]]:
    rec = Recorder()
    client = httpx.Client(timeout=60.0, event_hooks={"request": [rec]})
    gen = OpenAITextGenerator(served.model, served.base_url, server="transformers-serve", http_client=client)
    yield gen, rec
    client.close()


@pytest.mark.slow
def test_streams_deltas_to_on_token(recorded: tuple[OpenAITextGenerator, Recorder]) -> None:
    gen, rec = recorded
    deltas: list[tuple[int, str]] = []
    [take] = gen.generate(_request(max_new_tokens=8, on_token=lambda i, d: deltas.append((i, d))))
    assert len(deltas) > 1 and {i for i, _ in deltas} == {0}
    assert "".join(d for _, d in deltas) == take.text and take.text.strip()
    assert take.first_token_seconds is not None and take.first_token_seconds <= take.seconds
    assert 0 < take.completion_tokens <= 8 and take.prompt_tokens > 0
    assert rec.bodies[0]["stream"] is True


@pytest.mark.slow
def test_n_takes_are_sequential_requests_with_their_own_seeds(
    recorded: tuple[OpenAITextGenerator, Recorder],
) -> None:
    gen, rec = recorded
    takes = gen.generate(_request(n=3, seed=11, max_new_tokens=4, take_offset=2))
    assert [t.take_index for t in takes] == [2, 3, 4]
    expected = [take_seed(11, i, 0) for i in (2, 3, 4)]
    assert [t.seed for t in takes] == expected
    assert len(rec.bodies) == 3 and [b["seed"] for b in rec.bodies] == expected
    for body in rec.bodies:
        assert not set(body) & UNSUPPORTED_BY_TRANSFORMERS_SERVE
    # the first take does not depend on n, and the same request gives the same text
    [again] = gen.generate(_request(n=1, seed=11, max_new_tokens=4, take_offset=2))
    assert again.text == takes[0].text


@pytest.mark.slow
def test_servers_with_per_request_seeds_get_takes_in_parallel(served: ServedModel) -> None:
    rec = Recorder()
    caps = replace(PRESETS["transformers-serve"], supports_seed_per_request=True, max_parallel=2)
    with httpx.Client(timeout=60.0, event_hooks={"request": [rec]}) as client:
        gen = OpenAITextGenerator(served.model, served.base_url, server=caps, http_client=client)
        streamed: set[int] = set()
        takes = gen.generate(_request(n=2, seed=3, max_new_tokens=3, on_token=lambda i, _d: streamed.add(i)))
    assert [t.take_index for t in takes] == [0, 1] and streamed == {0, 1}
    assert sorted(b["seed"] for b in rec.bodies) == sorted(take_seed(3, i) for i in (0, 1))


@pytest.mark.slow
def test_json_schema_is_validated_with_bounded_retries(
    recorded: tuple[OpenAITextGenerator, Recorder],
) -> None:
    gen, rec = recorded
    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    req = _request(
        prefix="You answer with JSON only.",
        suffix='Reply with exactly this JSON and nothing else: {"title": "The Door"}',
        json_schema=schema,
        max_new_tokens=10,
        temperature=0.7,
    )
    try:
        [take] = gen.generate(req)
    except InvalidOutput as exc:
        assert "JSON" in str(exc) and str(gen.max_retries + 1) in str(exc)
        assert len(rec.bodies) == gen.max_retries + 1
    else:
        assert isinstance(json.loads(take.text)["title"], str)
        assert len(rec.bodies) == take.attempt + 1
    assert [b["seed"] for b in rec.bodies] == [take_seed(5, 0, a) for a in range(len(rec.bodies))]
    assert all("response_format" not in b for b in rec.bodies)  # this server has no guided JSON


@pytest.mark.slow
def test_unknown_model_is_a_server_error_with_the_servers_message(served: ServedModel) -> None:
    gen = OpenAITextGenerator("no-such-model", served.base_url, server="transformers-serve")
    with pytest.raises(ServerError) as info:
        gen.generate(_request(max_new_tokens=4))
    assert "HTTP 400" in str(info.value) and "no-such-model" in str(info.value)
    assert served.base_url in str(info.value)


@pytest.mark.slow
def test_stop_event_ends_the_stream_promptly(recorded: tuple[OpenAITextGenerator, Recorder]) -> None:
    gen, rec = recorded
    stop = threading.Event()
    seen: list[str] = []
    stopped_at: list[float] = []

    def on_token(_i: int, delta: str) -> None:
        seen.append(delta)
        if len(seen) == 3:
            stopped_at.append(time.perf_counter())
            stop.set()

    takes = gen.generate(_request(n=2, max_new_tokens=400, temperature=1.0, on_token=on_token, stop=stop))
    assert time.perf_counter() - stopped_at[0] < 2.0
    assert len(takes) == 1 and takes[0].finish_reason == "stopped"
    assert takes[0].text == "".join(seen) and len(seen) == 3
    assert len(rec.bodies) == 1  # the second take was never requested
    # the server is still usable after the client hung up
    [after] = gen.generate(_request(max_new_tokens=4))
    assert after.finish_reason in ("stop", "length") and after.text


@pytest.mark.slow
def test_stop_from_another_thread_interrupts_a_blocked_read(
    recorded: tuple[OpenAITextGenerator, Recorder],
) -> None:
    gen, _rec = recorded
    stop = threading.Event()
    set_at: list[float] = []

    def press_stop() -> None:
        set_at.append(time.perf_counter())
        stop.set()

    timer = threading.Timer(0.5, press_stop)
    timer.start()
    takes = gen.generate(_request(max_new_tokens=400, temperature=1.0, stop=stop))
    timer.join()
    assert time.perf_counter() - set_at[0] < 2.0
    assert [t.finish_reason for t in takes] in ([], ["stopped"])


@pytest.mark.slow
def test_fingerprint_tokens_and_auto_detection(served: ServedModel) -> None:
    gen = OpenAITextGenerator(served.model, served.base_url)
    assert gen.capabilities.name == "generic"  # transformers serve does not name itself: stay conservative
    fp = gen.fingerprint
    assert fp["backend"] == "openai" and fp["base_url"] == served.base_url and fp["model"] == served.model
    # the model id is a local folder here, so its own tokenizer counts tokens
    assert gen.count_tokens("Hello there, Ada.") < len("Hello there, Ada.") / 2
    assert (
        gen.context_window
        == json.loads((Path(served.model) / "config.json").read_text())["max_position_embeddings"]
    )
    gen.close()


# --- screenplay grammars -----------------------------------------------------------------
SPEC = {
    "heading": "INT. LIGHTHOUSE - NIGHT",
    "beats": ["Mara climbs the stairs."],
    "speakers": ["Mara Quell", "Tomas Reyes"],
}


def test_presets_send_the_screenplay_grammar_where_the_server_takes_one() -> None:
    from workbench.generate.scene_grammar import ScreenplaySpec, to_gbnf

    gbnf = to_gbnf(ScreenplaySpec.from_dict(SPEC))
    req = _request(grammar=[SPEC])
    vllm = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="vllm").payload(req, 0, 0)
    assert vllm["structured_outputs"] == {"grammar": gbnf}
    sglang = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="sglang").payload(req, 0, 0)
    assert sglang["ebnf"] == gbnf
    llama = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="llamacpp").payload(req, 0, 0)
    assert llama["grammar"] == gbnf
    # a server without grammars gets the plan in words instead, and nothing it does not know
    ts = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="transformers-serve")
    body = ts.payload(req, 0, 0)
    assert not {"grammar", "ebnf", "structured_outputs"} & set(body)
    assert "INT. LIGHTHOUSE - NIGHT" in body["messages"][-1]["content"]
    assert "Mara Quell, Tomas Reyes" in body["messages"][-1]["content"]
    assert ts.supports_grammar() is False


@pytest.mark.slow
def test_a_scene_from_a_server_without_grammars_is_checked_and_retried_then_refused_clearly(
    recorded: tuple[OpenAITextGenerator, Recorder],
) -> None:
    from workbench.generate.scene_grammar import ScreenplaySpec, check_scene

    gen, rec = recorded
    req = _request(grammar=[SPEC], max_new_tokens=48, temperature=0.7)
    try:
        [take] = gen.generate(req)
    except InvalidOutput as exc:  # what a small model on a server without grammars usually gives
        message = str(exc)
        assert (
            "screenplay form" in message and "takes no grammar" in message and "structure='free'" in message
        )
        assert len(rec.bodies) == gen.max_retries + 1
    else:
        assert check_scene(take.text, ScreenplaySpec.from_dict(SPEC), exact=False) == []
    assert all("INT. LIGHTHOUSE - NIGHT" in b["messages"][-1]["content"] for b in rec.bodies)


def test_continue_is_a_trailing_assistant_message_where_the_server_continues_one() -> None:
    req = _request(continue_from="MARA\nHold the")
    vllm = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="vllm").payload(req, 0, 0)
    assert vllm["messages"][-1] == {"role": "assistant", "content": "MARA\nHold the"}
    assert vllm["continue_final_message"] is True and vllm["add_generation_prompt"] is False
    generic = OpenAITextGenerator("m", "http://127.0.0.1:9/v1", server="generic").payload(req, 0, 0)
    assert generic["messages"][-1]["role"] == "user" and generic["messages"][-1]["content"].endswith(
        "write only what comes next:\n\nMARA\nHold the"
    )
    assert "continue_final_message" not in generic


@pytest.mark.slow
def test_a_take_is_continued_on_the_real_server(recorded: tuple[OpenAITextGenerator, Recorder]) -> None:
    gen, rec = recorded
    [take] = gen.generate(_request(max_new_tokens=6, seed=4, continue_from="The lamp gutters and"))
    assert take.text.strip() and "The lamp gutters and" not in take.text  # only what comes next
    assert "The lamp gutters and" in rec.bodies[-1]["messages"][-1]["content"]
    assert not set(rec.bodies[-1]) & UNSUPPORTED_BY_TRANSFORMERS_SERVE
