"""Takes benchmark: n takes on a shared story prefix, the workbench vs a plain transformers loop and
vs llama.cpp (the engine KoboldCpp users run), side by side in one process.

Default model, CPU, 32 new tokens per take everywhere, three takes:
- A: a plain loop of three transformers ``generate`` calls;
- B / B': the workbench on transformers, cold (nothing cached) and warm (a new seed, same story);
- F / F': the workbench on its llama.cpp engine (``llamacpp:default``), cold and warm;
- C / C': llama.cpp's own Python API (``llama_cpp.Llama``, its prompt cache), three takes in
  sequence as a KoboldCpp user gets them, cold and warm.
Every warm figure (B', F', C') is the median of three rounds with new seeds, and F' and C' take
turns, so the machine's drift during the run does not decide ``vs_llamacpp``.
Prints one JSON line: ratio (A over the workbench's fastest cold), ratio_warm (A over its fastest
warm), vs_llamacpp (C' over the workbench's fastest warm), each engine's figures, time to first
token at 500, 2,000 and 4,000 story tokens, cold load (converted safetensors vs GGUF), decode tok/s.
F and C are left out (null) where llama-cpp-python is not installed (`make fast`).
Run: ``python bench/takes.py`` (WORKBENCH_CACHE as usual; the first run converts the model).
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = 32
LONG = 200  # one longer take, story cached
INSTRUCTION = "Write the next scene of the story in screenplay format."


def story_tokens(gen, n_tokens: int) -> str:
    """The first ``n_tokens`` tokens of the stored story (bench/story.txt)."""
    text = (HERE / "story.txt").read_text(encoding="utf-8")
    ids = gen.tokenizer(text, add_special_tokens=False)["input_ids"]
    if len(ids) < n_tokens:
        raise SystemExit(f"bench/story.txt has {len(ids)} tokens, fewer than {n_tokens}")
    return gen.tokenizer.decode(ids[:n_tokens])


def main() -> None:
    os.environ.pop("WORKBENCH_MAX_NEW_TOKENS", None)
    import torch
    from transformers import AutoModelForCausalLM

    from workbench.generate.base import TextRequest
    from workbench.generate.local import LocalTextGenerator, default_gguf_path, ensure_default_model_dir

    path = ensure_default_model_dir()
    t = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch.float32)
    load_converted = time.perf_counter() - t
    gguf = default_gguf_path()
    t = time.perf_counter()
    AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    load_gguf = time.perf_counter() - t

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model.eval()

    class FullLength(LocalTextGenerator):
        """Ignores end-of-text so every take has exactly NEW tokens, like the plain loop."""

        def _eos_ids(self) -> list[int]:
            return [10**9]

    def fresh() -> LocalTextGenerator:
        return FullLength(model, tokenizer, spec="default")

    probe = fresh()
    story = story_tokens(probe, 1200)
    prefix = "You are a screenwriter. Continue the story.\n\n" + story
    request = TextRequest(
        prefix=prefix, suffix=INSTRUCTION, n=3, seed=1, max_new_tokens=NEW, repetition_penalty=1.15
    )

    # A: a plain loop of 3 transformers generate calls, same model, prompt and sampling parameters
    rendered = "".join(probe.render(prefix, INSTRUCTION))
    ids = tokenizer(rendered, add_special_tokens=False, return_tensors="pt")["input_ids"]
    t = time.perf_counter()
    with torch.inference_mode():
        for i in range(3):
            torch.manual_seed(i)
            model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                do_sample=True,
                temperature=0.8,
                top_p=0.95,
                repetition_penalty=1.15,
                max_new_tokens=NEW,
                min_new_tokens=NEW,
                pad_token_id=tokenizer.eos_token_id,
            )
    plain = time.perf_counter() - t

    # B: a fresh generator, nothing cached, 3 takes in one call (the prefill included)
    gen = fresh()
    t = time.perf_counter()
    gen.generate(request)
    cold = time.perf_counter() - t
    # B': another seed on the same prefix, ROUNDS times (a new seed each); the median round
    b_rounds = []
    for r in range(ROUNDS):
        request.seed = 2 + r
        t = time.perf_counter()
        warm_results = gen.generate(request)
        b_rounds.append(time.perf_counter() - t)
    warm = statistics.median(b_rounds)
    long_request = dataclasses.replace(request, n=1, seed=5, max_new_tokens=LONG)
    t = time.perf_counter()
    gen.generate(long_request)  # one take of 200 tokens, story cached (a play move, one more take)
    one_long = time.perf_counter() - t

    # time to first token of a new take in a warm generator, 500 to 4,000 story tokens
    ttft = {}
    for size in (500, 2000, 4000):
        g = fresh()
        p = "You are a screenwriter. Continue the story.\n\n" + story_tokens(g, size)
        g.generate(TextRequest(prefix=p, suffix=INSTRUCTION, n=1, seed=0, max_new_tokens=1))
        r = g.generate(TextRequest(prefix=p, suffix=INSTRUCTION, n=1, seed=3, max_new_tokens=4))
        ttft[size] = r[0].first_token_seconds

    # plain decode speed: one stream, short prompt, EOS ignored
    short = tokenizer("Once upon a time", return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        model.generate(short, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.eos_token_id)
        t = time.perf_counter()
        model.generate(
            short, max_new_tokens=64, min_new_tokens=64, do_sample=False, pad_token_id=tokenizer.eos_token_id
        )
        decode = 64 / (time.perf_counter() - t)

    fast = llama_arms(tokenizer, request, rendered, story)
    best_cold = min(cold, fast.get("fast_cold_s") or cold)
    best_warm = min(warm, fast.get("fast_warm_s") or warm)
    figures = {
        "story_tokens": 1200,
        "new_tokens_per_take": NEW,
        "plain_loop_s": round(plain, 3),
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
        "warm_rounds_s": [round(x, 3) for x in b_rounds],
        "one_take_200_s": round(one_long, 3),
        "ratio": round(plain / best_cold, 2),
        "ratio_warm": round(plain / best_warm, 2),
        "vs_llamacpp": round(fast["llamacpp_warm_s"] / best_warm, 2) if fast.get("llamacpp_warm_s") else None,
        "transformers_ratio": round(plain / cold, 2),
        "transformers_ratio_warm": round(plain / warm, 2),
        **fast,
        "warm_completion_tokens": [r.completion_tokens for r in warm_results],
        "ttft_500_s": round(ttft[500], 3),
        "ttft_2000_s": round(ttft[2000], 3),
        "ttft_4000_s": round(ttft[4000], 3),
        "load_converted_s": round(load_converted, 3),
        "load_gguf_s": round(load_gguf, 3),
        "load_ratio": round(load_gguf / load_converted, 1),
        "decode_tok_s": round(decode, 1),
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(figures), flush=True)


def llama_arms(tokenizer, request, rendered: str, story: str) -> dict:
    """F/F' (the workbench's llama.cpp engine) and C/C' (llama.cpp's own API), when installed."""
    from workbench.generate import llamacpp

    if not llamacpp.available():
        print(f"llama.cpp arms skipped: {llamacpp.how_to_install()}", file=sys.stderr)
        return {}
    from workbench.generate.base import TextRequest
    from workbench.generate.local import default_gguf_path

    gguf = default_gguf_path()

    class FullLength(llamacpp.LlamaCppTextGenerator):
        def _eos_ids(self) -> list[int]:
            return [10**9]

    def fresh() -> llamacpp.LlamaCppTextGenerator:
        engine = llamacpp.LlamaEngine(gguf, threads=THREADS)
        return FullLength(engine, tokenizer, "llamacpp:default", {"backend": "llamacpp"})

    # C: llama.cpp's own API on the same GGUF, prompt tokens and sampling; end of text ignored
    from llama_cpp import Llama

    ids = tokenizer(rendered, add_special_tokens=False)["input_ids"]
    llm = Llama(model_path=str(gguf), n_ctx=8192, n_threads=THREADS, n_threads_batch=THREADS, verbose=False)
    eos = llm.token_eos()

    def three(seed: int) -> float:
        t = time.perf_counter()
        for i in range(3):
            llm.create_completion(
                ids,
                max_tokens=NEW,
                temperature=0.8,
                top_p=0.95,
                repeat_penalty=1.15,
                seed=seed * 10 + i,
                logit_bias={eos: -1e9},
            )
        return time.perf_counter() - t

    gen = fresh()

    def ours(seed: int) -> tuple[float, list]:
        t = time.perf_counter()
        results = gen.generate(dataclasses.replace(request, seed=seed))
        return time.perf_counter() - t, results

    f_cold, _ = ours(1)
    c_cold = three(1)
    # warm rounds, F' and C' taking turns (a new seed each round), so a machine that slows down
    # or speeds up during the run weighs on both alike; each arm's median round is its figure
    f_rounds, c_rounds = [], []
    for r in range(ROUNDS):
        seconds, f_results = ours(2 + r)
        f_rounds.append(seconds)
        c_rounds.append(three(2 + r))
    f_warm, c_warm = statistics.median(f_rounds), statistics.median(c_rounds)
    t = time.perf_counter()
    gen.generate(dataclasses.replace(request, n=1, seed=5, max_new_tokens=LONG))
    f_long = time.perf_counter() - t
    ttft = {}
    for size in (500, 4000):
        p = "You are a screenwriter. Continue the story.\n\n" + story_tokens(gen, size)
        gen.generate(TextRequest(prefix=p, suffix=INSTRUCTION, n=1, seed=0, max_new_tokens=1))
        r = gen.generate(TextRequest(prefix=p, suffix=INSTRUCTION, n=1, seed=3, max_new_tokens=4))
        ttft[size] = r[0].first_token_seconds
    gen.engine.close()

    t = time.perf_counter()
    out = llm.create_completion([1], max_tokens=64, temperature=0.0, logit_bias={eos: -1e9})
    c_decode = out["usage"]["completion_tokens"] / (time.perf_counter() - t)
    llm.close()
    return {
        "fast_cold_s": round(f_cold, 3),
        "fast_warm_s": round(f_warm, 3),
        "fast_one_take_200_s": round(f_long, 3),
        "fast_warm_completion_tokens": [r.completion_tokens for r in f_results],
        "fast_ttft_500_s": round(ttft[500], 3),
        "fast_ttft_4000_s": round(ttft[4000], 3),
        "llamacpp_cold_s": round(c_cold, 3),
        "llamacpp_warm_s": round(c_warm, 3),
        "fast_warm_rounds_s": [round(x, 3) for x in f_rounds],
        "llamacpp_warm_rounds_s": [round(x, 3) for x in c_rounds],
        "llamacpp_decode_tok_s": round(c_decode, 1),
    }


THREADS = max(1, os.cpu_count() or 1)
ROUNDS = 3  # warm rounds of F' and C', taking turns

if __name__ == "__main__":
    sys.exit(main())
