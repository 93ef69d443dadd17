"""Yarn Spinner export: one node per scene.

Each node has ``title:`` (a Yarn identifier made from the scene title),
``tags:`` and ``position:`` headers, ``---``, the scene text with Yarn's
metacharacters escaped, the choices as ``-> label`` options each followed by an
indented ``<<jump Node>>``, and ``===``. A node without options ends the dialogue.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from .registry import Format
from .storydoc import StoryDoc, doc_from_project, unique_names

__all__ = ["FORMAT", "export_yarn", "write_yarn", "node_title", "escape_yarn"]

_ESCAPE = set("\\{}<>[]#/")


def node_title(title: str) -> str:
    """A Yarn node title (letters, digits, underscores; never starting with a digit)."""
    name = re.sub(r"\W+", "_", title, flags=re.ASCII).strip("_")
    if not name or name[0].isdigit():
        name = "Scene_" + name
    return name


def escape_yarn(line: str) -> str:
    """Escape Yarn's metacharacters so a line prints as written."""
    out = "".join("\\" + ch if ch in _ESCAPE else ch for ch in line)
    if out.startswith("==="):  # would end the node
        out = '{"="}' + out[1:]
    return out


def write_yarn(doc: StoryDoc) -> str:
    """Serialise a :class:`StoryDoc` as a Yarn Spinner 2 script."""
    names = [node_title(n) for n in unique_names([node_title(p.name) for p in doc.passages])]
    nodes = dict(zip([p.name for p in doc.passages], names))
    out: list[str] = []
    for p in doc.passages:
        out.append(f"title: {nodes[p.name]}")
        if p.tags:
            out.append("tags: " + " ".join(node_title(t) for t in p.tags))
        if p.position is not None:
            out.append(f"position: {int(round(p.position[0]))},{int(round(p.position[1]))}")
        out.append("---")
        for raw in p.text.split("\n"):
            s = raw.strip()
            if s:
                out.append(escape_yarn(s))
        for lk in p.links:
            out.append(f"-> {escape_yarn(' '.join((lk.label or lk.target).split()))}")
            out.append(f"    <<jump {nodes[lk.target]}>>")
        out.append("===")
    return "\n".join(out) + "\n"


def export_yarn(project: Any, out_path: Path, **_: Any) -> list[Path]:
    """Write the project as a ``.yarn`` file."""
    out = Path(out_path)
    atomic_write_text(out, write_yarn(doc_from_project(project)))
    return [out]


FORMAT = Format(
    name="yarn",
    suffixes=(".yarn",),
    export=export_yarn,
    description="Yarn Spinner 2: a node per scene, options with <<jump>>; for Unity/Godot games",
)
