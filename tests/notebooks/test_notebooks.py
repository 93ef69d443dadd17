"""Every notebook runs top to bottom offline on the default model (`pytest --nbval-lax`), and is committed clean.

A notebook that runs is kept with its outputs under ``build/notebooks/`` (see
``tests/executed_notebooks.py``): the documentation site renders those copies as its tutorials.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.executed_notebooks import executed_path, is_current, save_executed

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = ["01_quickstart", "02_branching", "03_cast", "04_play", "05_trainers", "06_extending"]
# the report notebook ships in the package; notebooks/pitch_report.ipynb links to it. It runs in
# tests/report (papermill, as `workbench report` runs it), not under nbval here.
REPORT = REPO / "workbench" / "report" / "pitch_report.ipynb"

pytestmark = pytest.mark.slow


def test_every_notebook_is_covered() -> None:
    found = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))
    assert found == sorted([*NOTEBOOKS, "pitch_report"])


def test_report_notebook_has_one_source() -> None:
    """notebooks/pitch_report.ipynb is a relative link to the copy the package ships and runs."""
    from workbench.report.run import notebook_path

    link = REPO / "notebooks" / "pitch_report.ipynb"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == REPORT.resolve() == notebook_path()
    assert REPORT.is_file() and not REPORT.is_symlink()


@pytest.mark.parametrize("name", [*NOTEBOOKS, "pitch_report"])
def test_notebook_is_committed_without_outputs(name: str) -> None:
    cells = json.loads((REPO / "notebooks" / f"{name}.ipynb").read_text())["cells"]
    assert all(
        not c.get("outputs") and not c.get("execution_count") for c in cells if c["cell_type"] == "code"
    )


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name: str, tmp_path: Path) -> None:
    pytest.importorskip("nbval", reason="nbval is in requirements/test.txt")
    env = {
        **os.environ,
        "WORKBENCH_MAX_NEW_TOKENS": "12",
        "WORKBENCH_HOME": str(tmp_path / "home"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "WORKBENCH_NBSAVE": str(tmp_path / f"{name}.executed.ipynb"),
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
            "-p",
            "tests.notebooks.nbsave",
            "--nbval-cell-timeout=600",
            "-o",
            "addopts=",
            "-o",
            "testpaths=",
            f"notebooks/{name}.ipynb",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]
    assert " passed" in out.stdout
    assert not list((REPO / "notebooks").glob("*.story")), "a notebook wrote into the repository"
    # keep the run, outputs and all, for the documentation's tutorials
    executed = nbformat.read(str(tmp_path / f"{name}.executed.ipynb"), as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code)
    assert any(c.outputs for c in code), "the executed copy lost the outputs"
    save_executed(name, executed)
    assert is_current(name) and executed_path(name).is_file()
