"""Text from any OpenAI-compatible server (vLLM, SGLang, TGI, Ollama, llama.cpp, ``transformers serve``).

Model spec: ``openai:MODEL@BASE_URL``, e.g. ``openai:Qwen/Qwen2.5-7B-Instruct@http://gpu-box:8000/v1``.
Options may follow the base URL as a query string and are not sent to the server:
``?server=vllm`` (a :data:`PRESETS` name, or ``auto``) and ``?context=8192`` (the context window).

Servers differ in what they honour. ``transformers serve`` silently ignores ``n``,
``logprobs``, ``response_format`` and ``stream_options``, rejects fields outside the
OpenAI schema with a 422, and its ``seed`` sets the process-wide torch seed. So the
backend sends only the fields the server's :class:`ServerCapabilities` allow, sends the
n takes of a request as n requests (each with its own seed from
:func:`~workbench.seeding.server_take_seed`), and validates every output: an empty
output is resampled (a bounded number of times), and structured output is checked
against the JSON schema, with retries, before :class:`~workbench.errors.InvalidOutput`.

The server kind comes from (first match): the ``server=`` argument, the ``?server=``
option of the spec, ``WORKBENCH_SERVER_KIND``, or ``auto``: one ``GET /models`` whose
``owned_by`` names vLLM, SGLang, llama.cpp or Ollama; anything else gets ``generic``,
which sends only fields every server accepts. The API key comes from ``OPENAI_API_KEY``
(optional: local servers need none).
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

from ..config import cap_new_tokens
from ..errors import ContextOverflow, InvalidOutput, ServerError
from ..seeding import server_take_seed
from .base import TextRequest, TextResult
from .scene_grammar import ScreenplaySpec, check_scene, describe_plan, to_gbnf
from .spec import ModelSpec, parse_spec
from .structured import extract_json

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CONTEXT_WINDOW",
    "PRESETS",
    "OpenAITextGenerator",
    "ServerCapabilities",
    "detect_server_kind",
    "factory",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
DEFAULT_CONTEXT_WINDOW = 2048  # used when neither a setting nor the server says otherwise
CHARS_PER_TOKEN = 3.0  # the token estimate without a local tokenizer: over-counts English BPE (about 4)
ENV_SERVER_KIND = "WORKBENCH_SERVER_KIND"
ENV_CONTEXT_WINDOW = "WORKBENCH_CONTEXT_WINDOW"


@dataclass(frozen=True)
class ServerCapabilities:
    """What an OpenAI-compatible server honours; the backend never sends a field it does not.

    ``supports_n`` and ``supports_logprobs`` are informational: takes are always separate
    requests (each take needs its own seed), and no feature asks for log-probabilities yet.
    """

    name: str = "generic"
    supports_n: bool = False
    supports_seed_per_request: bool = False  # False: ``seed`` is process-wide, so takes run one at a time
    supports_logprobs: bool = False
    supports_json_schema: bool = False  # guided decoding through ``response_format``
    json_schema_style: str = "openai"  # "openai": type json_schema; "tgi": type json_object + value
    supports_stream_options: bool = False  # ``stream_options.include_usage`` for token counts
    send_seed: bool = True  # ``seed`` is in the OpenAI schema; every known server accepts it
    repetition_penalty_field: str | None = None  # extra field carrying the multiplicative penalty
    # transformers serve: sampling settings travel as its ``generation_config`` JSON string; without it
    # the model's own generation config decides, which is greedy for most checkpoints
    transformers_generation_config: bool = False
    max_parallel: int = 1  # takes in flight at once (only with per-request seeds)
    # where a context-free grammar (GBNF/EBNF) goes: "structured_outputs" (vLLM), "ebnf" (SGLang),
    # "grammar" (llama.cpp server); None: the server takes none, outputs are validated and retried
    grammar_field: str | None = None
    # a trailing assistant message is continued, not answered (vLLM, SGLang: continue_final_message);
    # elsewhere the text to continue is quoted in the user message
    continue_final_message: bool = False


PRESETS: dict[str, ServerCapabilities] = {
    "generic": ServerCapabilities(),
    "transformers-serve": ServerCapabilities(name="transformers-serve", transformers_generation_config=True),
    "vllm": ServerCapabilities(
        name="vllm",
        supports_n=True,
        supports_seed_per_request=True,
        supports_logprobs=True,
        supports_json_schema=True,
        supports_stream_options=True,
        repetition_penalty_field="repetition_penalty",
        max_parallel=4,
        grammar_field="structured_outputs",
        continue_final_message=True,
    ),
    "sglang": ServerCapabilities(
        name="sglang",
        supports_n=True,
        supports_seed_per_request=True,
        supports_logprobs=True,
        supports_json_schema=True,
        supports_stream_options=True,
        repetition_penalty_field="repetition_penalty",
        max_parallel=4,
        grammar_field="ebnf",
        continue_final_message=True,
    ),
    "tgi": ServerCapabilities(
        name="tgi",
        supports_seed_per_request=True,
        supports_logprobs=True,
        supports_json_schema=True,
        json_schema_style="tgi",
        max_parallel=2,
    ),
    "ollama": ServerCapabilities(
        name="ollama",
        supports_seed_per_request=True,
        supports_json_schema=True,
        supports_stream_options=True,
    ),
    "llamacpp": ServerCapabilities(
        name="llamacpp",
        supports_seed_per_request=True,
        supports_logprobs=True,
        supports_json_schema=True,
        supports_stream_options=True,
        repetition_penalty_field="repeat_penalty",
        grammar_field="grammar",
    ),
}
_ALIASES = {
    "transformers": "transformers-serve",
    "transformers_serve": "transformers-serve",
    "llama.cpp": "llamacpp",
    "llama-cpp": "llamacpp",
    "text-generation-inference": "tgi",
    "openai": "generic",
}
# ``owned_by`` in ``GET /models`` -> preset (only unambiguous names)
_OWNED_BY = {
    "vllm": "vllm",
    "sglang": "sglang",
    "llamacpp": "llamacpp",
    "ollama": "ollama",
    "library": "ollama",
}

_CONTEXT_MARKERS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "too many tokens",
    "prompt is too long",
    "input is too long",
    "exceeds the",
    "max_model_len",
    "must be <=",
)


def _preset(name: str) -> ServerCapabilities:
    key = _ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in PRESETS:
        from ..errors import InvalidInput

        raise InvalidInput(
            f"unknown server kind {name!r}; choose one of {', '.join(sorted(PRESETS))} or 'auto'"
        )
    return PRESETS[key]


def _split_options(base_url: str) -> tuple[str, dict[str, str]]:
    """Strip the workbench options (``?server=...&context=...``) from a base URL."""
    parts = urlsplit(base_url)
    options = dict(parse_qsl(parts.query))
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    return clean, options


def _server_message(response: httpx.Response) -> str:
    """The error text a server put in its response (OpenAI, FastAPI and plain shapes)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:500] or response.reason_phrase
    if isinstance(body, dict):
        err = body.get("error", body.get("detail", body.get("message")))
        if isinstance(err, dict):
            err = err.get("message", err)
        if err is not None:
            return str(err)
    return json.dumps(body)[:500]


def detect_server_kind(models: dict[str, Any] | None) -> str:
    """The preset a ``GET /models`` answer points to (``generic`` when it does not tell)."""
    for entry in (models or {}).get("data") or []:
        if isinstance(entry, dict):
            owner = str(entry.get("owned_by", "")).lower()
            if owner in _OWNED_BY:
                return _OWNED_BY[owner]
    return "generic"


class OpenAITextGenerator:
    """A :class:`~workbench.generate.base.TextGenerator` backed by an OpenAI-compatible chat server."""

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        server: str | ServerCapabilities | None = None,
        api_key: str | None = None,
        context_window: int | None = None,
        max_retries: int = 2,
        timeout: float = 120.0,
        http_client: httpx.Client | None = None,
        spec: str | None = None,
    ) -> None:
        url, options = _split_options(base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL)
        self.model = model
        self.base_url = url
        self.spec = spec or f"openai:{model}@{url}"
        self.max_retries = max(0, int(max_retries))
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._client = http_client or httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0))
        self._own_client = http_client is None
        self._headers = headers
        self._lock = threading.Lock()
        self._models: dict[str, Any] | None = None
        self._models_fetched = False
        self._tokenizer: Any = None
        self._tokenizer_loaded = False
        self._tokenizer_lock = threading.Lock()

        choice = server if server is not None else options.get("server") or os.environ.get(ENV_SERVER_KIND)
        self._auto = choice is None or (isinstance(choice, str) and choice.strip().lower() == "auto")
        if isinstance(choice, ServerCapabilities):
            self._caps: ServerCapabilities | None = choice
        elif self._auto:
            self._caps = None  # decided on first use
        else:
            self._caps = _preset(str(choice))

        ctx = context_window or options.get("context") or os.environ.get(ENV_CONTEXT_WINDOW)
        try:
            self._context_window = int(ctx) if ctx else None
        except ValueError:
            from ..errors import InvalidInput

            raise InvalidInput(f"the context window must be a whole number of tokens, not {ctx!r}") from None

    # --- settings ------------------------------------------------------------------
    @property
    def capabilities(self) -> ServerCapabilities:
        """The capability preset in use (auto-detected once when none was chosen)."""
        if self._caps is None:
            kind = detect_server_kind(self._server_models())
            self._caps = PRESETS[kind]
            log.info("server at %s treated as %r", self.base_url, kind)
        return self._caps

    def close(self) -> None:
        """Close the HTTP connection pool (when this generator created it)."""
        if self._own_client:
            self._client.close()

    def __enter__(self) -> OpenAITextGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _server_models(self) -> dict[str, Any] | None:
        """``GET /models``, once; None when the server does not answer it."""
        with self._lock:
            if not self._models_fetched:
                self._models_fetched = True
                try:
                    r = self._client.get(f"{self.base_url}/models", headers=self._headers, timeout=10.0)
                    if r.status_code == 200 and isinstance(r.json(), dict):
                        self._models = r.json()
                except (httpx.HTTPError, ValueError) as exc:
                    log.debug("GET %s/models failed: %s", self.base_url, exc)
            return self._models

    def _model_entry(self) -> dict[str, Any] | None:
        for entry in (self._server_models() or {}).get("data") or []:
            if isinstance(entry, dict) and entry.get("id") == self.model:
                return entry
        return None

    @property
    def fingerprint(self) -> dict[str, Any]:
        """Backend, base URL, model id, server kind and the stable parts of the server's model info."""
        fp: dict[str, Any] = {"backend": "openai", "base_url": self.base_url, "model": self.model}
        fp["server"] = self.capabilities.name
        entry = self._model_entry()
        if entry:
            fp["server_model"] = {
                k: entry[k] for k in ("id", "owned_by", "root", "parent", "max_model_len") if k in entry
            }
        return fp

    @property
    def context_window(self) -> int:
        """The setting, else what the server or the local model config reports, else 2048."""
        if self._context_window:
            return self._context_window
        entry = self._model_entry() or {}
        for key in ("max_model_len", "context_length", "context_window"):
            if isinstance(entry.get(key), int) and entry[key] > 0:
                return int(entry[key])
        local = self._local_dir()
        config = local / "config.json" if local is not None else None
        if config is not None and config.is_file():
            try:
                value = json.loads(config.read_text()).get("max_position_embeddings")
                if isinstance(value, int) and value > 0:
                    return value
            except (OSError, ValueError):
                pass
        return DEFAULT_CONTEXT_WINDOW

    def _local_dir(self) -> Path | None:
        path = Path(self.model).expanduser()
        try:
            if path.is_dir() and any(
                (path / f).is_file() for f in ("tokenizer.json", "tokenizer_config.json")
            ):
                return path
        except OSError:
            return None
        return None

    def count_tokens(self, text: str) -> int:
        """Exact with the local tokenizer when the model id is a local folder; else ``ceil(chars / 3)``."""
        with self._tokenizer_lock:
            if not self._tokenizer_loaded:
                self._tokenizer_loaded = True
                local = self._local_dir()
                if local is not None:
                    try:
                        from transformers import AutoTokenizer

                        self._tokenizer = AutoTokenizer.from_pretrained(str(local))
                    except Exception as exc:  # noqa: BLE001 - any failure falls back to the estimate
                        log.debug("no local tokenizer for %s: %s", local, exc)
        if self._tokenizer is not None:
            return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])
        return math.ceil(len(text) / CHARS_PER_TOKEN)

    def supports_grammar(self) -> bool:
        """Whether the server enforces a screenplay grammar (the scene is then structured by default)."""
        return self.capabilities.grammar_field is not None

    # --- generation ----------------------------------------------------------------
    def generate(self, request: TextRequest) -> list[TextResult]:
        """``request.n`` validated takes; takes after a stop are not generated."""
        caps = self.capabilities
        indices = [request.take_offset + i for i in range(request.n)]
        if caps.supports_seed_per_request and caps.max_parallel > 1 and request.n > 1:
            with ThreadPoolExecutor(max_workers=min(caps.max_parallel, request.n)) as pool:
                results = list(pool.map(lambda i: self._take(request, i), indices))
            return [r for r in results if r is not None]
        out: list[TextResult] = []
        for index in indices:
            if request.stop is not None and request.stop.is_set():
                break
            result = self._take(request, index)
            if result is None:
                break
            out.append(result)
            if result.finish_reason == "stopped":
                break
        return out

    def _take(self, request: TextRequest, index: int) -> TextResult | None:
        """One take, resampled with the next attempt's seed while it is empty or invalid."""
        problem = ""
        for attempt in range(request.attempt, request.attempt + self.max_retries + 1):
            if request.stop is not None and request.stop.is_set():
                return None
            result = self._once(request, index, attempt)
            if result.finish_reason == "stopped":
                return result
            if not result.text.strip():
                problem = "the server returned an empty output"
            elif request.json_schema is not None:
                try:
                    value = extract_json(result.text, request.json_schema)
                except InvalidOutput as exc:
                    problem = str(exc)
                else:
                    result.text = json.dumps(value, ensure_ascii=False)
                    return result
            elif request.grammar is not None:
                spec = ScreenplaySpec.from_dict(request.grammar_for(index) or {})
                exact = self.capabilities.grammar_field is not None
                problems = check_scene(result.text, spec, exact=exact)
                if not problems:
                    return result
                problem = problems[0]
            else:
                return result
            log.info("take %d attempt %d rejected: %s", index, attempt, problem)
        what = (
            "JSON matching the schema"
            if request.json_schema is not None
            else "a scene in screenplay form with the characters present"
            if request.grammar is not None
            else "a non-empty text"
        )
        raise InvalidOutput(
            f"the model {self.model!r} at {self.base_url} did not produce {what} in "
            f"{self.max_retries + 1} attempts (last problem: {problem}). "
            + (
                "This server has no guided JSON decoding: try a larger model, or a server kind with it "
                "(e.g. vllm, sglang, llamacpp)."
                if request.json_schema is not None and not self.capabilities.supports_json_schema
                else "This server takes no grammar: use structure='free', a larger model, or a server "
                "kind that takes one (vllm, sglang, llamacpp)."
                if request.grammar is not None and self.capabilities.grammar_field is None
                else "Try again with another seed or a larger model."
            )
        )

    def payload(self, request: TextRequest, index: int, attempt: int) -> dict[str, Any]:
        """The JSON body for take ``index`` on ``attempt``: only fields the server supports."""
        caps = self.capabilities
        messages = []
        if request.prefix:
            messages.append({"role": "system", "content": request.prefix})
        grammar = request.grammar_for(index)
        user = request.suffix
        if grammar is not None and caps.grammar_field is None:
            # no grammar on this server: say the plan in words, then check what comes back
            user = user + "\n\n" + describe_plan(ScreenplaySpec.from_dict(grammar))
        continued = bool(request.continue_from) and caps.continue_final_message
        if request.continue_from and not continued:
            user += (
                "\n\nContinue this text from exactly where it stops; write only what comes next:\n\n"
                + request.continue_from
            )
        messages.append({"role": "user", "content": user})
        if continued:
            messages.append({"role": "assistant", "content": request.continue_from})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": cap_new_tokens(request.max_new_tokens),
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
        }
        if continued:
            body["continue_final_message"] = True
            body["add_generation_prompt"] = False
        if caps.send_seed:
            body["seed"] = server_take_seed(request.seed, index, attempt)
        rp = request.repetition_penalty
        if rp and rp != 1.0 and caps.repetition_penalty_field:
            body[caps.repetition_penalty_field] = rp
        if caps.transformers_generation_config:
            config: dict[str, Any] = {
                "do_sample": request.temperature > 0,
                "temperature": request.temperature if request.temperature > 0 else None,
                "top_p": request.top_p,
                "repetition_penalty": rp or 1.0,
                "max_new_tokens": body["max_tokens"],
            }
            if request.no_repeat_ngram_size:
                config["no_repeat_ngram_size"] = request.no_repeat_ngram_size
            body["generation_config"] = json.dumps({k: v for k, v in config.items() if v is not None})
        if caps.supports_stream_options:
            body["stream_options"] = {"include_usage": True}
        if grammar is not None and caps.grammar_field is not None:
            gbnf = to_gbnf(ScreenplaySpec.from_dict(grammar))
            if caps.grammar_field == "structured_outputs":
                body["structured_outputs"] = {"grammar": gbnf}
            else:
                body[caps.grammar_field] = gbnf
        if request.json_schema is not None and caps.supports_json_schema:
            if caps.json_schema_style == "tgi":
                body["response_format"] = {"type": "json_object", "value": request.json_schema}
            else:
                body["response_format"] = {
                    "type": "json_schema",
                    "json_schema": {"name": "output", "schema": request.json_schema, "strict": True},
                }
        return body

    def _once(self, request: TextRequest, index: int, attempt: int) -> TextResult:
        """One streamed request: deltas go to ``on_token(index - take_offset, text)``."""
        body = self.payload(request, index, attempt)
        url = f"{self.base_url}/chat/completions"
        log.debug("POST %s %s", url, json.dumps(body)[:2000])
        seed = int(body.get("seed", server_take_seed(request.seed, index, attempt)))
        started = time.perf_counter()
        first: float | None = None
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        finish = "length"
        stop = request.stop
        try:
            with self._client.stream("POST", url, json=body, headers=self._headers) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._http_error(response)
                watcher = _CloseOnStop(stop, response) if stop is not None else None
                try:
                    for event in _sse_events(response.iter_lines()):
                        if stop is not None and stop.is_set():
                            finish = "stopped"
                            break
                        if "error" in event:
                            err = event["error"]
                            msg = err.get("message", err) if isinstance(err, dict) else err
                            raise self._classify(
                                f"the server at {self.base_url} failed mid-stream: {msg}", str(msg)
                            )
                        if isinstance(event.get("usage"), dict):
                            usage = event["usage"]
                        for choice in event.get("choices") or []:
                            delta = (choice.get("delta") or {}).get("content") or ""
                            if delta:
                                if first is None:
                                    first = time.perf_counter() - started
                                pieces.append(delta)
                                if request.on_token is not None:
                                    request.on_token(index - request.take_offset, delta)
                            if choice.get("finish_reason"):
                                finish = "stop" if choice["finish_reason"] == "stop" else "length"
                        if stop is not None and stop.is_set():  # set by on_token: don't wait for more
                            finish = "stopped"
                            break
                finally:
                    if watcher is not None:
                        watcher.done()
        except httpx.ConnectError as exc:
            raise ServerError(
                f"could not connect to the OpenAI-compatible server at {self.base_url} ({exc}). "
                "Check that the server is running and listening on that host and port, and that the "
                "base URL in the model spec (openai:MODEL@BASE_URL) ends with /v1."
            ) from exc
        except httpx.TimeoutException as exc:
            raise ServerError(
                f"the server at {self.base_url} did not answer in time ({type(exc).__name__}). "
                "Check that it is not overloaded, or raise the timeout."
            ) from exc
        except (httpx.ReadError, httpx.RemoteProtocolError, httpx.StreamError) as exc:
            if stop is not None and stop.is_set():
                finish = "stopped"
            else:
                raise ServerError(f"the connection to {self.base_url} broke mid-stream: {exc}") from exc
        if stop is not None and stop.is_set() and finish != "stop":
            finish = "stopped"
        text = "".join(pieces)
        seconds = time.perf_counter() - started
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or 0)
        if finish != "stopped":  # counting may load a tokenizer: a stopped take returns at once
            prompt_tokens = prompt_tokens or self.count_tokens(request.prefix) + self.count_tokens(
                request.suffix
            )
            completion_tokens = completion_tokens or self.count_tokens(text)
        return TextResult(
            text=text,
            seed=seed,
            take_index=index,
            attempt=attempt,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            seconds=seconds,
            first_token_seconds=first,
            finish_reason=finish,
            # the prompt, not the answer's start a continued take sends as the last message
            rendered_prompt=json.dumps(
                body["messages"][:-1] if body.get("continue_final_message") else body["messages"],
                ensure_ascii=False,
            ),
        )

    def _http_error(self, response: httpx.Response) -> ServerError | ContextOverflow:
        message = _server_message(response)
        hint = ""
        if response.status_code in (401, 403):
            hint = " Check OPENAI_API_KEY."
        elif response.status_code == 404:
            hint = f" Check the model name {self.model!r} and that the base URL ends with /v1."
        return self._classify(
            f"the server at {self.base_url} answered HTTP {response.status_code}: {message}.{hint}", message
        )

    @staticmethod
    def _classify(text: str, message: str) -> ServerError | ContextOverflow:
        low = message.lower()
        if any(marker in low for marker in _CONTEXT_MARKERS) and ("token" in low or "context" in low):
            return ContextOverflow(text)
        return ServerError(text)


class _CloseOnStop:
    """Close a streaming response as soon as ``stop`` is set, even while a read blocks."""

    def __init__(self, stop: threading.Event, response: httpx.Response) -> None:
        self._stop = stop
        self._response = response
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._finished.is_set():
            if self._stop.wait(0.05):
                if not self._finished.is_set():
                    self._interrupt()
                return

    def _interrupt(self) -> None:
        """Shut the socket down: a read blocked in another thread returns at once."""
        stream = self._response.extensions.get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)
            else:
                self._response.close()
        except Exception:  # noqa: BLE001 - the reader sees the broken stream and reports "stopped"
            pass

    def done(self) -> None:
        self._finished.set()
        self._thread.join(timeout=1.0)


def _sse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """JSON payloads of a server-sent event stream (``data: ...`` lines) until ``[DONE]``."""
    data: list[str] = []
    for line in lines:
        if line.startswith("data:"):
            data.append(line[5:].strip())
            continue
        if line.strip() or not data:
            continue  # comments, event names, keep-alives
        payload, data = "\n".join(data), []
        if payload == "[DONE]":
            return
        try:
            event = json.loads(payload)
        except ValueError:
            log.debug("unparseable event: %r", payload[:200])
            continue
        if isinstance(event, dict):
            yield event
    if data and data[0] != "[DONE]":
        try:
            event = json.loads("\n".join(data))
        except ValueError:
            return
        if isinstance(event, dict):
            yield event


def factory(spec: ModelSpec | str) -> OpenAITextGenerator:
    """Build the backend for ``openai:MODEL@BASE_URL`` (entry point ``text.openai``)."""
    if isinstance(spec, str):
        spec = parse_spec(spec)
    if spec.adapter:
        from ..errors import ModelUnavailable

        raise ModelUnavailable(
            f"model spec {spec.raw!r}: a server applies LoRA adapters itself; load the adapter on the "
            "server (e.g. vLLM --lora-modules NAME=PATH) and name it as MODEL in openai:MODEL@BASE_URL"
        )
    return OpenAITextGenerator(spec.model, spec.base_url, spec=str(spec))
