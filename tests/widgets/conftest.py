"""Headless view tests: views built on a real Session over a fresh sample project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("panel", reason="panel is in requirements/views.txt")


@pytest.fixture
def session(sample: Any) -> Iterator[Any]:
    from workbench.session import Session

    yield Session(sample)


def reopen(project: Any) -> Any:
    """The project file opened again through a second connection: what was really saved."""
    from workbench import open_project

    return open_project(project.file, create=False)
