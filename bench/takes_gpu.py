"""Takes benchmark on CUDA: static cache vs dynamic cache, random weights in the SmolLM2-135M shape.

Standalone (torch + transformers only, no GGUF, no workbench import). Prints one JSON line:
single-stream decode tok/s with a dynamic and a static cache (after warm-up), and the
batched 3-take throughput. Run on a GPU machine: ``python bench/takes_gpu.py``.
"""

from __future__ import annotations

import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM

NEW = 32
PROMPT = 1200


def smollm2_135m_config() -> LlamaConfig:
    return LlamaConfig(
        vocab_size=49152,
        hidden_size=576,
        intermediate_size=1536,
        num_hidden_layers=30,
        num_attention_heads=9,
        num_key_value_heads=3,
        head_dim=64,
        max_position_embeddings=8192,
        rms_norm_eps=1e-5,
        rope_parameters={"rope_theta": 100000.0, "rope_type": "default"},
        tie_word_embeddings=True,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
    )


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        torch.cuda.synchronize()
        t = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device: run this on a GPU machine")
    torch.manual_seed(0)
    model = LlamaForCausalLM(smollm2_135m_config()).to("cuda", torch.bfloat16).eval()
    ids = torch.randint(3, 49152, (1, PROMPT), device="cuda")
    common = {
        "max_new_tokens": NEW,
        "min_new_tokens": NEW,
        "do_sample": True,
        "top_p": 0.95,
        "temperature": 0.8,
    }

    def run(cache: str | None, n: int = 1, prompt=ids):
        with torch.inference_mode():
            kw = {"cache_implementation": cache} if cache else {}
            model.generate(
                prompt, attention_mask=torch.ones_like(prompt), num_return_sequences=n, **common, **kw
            )

    out = {"device": torch.cuda.get_device_name(0), "prompt_tokens": PROMPT, "new_tokens": NEW}
    run(None)
    out["dynamic_tok_s"] = round(NEW / timed(lambda: run(None)), 1)
    t = time.perf_counter()
    for _ in range(3):  # static cache: compiled on first use
        run("static")
    out["static_warmup_s"] = round(time.perf_counter() - t, 1)
    out["static_tok_s"] = round(NEW / timed(lambda: run("static")), 1)
    out["loop3_dynamic_s"] = round(timed(lambda: [run(None) for _ in range(3)], 2), 3)
    out["batch3_dynamic_s"] = round(timed(lambda: run(None, 3), 2), 3)
    out["batch3_static_s"] = round(timed(lambda: run("static", 3), 2), 3)
    with torch.inference_mode():
        prefill = timed(lambda: model(ids))
    out["prefill_ms"] = round(prefill * 1000, 1)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
