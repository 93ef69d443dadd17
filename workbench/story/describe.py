"""A plain-text description of a project: title, counts, cast, branches and scenes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .project import Project

__all__ = ["describe"]


def describe(project: Project) -> str:
    """The project as plain text, as ``workbench info`` prints it."""
    lines = [f"{project.title}", f"  {project.logline}" if project.logline else "", ""]
    s = project.summary()
    lines.append(
        f"IFID {s['ifid']} · {s['scenes']} scenes · {s['choices']} choices · {s['takes']} takes · "
        f"{s['assets']} media assets · {s['lore']} lore entries"
    )
    lines.append("")
    lines.append("Cast: " + (", ".join(s["cast"]) or "nobody yet"))
    lines.append("")
    lines.append("Branches:")
    for name in project.branches:
        b = project.branches[name]
        lines.append(f"  {name} ({len(b)} scenes): " + " -> ".join(sc.title for sc in b.scenes))
    lines.append("")
    lines.append("Scenes:")
    for sc in project.scenes:
        kids = "; ".join(f"[{c.label}] -> {t.title}" for c, t in sc.children)
        n = len(sc.takes)
        chosen = sc.chosen
        state = f"{n} take{'s' if n != 1 else ''}" + (", chosen" if chosen else ", none chosen")
        lines.append(f"  {sc.title} ({state}){'  ' + kids if kids else ''}")
    return "\n".join(x for x in lines if x is not None)
