"""Suite-wide settings: offline, a private WORKBENCH_HOME, a shared model cache, short generations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("WORKBENCH_CACHE", str(REPO / ".cache" / "workbench"))  # shared: models convert once
Path(os.environ["WORKBENCH_CACHE"]).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("WORKBENCH_MAX_NEW_TOKENS", "40")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def _private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own cast library folder."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture
def project(tmp_path: Path):
    from workbench import open_project

    p = open_project(tmp_path / "story.story")
    yield p
    p.close()


@pytest.fixture
def sample(tmp_path: Path):
    """A fresh copy of the sample project."""
    from workbench.story.sample import build_sample

    p = build_sample(tmp_path / "sample.story")
    yield p
    p.close()


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_or_fail(reason: str) -> None:
    """Skip loudly on a developer machine that lacks a system part; fail under CI=true."""
    if in_ci():
        pytest.fail(f"required for CI but missing: {reason}")
    pytest.skip(f"SKIPPED (missing system part): {reason}")
