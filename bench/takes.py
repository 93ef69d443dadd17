"""Takes benchmark: n takes on a shared story prefix, the local backend vs a plain transformers loop.

Default model, CPU, one process, 32 new tokens per take on both sides. Prints one JSON line:
ratio (A/B: the plain loop over the workbench cold), ratio_warm (A/B', warm), time to first token at 500, 2,000 and 4,000 story tokens,
cold load (converted safetensors vs GGUF), plain decode tok/s.
Run: ``python bench/takes.py`` (WORKBENCH_CACHE as usual; the first run converts the model).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NEW = 32
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
    # B': another seed on the same prefix
    request.seed = 2
    t = time.perf_counter()
    warm_results = gen.generate(request)
    warm = time.perf_counter() - t

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

    figures = {
        "story_tokens": 1200,
        "new_tokens_per_take": NEW,
        "plain_loop_s": round(plain, 3),
        "cold_s": round(cold, 3),
        "warm_s": round(warm, 3),
        "ratio": round(plain / cold, 2),
        "ratio_warm": round(plain / warm, 2),
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


if __name__ == "__main__":
    sys.exit(main())
