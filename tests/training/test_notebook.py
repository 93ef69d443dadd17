"""notebooks/05_trainers.ipynb runs top to bottom offline (`pytest --nbval-lax`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_trainers_notebook_runs(tmp_path: Path) -> None:
    pytest.importorskip("nbval")
    pytest.importorskip("trl")
    env = {
        **os.environ,
        "WORKBENCH_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "MPLBACKEND": "Agg",
    }
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-q",
            "-p",
            "no:cacheprovider",
            "--nbval-cell-timeout=600",
            "-o",
            "addopts=",
            "-o",
            "testpaths=",
            "notebooks/05_trainers.ipynb",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout
