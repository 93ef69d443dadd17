"""Fixtures for the generation tests: a shared model cache and a tiny random-weight Llama."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights (seeded) and the real SmolLM2 tokenizer and chat template."""
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny(tiny_model_dir: Path):
    """The process-wide generator for the tiny model."""
    from workbench.generate.local import get_local_generator

    return get_local_generator(str(tiny_model_dir))
