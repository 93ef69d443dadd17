"""Story Workbench: prototype branching stories with generative AI, in Jupyter and beyond.

``import workbench`` stays light: torch, transformers, diffusers and panel load lazily
where they are first needed.

    >>> import workbench
    >>> project = workbench.open_project("my_story.story")
    >>> session = workbench.Session(project)
"""

from __future__ import annotations

from typing import Any

from . import errors
from .errors import (
    AmbiguousPathError,
    CycleError,
    DamagedProject,
    ModelUnavailable,
    NewerSchema,
    NotAProject,
    ProjectNotFound,
    WorkbenchError,
)
from .story.cast import CastLibrary, open_cast
from .story.project import Branch, Character, Choice, LoreEntry, Project, Scene, Take, open_project
from .story.screenplay import parse_scene
from .version import __version__ as __version__

_LAZY = {
    "Session": ("workbench.session", "Session"),
    "register_view": ("workbench.widgets.registry", "register_view"),
    "Workbench": ("workbench.widgets", "Workbench"),
    "build_sample": ("workbench.story.sample", "build_sample"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


__all__ = [
    "AmbiguousPathError",
    "Branch",
    "CastLibrary",
    "Character",
    "Choice",
    "CycleError",
    "DamagedProject",
    "LoreEntry",
    "ModelUnavailable",
    "NewerSchema",
    "NotAProject",
    "Project",
    "ProjectNotFound",
    "Scene",
    "Session",
    "Take",
    "Workbench",
    "WorkbenchError",
    "build_sample",
    "errors",
    "open_cast",
    "open_project",
    "parse_scene",
    "register_view",
]
