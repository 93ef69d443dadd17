"""A plain-text description of a project: title, counts, cast, branches and scenes, loops,
unreachable scenes, open choices, endings and where a reader can get stuck."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .graph import structure

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
    snap = project.snapshot(text=False, extra=False)
    title = {s.id: s.title for s in snap.scenes}
    chosen_of = {r: project.chosen_take_id(r) for r in title}
    for sc in snap.scenes:
        parts = []
        for c in snap.out.get(sc.id, []):
            to = title[c.target] if c.target is not None else f"{c.wanted} (not written yet)"
            parts.append(
                f"[{c.label}] {'->' if c.kind == 'choice' else '=>' if c.kind == 'goto' else 'shows'} {to}"
            )
        kids = "; ".join(parts)
        n = sc.takes
        state = f"{n} take{'s' if n != 1 else ''}" + (", chosen" if chosen_of[sc.id] else ", none chosen")
        lines.append(f"  {sc.title} ({state}){'  ' + kids if kids else ''}")
    st = structure(snap)
    lines.append("")
    lines.append(f"Loops: {len(st.back_edges)} choice(s) lead back to an earlier scene")
    lines.append(
        "Unreachable from the start: "
        + (", ".join(title[i] for i in st.unreachable) if st.unreachable else "none")
    )
    by_id = {c.id: c for c in snap.choices}
    if st.open_choices:
        lines.append("Open choices (scene not written yet):")
        for cid in st.open_choices:
            c = by_id[cid]
            lines.append(f"  {title[c.source]}: [{c.label}] -> {c.wanted}")
    else:
        lines.append("Open choices (scene not written yet): none")
    lines.append("Endings: " + (", ".join(title[i] for i in st.endings) if st.endings else "none marked"))
    stuck = [f"{title[i]} (no way out)" for i in st.dead_ends] + [
        f"{title[i]} (a loop with no way out)" for i in st.traps if i not in st.dead_ends
    ]
    lines.append("Where a reader can get stuck: " + (", ".join(stuck) if stuck else "nowhere"))
    specials = [x.name for x in project.specials]
    if specials:
        lines.append("Special passages kept as written: " + ", ".join(specials))
    return "\n".join(x for x in lines if x is not None)
