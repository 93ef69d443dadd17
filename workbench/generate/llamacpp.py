"""The llama.cpp engine for local models in GGUF files: the writer's workload at engine speed.

``llamacpp:default`` runs the embedded default (SmolLM2-135M-Instruct) straight from its GGUF file
with llama.cpp (the ``llama-cpp-python`` package, the ``fast`` extra: PyPI has its source only, so
pip builds it once, about ten minutes on two cores, and keeps the wheel in its cache);
``llamacpp:/path/model.gguf`` any GGUF model whose tokenizer transformers can read.

What the local backend does, this engine does too, through the same decode loop
(:func:`.decode.decode_rows`): each take's own seed (take ``i`` the same whatever ``n`` is),
streaming, stop, the generation cache, JSON schemas and the screenplay grammar token by token,
forced text in one pass. What it changes:

- **decoding at llama.cpp's speed**: a token of the default model costs about 13-18 ms on two
  cores (the transformers path: about 60 ms for one take), from the file's quantised weights (Q4_1);
- **the story is evaluated once and kept**: its keys and values stay in sequence 0 of llama.cpp's
  cache and each take reads them (no copy); a story that grew by one scene evaluates that scene
  only (the longest start it shares with the one before is kept);
- **one story kept**: the engine keeps the last prompt's keys and values only (a second story
  kept beside it would put the new cells elsewhere in llama.cpp's cache, and its attention sums
  over the cells in their order: the takes would then depend on what was written before, in the
  last bits). Work that alternates between stories (a play's background pre-writing of several
  branches) evaluates each again, and there the transformers path, with several stories cached
  and faster long passes, is the faster;
- **takes one after another** (see :class:`LlamaSteps`), as KoboldCpp writes them: each streams in
  turn. Measured on two cores (``bench/takes.py``): three takes of 32 tokens over a 1,200-token
  story in about 1.8-2.0 s warm (transformers: 2.1-3.2 s), one take of 200 tokens in 4.6 s (12.8 s);
  the story's first evaluation is slower than transformers' (about 6 s against 1.3 s for 1,200
  tokens: llama.cpp has no fast Q4_1 kernel for long passes on this CPU).

LoRA adapters are refused with a clear error: train and write with the ``default+ADAPTER`` spec
of the local backend.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from ..errors import InvalidInput, ModelUnavailable
from .local import DEFAULT_MODEL_ID, LocalTextGenerator, default_gguf_path, ensure_default_model_dir
from .spec import ModelSpec
from .voice import file_sha256

__all__ = ["LlamaCppTextGenerator", "LlamaEngine", "available", "factory", "how_to_install", "load"]

MAX_SEQS = 2  # the story (sequence 0) and the take being written (sequence 1)
TAKE_ROOM = 1024  # cells for a take's new tokens beyond the prompt window
BATCH = 512  # tokens per llama_decode call

_generators: dict[str, LlamaCppTextGenerator] = {}
_lock = threading.Lock()
_quiet: Any = None  # the log callback (kept alive while llama.cpp holds it)


def available() -> bool:
    """Whether llama.cpp (``llama-cpp-python``) is installed."""
    return importlib.util.find_spec("llama_cpp") is not None


def how_to_install() -> str:
    """The command that installs the engine (pip builds it from source once)."""
    return (
        "pip install 'llama-cpp-python==0.3.36' (PyPI has its source only: pip builds it once, about "
        "ten minutes on two cores, then keeps the wheel), or `make fast`"
    )


def _library() -> Any:
    if not available():
        raise ModelUnavailable(f"the llama.cpp engine is not installed: {how_to_install()}")
    import llama_cpp

    global _quiet
    if _quiet is None:
        _quiet = llama_cpp.llama_log_callback(lambda level, text, data: None)
        llama_cpp.llama_log_set(_quiet, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
    return llama_cpp


class LlamaEngine:
    """One GGUF model and one llama.cpp context: the story in sequence 0, takes in 1..n."""

    def __init__(self, path: Path, n_ctx: int | None = None, threads: int | None = None) -> None:
        """``n_ctx``: the cells of the context (default: the model's trained window and a take's room)."""
        lib = _library()
        self.lib = lib
        model_params = lib.llama_model_default_params()
        # the weights as the file has them, on the CPU kernels every build has (no repacking into
        # AMX or other extra buffers: AMX tiles fault on machines that list AMX but do not enable it)
        model_params.use_extra_bufts = False
        self.model = lib.llama_model_load_from_file(str(path).encode(), model_params)
        if not self.model:
            raise ModelUnavailable(f"llama.cpp cannot load {str(path)!r} (not a GGUF model it reads)")
        self.trained_ctx = int(lib.llama_model_n_ctx_train(self.model))
        n_ctx = n_ctx or self.trained_ctx + TAKE_ROOM
        params = lib.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = BATCH
        params.n_ubatch = BATCH
        params.n_seq_max = MAX_SEQS
        params.n_threads = params.n_threads_batch = threads or max(1, os.cpu_count() or 1)
        params.kv_unified = True  # the take reads the story's cells
        params.flash_attn_type = 0  # off: on the CPU the plain attention is twice as fast here
        self.ctx = lib.llama_init_from_model(self.model, params)
        if not self.ctx:
            raise ModelUnavailable(f"llama.cpp cannot make a context of {n_ctx} tokens for {str(path)!r}")
        self.n_ctx = n_ctx
        self.mem = lib.llama_get_memory(self.ctx)
        self.vocab = lib.llama_model_get_vocab(self.model)
        self.n_vocab = int(lib.llama_vocab_n_tokens(self.vocab))
        self.batch = lib.llama_batch_init(BATCH, 0, MAX_SEQS)
        self.story: list[int] = []  # the tokens whose keys and values sequence 0 holds

    def close(self) -> None:
        if self.ctx:
            self.lib.llama_batch_free(self.batch)
            self.lib.llama_free(self.ctx)
            self.lib.llama_model_free(self.model)
            self.ctx = self.model = None

    def run(self, items: list[tuple[int, int, int, bool]]) -> list[Any]:
        """Evaluate (token, position, sequence, wants logits) items in order; the logits wanted, as
        float32 arrays (copies), in the items' order."""
        import numpy as np

        out = []
        b = self.batch
        parts, start = [], 0
        while start < len(items):  # no part of one token after a longer one (see keep_story)
            size = BATCH - 1 if len(items) - start == BATCH + 1 else BATCH
            parts.append(items[start : start + size])
            start += size
        for part in parts:
            b.n_tokens = len(part)
            for i, (tok, pos, seq, wants) in enumerate(part):
                b.token[i] = tok
                b.pos[i] = pos
                b.n_seq_id[i] = 1
                b.seq_id[i][0] = seq
                b.logits[i] = 1 if wants else 0
            rc = self.lib.llama_decode(self.ctx, b)
            if rc != 0:
                raise ModelUnavailable(
                    f"llama.cpp could not evaluate the tokens (llama_decode returned {rc})"
                )
            for i, (_, _, _, wants) in enumerate(part):
                if wants:
                    ptr = self.lib.llama_get_logits_ith(self.ctx, i)
                    out.append(np.ctypeslib.as_array(ptr, shape=(self.n_vocab,)).copy())
        return out

    def clear_takes(self) -> None:
        for seq in range(1, MAX_SEQS):
            self.lib.llama_memory_seq_rm(self.mem, seq, -1, -1)

    def keep_story(self, tokens: list[int]) -> tuple[int, int]:
        """Make sequence 0 hold ``tokens``: the longest start it shares with what it holds is kept,
        the rest evaluated. Returns (tokens reused, tokens evaluated)."""
        self.clear_takes()
        shared = 0
        limit = min(len(tokens), len(self.story))
        while shared < limit and tokens[shared] == self.story[shared]:
            shared += 1
        if shared < len(self.story):
            self.lib.llama_memory_seq_rm(self.mem, 0, shared, -1)
            self.story = self.story[:shared]
        # a pass of one token takes another kernel than a pass of several (the logits differ in
        # the first decimal): the story's keys and values are never computed one token alone, so a
        # story reused and grown is the story evaluated whole, and a take the same, warm or cold
        if len(tokens) - shared == 1 and shared > 0:
            shared -= 1
            self.lib.llama_memory_seq_rm(self.mem, 0, shared, -1)
        rest = tokens[shared:]
        if rest:
            self.run([(t, shared + i, 0, False) for i, t in enumerate(rest)])
        self.story = list(tokens)
        return shared, len(rest)


class LlamaSteps:
    """The model passes of :func:`.decode.decode_rows` for one take on a :class:`LlamaEngine`: the
    take is sequence 1, reading the story's cells in sequence 0 (shared, not copied).

    Takes are written one after another, each alone in its passes. On the CPU llama.cpp computes a
    pass of one token with its fastest kernel (13 ms for the default model on two cores), and a
    take alone is computed the same way whatever else was asked for, so take ``i`` is the same
    whatever ``n`` is. (Three takes in one batch cost 31 ms a step, faster in all, but llama.cpp's
    attention then sums over cells laid out by the whole batch, and take 0 of three drifts from the
    one-take take in the last bits: measured, and not taken.)
    """

    def __init__(self, engine: LlamaEngine) -> None:
        self.engine = engine
        self.reused = self.evaluated = 0

    def first(self, prompt: list[int], cached: int, n: int) -> Any:
        import torch

        eng = self.engine
        if n != 1:
            raise InvalidInput("the llama.cpp engine writes one take at a time")
        story, last = prompt[:-1], prompt[-1]
        shared, _ = eng.keep_story(story)
        # counted as the transformers path counts them: the story's tokens (the first ``cached``
        # of the prompt) reused or evaluated again; the request after it is evaluated every time
        self.reused = min(shared, cached)
        self.evaluated = max(0, min(cached, len(story)) - shared)
        eng.lib.llama_memory_seq_cp(eng.mem, 0, 1, -1, -1)
        return torch.from_numpy(_stack(eng.run([(last, len(story), 1, True)])))

    def select(self, keep: list[int]) -> None:
        pass  # one row: it goes on until it is done

    def step(self, chunks: list[list[int]], starts: list[int]) -> Any:
        import torch

        toks, at = chunks[0], starts[0]
        items = [(t, at + j, 1, j == len(toks) - 1) for j, t in enumerate(toks)]
        return torch.from_numpy(_stack(self.engine.run(items)))


def _stack(arrays: list[Any]) -> Any:
    import numpy as np

    return np.stack(arrays).astype(np.float32, copy=False)


class LlamaCppTextGenerator(LocalTextGenerator):
    """A GGUF model on llama.cpp behind the :class:`~workbench.generate.base.TextGenerator`
    protocol; prompts, tokens, sampling and constraints as the local backend has them."""

    def __init__(self, engine: LlamaEngine, tokenizer: Any, spec: str, fingerprint: dict[str, Any]) -> None:
        super().__init__(None, tokenizer, spec=spec, fingerprint=fingerprint)
        self.engine = engine

    @property
    def context_window(self) -> int:
        return min(self.engine.trained_ctx, self.engine.n_ctx - TAKE_ROOM)

    @property
    def device(self) -> Any:
        import torch

        return torch.device("cpu")

    def _eos_ids(self) -> list[int]:
        ids: list[int] = []
        for i in (self.tokenizer.eos_token_id, int(self.engine.lib.llama_vocab_eos(self.engine.vocab))):
            if i is not None and i >= 0 and i not in ids:
                ids.append(int(i))
        return ids

    def _logits_keep(self) -> str | None:
        return None

    def clear_prefix_cache(self) -> None:
        with self._lock:
            self.engine.keep_story([])

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
        import torch

        from .decode import DecodeRow, decode_rows

        if len(ids) + sampling.max_new + 8 > self.engine.n_ctx:
            raise InvalidInput(
                f"a take of {sampling.max_new} tokens after a {len(ids)}-token prompt does not fit the "
                f"llama.cpp context ({self.engine.n_ctx} tokens): shorten the story or the cap"
            )
        if not use_prefix_cache:
            self.engine.keep_story([])
        rows: list[Any] = []
        first_at: float | None = None
        for i, seed in enumerate(seeds):  # one take after another (see LlamaSteps)
            if rows and stop is not None and stop.is_set():  # takes not begun: stopped, empty
                rows.append(DecodeRow(seed=seed, reason="stopped", done=True))
                continue
            steps = LlamaSteps(self.engine)

            def heard(_row: int, tokens: list[int], i: int = i) -> None:
                if stream is not None:
                    stream(i, tokens)

            try:
                with torch.inference_mode():
                    done, at = decode_rows(
                        steps,
                        prompt=ids,
                        cached=len(prefix_ids),
                        seeds=[seed],
                        sampling=sampling,
                        constraints=[constraints[i]] if constraints else None,
                        tokenize=self._ids if self.fast_forward else None,
                        stop=stop,
                        on_tokens=heard,
                    )
            finally:
                self.engine.clear_takes()
            rows.extend(done)
            first_at = first_at or at
            self.stats["prefill_tokens"] += steps.evaluated
            self.stats["prefix_reused_tokens"] += steps.reused
            self.stats["prefix_hits" if steps.evaluated == 0 else "prefix_misses"] += 1
        return rows, first_at


def load(spec: ModelSpec) -> LlamaCppTextGenerator:
    """A new generator for ``spec`` (its own engine; :func:`factory` shares one per process)."""
    if spec.adapter:
        raise ModelUnavailable(
            "the llama.cpp engine does not apply LoRA adapters: write with the local backend's "
            f"'{spec.model}+{spec.adapter}' spec instead"
        )
    lib = _library()
    from transformers import AutoTokenizer

    if spec.model == "default":
        gguf = default_gguf_path()
        tokenizer_dir = ensure_default_model_dir()  # the same tokenizer the local backend uses
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
        model_id = DEFAULT_MODEL_ID
    else:
        gguf = Path(spec.model).expanduser()
        if not gguf.is_file() or gguf.suffix.lower() != ".gguf":
            raise ModelUnavailable(f"the llama.cpp engine needs a .gguf file, not {spec.model!r}")
        try:
            tokenizer = AutoTokenizer.from_pretrained(
                str(gguf.parent), gguf_file=gguf.name, local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot read the tokenizer of {spec.model!r}: {exc}") from exc
        model_id = gguf.name
    engine = LlamaEngine(gguf)
    fingerprint = {
        "backend": "llamacpp",
        "model": model_id,
        "file": gguf.name,
        "sha256": file_sha256(gguf),
        "engine": f"llama.cpp {getattr(lib, '__version__', '')}".strip(),
    }
    return LlamaCppTextGenerator(
        engine, tokenizer, spec=spec.raw or f"llamacpp:{spec.model}", fingerprint=fingerprint
    )


def factory(spec: ModelSpec) -> LlamaCppTextGenerator:
    """The backend factory registered as ``text.llamacpp``: one engine per spec and process."""
    key = f"{spec.model}+{spec.adapter or ''}"
    with _lock:
        gen = _generators.get(key)
        if gen is None:
            gen = load(spec)
            _generators[key] = gen
    return gen
