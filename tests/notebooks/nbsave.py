"""A pytest plug-in for the ``pytest --nbval-lax`` run of a notebook: keep what the cells printed.

``test_notebooks.py`` loads it with ``-p tests.notebooks.nbsave`` and names the output file in
``WORKBENCH_NBSAVE``. When every cell of the notebook passed, the notebook is written there with the
outputs nbval collected from the kernel, so the documentation can show the run the suite made.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import nbformat
import pytest


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the executed notebook when the run passed (nothing on a failure)."""
    target = os.environ.get("WORKBENCH_NBSAVE")
    if not target or exitstatus != 0:
        return
    cells = [item for item in session.items if hasattr(item, "test_outputs") and hasattr(item, "cell")]
    if not cells:
        return
    nb: Any = copy.deepcopy(cells[0].parent.nb)
    ran = {id(item.cell): item for item in cells}
    count = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count += 1
        cell.execution_count = count
        cell.outputs = []
    # nb is a copy: match the copied code cells to the items in order
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    originals = [c for c in cells[0].parent.nb.cells if c.cell_type == "code"]
    for copied, original in zip(code_cells, originals, strict=True):
        item = ran.get(id(original))
        outputs = [] if item is None or item.test_outputs is None else item.test_outputs
        for out in outputs:
            out = copy.deepcopy(out)
            if out.output_type == "execute_result":
                out.execution_count = copied.execution_count
            copied.outputs.append(out)
    nbformat.validate(nb)
    tmp = f"{target}.tmp"
    nbformat.write(nb, tmp)
    os.replace(tmp, target)
