"""The story graph as plain data, and what can be said about it: loops, unreachable scenes,
open choices, endings and the places a reader gets stuck.

The graph is directed and may loop (hubs, "back to the square", "try again"). Everything here
works on a :class:`GraphSnapshot` read from a project in a few queries, so a map or a report
of 50,000 scenes does not ask the file once per scene. :class:`NewScene`, :class:`NewChoice`
and :class:`NewSpecial` are the plain input of :meth:`~workbench.story.project.Project.add_story`
(imports build the whole graph in memory and write it at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ChoiceInfo",
    "GraphSnapshot",
    "NewChoice",
    "NewScene",
    "NewSpecial",
    "SceneInfo",
    "Structure",
    "back_edges",
    "on_loops",
    "reachable",
    "structure",
]

ENDING_TAG = "ending"
WAY_OUT = ("choice", "goto")  # kinds a reader can leave a scene by (an include is a reference)


# --------------------------------------------------------------------------- snapshots
@dataclass(frozen=True)
class SceneInfo:
    """One scene as plain data (the chosen take's text, not every take)."""

    id: str
    title: str
    tags: tuple[str, ...] = ()
    position: tuple[float, float] | None = None
    text: str = ""
    takes: int = 0
    characters: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_ending(self) -> bool:
        return any(t.casefold() == ENDING_TAG for t in self.tags)


@dataclass(frozen=True)
class ChoiceInfo:
    """One choice as plain data; ``target`` is None for an open choice (``wanted`` names its scene)."""

    id: str
    source: str
    target: str | None
    label: str
    wanted: str | None = None
    kind: str = "choice"

    @property
    def is_open(self) -> bool:
        return self.target is None


@dataclass
class GraphSnapshot:
    """The whole story graph at one moment: scenes in creation order, choices in order."""

    scenes: list[SceneInfo]
    choices: list[ChoiceInfo]
    start: str | None
    entries: list[str] = field(default_factory=list)  # scenes a reader can enter besides the start

    def __post_init__(self) -> None:
        self.by_id: dict[str, SceneInfo] = {s.id: s for s in self.scenes}
        self.out: dict[str, list[ChoiceInfo]] = {s.id: [] for s in self.scenes}
        self.into: dict[str, list[ChoiceInfo]] = {s.id: [] for s in self.scenes}
        for c in self.choices:
            self.out.setdefault(c.source, []).append(c)
            if c.target is not None:
                self.into.setdefault(c.target, []).append(c)

    def successors(self, sid: str, kinds: Sequence[str] | None = None) -> list[str]:
        return [
            c.target
            for c in self.out.get(sid, [])
            if c.target is not None and (kinds is None or c.kind in kinds)
        ]


# --------------------------------------------------------------------------- analysis
def reachable(snap: GraphSnapshot, roots: Iterable[str], kinds: Sequence[str] | None = None) -> set[str]:
    """Scenes reachable from ``roots`` along choices (of ``kinds``, default all), roots included."""
    seen: set[str] = set()
    stack = [r for r in roots if r in snap.by_id]
    while stack:
        sid = stack.pop()
        if sid in seen:
            continue
        seen.add(sid)
        stack.extend(t for t in snap.successors(sid, kinds) if t not in seen)
    return seen


def back_edges(snap: GraphSnapshot) -> set[str]:
    """Ids of the choices that lead back (close a loop), found by a depth-first walk from the start,
    then from every scene not yet walked, in creation order. Removing them leaves no loop."""
    state: dict[str, int] = {}  # 1 = on the walk's stack, 2 = done
    back: set[str] = set()
    roots = ([snap.start] if snap.start in snap.by_id else []) + [s.id for s in snap.scenes]
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            sid, i = stack[-1]
            outs = [c for c in snap.out.get(sid, []) if c.target is not None]
            if i < len(outs):
                stack[-1] = (sid, i + 1)
                c = outs[i]
                assert c.target is not None
                st = state.get(c.target)
                if st == 1:
                    back.add(c.id)
                elif st is None:
                    state[c.target] = 1
                    stack.append((c.target, 0))
            else:
                state[sid] = 2
                stack.pop()
    return back


def on_loops(snap: GraphSnapshot) -> set[str]:
    """Scenes a reader can come back to (they sit on a loop), by Tarjan's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: set[str] = set()
    counter = 0
    for root in (s.id for s in snap.scenes):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            sid, i = work[-1]
            succ = snap.successors(sid)
            if i < len(succ):
                work[-1] = (sid, i + 1)
                t = succ[i]
                if t == sid:
                    out.add(sid)
                if t not in index:
                    index[t] = low[t] = counter
                    counter += 1
                    stack.append(t)
                    on_stack.add(t)
                    work.append((t, 0))
                elif t in on_stack:
                    low[sid] = min(low[sid], index[t])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[sid])
            if low[sid] == index[sid]:
                comp = []
                while True:
                    x = stack.pop()
                    on_stack.discard(x)
                    comp.append(x)
                    if x == sid:
                        break
                if len(comp) > 1:
                    out.update(comp)
    return out


@dataclass
class Structure:
    """What the graph says about a story (scene ids; every list in creation order).

    - ``unreachable``: scenes no path from the start reaches (drafts, notes, orphans); a scene
      only included in others (a reference) is reached, but no reader stands in it;
    - ``open_choices``: choices whose scene is not written yet;
    - ``endings``: scenes marked as endings (the tag ``ending``);
    - ``dead_ends``: scenes a reader can reach but not leave that are not marked as endings;
    - ``traps``: scenes a reader can reach, and leave, but from which no ending and no way out of
      the story can be reached (a loop with no exit);
    - ``back_edges``: choices that lead back (loops), as the branch map draws them.
    """

    start: str | None
    unreachable: list[str]
    open_choices: list[str]
    endings: list[str]
    dead_ends: list[str]
    traps: list[str]
    back_edges: list[str]

    @property
    def stuck(self) -> list[str]:
        """Where the reader can get stuck: dead ends first, then traps."""
        return self.dead_ends + [t for t in self.traps if t not in self.dead_ends]


def structure(snap: GraphSnapshot) -> Structure:
    """Unreachable scenes, open choices, endings, dead ends, traps and back edges of ``snap``."""
    order = [s.id for s in snap.scenes]
    start = snap.start if snap.start in snap.by_id else None
    roots = ([start] if start else []) + list(snap.entries)
    reached = reachable(snap, roots)  # shown to a reader somehow (an included scene too)
    visited = reachable(snap, roots, WAY_OUT)  # a reader can stand in it
    unreachable = [sid for sid in order if sid not in reached]
    endings = [sid for sid in order if snap.by_id[sid].is_ending]
    leaves = {sid for sid in order if not snap.successors(sid, WAY_OUT)}
    dead_ends = [sid for sid in order if sid in visited and sid in leaves and not snap.by_id[sid].is_ending]
    # scenes from which a finish (an ending, a leaf, or an open choice: the writer's to-do) is reachable
    finish = set(endings) | leaves | {c.source for c in snap.choices if c.is_open and c.kind in WAY_OUT}
    preds: dict[str, list[str]] = {sid: [] for sid in order}
    for c in snap.choices:
        if c.target is not None and c.kind in WAY_OUT:
            preds.setdefault(c.target, []).append(c.source)
    can_finish: set[str] = set()
    stack = list(finish)
    while stack:
        sid = stack.pop()
        if sid in can_finish:
            continue
        can_finish.add(sid)
        stack.extend(p for p in preds.get(sid, []) if p not in can_finish)
    traps = [sid for sid in order if sid in visited and sid not in can_finish]
    back = back_edges(snap)
    return Structure(
        start=start,
        unreachable=unreachable,
        open_choices=[c.id for c in snap.choices if c.is_open],
        endings=endings,
        dead_ends=dead_ends,
        traps=traps,
        back_edges=[c.id for c in snap.choices if c.id in back],
    )


# --------------------------------------------------------------------------- bulk input
@dataclass
class NewScene:
    """A scene to add with :meth:`~workbench.story.project.Project.add_story`."""

    title: str
    text: str = ""
    tags: Sequence[str] = ()
    position: tuple[float, float] | None = None
    characters: Sequence[str] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0  # where it starts in an imported file (named in errors)


@dataclass
class NewChoice:
    """A choice between two :class:`NewScene` (indices), or an open one (``target`` None, ``wanted`` set)."""

    source: int
    label: str
    target: int | None = None
    wanted: str | None = None
    kind: str = "choice"
    line: int = 0


@dataclass
class NewSpecial:
    """A non-scene passage kept verbatim (see :class:`~workbench.story.handles.Special`)."""

    name: str
    text: str = ""
    tags: Sequence[str] = ()
    format: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0
