"""Fixtures for the training tests: a tiny random-weight Llama with the real SmolLM2 tokenizer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMPT = "<|im_start|>system\nYou write scenes.<|im_end|>\n<|im_start|>user\nWrite the scene.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="session", autouse=True)
def workbench_cache() -> Path:
    """One WORKBENCH_CACHE for the session, so the default model converts once per machine."""
    path = Path(os.environ.setdefault("WORKBENCH_CACHE", str(REPO / ".cache" / "workbench")))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (random, seeded) saved with the default model's tokenizer and chat template."""
    torch = pytest.importorskip("torch")
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from workbench.generate.local import ensure_default_model_dir

    tokenizer = AutoTokenizer.from_pretrained(str(ensure_default_model_dir()))
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(1234)
    model = LlamaForCausalLM(config)
    out = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def model_take(scene, text: str, prompt: str = PROMPT, **prov):
    """A take as a generation would save it: source "model" with the rendered prompt in its provenance."""
    provenance = {"prompt": prompt, "model": "tiny", "seed": 7, "take_seed": 11, **prov}
    return scene.project._add_take(scene, text, "model", provenance, None, False)
