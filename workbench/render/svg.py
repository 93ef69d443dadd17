"""The branch map: the story DAG as a static SVG (boxes, labelled arrows, a highlighted branch)."""

from __future__ import annotations

import contextlib
from typing import Any

from .text import esc

BOX_W, BOX_H = 150, 46
GAP_X, GAP_Y = 70, 26
PAD = 16


def layout(project: Any) -> dict[str, tuple[float, float]]:
    """Positions (top-left, px) for every scene: stored positions win, else a layered layout.

    Layers are the longest distance from the start, so merges sit after both paths;
    within a layer scenes are ordered by their parents' order (barycentre), then age.
    """
    scenes = project.scenes
    ids = [s.id for s in scenes]
    order = {sid: i for i, sid in enumerate(ids)}
    parents: dict[str, list[str]] = {sid: [] for sid in ids}
    for c in project.choices:
        parents[c.target_id].append(c.source_id)
    depth: dict[str, int] = {}

    def d(sid: str, stack: frozenset[str] = frozenset()) -> int:
        if sid in depth:
            return depth[sid]
        ps = [p for p in parents[sid] if p not in stack]
        depth[sid] = 0 if not ps else 1 + max(d(p, stack | {sid}) for p in ps)
        return depth[sid]

    for sid in ids:
        d(sid)
    layers: dict[int, list[str]] = {}
    for sid in ids:
        layers.setdefault(depth[sid], []).append(sid)
    row: dict[str, float] = {}
    for k in sorted(layers):
        members = layers[k]

        def key(sid: str) -> tuple[float, int]:
            ps = [row[p] for p in parents[sid] if p in row]
            return (sum(ps) / len(ps) if ps else 0.0, order[sid])

        members.sort(key=key)
        for i, sid in enumerate(members):
            row[sid] = float(i)
    pos: dict[str, tuple[float, float]] = {}
    for s in scenes:
        stored = s.position
        if stored is not None:
            pos[s.id] = (float(stored[0]), float(stored[1]))
        else:
            pos[s.id] = (PAD + depth[s.id] * (BOX_W + GAP_X), PAD + row[s.id] * (BOX_H + GAP_Y))
    return pos


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def branch_map_svg(
    project: Any, branch: str | None = "main", selected: str | None = None, compare: str | None = None
) -> str:
    """The story graph as SVG. ``branch`` is highlighted (``compare`` too, in a second colour);
    every scene box carries ``data-scene-id`` so views can make it clickable.

    Scenes, choices and branches are read in one snapshot of the project, so another program
    changing the story meanwhile never leaves a choice pointing at a scene the map has not read.
    """
    snapshot = getattr(project, "snapshot", None)
    with snapshot() if callable(snapshot) else contextlib.nullcontext():
        return _branch_map_svg(project, branch, selected, compare)


def _branch_map_svg(project: Any, branch: str | None, selected: str | None, compare: str | None) -> str:
    pos = layout(project)
    if not pos:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="60" role="img" '
            'aria-label="empty story"><text x="16" y="34" font-family="sans-serif" font-size="14" '
            'fill="#666">No scenes yet.</text></svg>'
        )
    on_branch: list[str] = (
        list(project.branches[branch].scene_ids) if branch and branch in project.branches else []
    )
    on_compare: list[str] = (
        list(project.branches[compare].scene_ids) if compare and compare in project.branches else []
    )
    edges_b = set(zip(on_branch, on_branch[1:]))
    edges_c = set(zip(on_compare, on_compare[1:]))
    width = max(x for x, _ in pos.values()) + BOX_W + PAD
    height = max(y for _, y in pos.values()) + BOX_H + PAD
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-branch-map" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="Branch map of {esc(project.title)}" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">',
        "<defs>"
        '<marker id="wb-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a8f98"/></marker>'
        '<marker id="wb-arrow-b" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c2410c"/></marker>'
        "</defs>",
    ]
    for c in project.choices:
        if c.source_id not in pos or c.target_id not in pos:
            continue
        x1, y1 = pos[c.source_id]
        x2, y2 = pos[c.target_id]
        sx, sy = x1 + BOX_W, y1 + BOX_H / 2
        tx, ty = x2, y2 + BOX_H / 2
        mx = (sx + tx) / 2
        hot = (c.source_id, c.target_id) in edges_b
        alt = (c.source_id, c.target_id) in edges_c
        colour = "#c2410c" if hot else ("#2563eb" if alt else "#8a8f98")
        width_px = 2.6 if hot or alt else 1.3
        marker = "wb-arrow-b" if hot else "wb-arrow"
        out.append(
            f'<path class="wb-edge" data-choice-id="{esc(c.id)}" d="M{sx:.1f},{sy:.1f} C{mx:.1f},{sy:.1f} '
            f'{mx:.1f},{ty:.1f} {tx:.1f},{ty:.1f}" fill="none" stroke="{colour}" stroke-width="{width_px}" '
            f'marker-end="url(#{marker})"/>'
        )
        lx, ly = mx, (sy + ty) / 2 - 4
        out.append(
            f'<text class="wb-choice" x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{colour}" paint-order="stroke" stroke="#fff" stroke-width="3">{esc(_short(c.label, 24))}'
            f"<title>{esc(c.label)}</title></text>"
        )
    start = project.start
    for s in project.scenes:
        x, y = pos[s.id]
        hot = s.id in on_branch
        alt = s.id in on_compare
        sel = s.id == selected
        fill = "#fff7ed" if hot else ("#eff6ff" if alt else "#ffffff")
        stroke = "#111827" if sel else ("#c2410c" if hot else ("#2563eb" if alt else "#9ca3af"))
        sw = 3 if sel else (2 if hot or alt else 1.2)
        has_text = bool(s.chosen)
        title = s.title
        dash = "" if has_text else ' stroke-dasharray="5 3"'
        out.append(
            f'<g class="wb-scene" data-scene-id="{esc(s.id)}" style="cursor:pointer">'
            f"<title>{esc(title)}{'' if has_text else ' (no text yet)'}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}"{dash}/>'
            f'<text x="{x + 10:.1f}" y="{y + 19:.1f}" font-size="12" font-weight="600" fill="#111827">'
            f"{esc(_short(title, 20))}</text>"
            f'<text x="{x + 10:.1f}" y="{y + 35:.1f}" font-size="10" fill="#6b7280">'
            f"{'start · ' if start is not None and s.id == start.id else ''}{len(s.takes)} take"
            f"{'' if len(s.takes) == 1 else 's'}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)
