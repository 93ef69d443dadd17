"""Ink export (inkle's narrative scripting language): one knot per scene.

The file opens with global tags (title, author) and a divert to the start knot;
each knot holds the scene's text (ink metacharacters escaped), then its choices
as ``* [label] -> knot`` (``+`` for sticky choices), or ``-> END`` at a leaf.
Knot names are ink identifiers made from the titles, unique, never reserved words.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..files import atomic_write_text
from .registry import Format
from .storydoc import StoryDoc, doc_from_project, unique_names

__all__ = ["FORMAT", "export_ink", "write_ink", "knot_name", "escape_ink"]

RESERVED = {
    "END", "DONE", "else", "not", "and", "or", "true", "false", "return", "temp", "VAR", "CONST", "LIST",
    "INCLUDE", "EXTERNAL", "function", "stopping", "cycle", "shuffle", "once", "ref", "mod", "has", "hasnt",
}  # fmt: skip


def knot_name(title: str) -> str:
    """An ink identifier from a scene title (``"The Cliff [path]"`` -> ``The_Cliff_path``)."""
    name = re.sub(r"\W+", "_", title, flags=re.ASCII).strip("_")
    if not name or name[0].isdigit() or name in RESERVED or name.lower() in {r.lower() for r in RESERVED}:
        name = "scene_" + name
    return name


def escape_ink(line: str) -> str:
    """Escape ink's metacharacters so a line of scene text prints as written."""
    out = []
    n = len(line)
    for i, ch in enumerate(line):
        nxt = line[i + 1] if i + 1 < n else ""
        at_start = not line[:i].strip()
        if (
            ch in "\\{}|#[]~/*"  # '/' and '*' always: comments are stripped before escapes are read
            or (ch in "+-=" and at_start)
            or (ch == "-" and nxt == ">")
            or (ch == "<" and nxt in "->")
        ):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def _escape_text(text: str) -> list[str]:
    lines = []
    for raw in text.split("\n"):
        s = raw.strip()
        if s:
            lines.append(escape_ink(s))
    return lines


def write_ink(doc: StoryDoc, *, sticky: bool = False, author: str = "") -> str:
    """Serialise a :class:`StoryDoc` as ink source."""
    knots = dict(zip([p.name for p in doc.passages], unique_names([p.name for p in doc.passages], knot_name)))
    # unique_names adds " (2)"; make those identifiers too
    knots = {k: knot_name(v) for k, v in knots.items()}
    bullet = "+" if sticky else "*"
    out = [f"# title: {' '.join(doc.title.split())}"]
    if author:
        out.append(f"# author: {' '.join(author.split())}")
    if doc.ifid:
        out.append(f"# ifid: {doc.ifid}")
    out += ["", f"-> {knots[doc.start or doc.passages[0].name]}" if doc.passages else "-> END", ""]
    for p in doc.passages:
        out.append(f"=== {knots[p.name]} ===")
        out.append(f"// {' '.join(p.name.split())}")
        if p.tags:
            out.append("# " + " # ".join(escape_ink("_".join(t.split())) for t in p.tags))
        out += _escape_text(p.text)
        if p.links:
            for lk in p.links:
                label = escape_ink(" ".join((lk.label or lk.target).split()))
                out.append(f"{bullet} [{label}] -> {knots[lk.target]}")
        else:
            out.append("-> END")
        out.append("")
    return "\n".join(out)


def export_ink(
    project: Any, out_path: Path, *, sticky: bool = False, author: str = "", **_: Any
) -> list[Path]:
    """Write the project as an ``.ink`` file."""
    out = Path(out_path)
    atomic_write_text(out, write_ink(doc_from_project(project), sticky=sticky, author=author))
    return [out]


FORMAT = Format(
    name="ink",
    suffixes=(".ink",),
    export=export_ink,
    description="ink (inkle): a knot per scene, choices with diverts; for Unity/inkjs games",
)
