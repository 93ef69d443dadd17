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
    """One scene as plain data, as :meth:`~workbench.story.project.Project.snapshot` reads it.

    ``text`` is the chosen take's text (empty when the snapshot was read without text), ``takes``
    how many takes the scene has, ``extra`` what story formats kept about it. A snapshot is a
    copy: changing the project does not change it, and it never touches the file.

    >>> scene = SceneInfo("s_1", "The Light Returns", tags=("Ending",), text="Dawn.", takes=2)
    >>> scene.title, scene.is_ending, scene.position
    ('The Light Returns', True, None)
    """

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
        """Whether the scene is tagged ``ending`` (in any case): a reader who reaches it is not stuck."""
        return any(t.casefold() == ENDING_TAG for t in self.tags)


@dataclass(frozen=True)
class ChoiceInfo:
    """One choice as plain data: a labelled edge from scene id ``source`` to scene id ``target``.

    ``target`` is None for an open choice (its scene is not written yet; ``wanted`` names it).
    ``kind`` is one of :data:`~workbench.story.handles.CHOICE_KINDS`: ``"choice"`` (the reader
    picks it), ``"goto"`` (the story moves on by itself) or ``"include"`` (a reference, not a way out).

    >>> ChoiceInfo("x_1", "s_1", None, "Ask the ferryman", wanted="The Ferry").is_open
    True
    >>> ChoiceInfo("x_2", "s_1", "s_2", "Climb the tower").is_open
    False
    """

    id: str
    source: str
    target: str | None
    label: str
    wanted: str | None = None
    kind: str = "choice"

    @property
    def is_open(self) -> bool:
        """True when the choice has no target yet (the scene behind it is to be written)."""
        return self.target is None


@dataclass
class GraphSnapshot:
    """The whole story graph at one moment: scenes in creation order, choices in order.

    :meth:`~workbench.story.project.Project.snapshot` reads one from a project in a few queries;
    the analyses of this module (:func:`structure`, :func:`reachable`, :func:`back_edges`,
    :func:`on_loops`) take one, so they work on a story of any size without asking the file per
    scene. ``start`` is the start scene's id (None in an empty story), ``entries`` the scenes a
    reader can enter besides the start (a story format's menu). Built from its lists, it indexes
    them: ``by_id`` (scene id to :class:`SceneInfo`), ``out`` and ``into`` (scene id to the
    choices out of it and into it, in order).

    >>> snap = GraphSnapshot(
    ...     scenes=[SceneInfo("a", "Harbour"), SceneInfo("b", "Tower"), SceneInfo("c", "Shore")],
    ...     choices=[
    ...         ChoiceInfo("x1", "a", "b", "Climb the hill"),
    ...         ChoiceInfo("x2", "b", "a", "Go back down"),
    ...         ChoiceInfo("x3", "b", "c", "The stairs give way", kind="goto"),
    ...         ChoiceInfo("x4", "a", None, "Ask the ferryman", wanted="Ferry"),
    ...     ],
    ...     start="a",
    ... )
    >>> snap.successors("b"), snap.successors("b", kinds=("choice",))
    (['a', 'c'], ['a'])
    >>> [c.label for c in snap.out["a"]], [c.label for c in snap.into["a"]]
    (['Climb the hill', 'Ask the ferryman'], ['Go back down'])
    >>> sorted(reachable(snap, [snap.start]))
    ['a', 'b', 'c']
    """

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
        """The ids of the scenes the choices out of scene ``sid`` lead to, in the choices' order
        (open choices left out; only choices of ``kinds`` when given). An unknown id has none."""
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

    :func:`structure` computes it from a :class:`GraphSnapshot`;
    :meth:`~workbench.story.project.Project.structure` from a project. Here a harbour leads into a
    maze that only loops on itself (a trap), a draft nothing leads to, and a choice not written yet:

    >>> snap = GraphSnapshot(
    ...     [SceneInfo("a", "Harbour"), SceneInfo("b", "Maze"), SceneInfo("c", "Draft")],
    ...     [
    ...         ChoiceInfo("x1", "a", "b", "Enter the maze"),
    ...         ChoiceInfo("x2", "b", "b", "Turn left again"),
    ...         ChoiceInfo("x3", "a", None, "Take the ferry"),
    ...     ],
    ...     start="a",
    ... )
    >>> st = structure(snap)
    >>> st.unreachable, st.open_choices, st.traps, st.back_edges
    (['c'], ['x3'], ['b'], ['x2'])
    >>> st.stuck
    ['b']
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
    """A scene to add with :meth:`~workbench.story.project.Project.add_story`.

    Plain input, checked only when the story is added: ``text`` becomes the scene's first take
    (chosen), ``extra`` is what a story format keeps about the scene, by format name, and ``line``
    is where the scene starts in an imported file, so an error can name it. An importer builds
    the whole graph as lists of these and writes it in one transaction (one undo step):

    >>> import pathlib, tempfile
    >>> from workbench.story.project import open_project
    >>> project = open_project(pathlib.Path(tempfile.mkdtemp()) / "imported.story")
    >>> scenes = project.add_story(
    ...     [NewScene("Harbour", "Gulls over the quay."), NewScene("Tower", tags=["ending"], line=7)],
    ...     [NewChoice(0, "Climb the hill", target=1), NewChoice(0, "Take the ferry", wanted="Ferry")],
    ... )
    >>> [s.title for s in scenes], project.start.title, scenes[0].text
    (['Harbour', 'Tower'], 'Harbour', 'Gulls over the quay.')
    >>> project.undo_label
    'add story'
    >>> project.close()
    """

    title: str
    text: str = ""
    tags: Sequence[str] = ()
    position: tuple[float, float] | None = None
    characters: Sequence[str] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0  # where it starts in an imported file (named in errors)


@dataclass
class NewChoice:
    """A choice to add with :meth:`~workbench.story.project.Project.add_story`: ``source`` and
    ``target`` are indices into the list of :class:`NewScene` added with it.

    Without a ``target`` it is an open choice to a scene not written yet, called ``wanted``
    (default: the label). ``kind`` is one of :data:`~workbench.story.handles.CHOICE_KINDS`;
    ``line`` is where it was read in an imported file (named in errors).

    >>> import pathlib, tempfile
    >>> from workbench.story.project import open_project
    >>> project = open_project(pathlib.Path(tempfile.mkdtemp()) / "loop.story")
    >>> hub, cellar = project.add_story(
    ...     [NewScene("Hub"), NewScene("Cellar")],
    ...     [
    ...         NewChoice(0, "Go down", target=1),
    ...         NewChoice(1, "Back up", target=0),  # a loop back to the hub
    ...         NewChoice(0, "Open the attic", wanted="Attic"),  # an open choice
    ...     ],
    ... )
    >>> [c.label for c in hub.open_choices], [s.title for _, s in cellar.children]
    (['Open the attic'], ['Hub'])
    >>> project.close()
    """

    source: int
    label: str
    target: int | None = None
    wanted: str | None = None
    kind: str = "choice"
    line: int = 0


@dataclass
class NewSpecial:
    """A story format's passage that is not a scene (a script, a stylesheet, ``StoryInit``...), to
    keep verbatim with :meth:`~workbench.story.project.Project.add_story`; it is then a
    :class:`~workbench.story.handles.Special` in ``project.specials``, written back on export.

    ``format`` names the story format it came from; ``line`` is where it was read (named in errors).

    >>> import pathlib, tempfile
    >>> from workbench.story.project import open_project
    >>> project = open_project(pathlib.Path(tempfile.mkdtemp()) / "kept.story")
    >>> _ = project.add_story(
    ...     [NewScene("Harbour")],
    ...     specials=[NewSpecial("StoryInit", "<<set $lamp to false>>", format="twine")],
    ... )
    >>> [(x.name, x.format, x.text) for x in project.specials]
    [('StoryInit', 'twine', '<<set $lamp to false>>')]
    >>> project.close()
    """

    name: str
    text: str = ""
    tags: Sequence[str] = ()
    format: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    line: int = 0
