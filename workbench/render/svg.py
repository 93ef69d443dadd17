"""The branch map: the story graph as a static SVG.

Scenes are boxes in layers (the longest way from the start, with the choices that lead back
left out of the layering); each choice is an arrow whose label sits in the column right of its
scene, wrapped, never cut, and stacked so that no two labels overlap. Choices that lead back
(loops) run over the top in their own colour, one lane each; open choices (their scene not
written yet) end in a dashed box; scenes no path from the start reaches sit apart, below.
Scenes where a reader gets stuck (no way out, not an ending; or a loop with no way out) are
marked, and ``view="stuck"`` shows only them. Every scene box carries ``data-scene-id`` (an
open choice's box ``data-choice-id``) so views can make them clickable.

A scene with a map position (dragged there by a writer, :func:`drop_position`, or read from a
Twine story) keeps its place in its column: the others are ordered around it.
"""

from __future__ import annotations

import textwrap
from collections import deque
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from ..story.graph import GraphSnapshot, back_edges, reachable, structure
from .text import esc

__all__ = ["MapLayout", "branch_map_svg", "drop_position", "layout", "map_layout"]

BOX_W, BOX_H = 160, 64  # room for a title of three lines and the takes line
GAP_Y = 22  # between boxes in a column
ROW = BOX_H + GAP_Y
MIN_GAP_X = 46  # between columns when no label needs room
LABEL_W = 168  # a label wraps to this width (px)
LABEL_PAD = 14  # room left and right of the label column for the arrows
CHAR_W = 6.1  # average advance of a 10 px sans-serif character (generous, so text fits its box)
LINE_H = 12
PAD = 18
LANE = 7  # vertical room per loop lane above the map
REGION_GAP = 56

COLOURS = {
    "edge": "#8a8f98",
    "branch": "#c2410c",
    "compare": "#2563eb",
    "back": "#7c3aed",
    "open": "#6b7280",
    "include": "#9ca3af",
    "stuck": "#dc2626",
    "ending": "#15803d",
}


@dataclass
class Label:
    """A choice's label: where it is drawn and its lines."""

    x: float
    y: float
    w: float
    h: float
    lines: list[str]


@dataclass
class MapLayout:
    """Where everything goes on the branch map (top-left corners, px)."""

    pos: dict[str, tuple[float, float]]  # scene id (or "open:<choice id>") -> box
    labels: dict[str, Label]  # choice id -> label box
    back: set[str]  # ids of choices that lead back
    lanes: dict[str, float]  # back-edge choice id -> y of its lane
    ghosts: dict[str, Any]  # "open:<choice id>" -> the open choice
    unreachable: list[str]
    width: float
    height: float
    divider: float | None = None  # y of the line above the unreachable scenes
    snapshot: GraphSnapshot | None = None
    stuck: set[str] = field(default_factory=set)


def _wrap(text: str, width_px: float = LABEL_W) -> list[str]:
    chars = max(8, int(width_px // CHAR_W))
    return textwrap.wrap(" ".join(text.split()), chars, break_long_words=True) or [""]


def _text_w(lines: list[str]) -> float:
    return max(len(line) for line in lines) * CHAR_W


def _layers(snap: GraphSnapshot, members: list[str], roots: list[str], back: set[str]) -> dict[str, int]:
    """Longest distance from ``roots`` with the back edges left out (so it is defined with loops)."""
    inside = set(members)
    indeg = {m: 0 for m in members}
    succ: dict[str, list[str]] = {m: [] for m in members}
    for c in snap.choices:
        if c.id in back or c.target is None or c.source not in inside or c.target not in inside:
            continue
        if c.source == c.target:
            continue
        succ[c.source].append(c.target)
        indeg[c.target] += 1
    layer = {m: 0 for m in members}
    order = {m: i for i, m in enumerate(members)}
    ready = deque(sorted((m for m in members if indeg[m] == 0), key=lambda m: (m not in roots, order[m])))
    while ready:
        m = ready.popleft()
        for t in succ[m]:
            layer[t] = max(layer[t], layer[m] + 1)
            indeg[t] -= 1
            if indeg[t] == 0:
                ready.append(t)
    return layer


def _order_rows(
    snap: GraphSnapshot,
    columns: dict[int, list[str]],
    parents: dict[str, list[str]],
    kids: dict[str, list[str]],
) -> None:
    """Order each column by its neighbours' rows (barycentre sweeps down, then up, twice)."""
    seq = {s.id: i for i, s in enumerate(snap.scenes)}
    stored = {s.id: s.position[1] for s in snap.scenes if s.position is not None}

    def key_for(neigh: dict[str, list[str]], row: dict[str, float]) -> Any:
        def key(m: str) -> tuple[float, float, int]:
            near = [row[p] for p in neigh.get(m, []) if p in row]
            return (
                sum(near) / len(near) if near else float("inf"),
                stored.get(m, 0.0),
                seq.get(m, len(seq)),
            )

        return key

    def place(col: list[str], neigh: dict[str, list[str]], row: dict[str, float]) -> list[str]:
        """The column ordered by its neighbours, then each scene with a stored position put back at
        the row that position names (a writer's drag, or the story's own layout)."""
        free = sorted((m for m in col if m not in stored), key=key_for(neigh, row))
        for m in sorted((m for m in col if m in stored), key=lambda m: (stored[m], seq.get(m, 0))):
            at = min(len(free), max(0, round((stored[m] - PAD) / ROW)))
            free.insert(at, m)
        return free

    row: dict[str, float] = {}
    keys = sorted(columns)
    for k in keys:
        columns[k] = place(columns[k], parents, row)
        row.update({m: float(i) for i, m in enumerate(columns[k])})
    for _ in range(2):
        for k in reversed(keys[:-1]):
            columns[k] = place(columns[k], kids, row)
            row.update({m: float(i) for i, m in enumerate(columns[k])})
        for k in keys[1:]:
            columns[k] = place(columns[k], parents, row)
            row.update({m: float(i) for i, m in enumerate(columns[k])})


def map_layout(project: Any, snapshot: GraphSnapshot | None = None) -> MapLayout:
    """Lay out the branch map of ``project`` (see the module docstring)."""
    snap = snapshot if snapshot is not None else project.snapshot(text=False, extra=False)
    st = structure(snap)
    back = back_edges(snap)
    roots: list[str] = [r for r in [snap.start, *snap.entries] if r is not None and r in snap.by_id]
    reached = reachable(snap, roots)
    ghosts = {f"open:{c.id}": c for c in snap.choices if c.is_open}
    by_choice = {c.id: c for c in snap.choices}
    regions = [
        [s.id for s in snap.scenes if s.id in reached],
        [s.id for s in snap.scenes if s.id not in reached],
    ]
    parents: dict[str, list[str]] = {}
    kids: dict[str, list[str]] = {}
    for c in snap.choices:
        if c.id in back:
            continue
        dst = c.target if c.target is not None else f"open:{c.id}"
        parents.setdefault(dst, []).append(c.source)
        kids.setdefault(c.source, []).append(dst)
    pos: dict[str, tuple[float, float]] = {}
    labels: dict[str, Label] = {}
    lanes: dict[str, float] = {}
    top: float = PAD
    width = 0.0
    divider: float | None = None
    for r, members in enumerate(regions):
        if not members:
            continue
        if r == 1:
            divider = top
            top += REGION_GAP
        region_roots = roots if r == 0 else [m for m in members if not parents.get(m)]
        layer = _layers(snap, members, region_roots, back)
        mine = set(members)
        for gid, c in ghosts.items():
            if c.source in mine:
                layer[gid] = layer[c.source] + 1
        columns: dict[int, list[str]] = {}
        for m in members + [g for g, c in ghosts.items() if c.source in mine]:
            columns.setdefault(layer[m], []).append(m)
        _order_rows(snap, columns, parents, kids)
        # the loops of this region run in lanes above it
        region_back = [c for c in snap.choices if c.id in back and c.source in mine and c.source != c.target]
        lane_top = top
        top += LANE * len(region_back) + (LANE if region_back else 0)
        for i, c in enumerate(region_back):
            lanes[c.id] = lane_top + LANE * (i + 1)
        # label texts, and how wide each column's label gap must be
        out_labels: dict[int, list[tuple[str, list[str]]]] = {}
        for c in snap.choices:
            if c.source not in mine:
                continue
            lines = _wrap(c.label)
            out_labels.setdefault(layer[c.source], []).append((c.id, lines))
        xs: dict[int, float] = {}
        x: float = PAD
        last = max(columns)
        for k in range(last + 1):
            xs[k] = x
            need = max((_text_w(lines) for _, lines in out_labels.get(k, [])), default=0.0)
            x += BOX_W + (need + 2 * LABEL_PAD + 8 if need else MIN_GAP_X)
        for k, col in columns.items():
            for i, m in enumerate(col):
                pos[m] = (xs[k], top + i * (BOX_H + GAP_Y))
        bottom = (
            max(y for m, (_, y) in pos.items() if m in mine or m in ghosts and ghosts[m].source in mine)
            + BOX_H
        )
        # labels: in the column right of their scene, near the way to their target, never overlapping
        for k, items in out_labels.items():
            placed: list[tuple[float, str, list[str]]] = []
            for cid, lines in items:
                c = by_choice[cid]
                sx, sy = pos[c.source]
                dst = c.target if c.target is not None else f"open:{c.id}"
                ty = pos[dst][1] if dst in pos and cid not in back else sy
                h = len(lines) * LINE_H + 4
                want = (sy + ty) / 2 + BOX_H / 2 - h / 2 if c.target != c.source else sy - h / 2
                placed.append((want, cid, lines))
            placed.sort(key=lambda p: p[0])
            floor = top - 4.0
            for want, cid, lines in placed:
                h = len(lines) * LINE_H + 4
                y = max(want, floor)
                labels[cid] = Label(xs[k] + BOX_W + LABEL_PAD, y, _text_w(lines) + 8, h, lines)
                floor = y + h + 4
            bottom = max(bottom, floor)
        width = max(width, x)
        top = bottom + PAD
    height = top
    return MapLayout(
        pos=pos,
        labels=labels,
        back=back,
        lanes=lanes,
        ghosts=ghosts,
        unreachable=list(st.unreachable),
        width=max(width, 320.0),
        height=height,
        divider=divider,
        snapshot=snap,
        stuck=set(st.stuck),
    )


def _onward(
    lay: MapLayout, start: tuple[float, float], end: tuple[float, float], skip: Collection[str]
) -> str:
    """The path of a choice from its label (``start``) into its target's left side (``end``).

    A choice that jumps over columns would cross their boxes on the way: it runs instead along a
    corridor, the gap between two rows (or below them) that is free in every column it passes,
    the one nearest its way."""
    (ex, ly), (tx, t2) = start, end
    blockers = [
        (bx, by) for k, (bx, by) in lay.pos.items() if k not in skip and bx > ex - 1 and bx + BOX_W < tx + 1
    ]
    if not blockers:
        return f" M{ex:.1f},{ly:.1f} C{(ex + tx) / 2:.1f},{ly:.1f} {(ex + tx) / 2:.1f},{t2:.1f} {tx:.1f},{t2:.1f}"

    def free(y: float) -> bool:
        return all(not (by - 4 < y < by + BOX_H + 4) for _, by in blockers)

    around = [y for _, by in blockers for y in (by - GAP_Y / 2, by + BOX_H + GAP_Y / 2)]
    yc = min((y for y in [ly, t2, *around] if free(y)), key=lambda y: (abs(y - ly) + abs(y - t2), y))
    x_in = min(bx for bx, _ in blockers) - 8
    x_out = max(bx for bx, _ in blockers) + BOX_W + 8
    mid_in, mid_out = (ex + x_in) / 2, (x_out + tx) / 2
    return (
        f" M{ex:.1f},{ly:.1f} C{mid_in:.1f},{ly:.1f} {mid_in:.1f},{yc:.1f} {x_in:.1f},{yc:.1f}"
        f" L{x_out:.1f},{yc:.1f} C{mid_out:.1f},{yc:.1f} {mid_out:.1f},{t2:.1f} {tx:.1f},{t2:.1f}"
    )


def drop_position(project: Any, scene_id: str, x: float, y: float) -> tuple[float, float]:
    """The map position to store for a scene a writer dropped with its top-left at ``(x, y)``:
    its column stays what the story's structure says, its row is where it was dropped among the
    other boxes of that column (``y`` is that row, as :func:`map_layout` reads it back)."""
    lay = map_layout(project)
    if scene_id not in lay.pos:
        raise KeyError(scene_id)
    col_x, _ = lay.pos[scene_id]
    apart = set(lay.unreachable)

    def region(k: str) -> bool:  # the unreachable scenes are laid out apart, rows counted afresh
        return (lay.ghosts[k].source if k in lay.ghosts else k) in apart

    above = sum(
        1
        for k, (kx, ky) in lay.pos.items()
        if k != scene_id and kx == col_x and region(k) == region(scene_id) and ky < y
    )
    return (round(x, 1), float(PAD + above * ROW))


def layout(project: Any) -> dict[str, tuple[float, float]]:
    """Positions (top-left, px) for every scene: a layered layout in which each scene follows the
    scenes that lead to it (loops aside), open choices' boxes and unreachable scenes apart."""
    lay = map_layout(project)
    return {k: v for k, v in lay.pos.items() if not k.startswith("open:")}


def _title_lines(title: str) -> list[str]:
    """A scene title in at most three lines of its box: whole, unless it is longer than a title
    should be (the full title is in the box's tooltip)."""
    lines = textwrap.wrap(title, int((BOX_W - 18) // 7.4), break_long_words=True) or [""]
    if len(lines) > 3:
        lines = [*lines[:2], lines[2][: max(1, len(lines[2]) - 1)] + "…"]
    return lines


def branch_map_svg(
    project: Any,
    branch: str | None = "main",
    selected: str | None = None,
    compare: str | None = None,
    view: str = "branch",
    hide: Collection[str] = (),
) -> str:
    """The story graph as SVG. ``branch`` is highlighted (``compare`` too, in a second colour),
    ``selected`` (a scene id) outlined (class ``wb-selected``);
    ``view="stuck"`` shows where a reader gets stuck and fades the rest; the scenes in ``hide``
    (e.g. a reader's play-throughs, folded away) are left out with the choices into them."""
    snap = project.snapshot(text=False, extra=False)
    if hide:
        gone = set(hide) - {snap.start}
        snap = GraphSnapshot(
            scenes=[s for s in snap.scenes if s.id not in gone],
            choices=[c for c in snap.choices if c.source not in gone and c.target not in gone],
            start=snap.start,
            entries=[e for e in snap.entries if e not in gone],
        )
    if not snap.scenes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="60" role="img" '
            'aria-label="empty story"><text x="16" y="34" font-family="sans-serif" font-size="14" '
            'fill="#666">No scenes yet.</text></svg>'
        )
    lay = map_layout(project, snap)
    stuck_view = view == "stuck"
    on_branch = list(project.branches[branch].scene_ids) if branch and branch in project.branches else []
    on_compare = list(project.branches[compare].scene_ids) if compare and compare in project.branches else []
    edges_b = set(zip(on_branch, on_branch[1:]))
    edges_c = set(zip(on_compare, on_compare[1:]))
    marker = (
        '<marker id="wb-arrow{k}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
    )
    defs = "".join(marker.format(k=k, c=c) for k, c in (("", COLOURS["edge"]), ("-b", COLOURS["branch"]), ("-c", COLOURS["compare"]), ("-back", COLOURS["back"]), ("-open", COLOURS["open"])))  # fmt: skip
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="wb-branch-map" width="{lay.width:.0f}" '
        f'height="{lay.height:.0f}" viewBox="0 0 {lay.width:.0f} {lay.height:.0f}" role="img" '
        f'aria-label="Branch map of {esc(project.title)}" '
        'font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">',
        f"<defs>{defs}</defs>",
        # the selected box: a class, so a page can move the selection without a new map
        "<style>.wb-selected > rect { stroke: #111827; stroke-width: 3px; }</style>",
    ]
    if lay.divider is not None:
        out.append(
            f'<line class="wb-divider" x1="{PAD}" y1="{lay.divider + 8:.1f}" x2="{lay.width - PAD:.0f}" '
            f'y2="{lay.divider + 8:.1f}" stroke="#d1d5db" stroke-dasharray="6 4"/>'
            f'<text class="wb-region" x="{PAD}" y="{lay.divider + 28:.1f}" font-size="12" fill="#6b7280">'
            f"Not reachable from the start ({len(lay.unreachable)}): drafts, notes, or scenes a link "
            "should lead to</text>"
        )
    fade = ' opacity="0.35"' if stuck_view else ""
    for c in snap.choices:
        dst = c.target if c.target is not None else f"open:{c.id}"
        if c.source not in lay.pos or dst not in lay.pos:
            continue
        sx, sy = lay.pos[c.source]
        tx, ty = lay.pos[dst]
        lab = lay.labels[c.id]
        hot = c.target is not None and (c.source, c.target) in edges_b
        alt = c.target is not None and (c.source, c.target) in edges_c
        kind = "back" if c.id in lay.back else ("open" if c.is_open else c.kind)
        colour = (
            COLOURS["branch"] if hot else COLOURS["compare"] if alt else COLOURS.get(kind, COLOURS["edge"])
        )
        width_px = 2.6 if hot or alt else 1.3
        arrow = (
            "-b" if hot else "-c" if alt else "-back" if kind == "back" else "-open" if kind == "open" else ""
        )
        dash = (
            ' stroke-dasharray="5 4"'
            if kind == "open"
            else ' stroke-dasharray="2 3"'
            if kind == "include"
            else ""
        )
        x1, y1 = sx + BOX_W, sy + BOX_H / 2
        lx, ly = lab.x, lab.y + lab.h / 2
        into = (
            f"M{x1:.1f},{y1:.1f} C{(x1 + lx) / 2:.1f},{y1:.1f} {(x1 + lx) / 2:.1f},{ly:.1f} {lx:.1f},{ly:.1f}"
        )
        ex = lab.x + lab.w
        if c.target == c.source:  # a loop on itself: out of the label, round the box's top
            top = sy - 10
            onward = f" M{ex:.1f},{ly:.1f} C{ex + 10:.1f},{ly:.1f} {ex + 10:.1f},{top:.1f} {sx + BOX_W - 20:.1f},{top:.1f} L{sx + BOX_W - 20:.1f},{sy:.1f}"
        elif kind == "back":  # a loop back: up to its lane, over the top, down into the scene's left
            lane = lay.lanes.get(c.id, sy - 10)
            gx = tx - 12
            onward = (
                f" M{ex:.1f},{ly:.1f} L{ex + 6:.1f},{ly:.1f} L{ex + 6:.1f},{lane:.1f} L{gx:.1f},{lane:.1f} "
                f"L{gx:.1f},{ty + BOX_H / 2:.1f} L{tx:.1f},{ty + BOX_H / 2:.1f}"
            )
        else:
            onward = _onward(lay, (ex, ly), (tx, ty + BOX_H / 2), skip={c.source, dst})
        out.append(
            f'<path class="wb-edge" data-kind="{kind}" data-choice-id="{esc(c.id)}" d="{into}{onward}" fill="none" '
            f'stroke="{colour}" stroke-width="{width_px}"{dash} marker-end="url(#wb-arrow{arrow})"{fade}/>'
        )
        spans = "".join(
            f'<tspan x="{lab.x + 4:.1f}" dy="{LINE_H if i else 0}">{esc(line)}</tspan>'
            for i, line in enumerate(lab.lines)
        )
        out.append(
            f'<g class="wb-choice-label"{fade}><rect x="{lab.x:.1f}" y="{lab.y:.1f}" width="{lab.w:.1f}" '
            f'height="{lab.h:.1f}" rx="4" fill="#ffffff" fill-opacity="0.92" stroke="{colour}" '
            f'stroke-width="0.6"{dash}/><text class="wb-choice" x="{lab.x + 4:.1f}" y="{lab.y + LINE_H - 1:.1f}" '
            f'font-size="10" fill="{colour}">{spans}<title>{esc(c.label)}'
            f"{' (leads back: a loop)' if kind == 'back' else ''}{' (not written yet)' if kind == 'open' else ''}"
            "</title></text></g>"
        )
    for gid, c in lay.ghosts.items():
        x, y = lay.pos[gid]
        lines = _title_lines(c.wanted or c.label)
        tl = "".join(
            f'<tspan x="{x + 10:.1f}" dy="{13 if i else 0}">{esc(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        out.append(
            f'<g class="wb-open" data-choice-id="{esc(c.id)}" style="cursor:pointer"{fade}>'
            f"<title>{esc(c.wanted or c.label)}: not written yet (an open choice)</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="#f9fafb" '
            f'stroke="{COLOURS["open"]}" stroke-width="1.2" stroke-dasharray="5 4"/>'
            f'<text x="{x + 10:.1f}" y="{y + 18:.1f}" font-size="12" font-style="italic" fill="#4b5563">{tl}</text>'
            f'<text x="{x + 10:.1f}" y="{y + BOX_H - 7:.1f}" font-size="10" fill="#6b7280">not written yet</text></g>'
        )
    start = snap.start
    for s in snap.scenes:
        x, y = lay.pos[s.id]
        hot = s.id in on_branch
        alt = s.id in on_compare
        stuck = s.id in lay.stuck
        fill = "#fff7ed" if hot and not stuck_view else ("#eff6ff" if alt and not stuck_view else "#ffffff")
        stroke = (
            COLOURS["stuck"] if stuck and stuck_view else
            COLOURS["branch"] if hot and not stuck_view else COLOURS["compare"] if alt and not stuck_view else "#9ca3af"
        )  # fmt: skip
        sw = 2 if hot or alt or (stuck and stuck_view) else 1.2
        dash = "" if s.takes else ' stroke-dasharray="5 3"'
        lines = _title_lines(s.title)
        tl = "".join(
            f'<tspan x="{x + 10:.1f}" dy="{13 if i else 0}">{esc(line)}</tspan>'
            for i, line in enumerate(lines)
        )
        notes = []
        if start is not None and s.id == start:
            notes.append("start")
        notes.append(f"{s.takes} take{'' if s.takes == 1 else 's'}")
        badge = ""
        if s.is_ending:
            badge = f'<text x="{x + BOX_W - 8:.1f}" y="{y + BOX_H - 7:.1f}" text-anchor="end" font-size="10" fill="{COLOURS["ending"]}">ending</text>'
        elif stuck:
            badge = (
                f'<text class="wb-stuck" x="{x + BOX_W - 8:.1f}" y="{y + BOX_H - 7:.1f}" text-anchor="end" '
                f'font-size="10" font-weight="700" fill="{COLOURS["stuck"]}">stuck</text>'
            )
        why = []
        if stuck:
            why.append("a reader can get stuck here")
        if s.id in lay.unreachable:
            why.append("no path from the start reaches it")
        if not s.takes:
            why.append("no text yet")
        faded = ' opacity="0.35"' if stuck_view and not stuck else ""
        out.append(
            f'<g class="wb-scene{" wb-selected" if s.id == selected else ""}" data-scene-id="{esc(s.id)}" '
            f'style="cursor:pointer"{faded}>'
            f"<title>{esc(s.title)}{' (' + '; '.join(why) + ')' if why else ''}</title>"
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{sw}"{dash}/>'
            f'<text x="{x + 10:.1f}" y="{y + 18:.1f}" font-size="12" font-weight="600" fill="#111827">{tl}</text>'
            f'<text x="{x + 10:.1f}" y="{y + BOX_H - 7:.1f}" font-size="10" fill="#6b7280">'
            f"{' · '.join(notes)}</text>{badge}</g>"
        )
    out.append("</svg>")
    return "".join(out)
