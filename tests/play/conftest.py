"""Fixtures for the play tests: a tiny random-weight Llama for code paths, the real default model for plays."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights (seeded) whose takes run to the token cap."""
    pytest.importorskip("torch")
    from tests.tiny_models import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-play-llama"), seed=99, run_to_cap=True)


@pytest.fixture
def tiny_session(sample, tiny_dir):
    from workbench.session import Session

    return Session(sample, text=str(tiny_dir))
