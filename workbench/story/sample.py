"""Build a project from a readable TOML source (the sample story ships as one)."""

from __future__ import annotations

import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import FormatError, InvalidInput
from .project import Project, open_project

SAMPLE = "lighthouse.toml"


def sample_source() -> Path:
    return Path(str(resources.files("workbench.samples").joinpath(SAMPLE)))


def build_project(
    source: str | os.PathLike[str], out: str | os.PathLike[str], overwrite: bool = False
) -> Project:
    """Create the project file ``out`` from a TOML story source, in one transaction."""
    src = Path(source)
    try:
        spec: dict[str, Any] = tomllib.loads(src.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(f"{src.name}: {exc}") from None
    out = Path(out)
    if out.exists():
        if not overwrite:
            raise InvalidInput(f"{out} already exists; pass overwrite=True to replace it")
        out.unlink()
        for extra in (out.with_name(out.name + "-wal"), out.with_name(out.name + "-shm")):
            if extra.exists():
                extra.unlink()
    project = open_project(out)
    try:
        with project.transaction("build sample"):
            meta = spec.get("project", {})
            for key in ("title", "logline", "genre", "style", "author_note"):
                if key in meta:
                    setattr(project, key, meta[key])
            if "ifid" in meta:
                project.ifid = meta["ifid"]
            for ch in spec.get("character", []):
                ch = dict(ch)
                project.cast.add(ch.pop("name"), **ch)
            for entry in spec.get("lore", []):
                project.lore.add(
                    entry.get("keys", []),
                    entry["content"],
                    always=entry.get("always", False),
                    priority=entry.get("priority", 0),
                    name=entry.get("name"),
                )
            for sc in spec.get("scene", []):
                branch = sc.get("branch")
                after = sc.get("after")
                if branch and branch not in project.branches and after:
                    # a new branch forks from ``after`` on main
                    project.branches[branch] = project.scene(after)
                pos = sc.get("position")
                project.add_scene(
                    sc["title"],
                    text=sc.get("text", "").strip("\n"),
                    after=after,
                    choice=sc.get("choice"),
                    characters=sc.get("characters", ()),
                    tags=sc.get("tags", ()),
                    position=tuple(pos) if pos else None,
                    branch=branch,
                )
            for link in spec.get("connect", []):
                project.connect(link["from"], link["to"], link["choice"])
    except Exception:
        project.close()
        out.unlink(missing_ok=True)
        raise
    # building the sample is not an edit the writer should be able to undo away
    project.forget_undo()
    return project


def build_sample(out: str | os.PathLike[str], overwrite: bool = False) -> Project:
    """The sample project (a branching coastal mystery) written to ``out``.

    ``overwrite=True`` replaces a file already there; otherwise an existing file is an error.

    >>> import tempfile, pathlib
    >>> project = build_sample(pathlib.Path(tempfile.mkdtemp()) / "sample.story")
    >>> project.title
    'The Last Light of Skerry Point'
    >>> project.start.title, sorted(project.branches)
    ('The Lamp Goes Dark', ['ines', 'main'])
    >>> project.close()
    """
    return build_project(sample_source(), out, overwrite=overwrite)
