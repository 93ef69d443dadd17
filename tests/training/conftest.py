"""Fixtures for the training tests: a tiny random-weight Llama with the real SmolLM2 tokenizer."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROMPT = "<|im_start|>system\nYou write scenes.<|im_end|>\n<|im_start|>user\nWrite the scene.<|im_end|>\n<|im_start|>assistant\n"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama (random, seeded) saved with the default model's tokenizer and chat template."""
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def model_take(scene, text: str, prompt: str = PROMPT, **prov):
    """A take as a generation would save it: source "model" with the rendered prompt in its provenance."""
    provenance = {"prompt": prompt, "model": "tiny", "seed": 7, "take_seed": 11, **prov}
    return scene.add_take(text, "model", provenance, choose=False)
