"""Executed copies of the notebooks, kept from the test suite's run for the documentation site.

The notebook tests (``tests/notebooks``) and the report tests (``tests/report``) execute the
notebooks anyway; they save what they ran, outputs included, under ``build/notebooks/`` (ignored by
git). ``make docs`` renders those copies as the tutorials, so the site shows what the code really
printed, with no second way of running a notebook. Each copy records the sha256 of the notebook it
came from: an edited notebook makes its copy stale, and ``make docs`` runs its test again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXECUTED = REPO / "build" / "notebooks"
# the tutorials, in the order a writer learns them; the source each executed copy comes from
SOURCES = {
    "01_quickstart": REPO / "notebooks" / "01_quickstart.ipynb",
    "02_branching": REPO / "notebooks" / "02_branching.ipynb",
    "03_cast": REPO / "notebooks" / "03_cast.ipynb",
    "04_play": REPO / "notebooks" / "04_play.ipynb",
    "05_trainers": REPO / "notebooks" / "05_trainers.ipynb",
    "06_extending": REPO / "notebooks" / "06_extending.ipynb",
    "pitch_report": REPO / "workbench" / "report" / "pitch_report.ipynb",
}
META_KEY = "workbench_docs"


def source_digest(name: str) -> str:
    """The sha256 of the committed notebook ``name`` (its executed copy must match it)."""
    return hashlib.sha256(SOURCES[name].read_bytes()).hexdigest()


def executed_path(name: str) -> Path:
    """Where the executed copy of notebook ``name`` is kept."""
    return EXECUTED / f"{name}.ipynb"


def is_current(name: str) -> bool:
    """True when an executed copy of ``name`` exists and was run from the committed notebook."""
    import nbformat

    path = executed_path(name)
    if not path.is_file():
        return False
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # a half-written or foreign file is simply not current
        return False
    return nb.metadata.get(META_KEY, {}).get("source_sha256") == source_digest(name)


def missing() -> list[str]:
    """The notebooks whose executed copy is absent or stale."""
    return [name for name in SOURCES if not is_current(name)]


def save_executed(name: str, nb: Any) -> Path:
    """Keep ``nb`` (an executed ``nbformat`` notebook) as the copy of ``name``, atomically."""
    import nbformat

    nb.metadata[META_KEY] = {"source_sha256": source_digest(name)}
    EXECUTED.mkdir(parents=True, exist_ok=True)
    out = executed_path(name)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    nbformat.write(nb, str(tmp))
    os.replace(tmp, out)
    return out
